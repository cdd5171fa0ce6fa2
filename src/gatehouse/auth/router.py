"""Accounts and tokens API: /api/v1/auth."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from gatehouse.auth import mfa, passkeys, passwords, recovery, verification
from gatehouse.auth import service as auth_service
from gatehouse.auth.dependencies import (
    AuthKitDep,
    CurrentPrincipal,
    CurrentUser,
    OriginDep,
    verify_rate_limit,
)
from gatehouse.auth.devices import DEVICE_HEADER, DeviceTokenDep
from gatehouse.auth.exceptions import (
    AccountDisabled,
    InvalidCredentials,
    InvalidMfaCode,
    InvalidResetToken,
    InvalidVerificationToken,
    MfaAlreadyEnabled,
    MfaNotEnabled,
    MfaRequired,
    PasskeyLoginFailed,
    PasskeyNotFound,
    PasskeyRegistrationFailed,
)
from gatehouse.auth.limits import forgot_password_rate_limit, login_rate_limit, register_rate_limit
from gatehouse.auth.schemas import (
    ChangePasswordRequest,
    ForgotPasswordRequest,
    LoginRequest,
    LogoutRequest,
    Message,
    MfaCodeRequest,
    MfaVerifyRequest,
    PasskeyLoginOptionsRequest,
    PasskeyLoginRequest,
    PasskeyRead,
    PasskeyRegisterRequest,
    PasskeyRename,
    PasswordAndCodeRequest,
    RecoveryCodes,
    RefreshRequest,
    RegisterRequest,
    ResetPasswordRequest,
    SessionRead,
    TokenPair,
    TotpSetup,
    TotpSetupRequest,
    VerifyRequest,
)
from gatehouse.auth.service import IssuedTokens
from gatehouse.core.db import DbDep
from gatehouse.core.errors import InvalidToken, NotAuthenticated, RateLimited, ValidationFailed
from gatehouse.core.ids import parse_id
from gatehouse.core.openapi import error_responses
from gatehouse.core.ratelimit import default_rate_limit
from gatehouse.sessions import service as sessions_service
from gatehouse.sessions.exceptions import SessionNotFound
from gatehouse.users.exceptions import EmailAlreadyRegistered, InvalidPassword
from gatehouse.users.schemas import UserRead

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

_DEFAULT_LIMIT = [Depends(default_rate_limit)]
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _token_pair(tokens: IssuedTokens, response: Response) -> TokenPair:
    response.headers.update(NO_STORE)
    if tokens.device_token is not None:
        response.headers[DEVICE_HEADER] = tokens.device_token
    return TokenPair(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_in=tokens.expires_in,
    )


_LOGIN_ERRORS = error_responses(
    InvalidCredentials, MfaRequired, AccountDisabled, ValidationFailed, RateLimited
)


@router.post(
    "/register",
    dependencies=[Depends(register_rate_limit)],
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(EmailAlreadyRegistered, ValidationFailed, RateLimited),
)
async def register(
    data: RegisterRequest,
    response: Response,
    db: DbDep,
    kit: AuthKitDep,
) -> UserRead:
    """Create an account and mail it a verification link. Privileged fields (role,
    is_active, is_verified) are ignored."""
    user = await auth_service.register(
        db, kit=kit, email=str(data.email), password=data.password, full_name=data.full_name
    )
    response.headers["Location"] = f"/api/v1/users/{user.id}"
    return UserRead.model_validate(user)


@router.post(
    "/token", dependencies=[Depends(login_rate_limit("username"))], responses=_LOGIN_ERRORS
)
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    response: Response,
    db: DbDep,
    kit: AuthKitDep,
    origin: OriginDep,
    device_token: DeviceTokenDep,
) -> TokenPair:
    """OAuth2 password flow: `username` is the email. Opens a session; the client's
    device token comes back in `X-Device-Token`. For an account with a second factor a
    right password answers 401 MFA_REQUIRED with `details.mfa_token`: finish at
    `/mfa/verify`."""
    tokens = await auth_service.login(
        db,
        kit=kit,
        email=form.username,
        password=form.password,
        origin=origin,
        device_token=device_token,
    )
    return _token_pair(tokens, response)


@router.post("/login", dependencies=[Depends(login_rate_limit("email"))], responses=_LOGIN_ERRORS)
async def login(
    data: LoginRequest,
    response: Response,
    db: DbDep,
    kit: AuthKitDep,
    origin: OriginDep,
    device_token: DeviceTokenDep,
) -> TokenPair:
    """Log in with a JSON body. Opens a session; the client's device token comes back in
    `X-Device-Token`. For an account with a second factor a right password answers 401
    MFA_REQUIRED with `details.mfa_token`: finish at `/mfa/verify`."""
    tokens = await auth_service.login(
        db,
        kit=kit,
        email=data.email,
        password=data.password,
        origin=origin,
        device_token=device_token,
    )
    return _token_pair(tokens, response)


@router.post(
    "/refresh",
    dependencies=_DEFAULT_LIMIT,
    responses=error_responses(InvalidToken, ValidationFailed, RateLimited),
)
async def refresh(
    data: RefreshRequest, response: Response, db: DbDep, kit: AuthKitDep, origin: OriginDep
) -> TokenPair:
    """Exchange a refresh token for a new pair. Each refresh token works once; presenting
    a used one ends the whole session (reuse detection)."""
    tokens = await auth_service.refresh(
        db, kit=kit, refresh_token=data.refresh_token, origin=origin
    )
    return _token_pair(tokens, response)


_SIGNED_IN_ERRORS = (NotAuthenticated, InvalidToken, RateLimited)


@router.post(
    "/logout",
    dependencies=_DEFAULT_LIMIT,
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(*_SIGNED_IN_ERRORS, ValidationFailed),
)
async def logout(
    principal: CurrentPrincipal, db: DbDep, origin: OriginDep, data: LogoutRequest | None = None
) -> None:
    """End the current session at once; its access and refresh tokens stop working."""
    await auth_service.logout(
        db, principal=principal, origin=origin, refresh_token=data.refresh_token if data else None
    )


@router.post(
    "/logout-all",
    dependencies=_DEFAULT_LIMIT,
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(*_SIGNED_IN_ERRORS),
)
async def logout_all(user: CurrentUser, db: DbDep, origin: OriginDep) -> None:
    """End every session of the current user."""
    await auth_service.logout_all(db, user_id=user.id, origin=origin)


@router.get("/sessions", dependencies=_DEFAULT_LIMIT, responses=error_responses(*_SIGNED_IN_ERRORS))
async def list_sessions(principal: CurrentPrincipal, db: DbDep) -> list[SessionRead]:
    """The current user's live sessions, newest first; `current` marks this one."""
    sessions = await sessions_service.list_sessions(db, user_id=principal.user.id)
    return [
        SessionRead(
            id=item.id,
            created_at=item.created_at,
            last_used_at=item.last_used_at,
            user_agent=item.user_agent,
            ip=item.ip,
            current=item.id == principal.session.id,
        )
        for item in sessions
    ]


