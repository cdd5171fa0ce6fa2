"""`OwnedConversation`: a conversation of the caller's, loaded by id and owner, else 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from gatehouse.auth.dependencies import CurrentCaller
from gatehouse.auth.service import Caller
from gatehouse.chat import service as chat_service
from gatehouse.chat.exceptions import ConversationNotFound
from gatehouse.chat.models import Conversation
from gatehouse.chat.providers.base import ChatProvider
from gatehouse.core.db import DbDep
from gatehouse.core.errors import Forbidden
from gatehouse.core.ids import parse_id


async def owned_conversation(
    conversation_id: str, caller: CurrentCaller, db: DbDep
) -> Conversation:
    """The caller's conversation of the path; anyone else's, or none, is 404."""
    return await chat_service.get_conversation(
        db,
        owner_id=caller.id,
        conversation_id=parse_id(conversation_id, not_found=ConversationNotFound),
    )


async def user_in_path(user_id: str, caller: CurrentCaller) -> Caller:
    """The caller, when the path names the caller's own id; any other id is 403."""
    if user_id != str(caller.id):
        raise Forbidden()
    return caller


def _provider(request: Request) -> ChatProvider:
    provider: ChatProvider = request.app.state.chat_provider
    return provider


OwnedConversation = Annotated[Conversation, Depends(owned_conversation)]
UserInPath = Annotated[Caller, Depends(user_in_path)]
ProviderDep = Annotated[ChatProvider, Depends(_provider)]
