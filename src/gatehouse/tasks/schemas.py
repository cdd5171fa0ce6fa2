"""Wire shapes of tasks."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from gatehouse.tasks.models import Priority

TaskSort = Literal[
    "created_at", "-created_at", "due_date", "-due_date", "priority", "-priority", "title", "-title"
]
_DATE_ONLY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _date_only(value: object) -> object:
    """Only the string YYYY-MM-DD (or null) is a date on the wire: a date-time string such as
    "2026-01-01T10:00:00" is refused, not truncated, and so are numbers (Pydantic would read
    1893456000 as a Unix time) and booleans. A `date` passes, for Python callers."""
    if value is None:
        return value
    if isinstance(value, str) and _DATE_ONLY.fullmatch(value):
        return value
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise ValueError("must be a date, YYYY-MM-DD")


DueDate = Annotated[
    date | None, BeforeValidator(_date_only), Field(description="YYYY-MM-DD or null")
]
Title = Annotated[str, Field(min_length=1, max_length=200)]
Description = Annotated[str | None, Field(max_length=1000)]


class TaskCreate(BaseModel):
    title: Title
    description: Description = None
    completed: bool = False
    priority: Priority = Priority.MEDIUM
    due_date: DueDate = None


class TaskReplace(TaskCreate):
    """PUT: the whole task; fields left out take their defaults."""


class TaskUpdate(BaseModel):
    """PATCH: only the fields given change."""

    title: Title | None = None
    description: Description = None
    completed: bool | None = None
    priority: Priority | None = None
    due_date: DueDate = None

    @model_validator(mode="after")
    def _required_fields_are_not_null(self) -> TaskUpdate:
        for name in ("title", "completed", "priority"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class TaskRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    description: str | None
    completed: bool
    priority: Priority
    due_date: date | None
    created_at: datetime
    updated_at: datetime
