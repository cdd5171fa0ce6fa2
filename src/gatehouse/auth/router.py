"""Accounts and tokens API: /api/v1/auth."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from gatehouse.auth import recovery
from gatehouse.auth import service as auth_service
from gatehouse.auth.dependencies import (
    ClientDep,
    CurrentPrincipal,
    CurrentUser,
    HasherDep,
    PolicyDep,
    ThrottleDep,
    TokenCodecDep,
    login_rate_limit,
)
from gatehouse.auth.schemas import (
    ChangePasswordRequest,
    ForgotPasswordRequest,
    LoginRequest,
    LogoutRequest,
    Message,
    RefreshRequest,
    RegisterRequest,
    ResetPasswordRequest,
    SessionRead,
    TokenPair,
    VerifyRequest,
)
from gatehouse.auth.service import IssuedTokens
from gatehouse.core.config import SettingsDep
from gatehouse.core.db import SessionDep
from gatehouse.core.ids import parse_id
from gatehouse.core.openapi import error_responses
from gatehouse.core.ratelimit import (
    default_rate_limit,
    forgot_password_rate_limit,
    register_rate_limit,
)
from gatehouse.users.schemas import UserRead

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

_DEFAULT_LIMIT = [Depends(default_rate_limit)]
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _token_pair(tokens: IssuedTokens, response: Response) -> TokenPair:
    response.headers.update(NO_STORE)
    return TokenPair(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        expires_in=tokens.expires_in,
    )


_LOGIN_ERRORS: dict[int | str, dict[str, Any]] = error_responses(
    401, 403, 422, 429, codes={401: "INVALID_CREDENTIALS", 403: "ACCOUNT_DISABLED"}
)


@router.post(
    "/register",
    dependencies=[Depends(register_rate_limit)],
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(409, 422, codes={409: "EMAIL_ALREADY_REGISTERED"}),
)
async def register(
    data: RegisterRequest,
    response: Response,
    session: SessionDep,
    hasher: HasherDep,
    policy: PolicyDep,
    settings: SettingsDep,
) -> UserRead:
    """Create an account and mail it a verification link. Privileged fields (role,
    is_active, is_verified) are ignored."""
    user = await auth_service.register(
        session,
        hasher=hasher,
        policy=policy,
        email=str(data.email),
        password=data.password,
        full_name=data.full_name,
        settings=settings,
    )
    response.headers["Location"] = f"/api/v1/users/{user.id}"
    return UserRead.model_validate(user)


@router.post(
    "/token", dependencies=[Depends(login_rate_limit("username"))], responses=_LOGIN_ERRORS
)
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    response: Response,
    session: SessionDep,
    hasher: HasherDep,
    codec: TokenCodecDep,
    throttle: ThrottleDep,
    client: ClientDep,
) -> TokenPair:
    """OAuth2 password flow: `username` is the email. Opens a session."""
    tokens = await auth_service.login(
        session,
        hasher=hasher,
        codec=codec,
        throttle=throttle,
        email=form.username,
        password=form.password,
        client=client,
    )
    return _token_pair(tokens, response)


@router.post("/login", dependencies=[Depends(login_rate_limit("email"))], responses=_LOGIN_ERRORS)
async def login(
    data: LoginRequest,
    response: Response,
    session: SessionDep,
    hasher: HasherDep,
    codec: TokenCodecDep,
    throttle: ThrottleDep,
    client: ClientDep,
) -> TokenPair:
    """Log in with a JSON body. Opens a session."""
    tokens = await auth_service.login(
        session,
        hasher=hasher,
        codec=codec,
        throttle=throttle,
        email=data.email,
        password=data.password,
        client=client,
    )
    return _token_pair(tokens, response)


@router.post(
    "/refresh",
    dependencies=_DEFAULT_LIMIT,
    responses=error_responses(401, 422, codes={401: "INVALID_TOKEN"}),
)
async def refresh(
    data: RefreshRequest,
    response: Response,
    session: SessionDep,
    codec: TokenCodecDep,
    client: ClientDep,
) -> TokenPair:
    """Exchange a refresh token for a new pair. Each refresh token works once; presenting
    a used one ends the whole session (reuse detection)."""
    tokens = await auth_service.refresh(
        session, codec=codec, refresh_token=data.refresh_token, client=client
    )
    return _token_pair(tokens, response)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(401))
async def logout(
    principal: CurrentPrincipal,
    session: SessionDep,
    client: ClientDep,
    data: LogoutRequest | None = None,
) -> None:
    """End the current session at once; its access and refresh tokens stop working."""
    await auth_service.logout(
        session,
        principal=principal,
        client=client,
        refresh_token=data.refresh_token if data else None,
    )


@router.post("/logout-all", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(401))
async def logout_all(user: CurrentUser, session: SessionDep, client: ClientDep) -> None:
    """End every session of the current user."""
    await auth_service.logout_all(session, user_id=user.id, client=client)


@router.get("/sessions", dependencies=_DEFAULT_LIMIT, responses=error_responses(401))
async def list_sessions(principal: CurrentPrincipal, session: SessionDep) -> list[SessionRead]:
    """The current user's live sessions, newest first; `current` marks this one."""
    sessions = await auth_service.list_sessions(session, user_id=principal.user.id)
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
    responses=error_responses(401, 404),
)
async def revoke_session(session_id: str, user: CurrentUser, session: SessionDep) -> None:
    """End one of your sessions. Another user's session, or an ended one, is 404."""
    await auth_service.revoke_session(
        session, user_id=user.id, session_id=parse_id(session_id, not_found="Session not found")
    )


