"""Settings: every environment variable of the service, validated once at start-up."""

from __future__ import annotations

import ipaddress
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import limits
from fastapi import Depends, Request
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from gatehouse.core.keys import algorithm_of, load_public_key

SECRET_FILE = Path(".gatehouse_secret")
MIN_PRODUCTION_SECRET_LENGTH = 32
# A production key with fewer distinct characters than this is refused as guessable
# ("aaaa…", "abababab…"); a generated key of 32+ characters has far more.
MIN_PRODUCTION_SECRET_DISTINCT = 8
# Hosts that may keep an http:// PUBLIC_URL in production (nothing leaves the machine).
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
RATE_LIMIT_SETTINGS = (
    "RATE_LIMIT_LOGIN",
    "RATE_LIMIT_LOGIN_IP",
    "RATE_LIMIT_REGISTER",
    "RATE_LIMIT_FORGOT_PASSWORD",
    "RATE_LIMIT_FORGOT_PASSWORD_IP",
    "RATE_LIMIT_DEFAULT",
    "RATE_LIMIT_VERIFY",
)
ASYMMETRIC_ALGORITHMS = ("EdDSA", "ES256", "RS256")


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity: `taskset`, a container's
    cpuset), not the machine's count."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


class Settings(BaseSettings):
    """The service's configuration. Field names are the environment variables (.env.example)."""

    model_config = SettingsConfigDict(
        env_file=".env", env_ignore_empty=True, extra="ignore", case_sensitive=True
    )

    # --- runtime
    ENVIRONMENT: Literal["development", "production"] = "development"
    DATABASE_URL: str = "sqlite+aiosqlite:///./gatehouse.db"
    REDIS_URL: str | None = None
    REDIS_KEY_PREFIX: str = "gatehouse"
    PUBLIC_URL: str = "http://localhost:8000"
    CORS_ORIGINS: Annotated[list[str], NoDecode] = Field(default_factory=list)
    TRUSTED_PROXIES: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Request bodies larger than this are refused (413) before they are read whole.
    MAX_BODY_BYTES: int = Field(default=1024 * 1024, ge=1024, le=1024 * 1024 * 1024)
    # In production /docs, /redoc and /openapi.json are off unless this is true.
    DOCS_ENABLED: bool = False
    # /metrics answers only loopback and TRUSTED_PROXIES peers unless this is true.
    METRICS_PUBLIC: bool = False
    DB_POOL_SIZE: int = Field(default=10, ge=1, le=200)
    DB_MAX_OVERFLOW: int = Field(default=10, ge=0, le=200)

    # --- tokens
    SECRET_KEY: SecretStr | None = None
    JWT_ALGORITHM: Literal["HS256", "EdDSA", "ES256", "RS256"] = "HS256"
    JWT_PRIVATE_KEY_FILE: Path | None = None
    # Public keys (PEM) of keys that signed tokens before the current one: they still
    # verify until those tokens expire, and /.well-known/jwks.json publishes them too.
    JWT_PREVIOUS_PUBLIC_KEY_FILES: Annotated[list[Path], NoDecode] = Field(default_factory=list)
    JWT_ISSUER: str = "gatehouse"
    JWT_AUDIENCE: str = "gatehouse:api"
    ACCESS_TOKEN_TTL_MINUTES: int = Field(default=15, ge=1, le=24 * 60)
    REFRESH_TOKEN_TTL_DAYS: int = Field(default=30, ge=1, le=365)
    RESET_TOKEN_TTL_MINUTES: int = Field(default=30, ge=1, le=7 * 24 * 60)
    # No session outlives this, however often it is refreshed.
    SESSION_MAX_AGE_DAYS: int = Field(default=90, ge=1, le=3650)
    # A browser session ends after this long without a request.
    BROWSER_SESSION_IDLE_MINUTES: int = Field(default=1440, ge=1, le=365 * 24 * 60)
    # Seals TOTP secrets at rest; derived from SECRET_KEY when not set.
    MFA_ENCRYPTION_KEY: SecretStr | None = None

    # --- password hashing (OWASP's Argon2id minimum: m=19 MiB, t=2, p=1)
    ARGON2_MEMORY_COST_KIB: int = Field(default=19 * 1024, ge=8, le=4 * 1024 * 1024)
    ARGON2_TIME_COST: int = Field(default=2, ge=1, le=50)
    ARGON2_PARALLELISM: int = Field(default=1, ge=1, le=16)
    HASHING_THREADS: int = Field(default_factory=usable_cores, ge=1, le=256)

    # --- password policy (NIST SP 800-63B)
    PASSWORD_MIN_LENGTH: int = Field(default=8, ge=1, le=128)
    PASSWORD_MAX_LENGTH: int = Field(default=128, ge=8, le=1024)
    PASSWORD_CHECK_COMMON: bool = True

    # --- mail
    EMAIL_BACKEND: Literal["console", "smtp", "file"] = "console"
    # Self sign-up also mails a short welcome (next to the verification link).
    WELCOME_EMAIL_ENABLED: bool = False
    SMTP_HOST: str = "localhost"
    SMTP_PORT: int = Field(default=25, ge=1, le=65535)
    SMTP_USER: str | None = None
    SMTP_PASSWORD: SecretStr | None = None
    SMTP_TLS: Literal["none", "starttls", "tls"] = "none"
    EMAIL_FROM: str = "Gatehouse <no-reply@localhost>"
    EMAIL_FILE_DIR: Path = Path("./mail")
    MAIL_WORKER_ENABLED: bool = True  # turn off when `gatehouse worker` runs separately
    MAIL_MAX_ATTEMPTS: int = Field(default=8, ge=1, le=100)
    MAIL_RETRY_BASE_SECONDS: float = Field(default=5.0, gt=0, le=3600)
    MAIL_POLL_SECONDS: float = Field(default=1.0, gt=0, le=600)
    SMTP_TIMEOUT_SECONDS: float = Field(default=10.0, gt=0, le=300)
    # Forgot-password answers no sooner than this, so known and unknown emails take as long.
    FORGOT_PASSWORD_MIN_SECONDS: float = Field(default=0.25, ge=0, le=10)

    # --- retention and housekeeping (days kept; 0 = keep forever)
    RETENTION_SESSIONS_DAYS: int = Field(default=30, ge=0, le=36500)  # after end or expiry
    RETENTION_TOKENS_DAYS: int = Field(default=7, ge=0, le=36500)  # after expiry
    RETENTION_MAIL_DAYS: int = Field(default=14, ge=0, le=36500)  # after delivery
    RETENTION_AUDIT_DAYS: int = Field(default=365, ge=0, le=36500)  # after the event
    HOUSEKEEPING_INTERVAL_SECONDS: float = Field(default=3600.0, ge=1, le=7 * 24 * 3600)
    HOUSEKEEPING_BATCH_SIZE: int = Field(default=1000, ge=1, le=100_000)  # rows per DELETE

    # --- bootstrap
    FIRST_ADMIN_EMAIL: str | None = None
    FIRST_ADMIN_PASSWORD: SecretStr | None = None

    # --- chat
    CHAT_PROVIDER: Literal["builtin", "openai"] = "builtin"
    OPENAI_BASE_URL: str = "https://api.openai.com/v1"
    OPENAI_API_KEY: SecretStr | None = None
    CHAT_MODEL: str = "gpt-4o-mini"
    OPENAI_TIMEOUT_SECONDS: float = Field(default=30.0, gt=0, le=600)
    CHAT_MAX_TOOL_CALLS: int = Field(default=20, ge=1, le=1000)  # per message
    TASKS_MAX_PER_USER: int = Field(default=10_000, ge=1, le=10_000_000)

    # --- rate limits (`limits` string format)
    RATE_LIMIT_ENABLED: bool = True
    RATE_LIMIT_LOGIN: str = "5/minute"
    RATE_LIMIT_LOGIN_IP: str = "20/minute"
    RATE_LIMIT_REGISTER: str = "10/minute"
    RATE_LIMIT_FORGOT_PASSWORD: str = "3/15minutes"  # noqa: S105
    RATE_LIMIT_FORGOT_PASSWORD_IP: str = "10/hour"  # noqa: S105
    RATE_LIMIT_DEFAULT: str = "300/minute"
    RATE_LIMIT_VERIFY: str = "3/hour"  # verification mails, per account

    @field_validator(
        "CORS_ORIGINS", "TRUSTED_PROXIES", "JWT_PREVIOUS_PUBLIC_KEY_FILES", mode="before"
    )
    @classmethod
    def _split_comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("CORS_ORIGINS")
    @classmethod
    def _no_wildcard_origin(cls, value: list[str]) -> list[str]:
        # Credentials are allowed, so a wildcard would let any site act as the signed-in user.
        if any("*" in origin for origin in value):
            raise ValueError("'*' is not allowed: list each origin (https://app.example.com)")
        return value

    @field_validator(*RATE_LIMIT_SETTINGS)
    @classmethod
    def _valid_rate_limit(cls, value: str) -> str:
        try:
            parsed = limits.parse_many(value)
        except ValueError:
            parsed = []
        if len(parsed) != 1:
            raise ValueError(f"{value!r} is not one limit such as 5/minute or 3/15minutes")
        return value

    @field_validator("MFA_ENCRYPTION_KEY")
    @classmethod
    def _random_enough(cls, value: SecretStr | None) -> SecretStr | None:
        key = value.get_secret_value() if value is not None else ""
        if value is not None and (
            len(key) < MIN_PRODUCTION_SECRET_LENGTH
            or len(set(key)) < MIN_PRODUCTION_SECRET_DISTINCT
        ):
            raise ValueError(
                f"must be at least {MIN_PRODUCTION_SECRET_LENGTH} random characters; generate "
                "one with python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"
            )
        return value

    @field_validator("TRUSTED_PROXIES")
    @classmethod
    def _valid_networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError as exc:
                raise ValueError(f"{item!r} is not an IP address or CIDR") from exc
        return value

    @field_validator("DATABASE_URL")
    @classmethod
    def _valid_database_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError as exc:
            raise ValueError("not a database URL") from exc
        if url.drivername not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
            raise ValueError("use sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db")
        return value

    @field_validator("REDIS_URL")
    @classmethod
    def _valid_redis_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("use redis://host:port/db")
        return value

    @field_validator("PUBLIC_URL")
    @classmethod
    def _valid_public_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _check_secrets(self) -> Settings:
        if self.PASSWORD_MIN_LENGTH > self.PASSWORD_MAX_LENGTH:
            raise ValueError("PASSWORD_MIN_LENGTH: must not exceed PASSWORD_MAX_LENGTH")
        if self.JWT_ALGORITHM in ASYMMETRIC_ALGORITHMS:
            if self.JWT_PRIVATE_KEY_FILE is None:
                raise ValueError(f"JWT_PRIVATE_KEY_FILE: required with {self.JWT_ALGORITHM}")
            if not self.JWT_PRIVATE_KEY_FILE.is_file():
                raise ValueError(f"JWT_PRIVATE_KEY_FILE: no such file {self.JWT_PRIVATE_KEY_FILE}")
            for path in self.JWT_PREVIOUS_PUBLIC_KEY_FILES:
                _check_public_key_file(path)
        elif self.JWT_PREVIOUS_PUBLIC_KEY_FILES:
            raise ValueError(
                "JWT_PREVIOUS_PUBLIC_KEY_FILES: only with JWT_ALGORITHM EdDSA, ES256 or RS256"
            )
        if self.ENVIRONMENT == "production" and self.EMAIL_BACKEND == "console":
            raise ValueError(
                "EMAIL_BACKEND: console writes reset links to the log; "
                "use smtp or file in production"
            )
        if self.ENVIRONMENT == "production":
            _check_production_public_url(self.PUBLIC_URL)
            _check_production_secret(self.SECRET_KEY)
        elif self.SECRET_KEY is None:
            self.SECRET_KEY = SecretStr(_development_secret(SECRET_FILE))
        return self

    @property
    def is_development(self) -> bool:
        return self.ENVIRONMENT == "development"

    @property
    def is_sqlite(self) -> bool:
        return self.DATABASE_URL.startswith("sqlite")

    @property
    def secret_key(self) -> str:
        if self.SECRET_KEY is None:  # the validator always sets it
            raise RuntimeError("SECRET_KEY is not set")
        return self.SECRET_KEY.get_secret_value()


