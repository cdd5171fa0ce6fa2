"""Retention at scale: fill 1,000,000 audit events on PostgreSQL and prune them.

    .venv/bin/python bench/prune.py [--rows N] [--batch-size N]
        [--server postgresql+asyncpg://postgres@127.0.0.1:5432/postgres]

Works in a database of its own (created, migrated, dropped after). Nine in ten rows are
older than RETENTION_AUDIT_DAYS (365); the purge deletes them batch by batch, each batch
one statement and its own transaction. Prints the EXPLAIN of every batch statement of the
retention rules, then the total time, the number of batches and the longest single
batch (statement and commit). Not run in CI: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from gatehouse import migrate
from gatehouse.audit import retention as audit_retention
from gatehouse.auth import retention as auth_retention
from gatehouse.core.config import Settings
from gatehouse.core.db import make_sessionmaker, utcnow
from gatehouse.core.retention import batch_statement, purge
from gatehouse.mail import retention as mail_retention
from gatehouse.sessions import retention as session_retention

# 100,000 rows in each other table retention looks after (tenth of them past retention), so
# the planner has statistics for every EXPLAIN below. Ages spread over 100 days.
AGE = "CAST(:now AS timestamptz) - interval '100 days' * (i / 100000.0)"
OTHER_TABLES = (
    "INSERT INTO users (id, email, password_hash, role, is_active, is_verified,"
    " password_changed_at, created_at, updated_at) VALUES ('00000000-0000-0000-0000-000000000001',"
    " 'bench@example.com', 'x', 'user', true, false, :now, :now, :now)",
    "INSERT INTO auth_sessions (id, user_id, kind, created_at, last_used_at, expires_at,"
    " revoked_at) SELECT gen_random_uuid(), '00000000-0000-0000-0000-000000000001', 'api',"
    " @age, @age, @age + interval '60 days', CASE WHEN i % 2 = 0 THEN @age END"
    " FROM generate_series(1, 100000) AS i",
    "INSERT INTO refresh_tokens (id, session_id, token_hash, created_at, expires_at)"
    " SELECT gen_random_uuid(), s.id, md5(random()::text), @age, @age + interval '30 days'"
    " FROM (SELECT id, row_number() OVER () AS i FROM auth_sessions) AS s",
    "INSERT INTO one_time_tokens (id, user_id, purpose, email, token_hash, created_at,"
    " expires_at) SELECT gen_random_uuid(), '00000000-0000-0000-0000-000000000001', 'reset',"
    " 'bench@example.com', md5(random()::text), @age, @age + interval '30 minutes'"
    " FROM generate_series(1, 100000) AS i",
    "INSERT INTO mfa_challenges (id, user_id, token_hash, kind, failures, created_at,"
    " expires_at) SELECT gen_random_uuid(), '00000000-0000-0000-0000-000000000001',"
    " md5(random()::text), 'api', 0, @age, @age + interval '5 minutes'"
    " FROM generate_series(1, 100000) AS i",
    'INSERT INTO mail_outbox (id, "to", subject, text, attempts, created_at, next_attempt_at,'
    " sent_at) SELECT gen_random_uuid(), 'a@example.com', 's', 't', 1, @age, @age, @age"
    " FROM generate_series(1, 100000) AS i",
)
DEFAULT_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


def default_days(setting: str) -> int:
    return int(Settings.model_fields[setting].default)


async def admin(server: str, statement: str) -> None:
    engine = create_async_engine(server, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


async def run(server: str, rows: int, batch_size: int) -> None:
    name = f"gatehouse_bench_prune_{uuid.uuid4().hex[:8]}"
    await admin(server, f'CREATE DATABASE "{name}"')
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    engine = create_async_engine(url)
    try:
        await migrate.upgrade(engine)
        now = utcnow()
        started = time.perf_counter()
        async with engine.begin() as connection:
            # Row i is i * 3650 days / rows old: nine in ten are past 365 days.
            await connection.execute(
                text(
                    "INSERT INTO audit_events (id, kind, user_id, ip, user_agent, created_at,"
                    " details) SELECT gen_random_uuid(), 'login_succeeded', NULL, '127.0.0.1',"
                    " 'bench', CAST(:now AS timestamptz) - interval '3650 days' * (i / CAST(:rows AS float8)),"
                    " '{}'::json"
                    " FROM generate_series(1, CAST(:rows AS integer)) AS i"
                ),
                {"now": now, "rows": rows},
            )
        async with engine.begin() as connection:
            for statement in OTHER_TABLES:
                await connection.execute(text(statement.replace("@age", AGE)), {"now": now})
        await admin(url, "VACUUM ANALYZE")
        print(f"filled {rows:,} audit events in {time.perf_counter() - started:.1f}s")

        before = now - timedelta(days=365)
        dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
        rules = (  # each kind's rules with its default retention
            [(rule, default_days("RETENTION_SESSIONS_DAYS")) for rule in session_retention.RULES]
            + [(rule, default_days("RETENTION_TOKENS_DAYS")) for rule in auth_retention.RULES]
            + [(rule, default_days("RETENTION_MAIL_DAYS")) for rule in mail_retention.RULES]
            + [(rule, default_days("RETENTION_AUDIT_DAYS")) for rule in audit_retention.RULES]
        )
        async with engine.connect() as connection:
            for rule, days in rules:
                batch = batch_statement(rule, now - timedelta(days=days), batch_size)
                sql = str(batch.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
                plan = await connection.execute(text(f"EXPLAIN {sql}"))
                print(f"\n-- {rule.model.__tablename__}.{rule.column.key}\n{sql}")
                for (line,) in plan:
                    print(line)

        sessionmaker = make_sessionmaker(engine)
        durations: list[float] = []
        mark = time.perf_counter()

        def batch_done(_rows: int) -> None:
            nonlocal mark
            current = time.perf_counter()
            durations.append(current - mark)
            mark = current

        started = mark = time.perf_counter()
        async with sessionmaker() as db:
            deleted = await purge(
                db, audit_retention.RULES, before=before, batch_size=batch_size, on_batch=batch_done
            )
        total = time.perf_counter() - started
        async with engine.connect() as connection:
            left = await connection.scalar(text("SELECT count(*) FROM audit_events"))
        print(
            f"\npruned {deleted:,} of {rows:,} rows ({left:,} left) in {total:.1f}s:"
            f" {len(durations)} batches of up to {batch_size}, longest single batch"
            f" {max(durations) * 1000:.1f} ms, median"
            f" {sorted(durations)[len(durations) // 2] * 1000:.1f} ms"
        )
    finally:
        await engine.dispose()
        await admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--server", default=DEFAULT_SERVER)
    arguments = parser.parse_args()
    asyncio.run(run(arguments.server, arguments.rows, arguments.batch_size))


if __name__ == "__main__":
    main()
