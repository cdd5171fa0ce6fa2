"""Errors of the chat domain."""

from gatehouse.core.errors import AppError


class ConversationNotFound(AppError):
    """Also the answer for another user's conversation."""

    code = "NOT_FOUND"
    status = 404
    message = "Conversation not found"