def _check_public_key_file(path: Path) -> None:
    name = "JWT_PREVIOUS_PUBLIC_KEY_FILES"
    if not path.is_file():
        raise ValueError(f"{name}: no such file {path}")
    try:
        algorithm_of(load_public_key(path.read_bytes()))
    except ValueError as exc:
        raise ValueError(
            f"{name}: {path} is not an Ed25519, P-256 or RSA public key in PEM ({exc})"
        ) from exc


def _check_production_public_url(url: str) -> None:
    """Links in mails carry tokens: production sends them over https only, except to
    this machine."""
    parts = urlsplit(url)
    if parts.scheme != "https" and (parts.hostname or "") not in LOCAL_HOSTS:
        raise ValueError(
            "PUBLIC_URL: must be https:// in production "
            "(http:// only for localhost, 127.0.0.1 or [::1])"
        )


def _check_production_secret(secret: SecretStr | None) -> None:
    key = secret.get_secret_value() if secret else ""
    if len(key) < MIN_PRODUCTION_SECRET_LENGTH:
        raise ValueError(
            f"SECRET_KEY: required in production, at least "
            f"{MIN_PRODUCTION_SECRET_LENGTH} characters"
        )
    if len(set(key)) < MIN_PRODUCTION_SECRET_DISTINCT:
        raise ValueError(
            "SECRET_KEY: does not look random (too few distinct characters); generate one "
            "with python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )


def _development_secret(path: Path) -> str:
    """Read the development secret, creating it (mode 0600) on first use."""
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key


def describe_settings_error(error: ValidationError) -> str:
    """One line naming the first bad variable, for the start-up refusal."""
    first = error.errors()[0]
    location = ".".join(str(part) for part in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    if not location and ":" in message:
        location, _, message = message.partition(":")
    return f"configuration error: {location or 'settings'}: {message.strip()}"


@lru_cache
def get_settings() -> Settings:
    """The process settings, read from the environment once."""
    return Settings()


def settings_from_request(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(settings_from_request)]
