"""Settings: the documented variables and defaults, and the start-up refusal of a bad value."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from gatehouse.core.config import RATE_LIMIT_SETTINGS, Settings, describe_settings_error


def _settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)


def _refusal(**values: object) -> str:
    with pytest.raises(ValidationError) as caught:
        _settings(**values)
    return describe_settings_error(caught.value)


def test_defaults_are_the_documented_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = _settings()
    assert settings.ENVIRONMENT == "development"
    assert settings.DATABASE_URL == "sqlite+aiosqlite:///./gatehouse.db"
    assert settings.JWT_ALGORITHM == "HS256"
    assert (settings.ACCESS_TOKEN_TTL_MINUTES, settings.REFRESH_TOKEN_TTL_DAYS) == (15, 30)
    assert settings.RESET_TOKEN_TTL_MINUTES == 30
    assert settings.PUBLIC_URL == "http://localhost:8000"
    assert settings.TRUSTED_PROXIES == []
    assert settings.EMAIL_BACKEND == "console"
    assert settings.CHAT_PROVIDER == "builtin"
    assert settings.RATE_LIMIT_LOGIN == "5/minute"
    assert (
        settings.ARGON2_MEMORY_COST_KIB,
        settings.ARGON2_TIME_COST,
        settings.ARGON2_PARALLELISM,
    ) == (
        19456,
        2,
        1,
    )


def test_development_generates_a_secret_kept_with_mode_0600(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    first = _settings().secret_key
    secret_file = tmp_path / ".gatehouse_secret"
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert len(first) >= 32
    assert _settings().secret_key == first


def test_lists_are_comma_separated_with_spaces_allowed() -> None:
    settings = _settings(
        TRUSTED_PROXIES="10.0.0.1, 192.168.0.0/16 ,::1", CORS_ORIGINS="https://a, https://b"
    )
    assert settings.TRUSTED_PROXIES == ["10.0.0.1", "192.168.0.0/16", "::1"]
    assert settings.CORS_ORIGINS == ["https://a", "https://b"]


def test_bad_values_are_named_in_one_line() -> None:
    assert _refusal(ENVIRONMENT="staging").startswith("configuration error: ENVIRONMENT:")
    assert _refusal(DATABASE_URL="not a url").startswith("configuration error: DATABASE_URL:")
    assert _refusal(DATABASE_URL="mysql://db/x").startswith("configuration error: DATABASE_URL:")
    assert _refusal(TRUSTED_PROXIES="10.0.0.300").startswith(
        "configuration error: TRUSTED_PROXIES:"
    )
    assert _refusal(ACCESS_TOKEN_TTL_MINUTES=0).startswith(
        "configuration error: ACCESS_TOKEN_TTL_MINUTES:"
    )
    assert _refusal(JWT_ALGORITHM="RS256").startswith("configuration error: JWT_PRIVATE_KEY_FILE:")
    assert "\n" not in _refusal(SMTP_TLS="maybe")


def test_production_refuses_a_missing_or_short_secret_key() -> None:
    production = {"ENVIRONMENT": "production", "EMAIL_BACKEND": "file"}
    assert _refusal(**production).startswith("configuration error: SECRET_KEY:")
    assert _refusal(**production, SECRET_KEY="short").startswith("configuration error: SECRET_KEY:")
    assert _settings(**production, SECRET_KEY="k" * 32).secret_key == "k" * 32


def test_production_refuses_the_console_mail_backend() -> None:
    refusal = _refusal(ENVIRONMENT="production", SECRET_KEY="k" * 40)
    assert refusal.startswith("configuration error: EMAIL_BACKEND:")


@pytest.mark.parametrize("origins", ["*", "https://a.example.com, *", "https://*.example.com"])
def test_a_wildcard_cors_origin_is_refused(origins: str) -> None:
    refusal = _refusal(CORS_ORIGINS=origins)
    assert refusal.startswith("configuration error: CORS_ORIGINS: '*' is not allowed")


@pytest.mark.parametrize("variable", RATE_LIMIT_SETTINGS)
@pytest.mark.parametrize("value", ["five per minute", "5/fortnight", "5/minute;10/hour"])
def test_an_unparsable_rate_limit_is_refused(variable: str, value: str) -> None:
    refusal = _refusal(**{variable: value})
    assert refusal == (
        f"configuration error: {variable}: {value!r} is not one limit such as 5/minute "
        "or 3/15minutes"
    )


def test_every_rate_limit_setting_is_validated() -> None:
    named = {name for name in Settings.model_fields if name.startswith("RATE_LIMIT_")}
    assert named - {"RATE_LIMIT_ENABLED"} == set(RATE_LIMIT_SETTINGS)


def test_rate_limits_in_the_documented_notations_are_accepted() -> None:
    settings = _settings(RATE_LIMIT_LOGIN="5 per minute", RATE_LIMIT_VERIFY="3/15minutes")
    assert (settings.RATE_LIMIT_LOGIN, settings.RATE_LIMIT_VERIFY) == (
        "5 per minute",
        "3/15minutes",
    )


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ENVIRONMENT", "staging"),
        ("DATABASE_URL", "::not-a-url::"),
        ("SECRET_KEY", None),  # production without a key
        ("CORS_ORIGINS", "*"),
        ("RATE_LIMIT_LOGIN", "five per minute"),
    ],
)
def test_serve_refuses_to_start_with_exit_status_2_and_one_line(
    tmp_path: Path, variable: str, value: str | None
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "SECRET_KEY"))}
    env["ENVIRONMENT"] = "production"
    env["EMAIL_BACKEND"] = "file"
    if value is not None:
        env[variable] = value
        env.setdefault("SECRET_KEY", "k" * 40)
    result = subprocess.run(
        [sys.executable, "-m", "gatehouse", "serve", "--port", "1"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"configuration error: {variable}:")
    assert "Traceback" not in result.stderr
