"""Schema fuzzing: Schemathesis drives every operation of /openapi.json, anonymously, as a
user and as an admin, with valid and invalid inputs (and, where a path takes ids, with the
ids of real resources), and checks that the service never answers 5xx, that
every answer's status and media type are ones the schema documents for that operation,
and that every body (2xx and the error envelope) matches its documented schema. A second
test sends each operation what the fuzzer does not: what the input guard refuses, and
requests over a rate limit.

The app runs in-process with its lifespan, on this test's database (both backends when
TEST_DATABASE_URL is set), rate limits off. Each example logs in afresh, so an example that
ends its own session (logout, logout-all, revoking a session) cannot spoil the next one;
no operation is excluded. Deletions of the caller's own account need the password, which
the fuzzer does not know, so the accounts outlive the run.

The run is deterministic (derandomized Hypothesis, no example database) and bounded by
EXAMPLES per operation and role (FUZZ_EXAMPLES raises it for a longer hunt).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import schemathesis
from anyio.from_thread import BlockingPortal, start_blocking_portal
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from gatehouse.core.config import RATE_LIMIT_SETTINGS, Settings
from gatehouse.main import create_app
from tests.authenticator import SoftAuthenticator
from tests.conftest import TEST_SECRET
from tests.helpers import PASSWORD, bearer, running, signed_up, unique_email

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
ADMIN_EMAIL = "fuzz-admin@example.com"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _schema() -> Any:
    """The published schema; building it connects to nothing."""
    app = create_app(
        Settings(
            _env_file=None,
            ENVIRONMENT="development",
            DATABASE_URL="sqlite+aiosqlite:///:memory:",
            SECRET_KEY=TEST_SECRET,
        )
    )
    return schemathesis.openapi.from_dict(app.openapi())


SCHEMA = _schema()
OPERATIONS = [(op.path, op.method.upper()) for op in (r.ok() for r in SCHEMA.get_all_operations())]


@contextmanager
def serving(app: FastAPI) -> Iterator[tuple[BlockingPortal, httpx.AsyncClient]]:
    """The app with its lifespan running on an event loop of its own, for a sync test."""
    with start_blocking_portal() as portal, portal.wrap_async_context_manager(running(app)) as http:
        yield portal, http


def _request(case: Any, token: str | None) -> dict[str, Any]:
    """httpx arguments for a case, from the requests-style ones Schemathesis gives."""
    kwargs: dict[str, Any] = case.as_transport_kwargs(
        base_url="http://testserver", headers=bearer(token) if token else None
    )
    request: dict[str, Any] = {
        "method": kwargs["method"],
        "url": kwargs["url"],
        "headers": kwargs.get("headers") or {},
        "params": kwargs.get("params") or None,
    }
    if kwargs.get("cookies"):  # sent as a header: httpx deprecates per-request cookies
        cookie = "; ".join(f"{name}={value}" for name, value in kwargs["cookies"].items())
        request["headers"] = {**request["headers"], "Cookie": cookie}
    if "json" in kwargs:
        request["json"] = kwargs["json"]
    data = kwargs.get("data")
    if isinstance(data, bytes | str):
        request["content"] = data
    elif data is not None:
        request["data"] = data
    if kwargs.get("files"):
        request["files"] = kwargs["files"]
    return request


def _passkey_of(post: Callable[..., dict[str, Any]], token: str) -> str:
    """The id of a passkey the caller registers with a software authenticator."""
    options = post("/api/v1/auth/mfa/webauthn/register/options", {}, token)
    rp_id = options["rp"]["id"]  # the tests' PUBLIC_URL is http://<rp id>
    device = SoftAuthenticator(origin=f"http://{rp_id}", rp_id=rp_id)
    credential = device.create(options)
    passkey_id: str = post(
        "/api/v1/auth/mfa/webauthn/register/verify", {"credential": credential}, token
    )["id"]
    return passkey_id


@pytest.mark.slow
@pytest.mark.parametrize("role", ["anonymous", "user", "admin"])
@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
def test_every_operation_answers_as_documented(
    app_factory: Callable[..., FastAPI], role: str, path: str, method: str
) -> None:
    operation = SCHEMA[path][method]
    app = app_factory(FIRST_ADMIN_EMAIL=ADMIN_EMAIL, FIRST_ADMIN_PASSWORD=PASSWORD)
    with serving(app) as (portal, http):

        def call(**kwargs: Any) -> httpx.Response:
            response: httpx.Response = portal.call(functools.partial(http.request, **kwargs))
            return response

        def post(url: str, body: dict[str, Any], token: str | None = None) -> dict[str, Any]:
            answer = call(
                method="POST", url=url, json=body, headers=bearer(token) if token else None
            )
            assert answer.status_code in (200, 201), answer.text
            result: dict[str, Any] = answer.json()
            return result

        def fresh_token(email: str) -> str:
            tokens = post("/api/v1/auth/login", {"email": email, "password": PASSWORD})
            token: str = tokens["access_token"]
            return token

        # Another account, for an admin to act on; the caller's own account otherwise.
        other = post(
            "/api/v1/auth/register", {"email": unique_email("other"), "password": PASSWORD}
        )
        email = ADMIN_EMAIL
        if role != "admin":
            email = post(
                "/api/v1/auth/register", {"email": unique_email("fuzz"), "password": PASSWORD}
            )["email"]
        token = fresh_token(email)
        me = call(method="GET", url="/api/v1/users/me", headers=bearer(token)).json()
        fresh_token(email)
        sessions = call(method="GET", url="/api/v1/auth/sessions", headers=bearer(token)).json()
        second_session = next(item["id"] for item in sessions if not item["current"])
        # Real ids, so that some examples reach past the 404: a task, a conversation, a
        # second session of the caller's, and an account (the caller's own for a user,
        # whose routes are about itself; another for an admin).
        ids = {
            "task_id": post("/api/v1/tasks", {"title": "fuzzed"}, token)["id"],
            "conversation_id": post("/api/v1/chat", {"message": "hello"}, token)["conversation_id"],
            "session_id": second_session,
            "user_id": other["id"] if role == "admin" else me["id"],
            "passkey_id": _passkey_of(post, token),
        }
        names = re.findall(r"\{(\w+)\}", path)
        strategies = [
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        ]
        if names:
            known = {name: ids[name] for name in names}
            strategies.append(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=known))
        strategy = st.one_of(strategies)

        @settings(
            max_examples=EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=strategy)
        def answers_as_documented(case: Any) -> None:
            response = call(**_request(case, None if role == "anonymous" else fresh_token(email)))
            case.validate_response(response, checks=CHECKS)

        answers_as_documented()


SMALL_BODY_LIMIT = 1024
# What the input guard refuses before any route runs, and the fuzzer does not send: a
# control character in the query string (of any route, even one that takes no query), and
# a body over MAX_BODY_BYTES (on any route, even one that takes no body).
GUARD_PROBES: list[tuple[int, dict[str, Any]]] = [
    (422, {"params": {"probe": "\x01"}}),
    (413, {"content": b"x" * (SMALL_BODY_LIMIT + 1)}),
]


@pytest.mark.parametrize(("path", "method"), OPERATIONS, ids=[f"{m} {p}" for p, m in OPERATIONS])
async def test_refusals_before_the_route_are_documented(
    app_factory: Callable[..., FastAPI], path: str, method: str
) -> None:
    """The input guard's 413 and 422, and a rate limit's 429, on every operation: each is
    a documented status whose body matches the documented schema."""
    operation = SCHEMA[path][method]
    limits = dict.fromkeys(RATE_LIMIT_SETTINGS, "2/hour")
    app = app_factory(RATE_LIMIT_ENABLED=True, MAX_BODY_BYTES=SMALL_BODY_LIMIT, **limits)
    async with running(app) as http:
        account = await signed_up(http)
        ids = dict.fromkeys(re.findall(r"\{(\w+)\}", path), account["user"]["id"])
        case = operation.Case(path_parameters=ids)
        url = re.sub(r"\{(\w+)\}", lambda match: ids[match.group(1)], path)
        auth = bearer(account["access_token"])
        for status, probe in GUARD_PROBES:
            response = await http.request(method, url, headers=auth, **probe)
            assert response.status_code == status, response.text
            case.validate_response(response, checks=CHECKS)
        for _ in range(3):  # over every limit: each route's own, or the default
            response = await http.request(method, url, headers=auth)
            case.validate_response(response, checks=CHECKS)
