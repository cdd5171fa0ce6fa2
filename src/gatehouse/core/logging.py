"""Logs: JSON lines in production, readable text in development; both carry request_id."""

from __future__ import annotations

import json
import logging
import re
from contextvars import ContextVar
from datetime import UTC, datetime

from gatehouse.core.config import Settings

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")


# Query parameters whose values are secrets. The mailed links
# (`/reset-password?token=…`, `/verify?token=…`) reach the service when clicked, and the
# access log writes every path with its query.
SENSITIVE_QUERY_PARAMETERS = (
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "reset_token",
    "code",
    "password",
    "new_password",
    "current_password",
    "client_secret",
)
REDACTED = "[REDACTED]"
_SENSITIVE_QUERY = re.compile(
    r"([?&;](?:" + "|".join(SENSITIVE_QUERY_PARAMETERS) + r")=)[^&;#\s\"']*", re.IGNORECASE
)


def redact_query(text: str) -> str:
    """`text` with the value of every sensitive query parameter replaced by [REDACTED]."""
    return _SENSITIVE_QUERY.sub(r"\g<1>" + REDACTED, text)


class RedactQueryFilter(logging.Filter):
    """Redacts sensitive query values (SENSITIVE_QUERY_PARAMETERS) in a record's message.

    Installed on the `uvicorn.access` logger (the one place that logs a path with its
    query), so every handler gets the redacted line: ours, a test's capture, an operator's.
    Not on our handler: the console mail backend logs its links on purpose (development)."""

    def filter(self, record: logging.LogRecord) -> bool:
        # The arguments are redacted one by one, and stay a tuple: uvicorn's own access
        # formatter unpacks them (client, method, path with query, version, status).
        if record.args and isinstance(record.args, tuple):
            record.args = tuple(
                redact_query(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        elif not record.args and isinstance(record.msg, str):
            record.msg = redact_query(record.msg)
        return True


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(settings: Settings) -> None:
    """Install one handler on the root logger (idempotent); uvicorn's loggers propagate to it."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        # Ours from an earlier call, or a plain one from logging.basicConfig (the CLI's):
        # either would print every line twice. Other handlers (a test's capture) stay.
        if getattr(handler, "_gatehouse", False) or type(handler) is logging.StreamHandler:
            root.removeHandler(handler)
    handler = logging.StreamHandler()
    handler._gatehouse = True  # type: ignore[attr-defined]
    handler.addFilter(_RequestIdFilter())
    if settings.is_development:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s")
        )
    else:
        handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    # Driver debug logs carry SQL parameters (hashes, emails): never let them through;
    # httpx would log every call the service makes (the model server) at INFO.
    for name in ("aiosqlite", "asyncpg", "sqlalchemy.engine", "httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    access = logging.getLogger("uvicorn.access")
    for existing in [f for f in access.filters if isinstance(f, RedactQueryFilter)]:
        access.removeFilter(existing)
    access.addFilter(RedactQueryFilter())