@router.delete(
    "/sessions/{session_id}",
    dependencies=_DEFAULT_LIMIT,
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(*_SIGNED_IN_ERRORS, SessionNotFound),
)
async def revoke_session(session_id: str, user: CurrentUser, db: DbDep) -> None:
    """End one of your sessions. Another user's session, or an ended one, is 404."""
    await sessions_service.revoke_session(
        db, user_id=user.id, session_id=parse_id(session_id, not_found=SessionNotFound)
    )


RESET_LINK_ANSWER = "If an account exists for this email, a reset link is on its way."


@router.post(
    "/forgot-password",
    dependencies=[Depends(forgot_password_rate_limit)],
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(ValidationFailed, RateLimited),
)
async def forgot_password(
    data: ForgotPasswordRequest, db: DbDep, kit: AuthKitDep, origin: OriginDep
) -> Message:
    """Mail a reset link. The answer is the same, in body and time, for unknown emails."""
    await recovery.forgot_password(db, kit=kit, email=str(data.email), origin=origin)
    return Message(message=RESET_LINK_ANSWER)


@router.post(
    "/reset-password",
    dependencies=_DEFAULT_LIMIT,
    responses=error_responses(InvalidResetToken, ValidationFailed, RateLimited),
)
async def reset_password(
    data: ResetPasswordRequest, db: DbDep, kit: AuthKitDep, origin: OriginDep
) -> Message:
    """Set a new password with the token from the reset mail. Every session ends."""
    await recovery.reset_password(
        db, kit=kit, token=data.token, new_password=data.new_password, origin=origin
    )
    return Message(message="Your password has been reset. Please log in again.")


