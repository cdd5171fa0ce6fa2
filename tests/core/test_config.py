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

# A production key as `secrets.token_urlsafe` makes them: long, and of many characters.
STRONG_KEY = "Xq3v9Lr2-Tz8Wk1_Nb7Hc5Jd0Mf4Pg6Ys2Ea8Ru1Io3"
PRODUCTION = {"ENVIRONMENT": "production", "EMAIL_BACKEND": "file"}


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


def test_previous_public_keys_are_checked_at_start_up(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    def pem(key: Any) -> bytes:
        return bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )

    current, previous = tmp_path / "current.pem", tmp_path / "previous.pem"
    current.write_bytes(pem(ed25519.Ed25519PrivateKey.generate()))
    previous.write_bytes(pem(ed25519.Ed25519PrivateKey.generate()))  # a private PEM will do
    (tmp_path / "junk.pem").write_text("not a key")
    (tmp_path / "p384.pem").write_bytes(pem(ec.generate_private_key(ec.SECP384R1())))
    eddsa = {"JWT_ALGORITHM": "EdDSA", "JWT_PRIVATE_KEY_FILE": str(current)}

    settings = _settings(**eddsa, JWT_PREVIOUS_PUBLIC_KEY_FILES=f" {previous} ,")
    assert [previous] == settings.JWT_PREVIOUS_PUBLIC_KEY_FILES
    name = "configuration error: JWT_PREVIOUS_PUBLIC_KEY_FILES:"
    assert _refusal(JWT_PREVIOUS_PUBLIC_KEY_FILES=str(previous)).startswith(name)  # HS256
    for bad in ("missing.pem", "junk.pem", "p384.pem"):
        refusal = _refusal(**eddsa, JWT_PREVIOUS_PUBLIC_KEY_FILES=str(tmp_path / bad))
        assert refusal.startswith(name), refusal


def test_production_refuses_a_missing_or_short_secret_key() -> None:
    assert _refusal(**PRODUCTION).startswith("configuration error: SECRET_KEY:")
    assert _refusal(**PRODUCTION, SECRET_KEY="short").startswith("configuration error: SECRET_KEY:")
    assert _settings(**PRODUCTION, SECRET_KEY=STRONG_KEY[:32]).secret_key == STRONG_KEY[:32]


@pytest.mark.parametrize(
    "weak_key",
    [
        "k" * 40,  # one character repeated
        "ab" * 20,  # two
        "0123456" * 6,  # seven distinct characters: still too few
        "password" * 5,  # long, but seven distinct characters
    ],
)
def test_production_refuses_a_secret_key_that_does_not_look_random(weak_key: str) -> None:
    refusal = _refusal(**PRODUCTION, SECRET_KEY=weak_key)
    assert refusal.startswith("configuration error: SECRET_KEY: does not look random")
    assert weak_key not in refusal  # the refusal never repeats the key
    assert _settings(SECRET_KEY=weak_key).secret_key == weak_key  # development: unchanged


def test_production_accepts_a_key_of_eight_distinct_characters() -> None:
    assert _settings(**PRODUCTION, SECRET_KEY="01234567" * 4).secret_key == "01234567" * 4


@pytest.mark.parametrize(
    "url", ["http://auth.example.com", "http://10.0.0.5:8000", "http://localhost.example.com"]
)
def test_production_refuses_a_plain_http_public_url(url: str) -> None:
    refusal = _refusal(**PRODUCTION, SECRET_KEY=STRONG_KEY, PUBLIC_URL=url)
    assert refusal.startswith("configuration error: PUBLIC_URL: must be https://")
    development = _settings(PUBLIC_URL=url)  # development: unchanged
    assert url == development.PUBLIC_URL


@pytest.mark.parametrize(
    "url",
    [
        "https://auth.example.com",
        "http://localhost:8000",
        "http://127.0.0.1:8000",
        "http://[::1]:8000",
        "http://LOCALHOST",
    ],
)
def test_production_accepts_https_and_local_http_public_urls(url: str) -> None:
    production = _settings(**PRODUCTION, SECRET_KEY=STRONG_KEY, PUBLIC_URL=url)
    assert url == production.PUBLIC_URL


def test_production_refuses_the_console_mail_backend() -> None:
    refusal = _refusal(ENVIRONMENT="production", SECRET_KEY=STRONG_KEY)
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
        ("SECRET_KEY", "k" * 40),  # production with a guessable key
        ("PUBLIC_URL", "http://auth.example.com"),
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
        env.setdefault("SECRET_KEY", STRONG_KEY)
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
