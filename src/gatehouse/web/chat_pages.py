"""The chat page for people: talk to the task assistant, see each tool call it made under
its reply (name, arguments, result), and go back to earlier conversations.

It calls `gatehouse.chat.service` as the chat API does, with the signed-in user as the
owner: a conversation id of anyone else's is the same 404 page as one that does not exist.
The message form is posted with the session's CSRF token and answered with a 303 to the
conversation, so it works without JavaScript.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from importlib.resources import files
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.auth.service import Principal
from gatehouse.chat import service as chat_service
from gatehouse.chat.exceptions import ConversationNotFound
from gatehouse.chat.models import ChatMessage, Conversation
from gatehouse.chat.providers.base import ChatProvider
from gatehouse.core.db import DbDep
from gatehouse.core.errors import RateLimited, ServiceUnavailable
from gatehouse.core.pagination import Page, PageParams
from gatehouse.core.ratelimit import default_rate_limit
from gatehouse.web.rendering import (
    Form,
    page_kit,
    redirect,
    render,
    retry_text,
    signed_in,
    signed_in_post,
    to_login,
)

router = APIRouter(include_in_schema=False, tags=["pages"])

CHAT = "/chat"
MESSAGE_MAX = 10_000  # as the chat API's `message`
ID_MAX = 64
PAGE_MAX = 1_000_000


@dataclass(frozen=True)
class ShownCall:
    name: str
    arguments: str  # JSON, indented
    result: str


@dataclass(frozen=True)
class ShownMessage:
    role: str
    content: str
    created_at: datetime
    calls: list[ShownCall]


def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


def _shown(message: ChatMessage) -> ShownMessage:
    calls = [
        ShownCall(
            name=str(call.get("name", "")),
            arguments=_json(call.get("arguments", {})),
            result=_json(call.get("result", {})),
        )
        for call in message.tool_calls or []
        if isinstance(call, dict)
    ]
    return ShownMessage(message.role, message.content, message.created_at, calls)


def _page_number(request: Request) -> int:
    raw = request.query_params.get("page", "1")
    return min(max(int(raw), 1), PAGE_MAX) if raw.isdigit() and len(raw) <= 7 else 1


async def _chat(
    request: Request,
    db: AsyncSession,
    principal: Principal,
    conversation: Conversation | None,
    *,
    status_code: int = 200,
    form: Form | None = None,
) -> HTMLResponse:
    messages = (
        [_shown(m) for m in await chat_service.list_messages(db, conversation=conversation)]
        if conversation is not None
        else []
    )
    result = await chat_service.list_conversations(
        db, owner_id=principal.user.id, params=PageParams(page=_page_number(request))
    )
    return render(
        request,
        "chat.html",
        status_code=status_code,
        principal=principal,
        section="chat",
        conversation=conversation,
        messages=messages,
        conversations=Page.of(result, list(result.items)),
        here=request.url.path,
        form=form or Form(),
        missing=False,
    )


def _missing(request: Request, principal: Principal) -> HTMLResponse:
    return render(
        request,
        "chat.html",
        status_code=404,
        principal=principal,
        section="chat",
        missing=True,
    )


async def _owned(
    db: AsyncSession, principal: Principal, conversation_id: str
) -> Conversation | None:
    """The signed-in user's conversation with this id, or None (none, or someone else's)."""
    try:
        parsed = uuid.UUID(conversation_id)
        return await chat_service.get_conversation(
            db, owner_id=principal.user.id, conversation_id=parsed
        )
    except (ValueError, ConversationNotFound):
        return None


@cache
def _script() -> bytes:
    return files("gatehouse.web").joinpath("static/chat.js").read_bytes()


@router.get("/static/chat.js")
async def script() -> Response:
    """The chat page's one script: sends a message without reloading the page."""
    return Response(
        _script(),
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=3600"},
    )


@router.get("/chat")
async def chat_page(request: Request, db: DbDep) -> Response:
    """A new conversation, and the list of earlier ones."""
    principal = await signed_in(request, db)
    if principal is None:
        return to_login(request, CHAT)
    return await _chat(request, db, principal, None)


@router.get("/chat/{conversation_id}")
async def conversation_page(conversation_id: str, request: Request, db: DbDep) -> Response:
    principal = await signed_in(request, db)
    if principal is None:
        return to_login(request, request.url.path)
    conversation = await _owned(db, principal, conversation_id)
    if conversation is None:
        return _missing(request, principal)
    return await _chat(request, db, principal, conversation)


@router.post("/chat")
async def send(request: Request, db: DbDep) -> Response:
    """Send a message (to the conversation of the hidden field, or a new one)."""
    principal = await signed_in_post(request, db, back=CHAT)
    if not isinstance(principal, Principal):
        return principal
    form = await request.form()
    raw_message, raw_id = form.get("message"), form.get("conversation_id")
    message = raw_message if isinstance(raw_message, str) else ""
    conversation_id = raw_id[:ID_MAX] if isinstance(raw_id, str) else ""
    conversation: Conversation | None = None
    if conversation_id:
        conversation = await _owned(db, principal, conversation_id)
        if conversation is None:
            return _missing(request, principal)
    shown = {"message": message[:MESSAGE_MAX]}

    async def again(status_code: int, form: Form) -> HTMLResponse:
        return await _chat(request, db, principal, conversation, status_code=status_code, form=form)

    if not message.strip():
        return await again(422, Form(shown, {"message": "Enter a message."}))
    if len(message) > MESSAGE_MAX:
        error = f"The message is too long: at most {MESSAGE_MAX:,} characters."
        return await again(422, Form(shown, {"message": error}))
    try:
        await default_rate_limit(request)
    except RateLimited as exc:
        return await again(429, Form(shown, error=retry_text(exc)))
    provider: ChatProvider = request.app.state.chat_provider
    settings = page_kit(request).settings
    try:
        result = await chat_service.chat(
            db,
            owner_id=principal.user.id,
            provider=provider,
            message=message,
            conversation_id=conversation.id if conversation else None,
            max_tool_calls=settings.CHAT_MAX_TOOL_CALLS,
            max_tasks=settings.TASKS_MAX_PER_USER,
        )
    except ServiceUnavailable as exc:
        # The service rolled the tools' work back, which expired what this session loaded.
        for loaded in (principal.user, principal.session, conversation):
            if loaded is not None:
                await db.refresh(loaded)
        error = f"The assistant could not answer: {exc.detail_message}. Try again later."
        return await again(503, Form(shown, error=error))
    return redirect(f"{CHAT}/{result.conversation_id}#latest")
