"""Refresh: rotation, reuse detection ending the whole session, refusals."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import update

from gatehouse.auth.models import RefreshToken
from gatehouse.core.db import utcnow
from tests.helpers import assert_envelope, bearer, signed_up

REFRESH = "/api/v1/auth/refresh"
ME = "/api/v1/users/me"


async def _refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post(REFRESH, json={"refresh_token": token})


async def test_refresh_rotates_the_pair_in_the_same_session(client: httpx.AsyncClient) -> None:
    first = await signed_up(client)
    response = await _refresh(client, first["refresh_token"])
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert (await client.get(ME, headers=bearer(second["access_token"]))).status_code == 200
    sessions = (
        await client.get("/api/v1/auth/sessions", headers=bearer(second["access_token"]))
    ).json()
    assert len(sessions) == 1


async def test_reusing_a_refresh_token_ends_the_whole_session(client: httpx.AsyncClient) -> None:
    first = await signed_up(client)
    second = (await _refresh(client, first["refresh_token"])).json()

    reuse = await _refresh(client, first["refresh_token"])
    assert_envelope(reuse, 401, "INVALID_TOKEN")

    # Every token of that session is dead now, including the ones the thief might hold.
    assert_envelope(
        await client.get(ME, headers=bearer(second["access_token"])), 401, "INVALID_TOKEN"
    )
    assert_envelope(
        await client.get(ME, headers=bearer(first["access_token"])), 401, "INVALID_TOKEN"
    )
    assert_envelope(await _refresh(client, second["refresh_token"]), 401, "INVALID_TOKEN")


async def test_reuse_ends_only_that_session(client: httpx.AsyncClient) -> None:
    from tests.helpers import login

    first = await signed_up(client)
    other = await login(client, first["user"]["email"])
    await _refresh(client, first["refresh_token"])
    await _refresh(client, first["refresh_token"])
    assert (await client.get(ME, headers=bearer(other["access_token"]))).status_code == 200


async def test_two_concurrent_uses_of_one_refresh_token_never_both_succeed(
    client: httpx.AsyncClient,
) -> None:
    first = await signed_up(client)
    results = await asyncio.gather(*(_refresh(client, first["refresh_token"]) for _ in range(5)))
    assert sum(1 for r in results if r.status_code == 200) <= 1
    for response in results:
        if response.status_code != 200:
            assert_envelope(response, 401, "INVALID_TOKEN")


async def test_unknown_refresh_token_is_invalid(client: httpx.AsyncClient) -> None:
    assert_envelope(await _refresh(client, "no-such-token"), 401, "INVALID_TOKEN")


async def test_an_access_token_is_not_a_refresh_token(client: httpx.AsyncClient) -> None:
    account = await signed_up(client)
    assert_envelope(await _refresh(client, account["access_token"]), 401, "INVALID_TOKEN")


async def test_empty_refresh_token_is_422(client: httpx.AsyncClient) -> None:
    assert_envelope(await _refresh(client, ""), 422, "VALIDATION_ERROR")
    response = await client.post(REFRESH, json={})
    assert_envelope(response, 422, "VALIDATION_ERROR")


async def test_an_expired_refresh_token_is_invalid(client: httpx.AsyncClient, app: FastAPI) -> None:
    account: dict[str, Any] = await signed_up(client)
    async with app.state.sessionmaker() as session:
        await session.execute(
            update(RefreshToken).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    assert_envelope(await _refresh(client, account["refresh_token"]), 401, "INVALID_TOKEN")


async def test_refresh_tokens_are_stored_only_as_hashes(
    client: httpx.AsyncClient, app: FastAPI
) -> None:
    account = await signed_up(client)
    async with app.state.sessionmaker() as session:
        from sqlalchemy import select

        stored = list(await session.scalars(select(RefreshToken.token_hash)))
    assert stored
    assert account["refresh_token"] not in stored
    assert all(len(value) == 64 for value in stored)
