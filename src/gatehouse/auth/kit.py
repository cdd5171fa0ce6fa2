"""The tools of the account flows, built once at start-up and injected as one object."""

from __future__ import annotations

from dataclasses import dataclass

from gatehouse.auth.devices import DeviceTokens
from gatehouse.auth.throttle import AccountThrottle, ThrottlePolicy
from gatehouse.core.clock import Clock, SystemClock
from gatehouse.core.config import Settings
from gatehouse.core.ratelimit import CounterStore, LimitStore
from gatehouse.core.security import PasswordHasher, TokenCodec
from gatehouse.users.passwords import PasswordPolicy


@dataclass(frozen=True, slots=True)
class AuthKit:
    """Settings, password hasher and policy, token codec, device tokens, login throttle
    and clock."""

    settings: Settings
    hasher: PasswordHasher
    codec: TokenCodec
    devices: DeviceTokens
    policy: PasswordPolicy
    throttle: AccountThrottle
    clock: Clock

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        store: LimitStore,
        clock: Clock | None = None,
        throttle_policy: ThrottlePolicy | None = None,
    ) -> AuthKit:
        clock = clock or SystemClock()
        return cls(
            settings=settings,
            hasher=PasswordHasher.from_settings(settings),
            codec=TokenCodec(settings),
            devices=DeviceTokens.from_settings(settings),
            policy=PasswordPolicy.from_settings(settings),
            throttle=AccountThrottle(
                CounterStore(store, "login-throttle"),
                enabled=settings.RATE_LIMIT_ENABLED,
                policy=throttle_policy,
                clock=clock,
            ),
            clock=clock,
        )
