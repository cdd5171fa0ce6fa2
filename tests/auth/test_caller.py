"""The caller read (`resolve_caller`): what `/users/me`, tasks and chat know of who asks.

It reads a few columns without the ORM (on SQLite right on the event loop, with SQLite's
conversions done by hand from SQLAlchemy's types), so it is checked against the ORM's own
row, value for value and type for type, and against every way a token stops counting.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, timedelta

import pytest
from sqlalchemy import update

from gatehouse.auth.service import Caller, resolve_caller
from gatehouse.core.db import KeyReader, make_engine, make_sessionmaker, utcnow
from gatehouse.core.errors import InvalidToken
from gatehouse.core.security import AccessClaims
from gatehouse.sessions.models import AuthSession
from gatehouse.users.models import Role, User
from tests.conftest import make_settings
from tests.helpers import unique_email


async def test_the_caller_is_the_orm_row_and_stops_with_its_session_or_user(
    database_url: str,
) -> None:
    engine = make_engine(make_settings(database_url))
    reader = KeyReader(engine)
    sessionmaker = make_sessionmaker(engine)
    try:
        async with sessionmaker() as db:
            user = User(
                email=unique_email("caller"),
                full_name="Zoë Ünicode",
                password_hash="not-a-hash",
                role=Role.ADMIN,
                is_verified=True,
            )
            db.add(user)
            await db.flush()
            auth_session = AuthSession(user_id=user.id, expires_at=utcnow() + timedelta(hours=1))
            db.add(auth_session)
            await db.commit()
        async with sessionmaker() as db:
            user = await db.get_one(User, user.id)  # as stored
        claims = AccessClaims(
            user_id=user.id, session_id=auth_session.id, token_id="t", expires_at=0
        )

        caller = await resolve_caller(reader, claims=claims, now=utcnow())
        assert caller == Caller(
            id=user.id,
            email=user.email,
            full_name="Zoë Ünicode",
            role=Role.ADMIN,
            is_active=True,
            is_verified=True,
            created_at=user.created_at,
            updated_at=user.updated_at,
            session_id=auth_session.id,
        )
        assert isinstance(caller.id, uuid.UUID)
        assert type(caller.role) is Role
        assert caller.created_at.tzinfo == UTC
        assert caller.is_admin

        for wrong in (
            AccessClaims(
                user_id=uuid.uuid4(), session_id=auth_session.id, token_id="t", expires_at=0
            ),
            AccessClaims(user_id=user.id, session_id=uuid.uuid4(), token_id="t", expires_at=0),
        ):
            with pytest.raises(InvalidToken):
                await resolve_caller(reader, claims=wrong, now=utcnow())
        with pytest.raises(InvalidToken):  # the session's end has come
            await resolve_caller(reader, claims=claims, now=auth_session.expires_at)

        for table, values in (
            (User, {"is_active": False}),
            (AuthSession, {"revoked_at": utcnow()}),
        ):
            async with engine.begin() as connection:
                await connection.execute(update(table).values(values))
            with pytest.raises(InvalidToken):
                await resolve_caller(reader, claims=claims, now=utcnow())
            async with engine.begin() as connection:
                undo = {"is_active": True} if table is User else {"revoked_at": None}
                await connection.execute(update(table).values(undo))
            again = await resolve_caller(reader, claims=claims, now=utcnow())
            assert again.updated_at > caller.updated_at  # the update set it
            assert replace(again, updated_at=caller.updated_at) == caller
    finally:
        reader.close()
        await engine.dispose()
