"""`Client` (sync) and `AsyncClient` for the Gatehouse API, on httpx.

Both retry transport errors and 429/500/502/503/504 (`RetryPolicy.statuses`) with
exponential backoff and jitter (honouring `Retry-After`), for idempotent methods only
unless the caller opts in, then raise `ApiError`, `GatehouseConnectionError` or
`GatehouseTimeout`; both hold the token pair after `login` and refresh it once,
transparently, on TOKEN_EXPIRED; for an account with a second factor `login` raises
`MfaRequired` and `verify_mfa(code)` finishes it with the token it carried; both keep the device token a login hands out and send it
back (`X-Device-Token`), so the owner's own client keeps its login allowance under brute
force; both log each request and response (method, path, status, time, request id: never
a header or a body, so never a secret).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, TypeVar

import httpx

from gatehouse_client import calls, models
from gatehouse_client.calls import Call
from gatehouse_client.errors import ApiError, MfaRequired, retry_after_seconds, transport_error

logger = logging.getLogger(__name__)

T = TypeVar("T")
P = ParamSpec("P")
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
DEVICE_HEADER = "X-Device-Token"
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
MAX_RETRY_AFTER = 60.0


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3
    backoff: float = 0.25
    max_backoff: float = 8.0
    retry_non_idempotent: bool = False
    statuses: frozenset[int] = RETRY_STATUSES

    def may_retry(self, method: str) -> bool:
        return self.retry_non_idempotent or method in IDEMPOTENT_METHODS

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, MAX_RETRY_AFTER)
        ceiling = min(self.max_backoff, self.backoff * 2**attempt)
        return random.uniform(ceiling / 2, ceiling)  # noqa: S311  (jitter, not security)


class _ClientState:
    """What both clients share: base URL, tokens, retry policy, and the decisions."""

    def __init__(
        self, retry: RetryPolicy | None, access_token: str | None, device_token: str | None
    ) -> None:
        self.retry = retry or RetryPolicy()
        self.tokens: models.TokenPair | None = None
        self.access_token = access_token
        self.device_token = device_token
        self.mfa_token: str | None = None  # of the last login that answered MFA_REQUIRED

    def headers(self, call: Call[Any]) -> dict[str, str]:
        headers = {DEVICE_HEADER: self.device_token} if self.device_token else {}
        if call.authenticated and self.access_token:
            headers["Authorization"] = f"Bearer {self.access_token}"
        return headers

    def remember_device(self, response: httpx.Response) -> None:
        """Keep the device token a successful login hands out (the server answers the same
        one while it is this account's, and a new one for another account)."""
        token = response.headers.get(DEVICE_HEADER)
        if token and response.is_success:
            self.device_token = token

    def keep(self, tokens: models.TokenPair) -> None:
        self.tokens = tokens
        self.access_token = tokens.access_token

    def mfa_token_for(self, given: str | None) -> str:
        token = given or self.mfa_token
        if not token:
            raise ApiError(401, "INVALID_TOKEN", "no mfa_token: log in first")
        return token

    def forget(self) -> None:
        self.tokens = None
        self.access_token = None

    def should_refresh(self, call: Call[Any], response: httpx.Response, refreshed: bool) -> bool:
        if (
            response.status_code != 401
            or refreshed
            or not call.authenticated
            or self.tokens is None
        ):
            return False
        return ApiError.from_response(response).code == "TOKEN_EXPIRED"

    def should_retry_status(
        self, call: Call[Any], response: httpx.Response, attempt: int, retry: bool | None
    ) -> bool:
        return response.status_code in self.retry.statuses and self.should_retry(
            call, attempt, retry
        )

    def should_retry(self, call: Call[Any], attempt: int, retry: bool | None) -> bool:
        allowed = retry if retry is not None else self.retry.may_retry(call.method)
        return allowed and attempt < self.retry.max_retries

    @staticmethod
    def log(
        call: Call[Any], response: httpx.Response | None, started: float, error: str = ""
    ) -> None:
        elapsed = (time.perf_counter() - started) * 1000
        if response is None:
            logger.info("%s %s -> %s (%.1f ms)", call.method, call.path, error, elapsed)
        else:
            logger.info(
                "%s %s -> %d (%.1f ms, request %s)",
                call.method,
                call.path,
                response.status_code,
                elapsed,
                response.headers.get("x-request-id", "-"),
            )

    @staticmethod
    def result(call: Call[T], response: httpx.Response) -> T:
        if response.is_error:
            raise ApiError.from_response(response)
        return call.parse(_payload(response))


def _payload(response: httpx.Response) -> Any:
    """The decoded JSON of a 2xx answer; its text when it is not JSON; None when empty."""
    if not response.content:
        return None
    if "json" in response.headers.get("content-type", ""):
        try:
            return response.json()
        except ValueError:
            pass
    return response.text


def _sync(factory: Callable[P, Call[T]]) -> Callable[Concatenate[Client, P], T]:
    def method(self: Client, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return self.run(factory(*args, **kwargs))

    method.__doc__ = factory.__doc__
    method.__name__ = factory.__name__
    return method


def _async(factory: Callable[P, Call[T]]) -> Callable[Concatenate[AsyncClient, P], Awaitable[T]]:
    async def method(self: AsyncClient, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return await self.run(factory(*args, **kwargs))

    method.__doc__ = factory.__doc__
    method.__name__ = factory.__name__
    return method


class Client:
    """Synchronous client. `Client(base_url)`; `login(...)` keeps the tokens for later calls."""

    def __init__(
        self,
        base_url: str,
        *,
        access_token: str | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        device_token: str | None = None,
        http: httpx.Client | None = None,
    ) -> None:
        self._http = http or httpx.Client(base_url=base_url, timeout=timeout)
        self._state = _ClientState(retry, access_token, device_token)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    @property
    def tokens(self) -> models.TokenPair | None:
        return self._state.tokens

    @property
    def device_token(self) -> str | None:
        """The device token of the last login (keep it to pass as `device_token=` later)."""
        return self._state.device_token

    def run(self, call: Call[T], *, retry: bool | None = None) -> T:
        """Send one call; `retry=True` allows retrying a non-idempotent one."""
        state, attempt, refreshed = self._state, 0, False
        while True:
            started = time.perf_counter()
            try:
                response = self._http.request(
                    call.method,
                    call.path,
                    json=call.json,
                    params=call.params or None,
                    data=call.data,
                    headers=state.headers(call),
                )
            except httpx.TransportError as exc:
                state.log(call, None, started, type(exc).__name__)
                if not state.should_retry(call, attempt, retry):
                    raise transport_error(call.method, call.path, exc) from exc
                time.sleep(state.retry.delay(attempt, None))
                attempt += 1
                continue
            state.log(call, response, started)
            state.remember_device(response)
            if state.should_retry_status(call, response, attempt, retry):
                time.sleep(state.retry.delay(attempt, retry_after_seconds(response)))
                attempt += 1
                continue
            if state.should_refresh(call, response, refreshed):
                refreshed = True
                self.refresh()
                continue
            return state.result(call, response)

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Any route, for what the typed methods do not cover; returns the decoded JSON."""
        return self.run(Call(method.upper(), path, calls._adapter(Any), **kwargs))

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Any:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> Any:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)

    def login(self, email: str, password: str) -> models.TokenPair:
        """Log in and keep the token pair for the calls that follow. For an account with a
        second factor, raises `MfaRequired` (its `mfa_token` is kept for `verify_mfa`)."""
        try:
            tokens = self.run(calls.login(email, password))
        except MfaRequired as exc:
            self._state.mfa_token = exc.mfa_token
            raise
        self._state.keep(tokens)
        return tokens

    def verify_mfa(self, code: str, mfa_token: str | None = None) -> models.TokenPair:
        """Finish a login that raised `MfaRequired` with a TOTP or recovery code (the last
        login's `mfa_token` unless one is given); keeps the token pair as `login` does."""
        tokens = self.run(calls.verify_mfa(self._state.mfa_token_for(mfa_token), code))
        self._state.mfa_token = None
        self._state.keep(tokens)
        return tokens

    def refresh(self) -> models.TokenPair:
        """Exchange the kept refresh token for a new pair (done for you on TOKEN_EXPIRED)."""
        if self._state.tokens is None:
            raise ApiError(401, "NOT_AUTHENTICATED", "no refresh token: log in first")
        tokens = self.run(calls.refresh(self._state.tokens.refresh_token))
        self._state.keep(tokens)
        return tokens

    def logout(self) -> None:
        """End this session on the server and forget the tokens."""
        refresh_token = self._state.tokens.refresh_token if self._state.tokens else None
        self.run(calls.logout(refresh_token))
        self._state.forget()

    register = _sync(calls.register)
    login_form = _sync(calls.login_form)
    logout_all = _sync(calls.logout_all)
    sessions = _sync(calls.sessions)
    revoke_session = _sync(calls.revoke_session)
    forgot_password = _sync(calls.forgot_password)
    reset_password = _sync(calls.reset_password)
    change_password = _sync(calls.change_password)
    request_verification = _sync(calls.request_verification)
    verify = _sync(calls.verify)
    me = _sync(calls.me)
    update_me = _sync(calls.update_me)
    delete_me = _sync(calls.delete_me)
    setup_totp = _sync(calls.setup_totp)
    confirm_totp = _sync(calls.confirm_totp)
    disable_totp = _sync(calls.disable_totp)
    regenerate_recovery_codes = _sync(calls.regenerate_recovery_codes)
    list_users = _sync(calls.list_users)
    create_user = _sync(calls.create_user)
    get_user = _sync(calls.get_user)
    update_user = _sync(calls.update_user)
    delete_user = _sync(calls.delete_user)
    list_tasks = _sync(calls.list_tasks)
    create_task = _sync(calls.create_task)
    get_task = _sync(calls.get_task)
    update_task = _sync(calls.update_task)
    replace_task = _sync(calls.replace_task)
    delete_task = _sync(calls.delete_task)
    chat = _sync(calls.chat)
    list_conversations = _sync(calls.list_conversations)
    get_conversation = _sync(calls.get_conversation)
    delete_conversation = _sync(calls.delete_conversation)
    list_audit_events = _sync(calls.list_audit_events)


class AsyncClient:
    """The asynchronous twin of `Client`, with the same methods, awaited."""

    def __init__(
        self,
        base_url: str,
        *,
        access_token: str | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        device_token: str | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self._http = http or httpx.AsyncClient(base_url=base_url, timeout=timeout)
        self._state = _ClientState(retry, access_token, device_token)

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def tokens(self) -> models.TokenPair | None:
        return self._state.tokens

    @property
    def device_token(self) -> str | None:
        """The device token of the last login (keep it to pass as `device_token=` later)."""
        return self._state.device_token

    async def run(self, call: Call[T], *, retry: bool | None = None) -> T:
        """Send one call; `retry=True` allows retrying a non-idempotent one."""
        state, attempt, refreshed = self._state, 0, False
        while True:
            started = time.perf_counter()
            try:
                response = await self._http.request(
                    call.method,
                    call.path,
                    json=call.json,
                    params=call.params or None,
                    data=call.data,
                    headers=state.headers(call),
                )
            except httpx.TransportError as exc:
                state.log(call, None, started, type(exc).__name__)
                if not state.should_retry(call, attempt, retry):
                    raise transport_error(call.method, call.path, exc) from exc
                await asyncio.sleep(state.retry.delay(attempt, None))
                attempt += 1
                continue
            state.log(call, response, started)
            state.remember_device(response)
            if state.should_retry_status(call, response, attempt, retry):
                await asyncio.sleep(state.retry.delay(attempt, retry_after_seconds(response)))
                attempt += 1
                continue
            if state.should_refresh(call, response, refreshed):
                refreshed = True
                await self.refresh()
                continue
            return state.result(call, response)

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        return await self.run(Call(method.upper(), path, calls._adapter(Any), **kwargs))

    async def get(self, path: str, **kwargs: Any) -> Any:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> Any:
        return await self.request("POST", path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> Any:
        return await self.request("PUT", path, **kwargs)

    async def patch(self, path: str, **kwargs: Any) -> Any:
        return await self.request("PATCH", path, **kwargs)

    async def delete(self, path: str, **kwargs: Any) -> Any:
        return await self.request("DELETE", path, **kwargs)

    async def login(self, email: str, password: str) -> models.TokenPair:
        try:
            tokens = await self.run(calls.login(email, password))
        except MfaRequired as exc:
            self._state.mfa_token = exc.mfa_token
            raise
        self._state.keep(tokens)
        return tokens

    async def verify_mfa(self, code: str, mfa_token: str | None = None) -> models.TokenPair:
        tokens = await self.run(calls.verify_mfa(self._state.mfa_token_for(mfa_token), code))
        self._state.mfa_token = None
        self._state.keep(tokens)
        return tokens

    async def refresh(self) -> models.TokenPair:
        if self._state.tokens is None:
            raise ApiError(401, "NOT_AUTHENTICATED", "no refresh token: log in first")
        tokens = await self.run(calls.refresh(self._state.tokens.refresh_token))
        self._state.keep(tokens)
        return tokens

    async def logout(self) -> None:
        refresh_token = self._state.tokens.refresh_token if self._state.tokens else None
        await self.run(calls.logout(refresh_token))
        self._state.forget()

    register = _async(calls.register)
    login_form = _async(calls.login_form)
    logout_all = _async(calls.logout_all)
    sessions = _async(calls.sessions)
    revoke_session = _async(calls.revoke_session)
    forgot_password = _async(calls.forgot_password)
    reset_password = _async(calls.reset_password)
    change_password = _async(calls.change_password)
    request_verification = _async(calls.request_verification)
    verify = _async(calls.verify)
    me = _async(calls.me)
    update_me = _async(calls.update_me)
    delete_me = _async(calls.delete_me)
    setup_totp = _async(calls.setup_totp)
    confirm_totp = _async(calls.confirm_totp)
    disable_totp = _async(calls.disable_totp)
    regenerate_recovery_codes = _async(calls.regenerate_recovery_codes)
    list_users = _async(calls.list_users)
    create_user = _async(calls.create_user)
    get_user = _async(calls.get_user)
    update_user = _async(calls.update_user)
    delete_user = _async(calls.delete_user)
    list_tasks = _async(calls.list_tasks)
    create_task = _async(calls.create_task)
    get_task = _async(calls.get_task)
    update_task = _async(calls.update_task)
    replace_task = _async(calls.replace_task)
    delete_task = _async(calls.delete_task)
    chat = _async(calls.chat)
    list_conversations = _async(calls.list_conversations)
    get_conversation = _async(calls.get_conversation)
    delete_conversation = _async(calls.delete_conversation)
    list_audit_events = _async(calls.list_audit_events)
