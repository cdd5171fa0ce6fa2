"""Retention: aged rows of each kind go, in batches, once across workers; 0 keeps forever;
a dry run deletes nothing; `gatehouse db prune` prints what it did; /metrics reports it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from typer.testing import CliRunner

from gatehouse.audit.models import AuditEvent
from gatehouse.auth.models import (
    MfaChallenge,
    OneTimeToken,
    PasskeyChallenge,
    PasskeyPurpose,
    RefreshToken,
    TokenPurpose,
)
from gatehouse.cli import app as cli_app
from gatehouse.core.db import make_sessionmaker, utcnow
from gatehouse.core.retention import cutoff
from gatehouse.mail.models import OutboxMessage
from gatehouse.ops import housekeeping
from gatehouse.ops.housekeeping import Housekeeper
from gatehouse.sessions.models import AuthSession, SessionKind
from gatehouse.users.models import User
from tests.conftest import make_settings
from tests.helpers import running

DAY = timedelta(days=1)
TABLES = (
    AuthSession,
    RefreshToken,
    OneTimeToken,
    MfaChallenge,
    PasskeyChallenge,
    OutboxMessage,
    AuditEvent,
)


@pytest.fixture
async def sessionmaker(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_async_engine(database_url)
    try:
        yield make_sessionmaker(engine)
    finally:
        await engine.dispose()


@dataclass
class Seeded:
    """The ids that must stay after a purge with the default retention, per table."""

    kept: dict[str, set[uuid.UUID]] = field(default_factory=dict)
    gone: dict[str, set[uuid.UUID]] = field(default_factory=dict)

    def add(self, row: Any, *, stays: bool) -> Any:
        bucket = self.kept if stays else self.gone
        row.id = uuid.uuid4()
        bucket.setdefault(row.__tablename__, set()).add(row.id)
        return row


async def seed(db: AsyncSession, now: datetime) -> Seeded:
    """Rows on both sides of each default retention (sessions 30, tokens 7, mail 14,
    audit 365 days), their timestamps written directly."""
    seeded = Seeded()
    user = User(email=f"{uuid.uuid4().hex}@example.com", password_hash="x")
    db.add(user)
    await db.flush()

    def session(*, expires: datetime, revoked: datetime | None, stays: bool) -> AuthSession:
        row = AuthSession(
            user_id=user.id,
            kind=SessionKind.API,
            created_at=expires - 90 * DAY,
            last_used_at=expires - 90 * DAY,
            expires_at=expires,
            revoked_at=revoked,
        )
        return seeded.add(row, stays=stays)  # type: ignore[no-any-return]

    sessions = [
        session(expires=now + 10 * DAY, revoked=None, stays=True),  # live
        session(expires=now + 10 * DAY, revoked=now - 29 * DAY, stays=True),  # ended lately
        session(expires=now + 10 * DAY, revoked=now - 31 * DAY, stays=False),  # ended long ago
        session(expires=now - 29 * DAY, revoked=None, stays=True),  # expired lately
        session(expires=now - 31 * DAY, revoked=None, stays=False),  # expired long ago
        session(expires=now - 40 * DAY, revoked=now - 50 * DAY, stays=False),  # both rules
        session(expires=now - 32 * DAY, revoked=None, stays=False),
    ]
    db.add_all(sessions)
    await db.flush()
    live = sessions[0]
    for days, stays in ((-6, True), (-8, False), (5, True), (-9, False)):
        db.add(
            seeded.add(
                RefreshToken(
                    session_id=live.id,
                    token_hash=uuid.uuid4().hex,
                    created_at=now - 40 * DAY,
                    expires_at=now + days * DAY,
                    used_at=now - 30 * DAY,  # used long ago: kept until it expired
                ),
                stays=stays,
            )
        )
        db.add(
            seeded.add(
                OneTimeToken(
                    user_id=user.id,
                    purpose=TokenPurpose.RESET,
                    email=user.email,
                    token_hash=uuid.uuid4().hex,
                    created_at=now + (days - 1) * DAY,
                    expires_at=now + days * DAY,
                ),
                stays=stays,
            )
        )
        db.add(
            seeded.add(
                MfaChallenge(
                    user_id=user.id,
                    token_hash=uuid.uuid4().hex,
                    kind=SessionKind.API,
                    created_at=now + (days - 1) * DAY,
                    expires_at=now + days * DAY,
                ),
                stays=stays,
            )
        )
        db.add(
            seeded.add(
                PasskeyChallenge(
                    user_id=user.id,
                    challenge_hash=uuid.uuid4().hex,
                    purpose=PasskeyPurpose.LOGIN,
                    created_at=now + (days - 1) * DAY,
                    expires_at=now + days * DAY,
                ),
                stays=stays,
            )
        )
    for sent, failed, stays in (
        (now - 13 * DAY, None, True),
        (now - 15 * DAY, None, False),
        (now - 20 * DAY, None, False),
        (None, None, True),  # pending, however old
        (None, now - 100 * DAY, True),  # failed for good: kept for `mail retry`
    ):
        db.add(
            seeded.add(
                OutboxMessage(
                    to="a@example.com",
                    subject="s",
                    text="t",
                    created_at=now - 200 * DAY,
                    sent_at=sent,
                    failed_at=failed,
                ),
                stays=stays,
            )
        )
    for days, stays in ((364, True), (366, False), (400, False), (1, True), (500, False)):
        db.add(
            seeded.add(
                AuditEvent(kind="logout", created_at=now - days * DAY, details={}), stays=stays
            )
        )
    await db.commit()
    return seeded


async def remaining(db: AsyncSession) -> dict[str, set[uuid.UUID]]:
    left: dict[str, set[uuid.UUID]] = {}
    for model in TABLES:
        left[model.__tablename__] = set(await db.scalars(select(model.id)))
    return left


def gone_count(seeded: Seeded, *tables: str) -> int:
    return sum(len(seeded.gone.get(table, set())) for table in tables)


async def test_prune_deletes_exactly_the_aged_rows_in_batches(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    now = utcnow()
    async with sessionmaker() as db:
        seeded = await seed(db, now)
    settings = make_settings(database_url, HOUSEKEEPING_BATCH_SIZE=2)
    batches: list[tuple[str, int]] = []
    started: dict[str, int] = {}

    results = await housekeeping.prune(
        sessionmaker,
        settings,
        now=now,
        on_start=lambda kind, rows: started.__setitem__(kind.name, rows),
        on_batch=lambda kind, rows: batches.append((kind.name, rows)),
    )

    by_kind = {result.kind: result.rows for result in results}
    expected = {
        "sessions": gone_count(seeded, "auth_sessions"),
        "tokens": gone_count(
            seeded, "refresh_tokens", "one_time_tokens", "mfa_challenges", "passkey_challenges"
        ),
        "mail": gone_count(seeded, "mail_outbox"),
        "audit": gone_count(seeded, "audit_events"),
    }
    assert by_kind == expected == {"sessions": 4, "tokens": 8, "mail": 2, "audit": 3}
    assert started == expected
    # No batch is larger than the batch size, so 4 sessions took at least 2 statements.
    assert all(0 < rows <= 2 for _, rows in batches)
    assert sum(rows for kind, rows in batches if kind == "sessions") == 4
    assert len([kind for kind, _ in batches if kind == "sessions"]) >= 2
    async with sessionmaker() as db:
        left = await remaining(db)
    for table, kept in seeded.kept.items():
        assert left[table] == kept, table


async def test_zero_days_keeps_a_kind_forever(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    now = utcnow()
    async with sessionmaker() as db:
        seeded = await seed(db, now)
    settings = make_settings(
        database_url,
        RETENTION_SESSIONS_DAYS=0,
        RETENTION_TOKENS_DAYS=0,
        RETENTION_MAIL_DAYS=0,
        RETENTION_AUDIT_DAYS=1000,
    )
    results = await housekeeping.prune(sessionmaker, settings, now=now)
    assert [(r.kind, r.before, r.rows) for r in results[:3]] == [
        ("sessions", None, 0),
        ("tokens", None, 0),
        ("mail", None, 0),
    ]
    assert results[3].rows == 0  # nothing is 1000 days old
    async with sessionmaker() as db:
        left = await remaining(db)
    for table in left:
        assert left[table] == seeded.kept.get(table, set()) | seeded.gone.get(table, set())
    assert cutoff(now, 0) is None


async def test_a_dry_run_counts_and_deletes_nothing(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    now = utcnow()
    async with sessionmaker() as db:
        seeded = await seed(db, now)
        before = await remaining(db)
    results = await housekeeping.prune(
        sessionmaker, make_settings(database_url), now=now, dry_run=True
    )
    # A session that both ended and expired long ago is counted once.
    assert {r.kind: r.rows for r in results} == {
        "sessions": gone_count(seeded, "auth_sessions"),
        "tokens": 8,
        "mail": 2,
        "audit": 3,
    }
    async with sessionmaker() as db:
        assert await remaining(db) == before


async def test_two_workers_on_one_database_run_each_pass_once(database_url: str) -> None:
    settings = make_settings(database_url, HOUSEKEEPING_INTERVAL_SECONDS=3600)
    engines = [create_async_engine(database_url) for _ in range(2)]
    try:
        workers = [
            Housekeeper(sessionmaker=make_sessionmaker(engine), settings=settings)
            for engine in engines
        ]
        now = utcnow()
        async with workers[0].sessionmaker() as db:
            seeded = await seed(db, now)

        first = await asyncio.gather(*(worker.run_once(now) for worker in workers))
        ran = [result for result in first if result is not None]
        assert len(ran) == 1  # one worker took the pass, the other found the lease taken
        assert {r.kind: r.rows for r in ran[0]}["audit"] == gone_count(seeded, "audit_events")

        # Within the interval neither runs again; once it is over, exactly one does.
        later = await asyncio.gather(*(w.run_once(now + timedelta(minutes=59)) for w in workers))
        assert later == [None, None]
        again = await asyncio.gather(*(w.run_once(now + timedelta(hours=1)) for w in workers))
        assert len([result for result in again if result is not None]) == 1

        async with workers[1].sessionmaker() as db:
            last = await housekeeping.last_pass(db)
            left = await remaining(db)
        assert last is not None
        assert last.ran_at == now + timedelta(hours=1)
        assert last.tables["audit_events"].rows == len(seeded.kept["audit_events"])
        assert last.tables["mail_outbox"].oldest == now - 200 * DAY
        assert last.deleted == {"sessions": 0, "tokens": 0, "mail": 0, "audit": 0}
        for table, kept in seeded.kept.items():
            assert left[table] == kept, table
    finally:
        for engine in engines:
            await engine.dispose()


async def test_two_worker_processes_purge_once(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    """Two real `gatehouse worker --once` processes: one of them takes the pass."""
    now = utcnow()
    async with sessionmaker() as db:
        seeded = await seed(db, now)
    env = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "cli-test-secret-key-0123456789-abcdef",
        "EMAIL_BACKEND": "file",
        "EMAIL_FILE_DIR": str(tmp_path / "mail"),
        "PATH": "/usr/bin:/bin",
    }
    import sys

    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "gatehouse", "worker", "--once", env=env, cwd=tmp_path
        )
        for _ in range(2)
    ]
    codes = [await process.wait() for process in processes]
    assert codes == [0, 0]
    async with sessionmaker() as db:
        left = await remaining(db)
        last = await housekeeping.last_pass(db)
    for table, kept in seeded.kept.items():
        assert left[table] == kept, table
    assert last is not None
    assert last.deleted["audit"] == gone_count(seeded, "audit_events")  # the one pass


def test_db_prune_prints_per_kind(
    database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SECRET_KEY", "cli-test-secret-key-0123456789-abcdef")
    monkeypatch.setenv("RETENTION_MAIL_DAYS", "0")
    monkeypatch.setenv("HOUSEKEEPING_BATCH_SIZE", "1")

    async def prepare() -> Seeded:
        engine = create_async_engine(database_url)
        try:
            async with make_sessionmaker(engine)() as db:
                return await seed(db, utcnow())
        finally:
            await engine.dispose()

    seeded = asyncio.run(prepare())
    runner = CliRunner()

    dry = runner.invoke(cli_app, ["db", "prune", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "sessions: would delete 4 row(s) older than 30 day(s)" in dry.output
    assert "tokens: would delete 8 row(s) older than 7 day(s)" in dry.output
    assert "mail: kept forever (retention 0 days)" in dry.output
    assert "audit: would delete 3 row(s) older than 365 day(s)" in dry.output

    done = runner.invoke(cli_app, ["db", "prune"])
    assert done.exit_code == 0, done.output
    assert "sessions: deleted 4 row(s)" in done.output
    assert "audit: deleted 3 row(s)" in done.output

    again = runner.invoke(cli_app, ["db", "prune"])
    assert "audit: deleted 0 row(s)" in again.output
    assert gone_count(seeded, "audit_events") == 3


async def test_metrics_report_tables_and_the_mail_queue(
    app_factory: Callable[..., FastAPI], database_url: str, sessionmaker: Any
) -> None:
    now = utcnow()
    async with sessionmaker() as db:
        await seed(db, now)
    app = app_factory()
    async with running(app) as client:
        before = (await client.get("/metrics")).text
        assert "gatehouse_mail_queue_depth 1.0" in before
        assert "gatehouse_table_rows{" not in before  # no pass has run yet
        age = float(
            next(
                line.split()[-1]
                for line in before.splitlines()
                if line.startswith("gatehouse_mail_oldest_pending_age_seconds ")
            )
        )
        assert 200 * 86400 <= age < 201 * 86400

        await Housekeeper(
            sessionmaker=sessionmaker, settings=make_settings(database_url)
        ).run_once()
        text = (await client.get("/metrics")).text
    assert 'gatehouse_table_rows{table="audit_events"} 2.0' in text
    assert 'gatehouse_table_rows{table="auth_sessions"} 3.0' in text
    assert 'gatehouse_table_oldest_row_age_seconds{table="mail_outbox"}' in text
    assert "gatehouse_housekeeping_last_run_timestamp_seconds 0.0" not in text
    async with sessionmaker() as db:
        assert await db.scalar(select(func.count()).select_from(AuditEvent)) == 2


def test_a_negative_retention_is_refused(database_url: str) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="RETENTION_AUDIT_DAYS"):
        make_settings(database_url, RETENTION_AUDIT_DAYS=-1)
    with pytest.raises(ValidationError, match="HOUSEKEEPING_BATCH_SIZE"):
        make_settings(database_url, HOUSEKEEPING_BATCH_SIZE=0)


async def test_a_stop_ends_the_pass_between_batches_and_the_next_pass_goes_on(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    now = utcnow()
    async with sessionmaker() as db:
        seeded = await seed(db, now)
    settings = make_settings(database_url, HOUSEKEEPING_BATCH_SIZE=1)
    stop = asyncio.Event()
    batches: list[str] = []

    def after_batch(kind: housekeeping.Kind, _rows: int) -> None:
        batches.append(kind.name)
        stop.set()  # as SIGTERM would, while the first batch is in hand

    results = await housekeeping.prune(
        sessionmaker, settings, now=now, on_batch=after_batch, stop=stop
    )
    assert batches == ["sessions"]
    assert [(r.kind, r.rows) for r in results] == [
        ("sessions", 1),
        ("tokens", 0),
        ("mail", 0),
        ("audit", 0),
    ]
    assert all(r.before is not None for r in results)

    rest = await housekeeping.prune(sessionmaker, settings, now=now)
    assert sum(r.rows for r in rest) == sum(len(ids) for ids in seeded.gone.values()) - 1
    async with sessionmaker() as db:
        left = await remaining(db)
    for table, kept in seeded.kept.items():
        assert left[table] == kept, table


async def test_the_worker_loop_runs_a_pass_and_stops_when_told(
    database_url: str, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    now = utcnow()
    async with sessionmaker() as db:
        seeded = await seed(db, now)
    keeper = Housekeeper(
        sessionmaker=sessionmaker,
        settings=make_settings(database_url, HOUSEKEEPING_INTERVAL_SECONDS=1),
    )
    stop = asyncio.Event()
    loop = asyncio.create_task(keeper.run_forever(stop))
    last = None
    for _ in range(200):
        async with sessionmaker() as db:
            last = await housekeeping.last_pass(db)
        if last is not None:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(loop, timeout=10)
    assert last is not None
    assert last.deleted["audit"] == gone_count(seeded, "audit_events")
