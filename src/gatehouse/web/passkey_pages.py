"""The pages' passkeys: the account page's "Add a passkey" and "Delete", and the script
that talks WebAuthn with the browser (`/static/passkeys.js`; the sign-in page's "Sign in
with a passkey" uses it too, with the API's login options and `POST /sessions/webauthn`).

Registration needs JavaScript (navigator.credentials.create); the script posts the
account page's CSRF token with each request, so these routes check it like any form.
"""

from __future__ import annotations

import contextlib
import json
from functools import cache
from importlib.resources import files

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from gatehouse.auth import passkeys
from gatehouse.auth.exceptions import PasskeyNotFound, PasskeyRegistrationFailed
from gatehouse.core.db import DbDep
from gatehouse.core.ids import parse_id
from gatehouse.core.origin import RequestOrigin
from gatehouse.web.rendering import PAGE_HEADERS, page_kit, redirect, signed_in_post, with_notice

router = APIRouter(include_in_schema=False, tags=["pages"])

ACCOUNT = "/account"
CREDENTIAL_MAX = 16384
NAME_MAX = 100


@cache
def _script() -> bytes:
    return files("gatehouse.web").joinpath("static/passkeys.js").read_bytes()


@router.get("/static/passkeys.js")
async def script() -> Response:
    """The passkeys script: WebAuthn ceremonies for the account and sign-in pages."""
    return Response(
        _script(),
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=3600"},
    )


def _json(body: dict[str, object], status_code: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status_code, headers=PAGE_HEADERS)


@router.post("/account/passkeys/options")
async def registration_options(request: Request, db: DbDep) -> Response:
    """Creation options for a new passkey of the signed-in user."""
    principal = await signed_in_post(request, db, back=ACCOUNT)
    if isinstance(principal, Response):
        return principal
    options = await passkeys.registration_options(db, kit=page_kit(request), user=principal.user)
    return _json(options)


@router.post("/account/passkeys")
async def add_passkey(request: Request, db: DbDep) -> Response:
    """Store the passkey the browser created; JSON for the script (`location` to go to,
    or `error`)."""
    principal = await signed_in_post(request, db, back=ACCOUNT)
    if isinstance(principal, Response):
        return principal
    form = await request.form()
    raw, name = form.get("credential"), form.get("name")
    try:
        credential = (
            json.loads(raw) if isinstance(raw, str) and len(raw) <= CREDENTIAL_MAX else None
        )
    except ValueError:
        credential = None
    if not isinstance(credential, dict):
        return _json({"error": "Adding a passkey needs JavaScript and a passkey."}, 400)
    try:
        await passkeys.register(
            db,
            kit=page_kit(request),
            user=principal.user,
            credential=credential,
            name=name[:NAME_MAX] if isinstance(name, str) else None,
            origin=RequestOrigin.of(request),
        )
    except PasskeyRegistrationFailed as error:
        return _json({"error": error.detail_message}, 400)
    return _json({"location": with_notice(ACCOUNT, "passkey-added") + "#passkeys"})


@router.post("/account/passkeys/{passkey_id}/delete")
async def delete_passkey(passkey_id: str, request: Request, db: DbDep) -> Response:
    """Remove one of your passkeys (another user's is left alone), back to the account."""
    principal = await signed_in_post(request, db, back=ACCOUNT)
    if isinstance(principal, Response):
        return principal
    with contextlib.suppress(PasskeyNotFound):
        await passkeys.delete(
            db,
            user_id=principal.user.id,
            passkey_id=parse_id(passkey_id, not_found=PasskeyNotFound),
            origin=RequestOrigin.of(request),
        )
    return redirect(with_notice(ACCOUNT, "passkey-removed") + "#passkeys")