@router.post(
    "/change-password",
    dependencies=_DEFAULT_LIMIT,
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(InvalidPassword, *_SIGNED_IN_ERRORS, ValidationFailed),
)
async def change_password(
    data: ChangePasswordRequest,
    principal: CurrentPrincipal,
    db: DbDep,
    kit: AuthKitDep,
    origin: OriginDep,
    device_token: DeviceTokenDep,
) -> None:
    """Change your password. Your other sessions end and a notice is mailed to you. A wrong
    current password counts as a failed login."""
    await passwords.change_password(
        db,
        kit=kit,
        user=principal.user,
        current_session=principal.session.id,
        current_password=data.current_password,
        new_password=data.new_password,
        origin=origin,
        device_token=device_token,
    )


@router.post(
    "/verify/request",
    dependencies=[*_DEFAULT_LIMIT, Depends(verify_rate_limit)],
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(*_SIGNED_IN_ERRORS),
)
async def request_verification(user: CurrentUser, db: DbDep, kit: AuthKitDep) -> Message:
    """Mail a new verification link (nothing is sent when the email is verified already)."""
    await verification.request_verification(db, user=user, settings=kit.settings)
    return Message(message="If your email is not verified yet, a verification link is on its way.")


@router.post(
    "/verify",
    dependencies=_DEFAULT_LIMIT,
    responses=error_responses(InvalidVerificationToken, ValidationFailed, RateLimited),
)
async def verify(data: VerifyRequest, db: DbDep, origin: OriginDep) -> UserRead:
    """Confirm an email address with the token from the verification mail."""
    user = await verification.verify_email(db, token=data.token, origin=origin)
    return UserRead.model_validate(user)


# --- second factor: /api/v1/auth/mfa -----------------------------------------------------

_CODE_ERRORS = (InvalidMfaCode, MfaNotEnabled, RateLimited, ValidationFailed)


@router.post(
    "/mfa/totp/setup",
    dependencies=_DEFAULT_LIMIT,
    responses=error_responses(InvalidPassword, MfaAlreadyEnabled, *_SIGNED_IN_ERRORS),
)
async def setup_totp(
    data: TotpSetupRequest,
    response: Response,
    user: CurrentUser,
    db: DbDep,
    kit: AuthKitDep,
    device_token: DeviceTokenDep,
) -> TotpSetup:
    """Start enrolling TOTP (RFC 6238: SHA-1, 6 digits, 30 s): a new secret and its
    otpauth URI. Nothing is active until `/mfa/totp/confirm`; a pending setup is replaced.
    A wrong password counts as a failed login."""
    enrolment = await mfa.setup_totp(
        db, kit=kit, user=user, password=data.password, device_token=device_token
    )
    response.headers.update(NO_STORE)
    return TotpSetup(secret=enrolment.secret, otpauth_uri=enrolment.otpauth_uri)


