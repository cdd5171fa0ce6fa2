"""The SDK's second factor against a real running server (uvicorn on loopback): TOTP set
up and confirmed with codes computed by pyotp, `login` raising `MfaRequired` with the
mfa_token, `verify_mfa` finishing it, new recovery codes and turning it off."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest

from gatehouse_client import ApiError, AsyncClient, Client, MfaRequired
from tests.helpers import PASSWORD, unique_email


@pytest.fixture
def server(start_server: Callable[..., str], tmp_path: Path) -> str:
    return start_server(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'sdk-mfa.db'}",
        SECRET_KEY="sdk-mfa-test-secret-key-0123456789abcdef",
        RATE_LIMIT_ENABLED="false",
    )


def code(secret: str, steps: int = 0) -> str:
    """The TOTP code of `secret`, `steps` time steps from now (the server accepts one step
    of drift either way, and each step once)."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps)


def wrong_code(secret: str) -> str:
    near = {code(secret, steps) for steps in (-1, 0, 1)}
    return next(guess for guess in ("000000", "111111", "222222", "333333") if guess not in near)


def test_login_raises_mfa_required_and_verify_mfa_finishes_it(server: str) -> None:
    email = unique_email("sdk-mfa")
    with Client(server) as client:
        client.register(email, PASSWORD)
        client.login(email, PASSWORD)
        setup = client.setup_totp(PASSWORD)
        uri = urlsplit(setup.otpauth_uri)
        assert (uri.scheme, parse_qs(uri.query)["secret"]) == ("otpauth", [setup.secret])
        with pytest.raises(ApiError) as wrong:
            client.confirm_totp(wrong_code(setup.secret))
        assert (wrong.value.status, wrong.value.code) == (401, "INVALID_MFA_CODE")
        codes = client.confirm_totp(code(setup.secret)).recovery_codes
        assert len(codes) == 10
        client.logout()

        with pytest.raises(MfaRequired) as required:
            client.login(email, PASSWORD)
        error = required.value
        assert isinstance(error, ApiError)
        assert (error.status, error.code) == (401, "MFA_REQUIRED")
        assert error.methods == ["totp", "recovery_code"]
        assert error.mfa_token
        assert client.tokens is None
        # The next step's code (the current one was used to confirm), with the kept token.
        tokens = client.verify_mfa(code(setup.secret, 1))
        assert client.tokens == tokens
        assert client.me().email == email
        # The token worked once.
        with pytest.raises(ApiError) as used:
            client.verify_mfa(codes[0], mfa_token=error.mfa_token)
        assert used.value.code == "INVALID_TOKEN"
        with pytest.raises(ApiError) as none_kept:
            client.verify_mfa(codes[0])
        assert none_kept.value.code == "INVALID_TOKEN"

        # A recovery code, with the token given explicitly.
        with pytest.raises(MfaRequired) as again:
            client.login(email, PASSWORD)
        client.verify_mfa(codes[0], mfa_token=again.value.mfa_token)
        assert client.me().email == email

        fresh = client.regenerate_recovery_codes(PASSWORD, codes[1]).recovery_codes
        assert len(fresh) == 10
        assert not set(fresh) & set(codes)
        with pytest.raises(ApiError) as old:
            client.disable_totp(PASSWORD, codes[2])
        assert old.value.code == "INVALID_MFA_CODE"
        client.disable_totp(PASSWORD, fresh[0])
        with pytest.raises(ApiError) as off:
            client.disable_totp(PASSWORD, fresh[1])
        assert (off.value.status, off.value.code) == (409, "MFA_NOT_ENABLED")
        assert client.login(email, PASSWORD).access_token  # the password alone again


async def test_the_async_client_does_the_same(server: str) -> None:
    email = unique_email("sdk-mfa-async")
    async with AsyncClient(server) as client:
        await client.register(email, PASSWORD)
        with pytest.raises(ApiError) as no_login:
            await client.verify_mfa("123456")
        assert no_login.value.code == "INVALID_TOKEN"
        await client.login(email, PASSWORD)
        setup = await client.setup_totp(PASSWORD)
        codes = (await client.confirm_totp(code(setup.secret))).recovery_codes
        await client.logout()

        with pytest.raises(MfaRequired) as required:
            await client.login(email, PASSWORD)
        assert required.value.methods == ["totp", "recovery_code"]
        tokens = await client.verify_mfa(code(setup.secret, 1))
        assert client.tokens == tokens
        assert (await client.me()).email == email
        fresh = await client.regenerate_recovery_codes(PASSWORD, codes[0])
        assert len(fresh.recovery_codes) == 10
        await client.disable_totp(PASSWORD, fresh.recovery_codes[0])
        await client.logout()
        assert (await client.login(email, PASSWORD)).access_token


def test_mfa_required_without_details_has_no_token() -> None:
    error = MfaRequired(401, "MFA_REQUIRED", "a second factor is needed")
    assert (error.mfa_token, error.methods) == ("", [])
