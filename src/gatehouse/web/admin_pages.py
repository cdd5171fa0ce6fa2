"""The admin pages: `/admin/users` lists, searches and pages the users, and changes a
user's role or (de)activates them.

Admins only: a signed-in user who is not one gets a 403 page, a signed-out visitor goes
to `/login?next=/admin/users`. The forms call the same use case as `PATCH
/api/v1/users/{id}` (`users_service.admin_update_user`), so the last-admin guard, the audit
events and the end of a deactivated user's sessions are the API's. Every form carries the
session's CSRF token and comes back to the list it was sent from (its search and page).
"""

from __future__ import annotations

import math
import uuid
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.auth.service import Principal
from gatehouse.core.db import DbDep
from gatehouse.core.errors import RateLimited
from gatehouse.core.origin import RequestOrigin
from gatehouse.core.pagination import PageParams
from gatehouse.core.ratelimit import default_rate_limit
from gatehouse.users import service as users_service
from gatehouse.users.exceptions import LastAdmin, UserNotFound
from gatehouse.users.models import Role
from gatehouse.web.rendering import (
    Form,
    redirect,
    render,
    retry_text,
    signed_in,
    signed_in_post,
    text_fields,
    to_login,
)

USERS_PATH = "/admin/users"
PAGE_SIZE = 20
SEARCH_MAX = 200  # as the API's `q`
PAGE_MAX = 1_000_000  # a larger page number is simply past the end

# The only notices the list shows from its query string: a key, never free text.
NOTICES = {
    "role-changed": "The role is changed.",
    "deactivated": "The user is deactivated and their sessions are signed out.",
    "activated": "The user is active again.",
}
LAST_ADMIN_TEXT = "This is the last active admin; make another admin first."

router = APIRouter(include_in_schema=False, tags=["pages"])


def _page_number(value: str) -> int:
    return min(int(value), PAGE_MAX) if value.isdigit() and int(value) >= 1 else 1


def _list_path(q: str, page: int, notice: str | None = None) -> str:
    query = {
        key: value
        for key, value in (("q", q), ("page", str(page) if page > 1 else ""), ("notice", notice))
        if value
    }
    return f"{USERS_PATH}?{urlencode(query)}" if query else USERS_PATH


async def _users_page(
    request: Request,
    db: AsyncSession,
    principal: Principal,
    *,
    q: str,
    page: int,
    status_code: int = 200,
    failed: Form | None = None,
    failed_user: str | None = None,
) -> HTMLResponse:
    params = PageParams(page=page, page_size=PAGE_SIZE)
    result = await users_service.list_users(db, params=params, q=q or None)
    pages = math.ceil(result.total / PAGE_SIZE) if result.total else 0
    shown_ids = {str(user.id) for user in result.items}
    return render(
        request,
        "admin_users.html",
        status_code=status_code,
        principal=principal,
        users=result.items,
        total=result.total,
        page=page,
        pages=pages,
        q=q,
        roles=[role.value for role in Role],
        failed=failed or Form(),
        # An error about a user not on this page shows above the list.
        failed_user=failed_user if failed_user in shown_ids else None,
        previous_path=_list_path(q, page - 1) if page > 1 else None,
        next_path=_list_path(q, page + 1) if page < pages else None,
        notice=NOTICES.get(request.query_params.get("notice", "")),
    )


def _forbidden(request: Request, principal: Principal) -> HTMLResponse:
    return render(request, "forbidden.html", status_code=403, principal=principal)


@router.get(USERS_PATH)
async def users_page(request: Request, db: DbDep) -> Response:
    principal = await signed_in(request, db)
    if principal is None:
        return to_login(request)
    if not principal.user.is_admin:
        return _forbidden(request, principal)
    q = request.query_params.get("q", "").strip()[:SEARCH_MAX]
    page = _page_number(request.query_params.get("page", ""))
    return await _users_page(request, db, principal, q=q, page=page)


async def _change(
    request: Request,
    db: AsyncSession,
    user_id: str,
    fields: dict[str, Any] | None,
    notice: str,
) -> Response:
    """Apply `fields` to the user as `PATCH /api/v1/users/{id}` does, then back to the list
    (or the list with the error beside that user; `None`: a role that is not one)."""
    principal = await signed_in_post(request, db, back=USERS_PATH)
    if isinstance(principal, Response):
        return principal
    if not principal.user.is_admin:
        return _forbidden(request, principal)
    values = await text_fields(request, "q", "page")
    q, page = values["q"].strip()[:SEARCH_MAX], _page_number(values["page"])

    async def again(status_code: int, error: str) -> HTMLResponse:
        return await _users_page(
            request,
            db,
            principal,
            q=q,
            page=page,
            status_code=status_code,
            failed=Form(error=error),
            failed_user=user_id,
        )

    try:
        await default_rate_limit(request)
    except RateLimited as exc:
        return await again(429, retry_text(exc))
    if fields is None:
        return await again(422, "Choose a role: user or admin.")
    try:
        target = await users_service.get_user(db, user_id=uuid.UUID(user_id))
        await users_service.admin_update_user(
            db,
            user=target,
            fields=fields,
            actor_id=principal.user.id,
            origin=RequestOrigin.of(request),
        )
    except (ValueError, UserNotFound):
        return await again(404, "This user no longer exists.")
    except LastAdmin:
        return await again(409, LAST_ADMIN_TEXT)
    if target.id == principal.user.id and not (target.is_admin and target.is_active):
        return redirect("/")  # you gave up your own admin rights
    return redirect(_list_path(q, page, notice))


@router.post(USERS_PATH + "/{user_id}/role")
async def change_role(user_id: str, request: Request, db: DbDep) -> Response:
    role = (await text_fields(request, "role"))["role"]
    fields = {"role": Role(role)} if role in set(Role) else None
    return await _change(request, db, user_id, fields, "role-changed")


@router.post(USERS_PATH + "/{user_id}/deactivate")
async def deactivate(user_id: str, request: Request, db: DbDep) -> Response:
    return await _change(request, db, user_id, {"is_active": False}, "deactivated")


@router.post(USERS_PATH + "/{user_id}/activate")
async def activate(user_id: str, request: Request, db: DbDep) -> Response:
    return await _change(request, db, user_id, {"is_active": True}, "activated")