RESET_LINK_ANSWER = "If an account exists for this email, a reset link is on its way."


@router.post(
    "/forgot-password",
    dependencies=[Depends(forgot_password_rate_limit)],
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(422, 429),
)
async def forgot_password(
    data: ForgotPasswordRequest, session: SessionDep, settings: SettingsDep, client: ClientDep
) -> Message:
    """Mail a reset link. The answer is the same, in body and time, for unknown emails."""
    await recovery.forgot_password(session, email=str(data.email), settings=settings, client=client)
    return Message(message=RESET_LINK_ANSWER)


@router.post(
    "/reset-password",
    dependencies=_DEFAULT_LIMIT,
    responses=error_responses(400, 422, codes={400: "INVALID_RESET_TOKEN"}),
)
async def reset_password(
    data: ResetPasswordRequest,
    session: SessionDep,
    hasher: HasherDep,
    policy: PolicyDep,
    settings: SettingsDep,
    throttle: ThrottleDep,
    client: ClientDep,
) -> Message:
    """Set a new password with the token from the reset mail. Every session ends."""
    await recovery.reset_password(
        session,
        hasher=hasher,
        policy=policy,
        token=data.token,
        new_password=data.new_password,
        settings=settings,
        throttle=throttle,
        client=client,
    )
    return Message(message="Your password has been reset. Please log in again.")


@router.post(
    "/change-password",
    dependencies=_DEFAULT_LIMIT,
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(400, 401, 422, codes={400: "INVALID_PASSWORD"}),
)
async def change_password(
    data: ChangePasswordRequest,
    principal: CurrentPrincipal,
    session: SessionDep,
    hasher: HasherDep,
    policy: PolicyDep,
    settings: SettingsDep,
    client: ClientDep,
) -> None:
    """Change your password. Your other sessions end and a notice is mailed to you."""
    await recovery.change_password(
        session,
        hasher=hasher,
        policy=policy,
        user=principal.user,
        current_session=principal.session.id,
        current_password=data.current_password,
        new_password=data.new_password,
        settings=settings,
        client=client,
    )


@router.post(
    "/verify/request",
    dependencies=_DEFAULT_LIMIT,
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(401),
)
async def request_verification(
    user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> Message:
    """Mail a new verification link (nothing is sent when the email is verified already)."""
    await recovery.request_verification(session, user=user, settings=settings)
    return Message(message="If your email is not verified yet, a verification link is on its way.")


@router.post(
    "/verify",
    dependencies=_DEFAULT_LIMIT,
    responses=error_responses(400, 422, codes={400: "INVALID_VERIFICATION_TOKEN"}),
)
async def verify(data: VerifyRequest, session: SessionDep, client: ClientDep) -> UserRead:
    """Confirm an email address with the token from the verification mail."""
    user = await recovery.verify_email(session, token=data.token, client=client)
    return UserRead.model_validate(user)
