"""Housekeeping: the retention purge of every domain, composed, and its schedule.

Each domain names what may go (the RULES of its retention module: sessions, tokens, mail,
audit); this module purges them with the configured retention (core.retention's batched
DELETE), records what the tables hold for /metrics, and takes a lease row so that, with
any number of `gatehouse worker` processes, each pass runs once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from gatehouse.audit import retention as audit_retention
from gatehouse.auth import retention as auth_retention
from gatehouse.core.config import Settings
from gatehouse.core.db import rowcount, utcnow
from gatehouse.core.retention import PurgeRule, TableStats, cutoff, purge
from gatehouse.mail import retention as mail_retention
from gatehouse.ops.models import HousekeepingLease
from gatehouse.sessions import retention as session_retention

logger = logging.getLogger(__name__)

LEASE_NAME = "retention"


@dataclass(frozen=True)
class Kind:
    name: str
    setting: str  # the RETENTION_*_DAYS setting
    rules: tuple[PurgeRule, ...]  # the domain's (its retention module's RULES)


KINDS = (
    Kind("sessions", "RETENTION_SESSIONS_DAYS", session_retention.RULES),
    Kind("tokens", "RETENTION_TOKENS_DAYS", auth_retention.RULES),
    Kind("mail", "RETENTION_MAIL_DAYS", mail_retention.RULES),
    Kind("audit", "RETENTION_AUDIT_DAYS", audit_retention.RULES),
)

STATS: tuple[Callable[[AsyncSession], Awaitable[dict[str, TableStats]]], ...] = (
    session_retention.session_stats,
    auth_retention.token_stats,
    mail_retention.mail_stats,
    audit_retention.audit_stats,
)


@dataclass(frozen=True)
class KindResult:
    kind: str
    days: int
    before: datetime | None  # None: kept forever
    rows: int  # deleted, or (dry run) that would be


# Progress hooks of a pass: a kind starts (with the rows it will delete), a batch went.
StartHook = Callable[[Kind, int], None]


async def prune(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    on_start: StartHook | None = None,
    on_batch: Callable[[Kind, int], None] | None = None,
    stop: asyncio.Event | None = None,
) -> list[KindResult]:
    """Run every kind's purge with its retention; with `dry_run`, only count. When `stop`
    is set, the pass ends after the batch in hand (kinds not reached report 0)."""
    now = now or utcnow()
    results = []
    for kind in KINDS:
        days = int(getattr(settings, kind.setting))
        before = cutoff(now, days)
        if stop is not None and stop.is_set():
            results.append(KindResult(kind.name, days, before, 0))
            continue
        if before is None:
            results.append(KindResult(kind.name, days, None, 0))
            continue
        async with sessionmaker() as db:
            if on_start is not None:
                expected = await purge(
                    db,
                    kind.rules,
                    before=before,
                    batch_size=settings.HOUSEKEEPING_BATCH_SIZE,
                    dry_run=True,
                )
                on_start(kind, expected)
                if dry_run:
                    results.append(KindResult(kind.name, days, before, expected))
                    continue

            def batch_done(rows: int, kind: Kind = kind) -> None:
                if on_batch is not None:
                    on_batch(kind, rows)

            rows = await purge(
                db,
                kind.rules,
                before=before,
                batch_size=settings.HOUSEKEEPING_BATCH_SIZE,
                dry_run=dry_run,
                on_batch=batch_done,
                should_stop=stop.is_set if stop is not None else None,
            )
        results.append(KindResult(kind.name, days, before, rows))
    return results


async def table_stats(db: AsyncSession) -> dict[str, TableStats]:
    """Rows and the oldest row of every table retention looks after."""
    stats: dict[str, TableStats] = {}
    for collect in STATS:
        stats.update(await collect(db))
    return stats


def _encode(stats: dict[str, TableStats], results: list[KindResult]) -> dict[str, Any]:
    return {
        "tables": {
            name: {"rows": s.rows, "oldest": s.oldest.isoformat() if s.oldest else None}
            for name, s in stats.items()
        },
        "deleted": {result.kind: result.rows for result in results},
    }


@dataclass(frozen=True)
class LastPass:
    ran_at: datetime
    tables: dict[str, TableStats]
    deleted: dict[str, int]


async def last_pass(db: AsyncSession) -> LastPass | None:
    """What the last scheduled pass recorded, if one ran."""
    lease = await db.get(HousekeepingLease, LEASE_NAME)
    if lease is None or lease.ran_at is None:
        return None
    tables = {
        name: TableStats(
            rows=int(value["rows"]),
            oldest=datetime.fromisoformat(value["oldest"]) if value["oldest"] else None,
        )
        for name, value in lease.stats.get("tables", {}).items()
    }
    deleted = {str(k): int(v) for k, v in lease.stats.get("deleted", {}).items()}
    return LastPass(lease.ran_at, tables, deleted)


class Housekeeper:
    """Runs the purge every HOUSEKEEPING_INTERVAL_SECONDS, once across all workers."""

    def __init__(
        self, *, sessionmaker: async_sessionmaker[AsyncSession], settings: Settings
    ) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.holder = uuid.uuid4().hex

    async def take_lease(self, now: datetime) -> bool:
        """Whether this worker got this interval's pass (one conditional UPDATE)."""
        interval = timedelta(seconds=self.settings.HOUSEKEEPING_INTERVAL_SECONDS)
        async with self.sessionmaker() as db:
            if await db.get(HousekeepingLease, LEASE_NAME) is None:
                db.add(HousekeepingLease(name=LEASE_NAME, next_run_at=now, stats={}))
                try:
                    await db.commit()
                except IntegrityError:  # another worker created it first
                    await db.rollback()
            result = await db.execute(
                update(HousekeepingLease)
                .where(HousekeepingLease.name == LEASE_NAME, HousekeepingLease.next_run_at <= now)
                .values(next_run_at=now + interval, holder=self.holder)
                .execution_options(synchronize_session=False)
            )
            await db.commit()
            return rowcount(result) == 1

    async def run_once(
        self, now: datetime | None = None, stop: asyncio.Event | None = None
    ) -> list[KindResult] | None:
        """Take the lease and run a pass; None when another worker has this interval's.
        A set `stop` ends the pass between two batches (the next pass goes on)."""
        now = now or utcnow()
        if not await self.take_lease(now):
            return None
        results = await prune(self.sessionmaker, self.settings, now=now, stop=stop)
        async with self.sessionmaker() as db:
            stats = await table_stats(db)
            await db.execute(
                update(HousekeepingLease)
                .where(HousekeepingLease.name == LEASE_NAME)
                .values(ran_at=now, stats=_encode(stats, results))
            )
            await db.commit()
        deleted = ", ".join(f"{r.kind}={r.rows}" for r in results)
        logger.info("housekeeping pass done: deleted %s", deleted)
        return results

    async def run_forever(self, stop: asyncio.Event | None = None) -> None:
        """Try for a pass now and then every interval (at most once a minute when another
        worker holds it), until `stop` is set."""
        stop = stop or asyncio.Event()
        poll = min(self.settings.HOUSEKEEPING_INTERVAL_SECONDS, 60.0)
        while not stop.is_set():
            try:
                await self.run_once(stop=stop)
            except Exception:  # the database may be away for a moment: keep going
                logger.exception("housekeeping pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=poll)
