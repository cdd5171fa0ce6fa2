"""Wire shapes of the accounts and tokens API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from gatehouse.users.schemas import PersonName

# Upper bounds on input sizes keep hashing cost bounded; the policy sets the real limits.
PASSWORD_INPUT_MAX = 1024
TOKEN_INPUT_MAX = 512


class RegisterRequest(BaseModel):
    email: EmailStr = Field(max_length=320)
    password: str = Field(max_length=PASSWORD_INPUT_MAX)
    full_name: PersonName = None


class LoginRequest(BaseModel):
    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=PASSWORD_INPUT_MAX)


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=TOKEN_INPUT_MAX)


class LogoutRequest(BaseModel):
    refresh_token: str | None = Field(default=None, min_length=1, max_length=TOKEN_INPUT_MAX)


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105  (not a secret)
    expires_in: int = Field(description="Lifetime of the access token in seconds (exp - iat)")


class SessionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="The `sid` claim of this session's access tokens")
    created_at: datetime
    last_used_at: datetime
    user_agent: str | None
    ip: str | None
    current: bool


class ForgotPasswordRequest(BaseModel):
    email: EmailStr = Field(max_length=320)


class ResetPasswordRequest(BaseModel):
    token: str = Field(min_length=1, max_length=TOKEN_INPUT_MAX)
    new_password: str = Field(max_length=PASSWORD_INPUT_MAX)


class ChangePasswordRequest(BaseModel):
    current_password: str = Field(min_length=1, max_length=PASSWORD_INPUT_MAX)
    new_password: str = Field(max_length=PASSWORD_INPUT_MAX)


class VerifyRequest(BaseModel):
    token: str = Field(min_length=1, max_length=TOKEN_INPUT_MAX)


class Message(BaseModel):
    message: str


# --- second factor
CODE_INPUT_MAX = 64


class TotpSetupRequest(BaseModel):
    password: str = Field(min_length=1, max_length=PASSWORD_INPUT_MAX)


class TotpSetup(BaseModel):
    secret: str = Field(description="Base32 TOTP secret, for manual entry in an authenticator")
    otpauth_uri: str = Field(description="The `otpauth://totp/...` URI (for a QR code)")


class MfaCodeRequest(BaseModel):
    code: str = Field(min_length=1, max_length=CODE_INPUT_MAX, description="A 6-digit TOTP code")


class PasswordAndCodeRequest(BaseModel):
    password: str = Field(min_length=1, max_length=PASSWORD_INPUT_MAX)
    code: str = Field(
        min_length=1, max_length=CODE_INPUT_MAX, description="A TOTP code or a recovery code"
    )


class RecoveryCodes(BaseModel):
    recovery_codes: list[str] = Field(
        description="Single-use codes, shown only now: each replaces a TOTP code once"
    )


class MfaVerifyRequest(BaseModel):
    mfa_token: str = Field(
        min_length=1, max_length=TOKEN_INPUT_MAX, description="From the MFA_REQUIRED answer"
    )
    code: str = Field(
        min_length=1, max_length=CODE_INPUT_MAX, description="A TOTP code or a recovery code"
    )


# --- passkeys (WebAuthn)
PASSKEY_NAME_MAX = 100
_CREDENTIAL = (
    "The PublicKeyCredential as JSON, binary fields base64url "
    "(what `PublicKeyCredential.toJSON()` gives)"
)


class PasskeyRegisterRequest(BaseModel):
    credential: dict[str, Any] = Field(description=_CREDENTIAL)
    name: str | None = Field(default=None, max_length=PASSKEY_NAME_MAX)


class PasskeyLoginOptionsRequest(BaseModel):
    email: str | None = Field(
        default=None,
        max_length=320,
        description="Offer this account's passkeys; without it, any discoverable passkey",
    )


class PasskeyLoginRequest(BaseModel):
    credential: dict[str, Any] = Field(description=_CREDENTIAL)
    mfa_token: str | None = Field(
        default=None,
        min_length=1,
        max_length=TOKEN_INPUT_MAX,
        description="From an MFA_REQUIRED answer: the passkey is then the second step",
    )


class PasskeyRename(BaseModel):
    name: str = Field(min_length=1, max_length=PASSKEY_NAME_MAX)


class PasskeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    transports: list[str]
    created_at: datetime
    last_used_at: datetime | None
