"""Deleting old rows in bounded batches, and counting what a table holds.

A purge never holds a long lock or a long transaction: each batch is one statement,

    DELETE FROM t WHERE id IN (SELECT id FROM t WHERE col < :cutoff ORDER BY col LIMIT :n)

committed on its own, and an index on `col` makes the inner select an index range scan
(SQLite and PostgreSQL alike). Domains name their rules; this module knows no domain.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Delete, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from gatehouse.core.db import rowcount

DEFAULT_BATCH_SIZE = 1000

# Called after each batch with the rows it deleted (or, in a dry run, once with the count).
BatchCallback = Callable[[int], None]


@dataclass(frozen=True)
class PurgeRule:
    """Rows of `model` whose `column` (a timestamp) is older than the cutoff may go."""

    model: Any  # a mapped class with an `id` primary key
    column: InstrumentedAttribute[Any]


@dataclass(frozen=True)
class TableStats:
    rows: int
    oldest: datetime | None


def cutoff(now: datetime, days: int) -> datetime | None:
    """The moment before which rows go, or None when `days` is 0 (keep forever)."""
    return None if days == 0 else now - timedelta(days=days)


async def count_older(db: AsyncSession, rules: Sequence[PurgeRule], before: datetime) -> int:
    """How many rows the rules would delete; a row two rules of one table match counts once
    (a later rule's count leaves out the rows an earlier rule of its table takes)."""
    total = 0
    taken: list[Any] = []
    for rule in rules:
        query = select(func.count()).select_from(rule.model).where(rule.column < before)
        for earlier in (other for other in taken if other.model is rule.model):
            query = query.where((earlier.column >= before) | earlier.column.is_(None))
        total += int(await db.scalar(query) or 0)
        taken.append(rule)
    return total


def batch_statement(rule: PurgeRule, before: datetime, limit: int) -> Delete:
    """The DELETE of one batch: the `limit` oldest matching rows."""
    model = rule.model
    ids = (
        select(model.id)
        .where(rule.column < before)
        .order_by(rule.column)
        .limit(limit)
        .scalar_subquery()
    )
    return delete(model).where(model.id.in_(ids)).execution_options(synchronize_session=False)


async def delete_batch(db: AsyncSession, rule: PurgeRule, before: datetime, limit: int) -> int:
    """Delete up to `limit` of the oldest matching rows in one statement (not committed)."""
    return rowcount(await db.execute(batch_statement(rule, before, limit)))


async def purge(
    db: AsyncSession,
    rules: Sequence[PurgeRule],
    *,
    before: datetime,
    batch_size: int = DEFAULT_BATCH_SIZE,
    dry_run: bool = False,
    on_batch: BatchCallback | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> int:
    """Delete every row the rules match, batch by batch, each batch its own transaction;
    returns how many went. With `dry_run`, only counts them (nothing is deleted).
    `should_stop`, asked after each batch, ends the purge early (the next one resumes)."""
    if dry_run:
        count = await count_older(db, rules, before)
        await db.rollback()
        if on_batch is not None:
            on_batch(count)
        return count
    total = 0
    for rule in rules:
        while True:
            deleted = await delete_batch(db, rule, before, batch_size)
            await db.commit()
            total += deleted
            if on_batch is not None and deleted:
                on_batch(deleted)
            if deleted < batch_size:
                break
            if should_stop is not None and should_stop():
                return total
    return total


async def table_stats(
    db: AsyncSession, model: Any, column: InstrumentedAttribute[Any]
) -> TableStats:
    """Rows in the table of `model` and the oldest value of `column` (its creation time)."""
    row = (await db.execute(select(func.count(), func.min(column)).select_from(model))).one()
    return TableStats(rows=int(row[0] or 0), oldest=row[1])
