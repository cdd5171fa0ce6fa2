"""Chat API: POST /api/v1/chat, POST /api/{user_id}/chat, /api/v1/conversations."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, status

from gatehouse.auth.dependencies import CurrentUser
from gatehouse.chat import service as chat_service
from gatehouse.chat.providers.base import ChatProvider
from gatehouse.chat.schemas import (
    ChatRequest,
    ChatResponse,
    ConversationDetail,
    ConversationRead,
    MessageRead,
    ToolCallRead,
)
from gatehouse.core.db import SessionDep
from gatehouse.core.errors import Forbidden
from gatehouse.core.openapi import error_responses
from gatehouse.core.pagination import Page, PageParamsDep
from gatehouse.core.ratelimit import default_rate_limit

router = APIRouter(
    tags=["chat"],
    dependencies=[Depends(default_rate_limit)],
    responses=error_responses(401, 422, 429),
)


def _provider(request: Request) -> ChatProvider:
    provider: ChatProvider = request.app.state.chat_provider
    return provider


ProviderDep = Annotated[ChatProvider, Depends(_provider)]


async def _chat(
    data: ChatRequest, user: CurrentUser, session: SessionDep, provider: ChatProvider
) -> ChatResponse:
    result = await chat_service.chat(
        session,
        owner_id=user.id,
        provider=provider,
        message=data.message,
        conversation_id=data.conversation_id,
    )
    return ChatResponse(
        conversation_id=result.conversation_id,
        response=result.response,
        tool_calls=[ToolCallRead.model_validate(call) for call in result.tool_calls],
    )


@router.post("/api/v1/chat", responses=error_responses(404, 503))
async def chat(
    data: ChatRequest,
    user: CurrentUser,
    session: SessionDep,
    provider: ChatProvider = Depends(_provider),
) -> ChatResponse:
    """Talk to the task assistant. Leave `conversation_id` out to start a conversation."""
    return await _chat(data, user, session, provider)


@router.post("/api/{user_id}/chat", responses=error_responses(403, 404, 503))
async def chat_as(
    user_id: str,
    data: ChatRequest,
    user: CurrentUser,
    session: SessionDep,
    provider: ChatProvider = Depends(_provider),
) -> ChatResponse:
    """The same as /api/v1/chat; `user_id` must be the caller's own id (403 otherwise)."""
    if user_id != str(user.id):
        raise Forbidden()
    return await _chat(data, user, session, provider)


@router.get("/api/v1/conversations")
async def list_conversations(
    user: CurrentUser, session: SessionDep, params: PageParamsDep
) -> Page[ConversationRead]:
    """Your conversations, most recently updated first."""
    result = await chat_service.list_conversations(session, owner_id=user.id, params=params)
    return Page.of(result, [ConversationRead.model_validate(c) for c in result.items])


@router.get("/api/v1/conversations/{conversation_id}", responses=error_responses(404))
async def read_conversation(
    conversation_id: str, user: CurrentUser, session: SessionDep
) -> ConversationDetail:
    """One of your conversations with its messages, oldest first."""
    conversation = await chat_service.get_conversation(
        session, owner_id=user.id, conversation_id=conversation_id
    )
    messages = await chat_service.list_messages(session, conversation=conversation)
    return ConversationDetail(
        **ConversationRead.model_validate(conversation).model_dump(),
        messages=[MessageRead.model_validate(m) for m in messages],
    )


@router.delete(
    "/api/v1/conversations/{conversation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(404),
)
async def delete_conversation(conversation_id: str, user: CurrentUser, session: SessionDep) -> None:
    """Delete one of your conversations and its messages."""
    conversation = await chat_service.get_conversation(
        session, owner_id=user.id, conversation_id=conversation_id
    )
    await chat_service.delete_conversation(session, conversation=conversation)
