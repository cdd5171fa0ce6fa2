"""Check Gatehouse access tokens in another service (a resource server) without calling it.

Gatehouse signs access tokens with EdDSA, ES256 or RS256 when it is configured to, and
publishes the public keys at `/.well-known/jwks.json`. A verifier fetches that set once,
keeps it, and picks the key a token names in its `kid` header. A `kid` it does not know
(the server rotated its key) makes it fetch the set again, at most once a minute; the set
is also fetched again when it is an hour old, so a key the server stops publishing stops
verifying. Then the signature, `iss`, `aud`, `exp` (no leeway unless asked) and `type`
("access") are checked, as Gatehouse itself checks them.

A token stays valid until it expires even if its session ended (logout, password
change): `check_revocation=True` also asks Gatehouse (`GET /api/v1/users/me` with the
token) on every verification, for the apps that need a logout to count at once. That is
one request to Gatehouse per verification, counted under its `RATE_LIMIT_DEFAULT`.

Needs the `verifier` extra (PyJWT with cryptography): `pip install
"gatehouse-client[verifier]"`. `TokenVerifier` is synchronous, `AsyncTokenVerifier` is
for asyncio applications (the FastAPI dependency and the Starlette middleware use it).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt

from gatehouse_client.errors import ApiError, TokenRejected, transport_error

logger = logging.getLogger(__name__)

JWKS_PATH = "/.well-known/jwks.json"
REVOCATION_PATH = "/api/v1/users/me"
DEFAULT_ALGORITHMS = ("EdDSA", "ES256", "RS256")
REQUIRED_CLAIMS = ["sub", "sid", "jti", "iat", "exp", "iss", "aud", "type"]
INVALID_TOKEN = "INVALID_TOKEN"  # noqa: S105  (an error code, not a secret)
TOKEN_EXPIRED = "TOKEN_EXPIRED"  # noqa: S105


@dataclass(frozen=True)
class AccessToken:
    """A verified access token: whose it is, its session, and all its claims."""

    user_id: str
    session_id: str
    token_id: str
    issued_at: int
    expires_at: int
    key_id: str
    claims: dict[str, Any] = field(repr=False)


class KeySet:
    """The cached JWKS: keys by `kid`, and when the set must be fetched again."""

    def __init__(
        self,
        *,
        algorithms: Iterable[str],
        refetch_interval: float,
        max_age: float,
        clock: Callable[[], float],
    ) -> None:
        self.algorithms = frozenset(algorithms)
        self.refetch_interval = refetch_interval
        self.max_age = max_age
        self.clock = clock
        self.keys: dict[str, jwt.PyJWK] = {}
        self.fetched_at: float | None = None  # the last attempt, successful or not
        self.fetches = 0

    def needs_fetch(self, kid: str) -> bool:
        """Whether to fetch before looking `kid` up: never fetched (or nothing usable yet),
        older than `max_age`, or an unknown `kid` and the last fetch a minute ago."""
        if self.fetched_at is None or not self.keys:
            return True
        age = self.clock() - self.fetched_at
        if age >= self.max_age:
            return True
        return kid not in self.keys and age >= self.refetch_interval

    def attempted(self) -> None:
        self.fetched_at = self.clock()
        self.fetches += 1

    def load(self, payload: Any) -> None:
        """Keep the usable keys of a JWKS document (others, and malformed ones, are skipped)."""
        keys: dict[str, jwt.PyJWK] = {}
        entries = payload.get("keys") if isinstance(payload, dict) else None
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
                continue
            try:
                key = jwt.PyJWK.from_dict(entry)
            except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
                logger.warning("JWKS: skipped key %s (not usable)", entry.get("kid"))
                continue
            if key.algorithm_name in self.algorithms:
                keys[entry["kid"]] = key
        self.keys = keys


class _Rules:
    """What both verifiers share: reading the header, checking the claims."""

    def __init__(self, *, issuer: str, audience: str, leeway: float) -> None:
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway

    @staticmethod
    def key_id(token: str) -> str:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as exc:
            raise TokenRejected(INVALID_TOKEN, "not a JWT") from exc
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenRejected(INVALID_TOKEN, "the token names no key (kid)")
        return kid

    def _decode(self, token: str, key: jwt.PyJWK, *, verify_exp: bool) -> dict[str, Any]:
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=[key.algorithm_name],
            audience=self.audience,
            issuer=self.issuer,
            leeway=self.leeway,
            options={"require": REQUIRED_CLAIMS, "verify_exp": verify_exp},
        )
        return claims

    def check(self, token: str, kid: str, key: jwt.PyJWK | None) -> AccessToken:
        """Signature, algorithm, iss, aud, the claims and type (INVALID_TOKEN), then exp
        (TOKEN_EXPIRED): a forged or foreign expired token is INVALID_TOKEN."""
        if key is None:
            raise TokenRejected(INVALID_TOKEN, "unknown signing key (kid)")
        expired = False
        try:
            claims = self._decode(token, key, verify_exp=True)
        except jwt.ExpiredSignatureError:
            expired = True
            try:
                claims = self._decode(token, key, verify_exp=False)
            except jwt.InvalidTokenError as exc:
                raise TokenRejected(INVALID_TOKEN, str(exc)) from exc
        except jwt.InvalidTokenError as exc:
            raise TokenRejected(INVALID_TOKEN, str(exc)) from exc
        if claims.get("type") != "access":
            raise TokenRejected(INVALID_TOKEN, "not an access token")
        if expired:
            raise TokenRejected(TOKEN_EXPIRED, "the access token has expired")
        return AccessToken(
            user_id=str(claims["sub"]),
            session_id=str(claims["sid"]),
            token_id=str(claims["jti"]),
            issued_at=int(claims["iat"]),
            expires_at=int(claims["exp"]),
            key_id=kid,
            claims=claims,
        )

    @staticmethod
    def revocation_answer(response: httpx.Response) -> None:
        """200: the session is live. 401: it ended (or the account is gone): INVALID_TOKEN
        or TOKEN_EXPIRED as Gatehouse says. Anything else is Gatehouse's failure: ApiError."""
        if response.is_success:
            return
        error = ApiError.from_response(response)
        if response.status_code == 401:
            code = TOKEN_EXPIRED if error.code == TOKEN_EXPIRED else INVALID_TOKEN
            raise TokenRejected(code, error.message)
        raise error


