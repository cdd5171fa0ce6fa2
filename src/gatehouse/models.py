"""Every table, imported in one place for Alembic's metadata."""

from gatehouse.audit.models import AuditEvent
from gatehouse.auth.models import (
    MfaChallenge,
    OneTimeToken,
    Passkey,
    PasskeyChallenge,
    RecoveryCode,
    RefreshToken,
    TotpCredential,
)
from gatehouse.chat.models import ChatMessage, Conversation
from gatehouse.core.db import Base
from gatehouse.mail.models import OutboxMessage
from gatehouse.ops.models import HousekeepingLease
from gatehouse.sessions.models import AuthSession
from gatehouse.tasks.models import Task
from gatehouse.users.models import User

__all__ = [
    "AuditEvent",
    "AuthSession",
    "Base",
    "ChatMessage",
    "Conversation",
    "HousekeepingLease",
    "MfaChallenge",
    "OneTimeToken",
    "OutboxMessage",
    "Passkey",
    "PasskeyChallenge",
    "RecoveryCode",
    "RefreshToken",
    "Task",
    "TotpCredential",
    "User",
]