@router.post(
    "/mfa/totp/confirm",
    dependencies=_DEFAULT_LIMIT,
    responses=error_responses(*_CODE_ERRORS, MfaAlreadyEnabled, *_SIGNED_IN_ERRORS),
)
async def confirm_totp(
    data: MfaCodeRequest,
    response: Response,
    user: CurrentUser,
    db: DbDep,
    kit: AuthKitDep,
    origin: OriginDep,
    device_token: DeviceTokenDep,
) -> RecoveryCodes:
    """Activate the pending TOTP with a current code. The answer holds 10 single-use
    recovery codes, shown only now (stored hashed). A wrong code counts as a failed login."""
    codes = await mfa.confirm_totp(
        db, kit=kit, user=user, code=data.code, origin=origin, device_token=device_token
    )
    response.headers.update(NO_STORE)
    return RecoveryCodes(recovery_codes=codes)


@router.delete(
    "/mfa/totp",
    dependencies=_DEFAULT_LIMIT,
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(InvalidPassword, *_CODE_ERRORS, *_SIGNED_IN_ERRORS),
)
async def disable_totp(
    data: PasswordAndCodeRequest,
    user: CurrentUser,
    db: DbDep,
    kit: AuthKitDep,
    origin: OriginDep,
    device_token: DeviceTokenDep,
) -> None:
    """Turn the second factor off (the recovery codes go too), with the password and a
    TOTP or recovery code."""
    await mfa.disable_totp(
        db,
        kit=kit,
        user=user,
        password=data.password,
        code=data.code,
        origin=origin,
        device_token=device_token,
    )


@router.post(
    "/mfa/recovery-codes",
    dependencies=_DEFAULT_LIMIT,
    responses=error_responses(InvalidPassword, *_CODE_ERRORS, *_SIGNED_IN_ERRORS),
)
async def regenerate_recovery_codes(
    data: PasswordAndCodeRequest,
    response: Response,
    user: CurrentUser,
    db: DbDep,
    kit: AuthKitDep,
    origin: OriginDep,
    device_token: DeviceTokenDep,
) -> RecoveryCodes:
    """A new set of 10 recovery codes, with the password and a TOTP or recovery code; the
    old set stops working."""
    codes = await mfa.regenerate_recovery_codes(
        db,
        kit=kit,
        user=user,
        password=data.password,
        code=data.code,
        origin=origin,
        device_token=device_token,
    )
    response.headers.update(NO_STORE)
    return RecoveryCodes(recovery_codes=codes)


@router.post(
    "/mfa/verify",
    dependencies=_DEFAULT_LIMIT,
    responses=error_responses(InvalidMfaCode, InvalidToken, RateLimited, ValidationFailed),
)
async def verify_mfa(
    data: MfaVerifyRequest,
    response: Response,
    db: DbDep,
    kit: AuthKitDep,
    origin: OriginDep,
    device_token: DeviceTokenDep,
) -> TokenPair:
    """The second step of a login from `/token` or `/login` that answered MFA_REQUIRED:
    the `mfa_token` and a TOTP or recovery code give the token pair. An mfa_token works
    once, for 5 minutes, and its fifth wrong code ends it (INVALID_TOKEN after that);
    wrong codes count as failed logins. (A login from `POST /sessions` ends at
    `POST /sessions/mfa`.)"""
    tokens = await mfa.verify_login(
        db,
        kit=kit,
        mfa_token=data.mfa_token,
        code=data.code,
        origin=origin,
        device_token=device_token,
    )
    return _token_pair(tokens, response)


# --- passkeys: /api/v1/auth/mfa/webauthn ---------------------------------------------------


@router.post(
    "/mfa/webauthn/register/options",
    dependencies=_DEFAULT_LIMIT,
    responses=error_responses(*_SIGNED_IN_ERRORS),
)
async def passkey_register_options(
    response: Response, user: CurrentUser, db: DbDep, kit: AuthKitDep
) -> dict[str, Any]:
    """WebAuthn creation options (JSON, binary fields base64url) for a new discoverable
    passkey; pass them to `navigator.credentials.create`. The challenge works once, for 5
    minutes."""
    response.headers.update(NO_STORE)
    return await passkeys.registration_options(db, kit=kit, user=user)


