"""`SyncAccounts`: the same API for scripts and notebooks, without `await`.

It runs `Accounts` on an event loop of its own in a background thread (an anyio blocking
portal), so it works where no loop runs (a script) and where one already does (Jupyter),
and each call waits for its answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from anyio.from_thread import BlockingPortal, start_blocking_portal

from gatehouse.accounts.facade import Accounts
from gatehouse.auth.throttle import ThrottlePolicy
from gatehouse.core.clock import Clock
from gatehouse.core.config import Settings
from gatehouse.core.origin import RequestOrigin
from gatehouse.users.models import Role
from gatehouse.users.schemas import UserRead


class SyncAccounts:
    """`Accounts` without `await`; open it with `SyncAccounts.open()`. Each method is the
    async one of the same name (see its documentation), called and waited for."""

    def __init__(self, portal: BlockingPortal, accounts: Accounts) -> None:
        self._portal = portal
        self._accounts = accounts

    @classmethod
    @contextmanager
    def open(
        cls,
        settings: Settings | None = None,
        *,
        upgrade: bool = False,
        origin: RequestOrigin | None = None,
        clock: Clock | None = None,
        throttle_policy: ThrottlePolicy | None = None,
    ) -> Iterator[SyncAccounts]:
        """As `Accounts.open`; the engine is disposed and the loop's thread ends on the way
        out."""
        opened = Accounts.open(
            settings, upgrade=upgrade, origin=origin, clock=clock, throttle_policy=throttle_policy
        )
        with (
            start_blocking_portal() as portal,
            portal.wrap_async_context_manager(opened) as accounts,
        ):
            yield cls(portal, accounts)

    @property
    def settings(self) -> Settings:
        return self._accounts.settings

    def add_user(
        self,
        email: str,
        hashed_password: str | bytes,
        *,
        full_name: str | None = None,
        role: Role | str = Role.USER,
        is_verified: bool = False,
    ) -> UserRead:
        return self._portal.call(
            partial(
                self._accounts.add_user,
                email,
                hashed_password,
                full_name=full_name,
                role=role,
                is_verified=is_verified,
            )
        )

    def find_user_by(self, **filters: Any) -> UserRead:
        return self._portal.call(partial(self._accounts.find_user_by, **filters))

    def update_user(self, user_id: uuid.UUID | str, **fields: Any) -> UserRead:
        return self._portal.call(partial(self._accounts.update_user, user_id, **fields))

    def register_user(self, email: str, password: str, *, full_name: str | None = None) -> UserRead:
        return self._portal.call(
            partial(self._accounts.register_user, email, password, full_name=full_name)
        )

    def valid_login(self, email: str, password: str) -> bool:
        return self._portal.call(self._accounts.valid_login, email, password)

    def login(self, email: str, password: str) -> str:
        return self._portal.call(self._accounts.login, email, password)

    def create_session(self, email: str) -> str | None:
        return self._portal.call(self._accounts.create_session, email)

    def get_user_from_session_id(self, session_id: str | None) -> UserRead | None:
        return self._portal.call(self._accounts.get_user_from_session_id, session_id)

    def destroy_session(self, user_id: uuid.UUID | str) -> None:
        self._portal.call(self._accounts.destroy_session, user_id)

    def get_reset_password_token(self, email: str, *, send_mail: bool = False) -> str:
        return self._portal.call(
            partial(self._accounts.get_reset_password_token, email, send_mail=send_mail)
        )

    def update_password(self, reset_token: str, password: str) -> None:
        self._portal.call(self._accounts.update_password, reset_token, password)
