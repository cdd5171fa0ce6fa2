"""The tasks page for people: the signed-in user's own list, filtered, searched and paged
as the tasks API pages it; add, edit, complete or reopen, and delete.

It calls `gatehouse.tasks.service` as the API does, always with the signed-in user as the
owner: a task id of anyone else's is the same 404 page as one that does not exist. Forms
are read by hand (errors beside their field), posted with the session's CSRF token, and
answered with a 303 back to the list the person was looking at.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.auth.service import Principal
from gatehouse.core.db import DbDep
from gatehouse.core.errors import RateLimited
from gatehouse.core.pagination import Page, PageParams
from gatehouse.core.ratelimit import default_rate_limit
from gatehouse.tasks import service as task_service
from gatehouse.tasks.exceptions import TaskLimitReached
from gatehouse.tasks.models import Priority, Task
from gatehouse.tasks.schemas import TaskCreate, TaskRead
from gatehouse.web.forms import field_errors, safe_next
from gatehouse.web.rendering import (
    Form,
    notice_of,
    page_kit,
    redirect,
    render,
    retry_text,
    signed_in,
    signed_in_post,
    text_fields,
    to_login,
)

router = APIRouter(include_in_schema=False, tags=["pages"])

LIST = "/tasks"
FILTERS = {"all": None, "open": False, "done": True}
SEARCH_MAX = 200  # as the API's `q`
PAGE_MAX = 1_000_000
TASK_FIELDS = ("title", "description", "priority", "due_date")
DEFAULT_PRIORITY = Priority.MEDIUM.value


@dataclass(frozen=True)
class ListView:
    """What the list shows: a filter, a search and a page number (from the query string)."""

    status: str = "all"
    q: str = ""
    page: int = 1

    @classmethod
    def of(cls, query: Mapping[str, str]) -> ListView:
        status = query.get("status", "all")
        raw_page = query.get("page", "1")
        page = int(raw_page) if raw_page.isdigit() and len(raw_page) <= 7 else 1
        return cls(
            status=status if status in FILTERS else "all",
            q=query.get("q", "").strip()[:SEARCH_MAX],
            page=min(max(page, 1), PAGE_MAX),
        )

    def url(self, **changes: Any) -> str:
        """The list's address with `changes` (notice=…, page=…); defaults are left out."""
        values = {"status": self.status, "q": self.q, "page": self.page, **changes}
        query = {
            name: value
            for name, value in values.items()
            if value
            and not (name == "status" and value == "all")
            and not (name == "page" and value == 1)
        }
        return f"{LIST}?{urlencode(query)}" if query else LIST


def _back(value: str) -> ListView:
    """The list a form came from (its hidden `back` field), when it is the tasks list."""
    path = safe_next(value)
    if path is None or urlsplit(path).path != LIST:
        return ListView()
    return ListView.of(dict(parse_qsl(urlsplit(path).query)))


def _shown(values: dict[str, str]) -> dict[str, str]:
    """What a form shows again: what was typed (the priority list needs a choice)."""
    return {
        **{name: values[name] for name in TASK_FIELDS},
        "priority": values["priority"] or DEFAULT_PRIORITY,
    }


def _task_view(task: Task) -> TaskRead:
    return TaskRead.model_validate(task)


async def _list(
    request: Request,
    db: AsyncSession,
    principal: Principal,
    view: ListView,
    *,
    status_code: int = 200,
    form: Form | None = None,
) -> HTMLResponse:
    async def page_of(view: ListView) -> Page[TaskRead]:
        result = await task_service.list_tasks(
            db,
            owner_id=principal.user.id,
            params=PageParams(page=view.page),
            completed=FILTERS[view.status],
            q=view.q or None,
        )
        return Page.of(result, [_task_view(task) for task in result.items])

    page = await page_of(view)
    if not page.items and view.page > page.pages > 0:  # past the last page: show the last
        view = ListView(view.status, view.q, page.pages)
        page = await page_of(view)
    return render(
        request,
        "tasks.html",
        status_code=status_code,
        principal=principal,
        section="tasks",
        view=view,
        page=page,
        filters=list(FILTERS),
        priorities=[p.value for p in Priority],
        form=form or Form({"priority": DEFAULT_PRIORITY}),
        back=view.url(),
        notice=notice_of(request),
    )


def _missing(request: Request, principal: Principal) -> HTMLResponse:
    return render(
        request,
        "task_edit.html",
        status_code=404,
        principal=principal,
        section="tasks",
        task=None,
        back=LIST,
        priorities=[p.value for p in Priority],
    )


async def _owned(db: AsyncSession, principal: Principal, task_id: str) -> Task | None:
    """The signed-in user's task of the path, or None (no such task, or someone else's)."""
    try:
        parsed = uuid.UUID(task_id)
    except ValueError:
        return None
    return await task_service.find_task(db, owner_id=principal.user.id, task_id=parsed)


def _read_task(values: dict[str, str]) -> TaskCreate | dict[str, str]:
    """The task a form describes, or the error beside each field."""
    if not values["title"].strip():
        return {"title": "Enter a title."}
    try:
        return TaskCreate(
            title=values["title"].strip(),
            description=values["description"].strip() or None,
            priority=values["priority"] or DEFAULT_PRIORITY,
            due_date=values["due_date"] or None,
        )
    except ValidationError as exc:
        errors = field_errors(exc)
        if "due_date" in errors:
            errors["due_date"] = "Enter a date as YYYY-MM-DD."
        if "priority" in errors:
            errors["priority"] = "Choose low, medium or high."
        return errors


