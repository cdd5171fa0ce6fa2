"""The cookie transport: the `session_id` cookie resolves to a browser session."""

from __future__ import annotations

from typing import Annotated

from fastapi import Cookie, Depends

from gatehouse.auth import service as auth_service
from gatehouse.auth.service import Principal
from gatehouse.core.db import DbDep
from gatehouse.core.errors import Forbidden

SESSION_COOKIE = "session_id"


async def browser_principal(
    db: DbDep,
    session_id: Annotated[str | None, Cookie(max_length=512)] = None,
) -> Principal:
    """The browser session of the `session_id` cookie; FORBIDDEN without a live one."""
    if not session_id:
        raise Forbidden()
    return await auth_service.resolve_browser_session(db, cookie=session_id)


BrowserPrincipal = Annotated[Principal, Depends(browser_principal)]
