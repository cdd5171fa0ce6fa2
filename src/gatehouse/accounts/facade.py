"""`Accounts`: the account use cases of the service, called in process (async).

Every method opens a database session of its own, calls the same use case as the HTTP
API (so the password policy, the login throttle, the audit trail, the outbox mail and the
ending of sessions behave exactly as there), commits, and returns a `UserRead` (a
Pydantic model detached from the database) or a plain value; never an ORM object.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, TypeVar

from pydantic import EmailStr, Field, TypeAdapter, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gatehouse import migrate
from gatehouse.accounts.errors import (
    AccountExists,
    AccountNotFound,
    InvalidField,
    InvalidFilter,
    InvalidInput,
    ResetTokenInvalid,
    SchemaOutOfDate,
)
from gatehouse.audit import service as audit_service
from gatehouse.auth import recovery
from gatehouse.auth import service as auth_service
from gatehouse.auth.exceptions import AccountDisabled, InvalidCredentials, InvalidResetToken
from gatehouse.auth.kit import AuthKit
from gatehouse.auth.models import TokenPurpose
from gatehouse.auth.one_time_tokens import issue_token
from gatehouse.auth.passwords import set_password
from gatehouse.auth.throttle import ThrottlePolicy
from gatehouse.core.clock import Clock
from gatehouse.core.config import Settings
from gatehouse.core.db import make_engine, make_sessionmaker, utcnow
from gatehouse.core.errors import AppError, Forbidden
from gatehouse.core.origin import RequestOrigin
from gatehouse.core.ratelimit import LimitStore
from gatehouse.core.security import hash_token, new_opaque_token
from gatehouse.devtools.config import mask_url_password
from gatehouse.sessions.models import SessionKind
from gatehouse.users import service as users_service
from gatehouse.users.emails import normalize_email
from gatehouse.users.exceptions import EmailAlreadyRegistered, UserNotFound
from gatehouse.users.models import Role, User
from gatehouse.users.schemas import PersonName, UserRead

# Sessions and audit events opened through this API carry this user agent (no address).
DEFAULT_ORIGIN = RequestOrigin(ip=None, user_agent="gatehouse.accounts")
# How update_user's admin changes are attributed in the audit trail (`by`).
OPERATOR = "accounts-api"

# What find_user_by can filter on, and what update_user can change.
FILTERS = ("id", "email", "full_name", "role", "is_active", "is_verified")
FIELDS = ("email", "full_name", "role", "is_active", "is_verified", "password")
# Password hashes add_user takes as they are: Argon2id, and bcrypt (replaced by Argon2id
# at the account's first login).
_KNOWN_HASH = re.compile(
    r"^\$(argon2id\$v=\d+\$m=\d+,t=\d+,p=\d+|2[aby]\$\d\d)\$[./A-Za-z0-9+=$]+$"
)
_HASH_MAX = 255

_EMAIL: TypeAdapter[str] = TypeAdapter(Annotated[EmailStr, Field(max_length=320)])
_NAME: TypeAdapter[str | None] = TypeAdapter(PersonName)
_ROLE: TypeAdapter[Role] = TypeAdapter(Role)
_FLAG: TypeAdapter[bool] = TypeAdapter(Annotated[bool, Field(strict=True)])
_ID: TypeAdapter[uuid.UUID] = TypeAdapter(uuid.UUID)

T = TypeVar("T")


def _valid(
    adapter: TypeAdapter[T], value: object, what: str, error: type[AppError] = InvalidInput
) -> T:
    """`value` checked (and converted) as the API checks it, or `error` naming `what`."""
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        reason = exc.errors()[0]["msg"]
        raise error(
            f"{what}: {reason}",
            details={"fields": [{"loc": [what], "msg": reason, "type": "value_error"}]},
        ) from None


def _read(user: User) -> UserRead:
    return UserRead.model_validate(user)


class Accounts:
    """The accounts of a Gatehouse database, in process. Open it with `Accounts.open()`.

    The names of the original exercise are here with their meaning (docs/python-api.md
    maps each to Gatehouse's concepts): `add_user`, `find_user_by`, `update_user`,
    `register_user`, `valid_login`, `create_session`, `get_user_from_session_id`,
    `destroy_session`, `get_reset_password_token`, `update_password`; `login` opens a
    session with a password in one call.
    """

    def __init__(
        self,
        *,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        kit: AuthKit,
        origin: RequestOrigin = DEFAULT_ORIGIN,
    ) -> None:
        self.settings = settings
        self._sessionmaker = sessionmaker
        self._kit = kit
        self._origin = origin

    @classmethod
    @asynccontextmanager
    async def open(
        cls,
        settings: Settings | None = None,
        *,
        upgrade: bool = False,
        origin: RequestOrigin | None = None,
        clock: Clock | None = None,
        throttle_policy: ThrottlePolicy | None = None,
    ) -> AsyncIterator[Accounts]:
        """The accounts of the database `settings` name (by default the environment's and
        `.env`'s, as the service reads them); its engine is disposed on the way out.

        The database must be at the current migration (SchemaOutOfDate otherwise), unless
        `upgrade` applies the migrations first. Login throttling is shared with the
        service through REDIS_URL when it is set, else kept in this process. `origin` is
        what sessions and audit events record as the client; `clock` and
        `throttle_policy` are the same seams as `create_app`'s.
        """
        settings = settings or Settings()
        engine = make_engine(settings)
        try:
            if upgrade:
                await migrate.upgrade(engine)
            else:
                current = await migrate.current_revision(engine)
                if current != migrate.head_revision():
                    raise SchemaOutOfDate(
                        f"the database {mask_url_password(settings.DATABASE_URL)} is at "
                        f"revision {current or 'none'}, not {migrate.head_revision()}: run "
                        "`gatehouse db upgrade`, or open with upgrade=True"
                    )
            store = LimitStore.from_settings(settings, clock=clock)
            kit = AuthKit.build(settings, store=store, clock=clock, throttle_policy=throttle_policy)
            yield cls(
                settings=settings,
                sessionmaker=make_sessionmaker(engine),
                kit=kit,
                origin=origin or DEFAULT_ORIGIN,
            )
        finally:
            await engine.dispose()

    # --- the exercise's DB: add_user, find_user_by, update_user

    async def add_user(
        self,
        email: str,
        hashed_password: str | bytes,
        *,
        full_name: str | None = None,
        role: Role | str = Role.USER,
        is_verified: bool = False,
    ) -> UserRead:
        """Add an account whose password is already hashed (Argon2id, or bcrypt as the
        exercise stored it: it becomes Argon2id at the first login). For importing
        accounts: no policy can judge a hash, so to set a password use `register_user` or
        `update_user(id, password=...)`. AccountExists when the email is taken."""
        text = (
            hashed_password.decode("ascii", "replace")
            if isinstance(hashed_password, bytes)
            else hashed_password
        )
        if len(text) > _HASH_MAX or not _KNOWN_HASH.match(text):
            raise InvalidInput("hashed_password: not an Argon2id or bcrypt hash")
        address = normalize_email(_valid(_EMAIL, email, "email"))
        user = User(
            email=address,
            full_name=_valid(_NAME, full_name, "full_name"),
            password_hash=text,
            role=_valid(_ROLE, role, "role"),
            is_verified=_valid(_FLAG, is_verified, "is_verified"),
        )
        async with self._sessionmaker() as db:
            if await users_service.find_user_by_email(db, email=address) is not None:
                raise AccountExists()
            db.add(user)
            try:
                await db.commit()
            except IntegrityError:  # taken meanwhile, by a concurrent registration
                raise AccountExists() from None
            return _read(user)

    async def find_user_by(self, **filters: Any) -> UserRead:
        """The first account (oldest first) matching every filter: `id`, `email` (compared
        normalised), `full_name`, `role`, `is_active`, `is_verified`. AccountNotFound when
        none does; InvalidFilter for no filter, another name, or a value of the wrong kind."""
        if not filters:
            raise InvalidFilter(f"find_user_by needs a filter: one of {', '.join(FILTERS)}")
        criteria: dict[str, Any] = {}
        for name, value in filters.items():
            if name not in FILTERS:
                raise InvalidFilter(
                    f"{name!r} is not a filter of find_user_by; use {', '.join(FILTERS)}"
                )
            criteria[name] = self._filter_value(name, value)
        async with self._sessionmaker() as db:
            user = await db.scalar(
                select(User).filter_by(**criteria).order_by(User.created_at, User.id).limit(1)
            )
            if user is None:
                shown = ", ".join(f"{name}={value!r}" for name, value in filters.items())
                raise AccountNotFound(f"no user with {shown}")
            return _read(user)

    @staticmethod
    def _filter_value(name: str, value: Any) -> Any:
        if name == "id":
            return _valid(_ID, value, name, InvalidFilter)
        if name == "email":
            if not isinstance(value, str):
                raise InvalidFilter("email: must be a string")
            return normalize_email(value)
        if name == "role":
            return _valid(_ROLE, value, name, InvalidFilter)
        if name == "full_name":
            if value is not None and not isinstance(value, str):
                raise InvalidFilter("full_name: must be a string or None")
            return value
        return _valid(_FLAG, value, name, InvalidFilter)

    async def update_user(self, user_id: uuid.UUID | str, **fields: Any) -> UserRead:
        """Change an account: `email` (marks it unverified), `full_name`, `role`,
        `is_active` (False ends its sessions), `is_verified`, `password` (under the
        policy; ends its sessions and mails a notice). The last active admin keeps its
        role and stays active (LastAdmin). InvalidField for any other name (the hash is
        never set directly: give `password`) or a value the API would refuse, checked
        before anything changes; AccountNotFound for an unknown id."""
        unknown = sorted(set(fields) - set(FIELDS))
        if unknown:
            hint = "; set `password`, which is hashed" if "hashed_password" in unknown else ""
            raise InvalidField(
                f"update_user cannot change {', '.join(map(repr, unknown))}: it changes "
                f"{', '.join(FIELDS)}{hint}"
            )
        changes: dict[str, Any] = {}
        if "email" in fields:
            changes["email"] = _valid(_EMAIL, fields["email"], "email", InvalidField)
        if "full_name" in fields:
            changes["full_name"] = _valid(_NAME, fields["full_name"], "full_name", InvalidField)
        if "role" in fields:
            changes["role"] = _valid(_ROLE, fields["role"], "role", InvalidField)
        for flag in ("is_active", "is_verified"):
            if flag in fields:
                changes[flag] = _valid(_FLAG, fields[flag], flag, InvalidField)
        password = fields.get("password")
        if "password" in fields and not isinstance(password, str):
            raise InvalidField("password: must be a string")
        async with self._sessionmaker() as db:
            user = await self._user(db, user_id)
            if password is not None:
                self._kit.policy.check(password, email=changes.get("email", user.email))
                await set_password(
                    db, kit=self._kit, user=user, new_password=password, keep_session=None
                )
                audit_service.record(
                    db, kind="password_changed", user_id=user.id, origin=self._origin
                )
            verified = changes.pop("is_verified", None)
            if verified is not None and "email" not in changes:
                user.is_verified = verified
            try:
                user = await users_service.admin_update_user(
                    db,
                    user=user,
                    fields=changes,
                    actor_id=None,
                    origin=self._origin,
                    operator=OPERATOR,
                )
            except EmailAlreadyRegistered:
                raise AccountExists() from None
            if verified is not None and user.is_verified != verified:
                user.is_verified = verified  # after the email change that reset it
                await db.commit()
            return _read(user)

    async def _user(self, db: AsyncSession, user_id: uuid.UUID | str) -> User:
        try:
            return await users_service.get_user(
                db, user_id=_valid(_ID, user_id, "user_id", InvalidInput)
            )
        except UserNotFound:
            raise AccountNotFound(f"no user with id {user_id}") from None

    # --- the exercise's Auth

    async def register_user(
        self, email: str, password: str, *, full_name: str | None = None
    ) -> UserRead:
        """Sign up as the API does: role user, unverified, the password under the policy
        (PasswordRejected), a verification mail in the outbox. AccountExists when the
        email is taken."""
        address = _valid(_EMAIL, email, "email")
        name = _valid(_NAME, full_name, "full_name")
        async with self._sessionmaker() as db:
            try:
                user = await auth_service.register(
                    db, kit=self._kit, email=address, password=password, full_name=name
                )
            except EmailAlreadyRegistered:
                raise AccountExists() from None
            return _read(user)

    async def valid_login(self, email: str, password: str) -> bool:
        """Whether the password is the account's, checked as a login is: the throttle
        first (RateLimited, with `retry_after`, while the account must wait), the same
        time for an unknown email, a failure counted and audited (`login_failed`), a
        success audited (`login_succeeded`) and an old hash upgraded. A disabled
        account's right password is False too."""
        async with self._sessionmaker() as db:
            try:
                await auth_service.authenticate(
                    db, kit=self._kit, email=email, password=password, origin=self._origin
                )
            except (InvalidCredentials, AccountDisabled):
                return False
            await db.commit()
            return True

    async def login(self, email: str, password: str) -> str:
        """`valid_login` and `create_session` in one: the new session's id, or
        InvalidCredentials, AccountDisabled or RateLimited."""
        async with self._sessionmaker() as db:
            _, session_id, _ = await auth_service.start_browser_session(
                db, kit=self._kit, email=email, password=password, origin=self._origin
            )
            return session_id

    async def create_session(self, email: str) -> str | None:
        """Open a session for the active account with this email and return its id, or
        None (no such account, or disabled). No password is asked: like the exercise's,
        it trusts its caller to have checked one (`valid_login`), so only code you run
        may call it. The id is a real browser session's: the `session_id` cookie of the
        browser API and the pages accepts it, it ends when idle for
        BROWSER_SESSION_IDLE_MINUTES, and only its SHA-256 is stored."""
        async with self._sessionmaker() as db:
            user = await users_service.find_user_by_email(db, email=email)
            if user is None or not user.is_active:
                return None
            session_id = new_opaque_token()
            await auth_service.start_session(
                db,
                kit=self._kit,
                user=user,
                origin=self._origin,
                now=utcnow(),
                kind=SessionKind.BROWSER,
                token_hash=hash_token(session_id),
            )
            await db.commit()
            return session_id

    async def get_user_from_session_id(self, session_id: str | None) -> UserRead | None:
        """The account of a live session id (from create_session, login, or a browser's
        `session_id` cookie), or None: unknown, ended, expired, idle too long, or its
        account disabled. Using it counts as activity (at most one write a minute)."""
        if not session_id:
            return None
        async with self._sessionmaker() as db:
            try:
                principal = await auth_service.resolve_browser_session(
                    db, kit=self._kit, cookie=session_id
                )
            except Forbidden:
                return None
            return _read(principal.user)

    async def destroy_session(self, user_id: uuid.UUID | str) -> None:
        """End every session of the account, browser and API alike, at once (audited as
        `logout`). AccountNotFound for an unknown id."""
        async with self._sessionmaker() as db:
            user = await self._user(db, user_id)
            await auth_service.logout_all(db, user_id=user.id, origin=self._origin)

    async def get_reset_password_token(self, email: str, *, send_mail: bool = False) -> str:
        """A one-time reset token for the account (only its SHA-256 is stored; it expires
        after RESET_TOKEN_TTL_MINUTES; a newer one voids it), audited as
        `password_reset_requested`. With `send_mail` the reset mail with its link is
        queued too, as the forgot-password route does. AccountNotFound for an unknown
        email, AccountDisabled for a disabled account. Unlike the HTTP route, it tells
        whether the account exists: it is for code you run."""
        async with self._sessionmaker() as db:
            user = await users_service.find_user_by_email(db, email=email)
            if user is None:
                raise AccountNotFound(f"no user with email {normalize_email(email)!r}")
            if not user.is_active:
                raise AccountDisabled()
            if send_mail:
                token = await recovery.issue_reset_token(db, user=user, settings=self.settings)
            else:
                token = await issue_token(
                    db, user=user, purpose=TokenPurpose.RESET, settings=self.settings
                )
            audit_service.record(
                db, kind="password_reset_requested", user_id=user.id, origin=self._origin
            )
            await db.commit()
            return token

    async def update_password(self, reset_token: str, password: str) -> None:
        """Set a new password with a reset token, once: the policy applies
        (PasswordRejected), every session of the account ends, a notice is mailed, the
        login throttle is cleared, and it is audited (`password_reset_completed`).
        ResetTokenInvalid for a token unknown, used, expired or of a disabled account."""
        async with self._sessionmaker() as db:
            try:
                await recovery.reset_password(
                    db, kit=self._kit, token=reset_token, new_password=password, origin=self._origin
                )
            except InvalidResetToken:
                raise ResetTokenInvalid() from None