async def _limited(request: Request) -> str | None:
    try:
        await default_rate_limit(request)
    except RateLimited as exc:
        return retry_text(exc)
    return None


# --- the list -------------------------------------------------------------------------


@router.get("/tasks")
async def tasks_page(request: Request, db: DbDep) -> Response:
    principal = await signed_in(request, db)
    if principal is None:
        return to_login(request, request.url.path)
    return await _list(request, db, principal, ListView.of(request.query_params))


@router.post("/tasks")
async def add_task(request: Request, db: DbDep) -> Response:
    principal = await signed_in_post(request, db, back=LIST)
    if not isinstance(principal, Principal):
        return principal
    values = await text_fields(request, *TASK_FIELDS, "back")
    view = _back(values["back"])
    shown = _shown(values)
    if limited := await _limited(request):
        return await _list(
            request, db, principal, view, status_code=429, form=Form(shown, error=limited)
        )
    data = _read_task(values)
    if isinstance(data, dict):
        return await _list(request, db, principal, view, status_code=422, form=Form(shown, data))
    try:
        await task_service.create_task(
            db,
            owner_id=principal.user.id,
            max_tasks=page_kit(request).settings.TASKS_MAX_PER_USER,
            fields=data.model_dump(),
        )
    except TaskLimitReached as exc:
        return await _list(
            request,
            db,
            principal,
            view,
            status_code=409,
            form=Form(shown, error=exc.detail_message),
        )
    return redirect(view.url(page=1, notice="task-added"))  # the newest come first


# --- one task -------------------------------------------------------------------------


@router.get("/tasks/{task_id}")
async def edit_page(task_id: str, request: Request, db: DbDep) -> Response:
    principal = await signed_in(request, db)
    if principal is None:
        return to_login(request, LIST)
    task = await _owned(db, principal, task_id)
    if task is None:
        return _missing(request, principal)
    back = safe_next(request.query_params.get("back"))
    return _edit(request, principal, task, _back(back or LIST).url())


def _edit(
    request: Request,
    principal: Principal,
    task: Task,
    back: str,
    *,
    status_code: int = 200,
    form: Form | None = None,
) -> HTMLResponse:
    shown = {
        "title": task.title,
        "description": task.description or "",
        "priority": task.priority.value,
        "due_date": task.due_date.isoformat() if task.due_date else "",
    }
    return render(
        request,
        "task_edit.html",
        status_code=status_code,
        principal=principal,
        section="tasks",
        task=_task_view(task),
        back=back,
        priorities=[p.value for p in Priority],
        form=form or Form(shown),
    )


async def _task_post(
    request: Request, db: AsyncSession, task_id: str
) -> tuple[Principal, Task, dict[str, str]] | Response:
    """The signed-in caller, their task of the path and the form's fields; or the answer
    that stops the form (sign in, CSRF refused, the 404 page, the rate limit)."""
    principal = await signed_in_post(request, db, back=LIST)
    if not isinstance(principal, Principal):
        return principal
    task = await _owned(db, principal, task_id)
    if task is None:
        return _missing(request, principal)
    values = await text_fields(request, *TASK_FIELDS, "back")
    if limited := await _limited(request):
        return await _list(
            request,
            db,
            principal,
            _back(values["back"]),
            status_code=429,
            form=Form(error=limited),
        )
    return principal, task, values


@router.post("/tasks/{task_id}")
async def save_task(task_id: str, request: Request, db: DbDep) -> Response:
    found = await _task_post(request, db, task_id)
    if isinstance(found, Response):
        return found
    principal, task, values = found
    view = _back(values["back"])
    shown = _shown(values)
    data = _read_task(values)
    if isinstance(data, dict):
        return _edit(request, principal, task, view.url(), status_code=422, form=Form(shown, data))
    fields = data.model_dump(exclude={"completed"})
    await task_service.update_task(db, task=task, fields=fields)
    return redirect(view.url(notice="task-saved"))


@router.post("/tasks/{task_id}/complete")
async def complete_task(task_id: str, request: Request, db: DbDep) -> Response:
    return await _set_completed(request, db, task_id, completed=True)


@router.post("/tasks/{task_id}/reopen")
async def reopen_task(task_id: str, request: Request, db: DbDep) -> Response:
    return await _set_completed(request, db, task_id, completed=False)


async def _set_completed(
    request: Request, db: AsyncSession, task_id: str, *, completed: bool
) -> Response:
    found = await _task_post(request, db, task_id)
    if isinstance(found, Response):
        return found
    _, task, values = found
    await task_service.update_task(db, task=task, fields={"completed": completed})
    return redirect(_back(values["back"]).url(notice="task-done" if completed else "task-reopened"))


@router.post("/tasks/{task_id}/delete")
async def delete_task(task_id: str, request: Request, db: DbDep) -> Response:
    found = await _task_post(request, db, task_id)
    if isinstance(found, Response):
        return found
    _, task, values = found
    await task_service.remove_task(db, task=task)
    return redirect(_back(values["back"]).url(notice="task-deleted"))
