"""Database: declarative base, engine factory and the per-request session."""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, TypeVar, TypeVarTuple, cast

from fastapi import Depends, Request
from sqlalchemy import (
    ColumnElement,
    CursorResult,
    DateTime,
    MetaData,
    Result,
    Select,
    String,
    TypeDecorator,
    Uuid,
    event,
    update,
)
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute, Mapped, mapped_column
from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry
from sqlalchemy.util import await_
from sqlalchemy.util.queue import AsyncAdaptedQueue, Empty

from gatehouse.core.config import Settings

if TYPE_CHECKING:
    from sqlalchemy.dialects.postgresql import dml as postgresql_dml
    from sqlalchemy.dialects.sqlite import dml as sqlite_dml

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_BUSY_TIMEOUT_MS = 10_000
# A PostgreSQL that does not answer must not hold requests: a connect gives up after this
# (the request then answers 503, see core/errors.py), and so does a service's statement.
PG_CONNECT_TIMEOUT_SECONDS = 3.0
PG_COMMAND_TIMEOUT_SECONDS = 30.0
# A pooled connection unused for this long is pinged before it is handed out (see
# `_install_idle_ping`); a busy one is not.
POOL_PING_IDLE_SECONDS = 10.0
# How long the event loop may wait for SQLite's lock in `KeyReader` before the read goes to
# the driver's thread instead (in WAL mode a read waits only in rare moments).
SQLITE_LOOP_READ_BUSY_MS = 5


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:  # noqa: ARG002
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


E = TypeVar("E", bound=StrEnum)


class StrEnumType(TypeDecorator[E]):
    """A vocabulary (a StrEnum) stored as its string value; read back as the enum member."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[E], length: int) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: E | str | None, dialect: Dialect) -> str | None:  # noqa: ARG002
        return None if value is None else self.enum(value).value

    def process_result_value(self, value: str | None, dialect: Dialect) -> E | None:  # noqa: ARG002
        return None if value is None else self.enum(value)


def one_of(column: str, vocabulary: type[StrEnum]) -> str:
    """The CHECK clause that keeps `column` within `vocabulary`: `role IN ('user', 'admin')`."""
    values = ", ".join(f"'{member.value}'" for member in vocabulary)
    return f"{column} IN ({values})"


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE matched (`execute` is typed as returning a plain `Result`)."""
    return cast(CursorResult[Any], result).rowcount


async def claim_once(
    db: AsyncSession,
    column: InstrumentedAttribute[datetime | None],
    row_id: uuid.UUID,
    *,
    at: datetime,
    where: ColumnElement[bool] | None = None,
) -> bool:
    """Set a single-use row's timestamp (`used_at`, `revoked_at`) if it is still empty.

    One conditional UPDATE, so of two concurrent claims of one row exactly one wins;
    returns whether this one did.
    """
    model = column.class_
    statement = update(model).where(model.id == row_id, column.is_(None))
    if where is not None:
        statement = statement.where(where)
    result = await db.execute(
        statement.values({column.key: at}).execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


async def add_to_counter(
    db: AsyncSession,
    column: InstrumentedAttribute[int],
    key: dict[str, Any],
    delta: int,
) -> None:
    """Add `delta` to a counter column of the row with primary key `key`, creating the row
    with `delta` when there is none: one INSERT ... ON CONFLICT DO UPDATE (PostgreSQL and
    SQLite alike), atomic under concurrent writers (flushed with the transaction)."""
    # The dialect's own INSERT (for ON CONFLICT), imported on first use: a SQLite service
    # never loads PostgreSQL's.
    model = column.class_
    values = {**key, column.key: delta}
    statement: postgresql_dml.Insert | sqlite_dml.Insert
    if db.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql

        statement = postgresql.insert(model).values(values)
    else:
        from sqlalchemy.dialects import sqlite

        statement = sqlite.insert(model).values(values)
    await db.execute(
        statement.on_conflict_do_update(index_elements=list(key), set_={column.key: column + delta})
    )


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, uuid.UUID: Uuid}


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class _FairQueue(AsyncAdaptedQueue[ConnectionPoolEntry]):
    """The pool's queue of idle connections, handed out first come, first served.

    SQLAlchemy's async queue lets a newcomer take a connection that was just returned while
    earlier callers still wait for one, and a waiter that loses goes to the back of the
    line: under load a few requests waited seconds while the rest passed (bench/auth.py).
    Here a returned connection goes straight to the longest waiter, so while anyone waits
    the queue is empty and a newcomer lines up behind them (or, when the pool may still
    grow, opens a connection of its own)."""

    def __init__(self, maxsize: int = 0, use_lifo: bool = False) -> None:
        super().__init__(maxsize, use_lifo)
        self._waiters: deque[asyncio.Future[ConnectionPoolEntry]] = deque()

    def put_nowait(self, item: ConnectionPoolEntry) -> None:
        """(The pool returns a connection with `put(item, block=False)`, which calls this.)"""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(item)
                return
        super().put_nowait(item)

    def get(self, block: bool = True, timeout: float | None = None) -> ConnectionPoolEntry:
        try:
            return self.get_nowait()
        except Empty:
            if not block:
                raise
        waiter: asyncio.Future[ConnectionPoolEntry] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await_(asyncio.wait_for(waiter, timeout))
        except BaseException as error:
            if waiter.done() and not waiter.cancelled():
                self.put_nowait(waiter.result())  # handed over as the wait ended: pass it on
            if isinstance(error, TimeoutError):
                raise Empty() from error
            raise


