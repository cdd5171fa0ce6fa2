"""Wire shapes of users."""

from __future__ import annotations

import unicodedata
import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, model_validator

from gatehouse.users.models import Role

PASSWORD_INPUT_MAX = 1024


def _plain_name(value: str | None) -> str | None:
    """A name is plain text: no control characters, and no format characters (bidi
    overrides and isolates, zero-width joiners and spaces), which can disguise a name in
    mail and on pages."""
    if value is None:
        return None
    for char in value:
        if unicodedata.category(char) in ("Cc", "Cf"):
            raise ValueError(f"must not contain control or format characters (U+{ord(char):04X})")
    return unicodedata.normalize("NFC", value)


PersonName = Annotated[str | None, Field(max_length=200), AfterValidator(_plain_name)]
UserSort = Literal["created_at", "-created_at", "email", "-email"]


class UserRead(BaseModel):
    """A user as the API shows it: never a password hash or a token."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    full_name: str | None
    role: Role
    is_active: bool
    is_verified: bool
    created_at: datetime
    updated_at: datetime


class UserUpdateMe(BaseModel):
    """Your own profile. Changing the email needs the current password."""

    full_name: PersonName = None
    email: EmailStr | None = Field(default=None, max_length=320)
    current_password: str | None = Field(default=None, min_length=1, max_length=PASSWORD_INPUT_MAX)

    @model_validator(mode="after")
    def _email_needs_password(self) -> UserUpdateMe:
        if self.email is not None and self.current_password is None:
            raise ValueError("current_password is required to change the email")
        return self


class UserDeleteMe(BaseModel):
    password: str = Field(min_length=1, max_length=PASSWORD_INPUT_MAX)


class AdminUserCreate(BaseModel):
    email: EmailStr = Field(max_length=320)
    password: str | None = Field(
        default=None,
        max_length=PASSWORD_INPUT_MAX,
        description="Without it, the user is mailed an invitation to choose one.",
    )
    full_name: PersonName = None
    role: Role = Role.USER
    is_verified: bool = False


class AdminUserUpdate(BaseModel):
    full_name: PersonName = None
    email: EmailStr | None = Field(default=None, max_length=320)
    role: Role | None = None
    is_active: bool | None = None