class _Base:
    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        algorithms: Iterable[str],
        leeway: float,
        refetch_interval: float,
        max_age: float,
        check_revocation: bool,
        clock: Callable[[], float],
    ) -> None:
        self.rules = _Rules(issuer=issuer, audience=audience, leeway=leeway)
        self.keys = KeySet(
            algorithms=algorithms,
            refetch_interval=refetch_interval,
            max_age=max_age,
            clock=clock,
        )
        self.check_revocation = check_revocation

    def _load(self, response: httpx.Response) -> None:
        if not response.is_success:
            raise ApiError.from_response(response)
        try:
            payload = response.json()
        except ValueError as exc:
            raise ApiError(response.status_code, "INVALID_JWKS", "not JSON") from exc
        self.keys.load(payload)


class TokenVerifier(_Base):
    """Verifies access tokens against the JWKS of the Gatehouse at `base_url` (sync).

    `verify(token)` answers an `AccessToken` or raises `TokenRejected` (INVALID_TOKEN,
    TOKEN_EXPIRED); when the keys cannot be fetched it raises `ApiError`,
    `GatehouseConnectionError` or `GatehouseTimeout`. Safe to share between threads.
    """

    def __init__(
        self,
        base_url: str,
        *,
        issuer: str = "gatehouse",
        audience: str = "gatehouse:api",
        algorithms: Iterable[str] = DEFAULT_ALGORITHMS,
        leeway: float = 0,
        refetch_interval: float = 60.0,
        max_age: float = 3600.0,
        check_revocation: bool = False,
        timeout: float = 5.0,
        http: httpx.Client | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            issuer=issuer,
            audience=audience,
            algorithms=algorithms,
            leeway=leeway,
            refetch_interval=refetch_interval,
            max_age=max_age,
            check_revocation=check_revocation,
            clock=clock,
        )
        self._http = http or httpx.Client(base_url=base_url, timeout=timeout)
        self._lock = threading.Lock()

    def __enter__(self) -> TokenVerifier:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _get(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        try:
            return self._http.get(path, headers=headers)
        except httpx.TransportError as exc:
            raise transport_error("GET", path, exc) from exc

    def refresh_keys(self) -> None:
        """Fetch the JWKS now."""
        self.keys.attempted()
        self._load(self._get(JWKS_PATH))

    def verify(self, token: str) -> AccessToken:
        kid = self.rules.key_id(token)
        with self._lock:
            if self.keys.needs_fetch(kid):
                self.refresh_keys()
        verified = self.rules.check(token, kid, self.keys.keys.get(kid))
        if self.check_revocation:
            response = self._get(REVOCATION_PATH, {"Authorization": f"Bearer {token}"})
            self.rules.revocation_answer(response)
        return verified


class AsyncTokenVerifier(_Base):
    """The asyncio twin of `TokenVerifier`: `await verifier.verify(token)`."""

    def __init__(
        self,
        base_url: str,
        *,
        issuer: str = "gatehouse",
        audience: str = "gatehouse:api",
        algorithms: Iterable[str] = DEFAULT_ALGORITHMS,
        leeway: float = 0,
        refetch_interval: float = 60.0,
        max_age: float = 3600.0,
        check_revocation: bool = False,
        timeout: float = 5.0,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            issuer=issuer,
            audience=audience,
            algorithms=algorithms,
            leeway=leeway,
            refetch_interval=refetch_interval,
            max_age=max_age,
            check_revocation=check_revocation,
            clock=clock,
        )
        self._http = http or httpx.AsyncClient(base_url=base_url, timeout=timeout)
        self._lock: asyncio.Lock | None = None

    async def __aenter__(self) -> AsyncTokenVerifier:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _get(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        try:
            return await self._http.get(path, headers=headers)
        except httpx.TransportError as exc:
            raise transport_error("GET", path, exc) from exc

    async def refresh_keys(self) -> None:
        """Fetch the JWKS now."""
        self.keys.attempted()
        self._load(await self._get(JWKS_PATH))

    async def verify(self, token: str) -> AccessToken:
        kid = self.rules.key_id(token)
        if self.keys.needs_fetch(kid):
            # One fetch at a time: the requests waiting behind it then find the new set.
            self._lock = self._lock or asyncio.Lock()
            async with self._lock:
                if self.keys.needs_fetch(kid):
                    await self.refresh_keys()
        verified = self.rules.check(token, kid, self.keys.keys.get(kid))
        if self.check_revocation:
            response = await self._get(REVOCATION_PATH, {"Authorization": f"Bearer {token}"})
            self.rules.revocation_answer(response)
        return verified
