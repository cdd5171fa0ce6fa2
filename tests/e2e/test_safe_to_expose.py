"""`gatehouse serve` as a real process: what an exposed service must hold under uvicorn."""

from __future__ import annotations

import socket
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
        # The pages answer these links with a form (the token in a hidden field).
        assert client.get("/reset-password?token=SECRET123").status_code == 200
        assert client.get("/verify?token=SECRET456&next=/home").status_code == 200
        assert client.get("/health?refresh_token=SECRET789").status_code == 200
    text = _server_log(tmp_path, base_url, "/health?refresh_token=")
    assert '"GET /reset-password?token=[REDACTED] HTTP/1.1" 200' in text
    assert '"GET /verify?token=[REDACTED]&next=/home HTTP/1.1" 200' in text
    for secret in ("SECRET123", "SECRET456", "SECRET789"):
        assert secret not in text


def _exchange(base_url: str, head: bytes, chunks: list[bytes]) -> tuple[bytes, bytes]:
    """Send a request's head and these body bytes (never the rest), then read the answer
    until the server closes the connection: the status line with headers, and the body."""
    url = urlsplit(base_url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(head)
        for chunk in chunks:
            sock.sendall(chunk)
        answer = b""
        while data := sock.recv(65536):
            answer += data
    status_and_headers, _, body = answer.partition(b"\r\n\r\n")
    return status_and_headers, body


def test_uvicorn_refuses_a_large_body_before_it_is_sent_whole(
    start_server: Callable[..., str], tmp_path: Path
) -> None:
    """Through uvicorn: a Content-Length over MAX_BODY_BYTES is answered 413 although not a
    byte of the body was sent, and a chunked body is answered 413 once it passes the limit,
    the final chunk never sent (the answer would never come if the body were awaited)."""
    limit = 4096
    base_url = start_server(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'limits.db'}", MAX_BODY_BYTES=str(limit)
    )
    common = b"Host: gatehouse\r\nContent-Type: application/json\r\n"
    declared = (
        b"POST /api/v1/auth/login HTTP/1.1\r\n" + common + b"Content-Length: 104857600\r\n\r\n"
    )
    chunked = (
        b"POST /api/v1/auth/login HTTP/1.1\r\n" + common + b"Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"400\r\n" + b"x" * 1024 + b"\r\n"  # 1 KiB
    for head, chunks in ((declared, []), (chunked, [chunk] * (limit // 1024 + 1))):
        status_and_headers, body = _exchange(base_url, head, chunks)
        lines = status_and_headers.decode("latin-1").lower().split("\r\n")
        assert lines[0].startswith("http/1.1 413"), status_and_headers
        assert "connection: close" in lines
        assert "x-content-type-options: nosniff" in lines
        assert any(line.startswith("x-request-id: ") for line in lines)
        assert b'"code":"PAYLOAD_TOO_LARGE"' in body
    with httpx.Client(base_url=base_url, timeout=10) as client:  # and it still serves
        assert client.get("/health").status_code == 200
