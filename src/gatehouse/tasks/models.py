"""The tasks table: every row belongs to one user."""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, literal_column
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnClause

from gatehouse.core.db import Base, StrEnumType, TimestampMixin, one_of


class Priority(StrEnum):
    """In rising order: the sort by priority follows it."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


def _rank_of(column: str, vocabulary: type[StrEnum]) -> str:
    """`(CASE priority WHEN 'low' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END)`."""
    *lower, _highest = list(vocabulary)
    whens = " ".join(f"WHEN '{member.value}' THEN {rank}" for rank, member in enumerate(lower))
    return f"(CASE {column} {whens} ELSE {len(lower)} END)"


# Sort keys as SQL expressions, written out literally so that the indexes below (built on
# the same expressions) can serve ORDER BY priority / due_date without sorting every row.
PRIORITY_RANK: ColumnClause[int] = literal_column(_rank_of("priority", Priority))
DUE_DATE_MISSING: ColumnClause[int] = literal_column(
    "(CASE WHEN due_date IS NULL THEN 1 ELSE 0 END)", Integer
)


class Task(TimestampMixin, Base):
    __tablename__ = "tasks"
    __table_args__ = (
        CheckConstraint(one_of("priority", Priority), name="priority"),
        Index("ix_tasks_user_id_completed", "user_id", "completed"),
        Index("ix_tasks_user_id_created_at", "user_id", "created_at"),
        Index("ix_tasks_user_id_priority", "user_id", PRIORITY_RANK, "created_at", "id"),
        Index("ix_tasks_user_id_due_date", "user_id", DUE_DATE_MISSING, "due_date", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(String(1000))
    completed: Mapped[bool] = mapped_column(default=False)
    priority: Mapped[Priority] = mapped_column(StrEnumType(Priority, 8), default=Priority.MEDIUM)
    due_date: Mapped[date | None]


class TaskCount(Base):
    """How many tasks a user has. The tasks service, the only writer of tasks, changes it
    beside each insert and delete in the same transaction, so the unfiltered list's total
    is one row read, not a count over every task (bench/tasks.py); a user's deletion
    takes the row with it."""

    __tablename__ = "task_counts"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    total: Mapped[int] = mapped_column(default=0)
