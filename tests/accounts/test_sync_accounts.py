"""`SyncAccounts`: the whole exercise journey without `await`, from a script (no event
loop) and from inside a running loop (as in a notebook)."""

from __future__ import annotations

import threading
from pathlib import Path

import bcrypt
import pytest

from gatehouse.accounts import (
    AccountExists,
    AccountNotFound,
    InvalidField,
    InvalidFilter,
    PasswordRejected,
    RateLimited,
    ResetTokenInvalid,
    SchemaOutOfDate,
    SyncAccounts,
    UserRead,
)
from gatehouse.auth.throttle import ThrottlePolicy
from gatehouse.core.config import Settings
from tests.conftest import make_settings
from tests.helpers import PASSWORD, ManualClock, unique_email

NEW_PASSWORD = "a different long passphrase"


def _journey(settings: Settings) -> None:
    """Every name of the exercise, in the order its app uses them."""
    email = unique_email()
    with SyncAccounts.open(settings) as accounts:
        assert accounts.settings is settings
        user = accounts.register_user(email, PASSWORD)
        assert isinstance(user, UserRead)
        with pytest.raises(AccountExists):
            accounts.register_user(email, PASSWORD)
        with pytest.raises(PasswordRejected):
            accounts.register_user(unique_email(), "short")
        assert accounts.valid_login(email, PASSWORD)
        assert not accounts.valid_login(email, "wrong password")
        session_id = accounts.create_session(email)
        assert session_id is not None
        assert accounts.get_user_from_session_id(session_id) == user
        assert accounts.find_user_by(email=email) == user
        with pytest.raises(InvalidFilter):
            accounts.find_user_by(session_id=session_id)
        renamed = accounts.update_user(user.id, full_name="Ada")
        assert renamed.full_name == "Ada"
        with pytest.raises(InvalidField):
            accounts.update_user(user.id, hashed_password="x")
        accounts.destroy_session(user.id)
        assert accounts.get_user_from_session_id(session_id) is None
        token = accounts.get_reset_password_token(email, send_mail=True)
        with pytest.raises(AccountNotFound):
            accounts.get_reset_password_token(unique_email())
        accounts.update_password(token, NEW_PASSWORD)
        with pytest.raises(ResetTokenInvalid):
            accounts.update_password(token, NEW_PASSWORD)
        assert accounts.valid_login(email, NEW_PASSWORD)
        assert accounts.get_user_from_session_id(accounts.login(email, NEW_PASSWORD)) is not None
        imported = accounts.add_user(
            unique_email(), bcrypt.hashpw(b"imported password", bcrypt.gensalt(rounds=4))
        )
        assert accounts.valid_login(imported.email, "imported password")


def _portal_threads() -> set[threading.Thread]:
    return {thread for thread in threading.enumerate() if "portal" in thread.name}


def test_the_journey_from_a_script(settings: Settings) -> None:
    before = _portal_threads()
    _journey(settings)
    assert _portal_threads() == before  # the loop's thread ended with the context


async def test_the_journey_inside_a_running_loop_as_in_a_notebook(settings: Settings) -> None:
    _journey(settings)


def test_the_throttle_and_its_wait(database_url: str) -> None:
    settings = make_settings(database_url, RATE_LIMIT_ENABLED=True)
    clock = ManualClock()
    policy = ThrottlePolicy(free_failures=1, base_seconds=30)
    with SyncAccounts.open(settings, clock=clock, throttle_policy=policy) as accounts:
        email = unique_email()
        accounts.register_user(email, PASSWORD)
        assert not accounts.valid_login(email, "wrong password")
        with pytest.raises(RateLimited):
            accounts.valid_login(email, PASSWORD)
        clock.advance(31)
        assert accounts.valid_login(email, PASSWORD)


def test_a_database_not_at_the_current_migration_is_refused(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(SchemaOutOfDate), SyncAccounts.open(settings):
        pass
    with SyncAccounts.open(settings, upgrade=True) as accounts:
        accounts.register_user(unique_email(), PASSWORD)
