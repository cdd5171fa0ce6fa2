"""Security primitives: password hashing off the event loop, JWTs, opaque secret tokens."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import os
import secrets
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from jwt.algorithms import get_default_algorithms
from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError
from pwdlib.hashers.argon2 import Argon2Hasher
from pwdlib.hashers.bcrypt import BcryptHasher

from gatehouse.core.config import ASYMMETRIC_ALGORITHMS, Settings
from gatehouse.core.errors import InvalidToken, TokenExpired
from gatehouse.core.keys import algorithm_of, load_public_key

logger = logging.getLogger(__name__)

OPAQUE_TOKEN_BYTES = 32  # 256 bits
# How much lower than the event loop's the hashing threads' CPU priority is (nice levels).
HASHING_NICENESS = 10

_hashing_pools: dict[int, ThreadPoolExecutor] = {}
_hashing_pools_lock = threading.Lock()


def _lower_thread_priority() -> None:
    """Lower the calling thread's CPU priority, so that when hashing and the event loop
    want the same core, the loop (every other request) gets it first. A thread may always
    lower its own priority; where the system has no such thing, nothing changes."""
    try:
        tid = threading.get_native_id()
        os.setpriority(
            os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + HASHING_NICENESS
        )
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        pass


def hashing_pool(threads: int) -> ThreadPoolExecutor:
    """The process's pool of `threads` hashing threads (shared by every hasher of that size),
    each at a lower CPU priority than the event loop (`HASHING_NICENESS`)."""
    with _hashing_pools_lock:
        pool = _hashing_pools.get(threads)
        if pool is None:
            pool = ThreadPoolExecutor(
                max_workers=threads,
                thread_name_prefix="gatehouse-hashing",
                initializer=_lower_thread_priority,
            )
            _hashing_pools[threads] = pool
        return pool


# Stored for an account created without a password (an invitation): no hash algorithm
# produces it, so no password verifies against it.
UNUSABLE_PASSWORD_HASH = "!unusable"  # noqa: S105 - a marker, not a secret


class PasswordHasher:
    """Argon2id hashing (bcrypt accepted for verification) run in a pool of its own.

    argon2-cffi and bcrypt release the GIL. The pool has one thread per core the process
    may use (HASHING_THREADS), so hashing uses every core without more threads than cores
    fighting over them, and its threads run at a lower priority than the event loop: a
    burst of logins slows the logins, not every other request (see bench/auth.py).
    """

    def __init__(
        self, *, memory_cost_kib: int, time_cost: int, parallelism: int, threads: int
    ) -> None:
        self._hash = PasswordHash(
            (
                Argon2Hasher(
                    memory_cost=memory_cost_kib, time_cost=time_cost, parallelism=parallelism
                ),
                BcryptHasher(),
            )
        )
        self._pool = hashing_pool(threads)
        self._dummy_hash: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> PasswordHasher:
        return cls(
            memory_cost_kib=settings.ARGON2_MEMORY_COST_KIB,
            time_cost=settings.ARGON2_TIME_COST,
            parallelism=settings.ARGON2_PARALLELISM,
            threads=settings.HASHING_THREADS,
        )

    def hash_sync(self, password: str) -> str:
        return self._hash.hash(password)

    def verify_and_update_sync(self, password: str, password_hash: str) -> tuple[bool, str | None]:
        try:
            return self._hash.verify_and_update(password, password_hash)
        except (UnknownHashError, ValueError):
            # A corrupt stored hash, or a password bcrypt cannot take: never a match.
            logger.warning("password hash could not be verified (unknown or malformed)")
            return False, None

    async def hash(self, password: str) -> str:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self.hash_sync, password)

    async def verify_and_update(self, password: str, password_hash: str) -> tuple[bool, str | None]:
        """(matches, new hash when the stored one uses old parameters or another algorithm).

        The UNUSABLE_PASSWORD_HASH of an account without a password never matches, after
        the time of a real verification (as a wrong password)."""
        if password_hash == UNUSABLE_PASSWORD_HASH:
            await self.dummy_verify(password)
            return False, None
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._pool, self.verify_and_update_sync, password, password_hash
        )

    async def dummy_verify(self, password: str) -> None:
        """Spend the time of a real verification, so unknown emails answer as slowly."""
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash(secrets.token_urlsafe(16))
        await self.verify_and_update(password, self._dummy_hash)


def new_opaque_token() -> str:
    """A random 256-bit secret for the client; store only `hash_token` of it."""
    return secrets.token_urlsafe(OPAQUE_TOKEN_BYTES)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_matches(token: str, stored_hash: str) -> bool:
    """Constant-time comparison of a presented token with a stored hash."""
    return hmac.compare_digest(hash_token(token), stored_hash)


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: uuid.UUID
    session_id: uuid.UUID
    token_id: str
    expires_at: int


_REQUIRED_CLAIMS = ["sub", "sid", "jti", "iat", "exp", "iss", "aud", "type"]


class TokenCodec:
    """Signs and checks access tokens (JWT) with the configured algorithm and key.

    With EdDSA, ES256 or RS256 the token header names its key (`kid`), and the codec
    verifies with the current key or any of `JWT_PREVIOUS_PUBLIC_KEY_FILES`, so a rotated
    key keeps verifying the tokens it signed until they expire; `jwks` publishes them all.
    """

    def __init__(self, settings: Settings) -> None:
        self.algorithm = settings.JWT_ALGORITHM
        self.issuer = settings.JWT_ISSUER
        self.audience = settings.JWT_AUDIENCE
        self.access_ttl = timedelta(minutes=settings.ACCESS_TOKEN_TTL_MINUTES)
        self.refresh_ttl = timedelta(days=settings.REFRESH_TOKEN_TTL_DAYS)
        self.public_jwk: dict[str, Any] | None = None
        self.jwks: list[dict[str, Any]] = []
        # kid -> (verifying key, its algorithm), for the keys that rotated out.
        self._previous_keys: dict[str, tuple[Any, str]] = {}
        self._signing_key: Any
        self._verifying_key: Any
        if self.algorithm in ASYMMETRIC_ALGORITHMS and settings.JWT_PRIVATE_KEY_FILE:
            algorithm = get_default_algorithms()[self.algorithm]
            pem = settings.JWT_PRIVATE_KEY_FILE.read_bytes()
            self._signing_key = algorithm.prepare_key(pem)
            self._verifying_key = self._signing_key.public_key()
            self.public_jwk = self._jwk(self._verifying_key, self.algorithm)
            self.jwks.append(self.public_jwk)
            for path in settings.JWT_PREVIOUS_PUBLIC_KEY_FILES:
                key = load_public_key(path.read_bytes())
                key_algorithm = algorithm_of(key)
                jwk = self._jwk(key, key_algorithm)
                if jwk["kid"] != self.public_jwk["kid"] and jwk["kid"] not in self._previous_keys:
                    self._previous_keys[jwk["kid"]] = (key, key_algorithm)
                    self.jwks.append(jwk)
        else:
            # HS256 signs with SECRET_KEY's UTF-8 bytes, no derivation (see docs/api.md).
            self._signing_key = self._verifying_key = settings.secret_key.encode("utf-8")

    @classmethod
    def _jwk(cls, public_key: Any, algorithm: str) -> dict[str, Any]:
        jwk: dict[str, Any] = get_default_algorithms()[algorithm].to_jwk(public_key, as_dict=True)
        jwk.update(use="sig", alg=algorithm, kid=cls.key_id(jwk))
        return jwk

    @staticmethod
    def key_id(jwk: dict[str, Any]) -> str:
        material = "|".join(f"{k}={jwk[k]}" for k in sorted(jwk) if k not in ("use", "alg"))
        return hashlib.sha256(material.encode()).hexdigest()[:16]

    def issue_access_token(
        self, *, user_id: uuid.UUID, session_id: uuid.UUID, now: datetime
    ) -> tuple[str, int]:
        """An access token and its lifetime in seconds (`exp - iat`)."""
        issued_at = int(now.timestamp())
        lifetime = int(self.access_ttl.total_seconds())
        claims = {
            "sub": str(user_id),
            "sid": str(session_id),
            "jti": uuid.uuid4().hex,
            "iat": issued_at,
            "exp": issued_at + lifetime,
            "iss": self.issuer,
            "aud": self.audience,
            "type": "access",
        }
        headers = {"kid": self.public_jwk["kid"]} if self.public_jwk else None
        token = jwt.encode(claims, self._signing_key, algorithm=self.algorithm, headers=headers)
        return token, lifetime

    def _verifier_for(self, token: str) -> tuple[Any, str]:
        """The key and algorithm that must have signed `token`: the current ones, or a
        previous key named by the token's `kid` (an unknown `kid` is INVALID_TOKEN)."""
        if not self._previous_keys:
            return self._verifying_key, self.algorithm
        kid = jwt.get_unverified_header(token).get("kid")
        if self.public_jwk is not None and kid == self.public_jwk["kid"]:
            return self._verifying_key, self.algorithm
        if isinstance(kid, str) and kid in self._previous_keys:
            return self._previous_keys[kid]
        raise jwt.InvalidTokenError("unknown kid")

    def _decode(self, token: str, *, verify_exp: bool) -> dict[str, Any]:
        key, algorithm = self._verifier_for(token)
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=self.audience,
            issuer=self.issuer,
            leeway=0,
            options={"require": _REQUIRED_CLAIMS, "verify_exp": verify_exp},
        )
        return claims

    def decode_access_token(self, token: str) -> AccessClaims:
        """Check signature, algorithm, iss, aud and type (INVALID_TOKEN), then exp (TOKEN_EXPIRED).

        PyJWT checks `exp` and `iat` (no leeway). It checks `exp` before `iss` and `aud`, so
        an expired token is decoded once more without `exp` to tell a forged or foreign
        expired token (INVALID_TOKEN) from a merely expired one (TOKEN_EXPIRED).
        """
        expired = False
        try:
            claims = self._decode(token, verify_exp=True)
        except jwt.ExpiredSignatureError:
            expired = True
            try:
                claims = self._decode(token, verify_exp=False)
            except jwt.InvalidTokenError as exc:
                raise InvalidToken() from exc
        except jwt.InvalidTokenError as exc:
            raise InvalidToken() from exc
        if claims.get("type") != "access":
            raise InvalidToken()
        try:
            expires_at = int(claims["exp"])
            user_id = uuid.UUID(str(claims["sub"]))
            session_id = uuid.UUID(str(claims["sid"]))
        except (TypeError, ValueError) as exc:
            raise InvalidToken() from exc
        if expired:
            raise TokenExpired()
        return AccessClaims(
            user_id=user_id,
            session_id=session_id,
            token_id=str(claims["jti"]),
            expires_at=expires_at,
        )
