"""Conversations with the assistant: persisted per user, tools run as that user."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.chat import tools
from gatehouse.chat.exceptions import ConversationNotFound
from gatehouse.chat.models import ChatMessage, Conversation
from gatehouse.chat.providers.base import ChatProvider, HistoryItem, Turn
from gatehouse.core.db import utcnow
from gatehouse.core.pagination import PageParams, PageResult, paginate

TITLE_LENGTH = 80
LIMIT_NOTE = (
    "I stopped after {count} tool calls, the most one message may use. "
    "Send the rest in another message."
)


@dataclass(frozen=True)
class ChatResult:
    conversation_id: uuid.UUID
    response: str
    tool_calls: list[dict[str, Any]]


async def get_conversation(
    db: AsyncSession, *, owner_id: uuid.UUID, conversation_id: uuid.UUID
) -> Conversation:
    """The owner's conversation; anyone else's, or none, is ConversationNotFound."""
    found = await db.scalar(
        select(Conversation).where(
            Conversation.id == conversation_id, Conversation.user_id == owner_id
        )
    )
    if found is None:
        raise ConversationNotFound()
    return found


async def list_conversations(
    db: AsyncSession, *, owner_id: uuid.UUID, params: PageParams
) -> PageResult[Conversation]:
    statement = (
        select(Conversation)
        .where(Conversation.user_id == owner_id)
        .order_by(Conversation.updated_at.desc(), Conversation.id.desc())
    )
    return await paginate(db, statement, params)


async def list_messages(db: AsyncSession, *, conversation: Conversation) -> list[ChatMessage]:
    result = await db.scalars(
        select(ChatMessage)
        .where(ChatMessage.conversation_id == conversation.id)
        .order_by(ChatMessage.created_at.asc(), ChatMessage.id.asc())
    )
    return list(result)


async def delete_conversation(db: AsyncSession, *, conversation: Conversation) -> None:
    await db.execute(delete(Conversation).where(Conversation.id == conversation.id))
    await db.commit()


async def chat(
    db: AsyncSession,
    *,
    owner_id: uuid.UUID,
    provider: ChatProvider,
    message: str,
    conversation_id: uuid.UUID | None,
    max_tool_calls: int,
    max_tasks: int,
    today: date | None = None,
) -> ChatResult:
    """Answer one message. The user's message is committed first, so it is kept even when
    the model fails (503); the assistant's answer and the tasks it changed land together.

    The message runs at most `max_tool_calls` tool calls; when the provider asked for more,
    the answer says so (LIMIT_NOTE). The tools add no task past `max_tasks` for the user."""
    if conversation_id is not None:
        conversation = await get_conversation(
            db, owner_id=owner_id, conversation_id=conversation_id
        )
        history = [
            HistoryItem(role=m.role, content=m.content, tool_calls=list(m.tool_calls or []))
            for m in await list_messages(db, conversation=conversation)
        ]
    else:
        conversation = Conversation(
            id=uuid.uuid4(), user_id=owner_id, title=message.strip()[:TITLE_LENGTH]
        )
        db.add(conversation)
        await db.flush()  # before its first message (no ORM relationship orders them)
        history = []
    now = utcnow()
    db.add(
        ChatMessage(
            conversation_id=conversation.id,
            role="user",
            content=message,
            tool_calls=[],
            created_at=now,
        )
    )
    conversation.updated_at = now
    await db.commit()

    caller = tools.Caller(user_id=owner_id, max_tasks=max_tasks)

    async def run_tool(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        return await tools.call_tool(db, caller=caller, name=name, arguments=arguments)

    turn = Turn(
        history=history,
        message=message,
        today=today or date.today(),
        run_tool=run_tool,
        max_calls=max_tool_calls,
    )
    try:
        response = await provider.respond(turn)
    except Exception:
        await db.rollback()  # no half-done tool work; the user's message stays
        raise
    if turn.limit_reached:
        response = "\n".join(
            part for part in (response, LIMIT_NOTE.format(count=max_tool_calls)) if part
        )
    answered = utcnow()
    db.add(
        ChatMessage(
            conversation_id=conversation.id,
            role="assistant",
            content=response,
            tool_calls=turn.calls,
            created_at=answered,
        )
    )
    conversation.updated_at = answered
    await db.commit()
    return ChatResult(conversation_id=conversation.id, response=response, tool_calls=turn.calls)