@router.post(
    "/mfa/webauthn/register/verify",
    dependencies=_DEFAULT_LIMIT,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(PasskeyRegistrationFailed, ValidationFailed, *_SIGNED_IN_ERRORS),
)
async def passkey_register_verify(
    data: PasskeyRegisterRequest, user: CurrentUser, db: DbDep, kit: AuthKitDep, origin: OriginDep
) -> PasskeyRead:
    """Store the passkey the authenticator created (attestation "none" is enough)."""
    passkey = await passkeys.register(
        db, kit=kit, user=user, credential=data.credential, name=data.name, origin=origin
    )
    return PasskeyRead.model_validate(passkey)


@router.get(
    "/mfa/webauthn/credentials",
    dependencies=_DEFAULT_LIMIT,
    responses=error_responses(*_SIGNED_IN_ERRORS),
)
async def list_passkeys(user: CurrentUser, db: DbDep) -> list[PasskeyRead]:
    """Your passkeys, oldest first."""
    return [
        PasskeyRead.model_validate(item)
        for item in await passkeys.list_passkeys(db, user_id=user.id)
    ]


@router.patch(
    "/mfa/webauthn/credentials/{passkey_id}",
    dependencies=_DEFAULT_LIMIT,
    responses=error_responses(PasskeyNotFound, ValidationFailed, *_SIGNED_IN_ERRORS),
)
async def rename_passkey(
    passkey_id: str, data: PasskeyRename, user: CurrentUser, db: DbDep
) -> PasskeyRead:
    """Rename one of your passkeys; another user's is 404."""
    passkey = await passkeys.rename(
        db,
        user_id=user.id,
        passkey_id=parse_id(passkey_id, not_found=PasskeyNotFound),
        name=data.name,
    )
    return PasskeyRead.model_validate(passkey)


@router.delete(
    "/mfa/webauthn/credentials/{passkey_id}",
    dependencies=_DEFAULT_LIMIT,
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(PasskeyNotFound, *_SIGNED_IN_ERRORS),
)
async def delete_passkey(passkey_id: str, user: CurrentUser, db: DbDep, origin: OriginDep) -> None:
    """Remove one of your passkeys; another user's is 404."""
    await passkeys.delete(
        db,
        user_id=user.id,
        passkey_id=parse_id(passkey_id, not_found=PasskeyNotFound),
        origin=origin,
    )


@router.post(
    "/mfa/webauthn/login/options",
    dependencies=[Depends(login_rate_limit("email"))],
    responses=error_responses(ValidationFailed, RateLimited),
)
async def passkey_login_options(
    data: PasskeyLoginOptionsRequest, response: Response, db: DbDep, kit: AuthKitDep
) -> dict[str, Any]:
    """WebAuthn request options for `navigator.credentials.get`. Without `email`: any
    discoverable passkey (empty `allowCredentials`); with it, that account's passkeys
    (the answer looks the same for an unknown email). The challenge works once, for 5
    minutes."""
    response.headers.update(NO_STORE)
    return await passkeys.login_options(db, kit=kit, email=data.email)


@router.post(
    "/mfa/webauthn/login/verify",
    dependencies=_DEFAULT_LIMIT,
    responses=error_responses(PasskeyLoginFailed, AccountDisabled, ValidationFailed, RateLimited),
)
async def passkey_login_verify(
    data: PasskeyLoginRequest,
    response: Response,
    db: DbDep,
    kit: AuthKitDep,
    origin: OriginDep,
    device_token: DeviceTokenDep,
) -> TokenPair:
    """Sign in with a passkey: passwordless (user verification required), or, with the
    `mfa_token` of an MFA_REQUIRED answer, as the second step of a password login. A
    refused passkey counts as a failed login of its account."""
    tokens = await passkeys.login(
        db,
        kit=kit,
        credential=data.credential,
        mfa_token=data.mfa_token,
        origin=origin,
        device_token=device_token,
    )
    return _token_pair(tokens, response)
