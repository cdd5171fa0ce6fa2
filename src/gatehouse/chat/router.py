"""Chat API: POST /api/v1/chat, POST /api/{user_id}/chat, /api/v1/conversations."""

from __future__ import annotations

from fastapi import APIRouter, Depends, status

from gatehouse.auth.dependencies import CurrentCaller
from gatehouse.auth.service import Caller
from gatehouse.chat import service as chat_service
from gatehouse.chat.dependencies import OwnedConversation, ProviderDep, UserInPath
from gatehouse.chat.exceptions import ConversationNotFound
from gatehouse.chat.providers.base import ChatProvider
from gatehouse.chat.schemas import (
    ChatRequest,
    ChatResponse,
    ConversationDetail,
    ConversationRead,
    MessageRead,
    ToolCallRead,
)
from gatehouse.core.config import Settings, SettingsDep
from gatehouse.core.db import DbDep
from gatehouse.core.errors import (
    Forbidden,
    InvalidToken,
    NotAuthenticated,
    RateLimited,
    ServiceUnavailable,
    ValidationFailed,
)
from gatehouse.core.ids import parse_id
from gatehouse.core.openapi import error_responses
from gatehouse.core.pagination import Page, PageParamsDep
from gatehouse.core.ratelimit import default_rate_limit

router = APIRouter(
    tags=["chat"],
    dependencies=[Depends(default_rate_limit)],
    responses=error_responses(NotAuthenticated, InvalidToken, ValidationFailed, RateLimited),
)


async def _chat(
    data: ChatRequest, caller: Caller, db: DbDep, provider: ChatProvider, settings: Settings
) -> ChatResponse:
    conversation_id = (
        parse_id(data.conversation_id, not_found=ConversationNotFound)
        if data.conversation_id
        else None
    )
    result = await chat_service.chat(
        db,
        owner_id=caller.id,
        provider=provider,
        message=data.message,
        conversation_id=conversation_id,
        max_tool_calls=settings.CHAT_MAX_TOOL_CALLS,
        max_tasks=settings.TASKS_MAX_PER_USER,
    )
    return ChatResponse(
        conversation_id=result.conversation_id,
        response=result.response,
        tool_calls=[ToolCallRead.model_validate(call) for call in result.tool_calls],
    )


@router.post("/api/v1/chat", responses=error_responses(ConversationNotFound, ServiceUnavailable))
async def chat(
    data: ChatRequest,
    caller: CurrentCaller,
    db: DbDep,
    provider: ProviderDep,
    settings: SettingsDep,
) -> ChatResponse:
    """Talk to the task assistant. Leave `conversation_id` out to start a conversation."""
    return await _chat(data, caller, db, provider, settings)


@router.post(
    "/api/{user_id}/chat",
    responses=error_responses(Forbidden, ConversationNotFound, ServiceUnavailable),
)
async def chat_as(
    data: ChatRequest,
    caller: UserInPath,
    db: DbDep,
    provider: ProviderDep,
    settings: SettingsDep,
) -> ChatResponse:
    """The same as /api/v1/chat; `user_id` must be the caller's own id (403 otherwise)."""
    return await _chat(data, caller, db, provider, settings)


@router.get("/api/v1/conversations")
async def list_conversations(
    caller: CurrentCaller, db: DbDep, params: PageParamsDep
) -> Page[ConversationRead]:
    """Your conversations, most recently updated first."""
    result = await chat_service.list_conversations(db, owner_id=caller.id, params=params)
    return Page.of(result, [ConversationRead.model_validate(c) for c in result.items])


@router.get(
    "/api/v1/conversations/{conversation_id}",
    responses=error_responses(ConversationNotFound),
)
async def read_conversation(conversation: OwnedConversation, db: DbDep) -> ConversationDetail:
    """One of your conversations with its messages, oldest first."""
    messages = await chat_service.list_messages(db, conversation=conversation)
    return ConversationDetail(
        **ConversationRead.model_validate(conversation).model_dump(),
        messages=[MessageRead.model_validate(m) for m in messages],
    )


@router.delete(
    "/api/v1/conversations/{conversation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(ConversationNotFound),
)
async def delete_conversation(conversation: OwnedConversation, db: DbDep) -> None:
    """Delete one of your conversations and its messages."""
    await chat_service.delete_conversation(db, conversation=conversation)
