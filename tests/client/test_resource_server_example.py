"""examples/resource_server against a real Gatehouse (EdDSA) through a key rotation: the
old token keeps working while valid, new tokens carry the new kid, and the unknown kid
makes the resource server fetch the keys again, at most once a minute."""

from __future__ import annotations

from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from examples.resource_server.app import create_app

from gatehouse_client import Client, TokenRejected
from gatehouse_client.verifier import TokenVerifier
from tests.helpers import PASSWORD, bearer, running, unique_email
from tests.servers import ServerStarter, free_port


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _write_key(path: Path) -> ed25519.Ed25519PrivateKey:
    key = ed25519.Ed25519PrivateKey.generate()
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return key


def _kid(token: str) -> str:
    return str(jwt.get_unverified_header(token)["kid"])


@pytest.mark.slow
@pytest.mark.timeout(300)  # two server starts, which a busy machine makes slow
async def test_the_example_resource_server_through_a_key_rotation(
    start_server: ServerStarter, tmp_path: Path
) -> None:
    old_key = _write_key(tmp_path / "old.pem")
    _write_key(tmp_path / "new.pem")
    (tmp_path / "old.pub").write_bytes(
        old_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    port = free_port()
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'gatehouse.db'}",
        "SECRET_KEY": "resource-server-test-secret-0123456789",
        "RATE_LIMIT_ENABLED": "false",
        "JWT_ALGORITHM": "EdDSA",
    }
    gatehouse = start_server(port, **env, JWT_PRIVATE_KEY_FILE=str(tmp_path / "old.pem"))
    email = unique_email("notes")
    with Client(gatehouse) as account:
        account.register(email, PASSWORD)
        old_token = account.login(email, PASSWORD).access_token

    clock = Clock()
    notes = create_app(gatehouse, clock=clock)
    verifier = notes.state.verifier
    async with running(notes) as client:
        assert (await client.get("/health")).json() == {"status": "ok"}
        assert (await client.get("/notes")).status_code == 401
        me = (await client.get("/whoami", headers=bearer(old_token))).json()
        assert me["key_id"] == _kid(old_token)
        added = await client.post("/notes", json={"text": "rotate keys"}, headers=bearer(old_token))
        assert added.status_code == 201
        assert verifier.keys.fetches == 1

        # Rotation: Gatehouse restarts on the same address with a new key, the old one
        # listed as previous.
        start_server.stop(gatehouse)
        start_server(
            port,
            **env,
            JWT_PRIVATE_KEY_FILE=str(tmp_path / "new.pem"),
            JWT_PREVIOUS_PUBLIC_KEY_FILES=str(tmp_path / "old.pub"),
        )
        with Client(gatehouse, access_token=old_token) as still:
            assert still.me().email == email  # Gatehouse still accepts the old token
        mine = await client.get("/notes", headers=bearer(old_token))
        assert [n["text"] for n in mine.json()] == ["rotate keys"]  # and so does the example
        with Client(gatehouse) as account:
            new_token = account.login(email, PASSWORD).access_token
        assert _kid(new_token) != _kid(old_token)

        # The new kid is unknown: the keys were fetched less than a minute ago, so the token
        # is refused without asking Gatehouse; a minute later the keys are fetched again.
        refused = await client.get("/whoami", headers=bearer(new_token))
        assert (refused.status_code, refused.json()["detail"]["code"]) == (401, "INVALID_TOKEN")
        assert verifier.keys.fetches == 1
        clock.now += 60
        me = (await client.get("/whoami", headers=bearer(new_token))).json()
        assert (me["key_id"], verifier.keys.fetches) == (_kid(new_token), 2)
        assert (await client.get("/notes", headers=bearer(old_token))).status_code == 200
        assert (await client.get("/notes", headers=bearer(new_token))).status_code == 200
        assert verifier.keys.fetches == 2

        # A kid that no key has: refused, and no fetch within the minute.
        claims = jwt.decode(new_token, options={"verify_signature": False})
        forged = jwt.encode(claims, old_key, algorithm="EdDSA", headers={"kid": "unknown"})
        refused = await client.get("/whoami", headers=bearer(forged))
        assert (refused.status_code, verifier.keys.fetches) == (401, 2)

    # The synchronous verifier against the same Gatehouse, offline and with revocation.
    with (
        TokenVerifier(gatehouse) as offline,
        TokenVerifier(gatehouse, check_revocation=True) as online,
    ):
        assert {offline.verify(t).key_id for t in (old_token, new_token)} == {
            _kid(old_token),
            _kid(new_token),
        }
        assert online.verify(new_token).user_id == me["user_id"]
        with Client(gatehouse, access_token=new_token) as session:
            session.logout()
        assert offline.verify(new_token).user_id == me["user_id"]  # valid until it expires
        with pytest.raises(TokenRejected) as ended:
            online.verify(new_token)
        assert ended.value.code == "INVALID_TOKEN"
