"""`gatehouse serve` as a real process: what an exposed service must hold under uvicorn."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx


def _server_log(tmp_path: Path, base_url: str, expected: str) -> str:
    """The server's output (tests.servers writes it beside the test), once `expected` is in."""
    log = tmp_path / f"server-{urlsplit(base_url).port}.log"
    deadline = time.monotonic() + 10
    while expected not in (text := log.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return text


def test_no_token_reaches_the_access_log(start_server: Callable[..., str], tmp_path: Path) -> None:
    """The mailed links reach the service when a user clicks them, and uvicorn's access log
    writes every path with its query: the token's value must not be in it."""
    base_url = start_server(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'logs.db'}", ENVIRONMENT="development"
    )
    with httpx.Client(base_url=base_url, timeout=10) as client:
        assert client.get("/reset-password?token=SECRET123").status_code == 404
        assert client.get("/verify?token=SECRET456&next=/home").status_code == 404
        assert client.get("/health?refresh_token=SECRET789").status_code == 200
    text = _server_log(tmp_path, base_url, "/health?refresh_token=")
    assert '"GET /reset-password?token=[REDACTED] HTTP/1.1" 404' in text
    assert '"GET /verify?token=[REDACTED]&next=/home HTTP/1.1" 404' in text
    for secret in ("SECRET123", "SECRET456", "SECRET789"):
        assert secret not in text
