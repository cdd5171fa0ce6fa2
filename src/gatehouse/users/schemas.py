"""Wire shapes of users."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict


class UserRead(BaseModel):
    """A user as the API shows it: never a password hash or a token."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    full_name: str | None
    role: Literal["user", "admin"]
    is_active: bool
    is_verified: bool
    created_at: datetime
    updated_at: datetime
