"""Typed answers of the Gatehouse API (unknown fields are ignored, so servers can grow)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class TokenPair(_Model):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105  (not a secret)
    expires_in: int


class TotpSetup(_Model):
    """A TOTP setup waiting for its first code: the key, and the URI to show as a QR code."""

    secret: str
    otpauth_uri: str


class RecoveryCodes(_Model):
    """Single-use codes that stand in for a TOTP code; the server shows them only once."""

    recovery_codes: list[str]


class User(_Model):
    id: str
    email: str
    full_name: str | None = None
    role: Literal["user", "admin"]
    is_active: bool
    is_verified: bool
    created_at: datetime
    updated_at: datetime


class Session(_Model):
    id: str
    created_at: datetime
    last_used_at: datetime
    user_agent: str | None = None
    ip: str | None = None
    current: bool


class Task(_Model):
    id: str
    title: str
    description: str | None = None
    completed: bool
    priority: Literal["low", "medium", "high"]
    due_date: date | None = None
    created_at: datetime
    updated_at: datetime


class Page(_Model, Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int
    pages: int


class ToolCall(_Model):
    name: str
    arguments: dict[str, Any]
    result: dict[str, Any]


class ChatReply(_Model):
    conversation_id: str
    response: str
    tool_calls: list[ToolCall]


class Conversation(_Model):
    id: str
    title: str
    created_at: datetime
    updated_at: datetime


class Message(_Model):
    id: str
    role: Literal["user", "assistant", "tool"]
    content: str
    tool_calls: list[ToolCall]
    created_at: datetime


class ConversationDetail(Conversation):
    messages: list[Message]


class AuditEvent(_Model):
    id: str
    kind: str
    user_id: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    created_at: datetime
    details: dict[str, Any]


class MessageReply(_Model):
    message: str
