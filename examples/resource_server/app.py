"""A tiny resource server: notes that only Gatehouse users may keep, checked offline.

It never sees a password and never asks Gatehouse who is calling: it verifies the
access token against Gatehouse's published keys (`/.well-known/jwks.json`, fetched once,
fetched again when a token names a key it has not seen, at most once a minute). Gatehouse
must sign with EdDSA, ES256 or RS256 (JWT_ALGORITHM and JWT_PRIVATE_KEY_FILE).

    pip install "gatehouse-client[fastapi]" uvicorn
    GATEHOUSE_URL=http://127.0.0.1:8000 uvicorn examples.resource_server.app:app --port 8001

    curl -H "Authorization: Bearer $ACCESS_TOKEN" http://127.0.0.1:8001/notes

Set GATEHOUSE_CHECK_REVOCATION=true to also ask Gatehouse, on every request, whether the
token's session is still live (a logout then counts at once).
"""

import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI
from pydantic import BaseModel, Field

from gatehouse_client.fastapi import gatehouse_bearer
from gatehouse_client.verifier import AccessToken, AsyncTokenVerifier


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=1000)


class Note(BaseModel):
    id: int
    text: str


class Caller(BaseModel):
    user_id: str
    session_id: str
    key_id: str


def create_app(
    gatehouse_url: str,
    *,
    check_revocation: bool = False,
    clock: Callable[[], float] = time.monotonic,
) -> FastAPI:
    verifier = AsyncTokenVerifier(gatehouse_url, check_revocation=check_revocation, clock=clock)
    # Built here, from this app's verifier; so this module leaves annotations unpostponed
    # (no `from __future__ import annotations`), for FastAPI to see the local alias.
    GatehouseUser = Annotated[AccessToken, Depends(gatehouse_bearer(verifier))]
    notes: dict[str, list[Note]] = {}  # by Gatehouse user id; a real app keeps a database

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await verifier.aclose()

    app = FastAPI(title="Notes, protected by Gatehouse", lifespan=lifespan)
    app.state.verifier = verifier

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/whoami")
    async def whoami(token: GatehouseUser) -> Caller:
        return Caller(user_id=token.user_id, session_id=token.session_id, key_id=token.key_id)

    @app.get("/notes")
    async def list_notes(token: GatehouseUser) -> list[Note]:
        return notes.get(token.user_id, [])

    @app.post("/notes", status_code=201)
    async def add_note(body: NoteIn, token: GatehouseUser) -> Note:
        mine = notes.setdefault(token.user_id, [])
        note = Note(id=len(mine) + 1, text=body.text)
        mine.append(note)
        return note

    return app


app = create_app(
    os.environ.get("GATEHOUSE_URL", "http://127.0.0.1:8000"),
    check_revocation=os.environ.get("GATEHOUSE_CHECK_REVOCATION", "").lower() == "true",
)
