"""Retention of tokens: refresh tokens, one-time (reset, verification) tokens and second
factor and passkey challenges go RETENTION_TOKENS_DAYS after they expired.

Counted from expiry, used or not: a used token expires too, and a used refresh token must
stay until then, since presenting it again is how reuse is detected.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.auth.models import MfaChallenge, OneTimeToken, PasskeyChallenge, RefreshToken
from gatehouse.core.retention import PurgeRule, TableStats, table_stats

RULES = (
    PurgeRule(RefreshToken, RefreshToken.expires_at),
    PurgeRule(OneTimeToken, OneTimeToken.expires_at),
    PurgeRule(MfaChallenge, MfaChallenge.expires_at),
    PurgeRule(PasskeyChallenge, PasskeyChallenge.expires_at),
)


async def token_stats(db: AsyncSession) -> dict[str, TableStats]:
    return {
        "refresh_tokens": await table_stats(db, RefreshToken, RefreshToken.created_at),
        "one_time_tokens": await table_stats(db, OneTimeToken, OneTimeToken.created_at),
        "mfa_challenges": await table_stats(db, MfaChallenge, MfaChallenge.created_at),
        "passkey_challenges": await table_stats(db, PasskeyChallenge, PasskeyChallenge.created_at),
    }
