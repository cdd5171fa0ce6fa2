"""The ceiling of bench/auth.py: a bare FastAPI app whose one route decodes an HS256 JWT
from the Authorization header and answers its subject (no database).
`uvicorn bench.bare_app:app --loop uvloop --http httptools`; BARE_SECRET in the environment."""

from __future__ import annotations

import os
from typing import Annotated

import jwt
from fastapi import FastAPI, Header, HTTPException

SECRET = os.environ.get("BARE_SECRET", "bare-secret-0123456789-0123456789-0123")

app = FastAPI()


@app.get("/me")
async def me(authorization: Annotated[str, Header()]) -> dict[str, str]:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer":
        raise HTTPException(401)
    try:
        claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    except jwt.InvalidTokenError as exc:
        raise HTTPException(401) from exc
    return {"id": str(claims["sub"])}