class FairAsyncQueuePool(AsyncAdaptedQueuePool):
    """SQLAlchemy's async pool with connections handed out in arrival order (`_FairQueue`)."""

    _queue_class = _FairQueue


def _install_idle_ping(engine: AsyncEngine, idle_seconds: float) -> None:
    """Ping a pooled connection before handing it out only when it sat idle for
    `idle_seconds`: the database may have restarted (or a firewall dropped the connection)
    in a quiet spell, and such a connection is replaced before a request gets it.

    SQLAlchemy's `pool_pre_ping` pings at every checkout, which on PostgreSQL is a
    transaction of its own (three round trips) in front of every request's first query.
    A connection that dies while busy is caught by the dialect's disconnect detection,
    which discards it and every older connection of the pool."""
    dialect = engine.dialect

    def checked_in(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["idle_since"] = time.monotonic()

    def checked_out(dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < idle_seconds:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:
            # The pool discards this connection and checks out (or opens) another.
            raise DisconnectionError("a pooled connection was found dead") from exc

    event.listen(engine.sync_engine, "checkin", checked_in)
    event.listen(engine.sync_engine, "checkout", checked_out)


def make_engine(
    settings: Settings, *, command_timeout: float | None = PG_COMMAND_TIMEOUT_SECONDS
) -> AsyncEngine:
    """Build the engine for the configured database (SQLite in WAL mode, or PostgreSQL).

    `hide_parameters`: a failed statement's error (and so any log of it) shows the SQL but
    never its values, which are emails, hashes, tokens' digests and whatever a user typed.
    `command_timeout` (PostgreSQL) bounds each statement of the service; the CLI passes
    None, so a long migration is not cut off.
    """
    if settings.is_sqlite:
        # A file database gets the configured pool; an in-memory one keeps its single one.
        pool: dict[str, Any] = {}
        if make_url(settings.DATABASE_URL).database not in (None, "", ":memory:"):
            pool = {
                "poolclass": FairAsyncQueuePool,
                "pool_size": settings.DB_POOL_SIZE,
                "max_overflow": settings.DB_MAX_OVERFLOW,
            }
        engine = create_async_engine(
            settings.DATABASE_URL,
            hide_parameters=True,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            **pool,
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_async_engine(
        settings.DATABASE_URL,
        hide_parameters=True,
        poolclass=FairAsyncQueuePool,
        connect_args={
            "timeout": PG_CONNECT_TIMEOUT_SECONDS,
            "command_timeout": command_timeout,
        },
        pool_size=settings.DB_POOL_SIZE,
        max_overflow=settings.DB_MAX_OVERFLOW,
    )
    _install_idle_ping(engine, POOL_PING_IDLE_SECONDS)
    return engine


Ts = TypeVarTuple("Ts")


@dataclass(frozen=True, slots=True)
class _CompiledRead:
    """A select compiled once for the engine's dialect, with SQLAlchemy's own conversions of
    its parameters and columns (UUIDs, UTC datetimes, enums, booleans), to run on the
    driver's connection itself."""

    sql: str
    names: tuple[str, ...]
    defaults: dict[str, Any]
    binds: tuple[Callable[[Any], Any] | None, ...]
    results: tuple[Callable[[Any], Any] | None, ...]

    @classmethod
    def compile(cls, statement: Select[*Ts], dialect: Dialect) -> _CompiledRead:
        compiled = statement.compile(dialect=dialect)
        names = tuple(compiled.positiontup or ())
        return cls(
            sql=compiled.string,
            names=names,
            defaults={name: compiled.binds[name].effective_value for name in names},
            binds=tuple(
                compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
                for name in names
            ),
            results=tuple(
                column.type.dialect_impl(dialect).result_processor(dialect, None)
                for column in statement.selected_columns
            ),
        )

    def values(self, params: dict[str, Any]) -> list[Any]:
        values = []
        for name, bind in zip(self.names, self.binds, strict=True):
            value = params[name] if name in params else self.defaults[name]
            values.append(bind(value) if bind is not None else value)
        return values

    def row(self, row: Sequence[Any] | None) -> tuple[Any, ...] | None:
        if row is None:
            return None
        return tuple(
            result(value) if result is not None else value
            for result, value in zip(self.results, row, strict=True)
        )


def _lost_asyncpg_connection(exc: Exception) -> bool:
    """Whether asyncpg's `exc` means the connection is gone or unusable (the server went
    away, is shutting down, or the statement timed out mid-protocol)."""
    import asyncpg  # on PostgreSQL only: a SQLite service never loads it

    return isinstance(
        exc,
        OSError
        | TimeoutError
        | asyncpg.InterfaceError
        | asyncpg.PostgresConnectionError
        | asyncpg.CannotConnectNowError
        | asyncpg.AdminShutdownError,
    )


class KeyReader:
    """Reads of a row or two by key on the hot path: the caller of every authenticated
    request (see `auth.service.resolve_caller`), without an ORM session or a transaction.

    The statement is compiled once (`_CompiledRead`) and run on the driver's connection.
    PostgreSQL: a pooled asyncpg connection, outside any transaction, one round trip (a
    session would add BEGIN and ROLLBACK). SQLite (a file): right on the event loop,
    through a read-only sqlite3 connection of the loop's own. An indexed read takes
    microseconds there, less than handing it to aiosqlite's thread and back, and in WAL
    mode it does not wait for writers; if the file is locked anyway (a checkpoint, say) for
    more than SQLITE_LOOP_READ_BUSY_MS, or the read fails, it goes through the async
    engine instead. Each read sees what was committed before it, on every instance, so
    nothing is cached.
    """

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._sqlite_path: str | None = None
        self._sqlite: sqlite3.Connection | None = None
        # by id(statement), with the statement itself, which keeps that id taken
        self._compiled: dict[int, tuple[object, _CompiledRead]] = {}
        url = engine.url
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            self._sqlite_path = url.database
        self._asyncpg = url.get_driver_name() == "asyncpg"

    async def first(self, statement: Select[*Ts], params: dict[str, Any]) -> tuple[Any, ...] | None:
        """The first row `statement` selects with `params`, or None."""
        if self._sqlite_path is not None:
            read = self._compile(statement)
            try:
                cursor = self._loop_connection().execute(read.sql, read.values(params))
                return read.row(cursor.fetchone())
            except sqlite3.Error:
                self.close()  # locked for longer than the loop may wait, or broken: off the loop
        async with self._engine.connect() as connection:
            if self._asyncpg:
                return await self._first_on_asyncpg(connection, self._compile(statement), params)
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            return (await autocommit.execute(statement, params)).first()

    @staticmethod
    async def _first_on_asyncpg(
        connection: AsyncConnection, read: _CompiledRead, params: dict[str, Any]
    ) -> tuple[Any, ...] | None:
        """`read` on the pooled connection's asyncpg connection. A failure that lost the
        connection is the dialect's (an invalidated OperationalError: 503, and the pool
        drops the connection), as it would be through SQLAlchemy."""
        driver: Any = (await connection.get_raw_connection()).driver_connection
        try:
            row = await driver.fetchrow(read.sql, *read.values(params))
        except Exception as exc:
            if not _lost_asyncpg_connection(exc):
                raise
            await connection.invalidate(exc)
            raise OperationalError(
                read.sql, None, exc, hide_parameters=True, connection_invalidated=True
            ) from exc
        return read.row(row)

    def _compile(self, statement: Select[*Ts]) -> _CompiledRead:
        cached = self._compiled.get(id(statement))
        if cached is not None and cached[0] is statement:
            return cached[1]
        compiled = _CompiledRead.compile(statement, self._engine.dialect)
        self._compiled[id(statement)] = (statement, compiled)
        return compiled

    def _loop_connection(self) -> sqlite3.Connection:
        if self._sqlite is None:
            connection = sqlite3.connect(
                self._sqlite_path or "",
                timeout=SQLITE_LOOP_READ_BUSY_MS / 1000,
                isolation_level=None,  # autocommit: each read sees the latest commit
                check_same_thread=False,  # closed at shutdown, perhaps from another thread
            )
            connection.execute("PRAGMA query_only=ON")
            self._sqlite = connection
        return self._sqlite

    def close(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def get_db(request: Request) -> AsyncIterator[AsyncSession]:
    """One database session per request. Use cases commit; the teardown only closes (and so
    rolls back whatever was not committed)."""
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with sessionmaker() as db:
        yield db


DbDep = Annotated[AsyncSession, Depends(get_db)]


async def get_key_reader(request: Request) -> KeyReader:
    reader: KeyReader = request.app.state.key_reader
    return reader


KeyReaderDep = Annotated[KeyReader, Depends(get_key_reader)]
