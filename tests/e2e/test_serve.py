"""`gatehouse serve` as a real process: development upgrades the schema, proxies are not trusted."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from tests.helpers import PASSWORD, unique_email

FORGED = {"X-Forwarded-For": "203.0.113.9"}


def _session_ip(base_url: str, email: str) -> str:
    with httpx.Client(base_url=base_url, timeout=10) as client:
        tokens = client.post(
            "/api/v1/auth/login", json={"email": email, "password": PASSWORD}, headers=FORGED
        )
        assert tokens.status_code == 200, tokens.text
        token = tokens.json()["access_token"]
        sessions = client.get(
            "/api/v1/auth/sessions", headers={"Authorization": f"Bearer {token}", **FORGED}
        )
        (current,) = [s for s in sessions.json() if s["current"]]
        return str(current["ip"])


def test_serve_upgrades_in_development_and_ignores_forged_forwarded_for(
    start_server: Callable[..., str], tmp_path: Path
) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'e2e.db'}"
    base_url = start_server(DATABASE_URL=database_url, ENVIRONMENT="development")
    email = unique_email()
    with httpx.Client(base_url=base_url, timeout=10) as client:
        registered = client.post(
            "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
        )
        assert registered.status_code == 201, registered.text
        assert client.get("/ready").status_code == 200
    assert _session_ip(base_url, email) == "127.0.0.1"


def test_serve_takes_the_client_address_from_a_trusted_proxy(
    start_server: Callable[..., str], tmp_path: Path
) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'proxy.db'}"
    base_url = start_server(DATABASE_URL=database_url, TRUSTED_PROXIES="127.0.0.1/32")
    email = unique_email()
    with httpx.Client(base_url=base_url, timeout=10) as client:
        client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert _session_ip(base_url, email) == "203.0.113.9"


def test_serve_gives_metrics_to_loopback_but_not_through_an_unlisted_proxy(
    start_server: Callable[..., str], tmp_path: Path
) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'metrics.db'}"
    base_url = start_server(DATABASE_URL=database_url)
    with httpx.Client(base_url=base_url, timeout=10) as client:
        local = client.get("/metrics")
        relayed = client.get("/metrics", headers=FORGED)
    assert local.status_code == 200, local.text
    assert "gatehouse_http_requests_total" in local.text
    assert relayed.status_code == 404
    assert relayed.json()["error"]["code"] == "NOT_FOUND"
