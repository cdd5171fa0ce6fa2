"""EdDSA / ES256 / RS256 access tokens and the JWKS that publishes their public key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from fastapi import FastAPI

from tests.helpers import assert_envelope, bearer, running, signed_up


def _private_key_pem(algorithm: str) -> bytes:
    key: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
    if algorithm == "EdDSA":
        key = ed25519.Ed25519PrivateKey.generate()
    elif algorithm == "ES256":
        key = ec.generate_private_key(ec.SECP256R1())
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@pytest.mark.parametrize("algorithm", ["EdDSA", "ES256", "RS256"])
async def test_asymmetric_tokens_verify_with_the_published_jwks(
    app_factory: Callable[..., FastAPI], tmp_path: Path, algorithm: str
) -> None:
    key_file = tmp_path / "jwt.pem"
    key_file.write_bytes(_private_key_pem(algorithm))
    app = app_factory(JWT_ALGORITHM=algorithm, JWT_PRIVATE_KEY_FILE=str(key_file))
    async with running(app) as client:
        account = await signed_up(client)
        token = account["access_token"]
        assert (await client.get("/api/v1/users/me", headers=bearer(token))).status_code == 200

        keys = (await client.get("/.well-known/jwks.json")).json()["keys"]
        assert len(keys) == 1
        assert "d" not in keys[0]  # never the private part
        assert keys[0]["kid"] == jwt.get_unverified_header(token)["kid"]
        public_key = jwt.PyJWK.from_dict(keys[0])
        claims = jwt.decode(token, public_key, algorithms=[algorithm], audience="gatehouse:api")
        assert claims["sub"] == account["user"]["id"]

        # Algorithm confusion: an HS256 token "signed" with the public key is refused.
        claims_copy = dict(claims)
        public_pem = public_key.key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        forged = _hs256_with_raw_key(claims_copy, public_pem)
        response = await client.get("/api/v1/users/me", headers=bearer(forged))
        assert_envelope(response, 401, "INVALID_TOKEN")


def _hs256_with_raw_key(claims: dict[str, object], key: bytes) -> str:
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signing_input = f"{b64(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())}.{b64(json.dumps(claims).encode())}"
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


async def test_jwks_is_404_with_a_shared_secret(client: httpx.AsyncClient) -> None:
    assert_envelope(await client.get("/.well-known/jwks.json"), 404, "NOT_FOUND")


def _public_pem(private_pem: bytes) -> bytes:
    key = serialization.load_pem_private_key(private_pem, password=None)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


async def test_a_rotated_key_still_verifies_its_tokens_and_is_published(
    app_factory: Callable[..., FastAPI], tmp_path: Path
) -> None:
    old, new, rsa_old = tmp_path / "old.pem", tmp_path / "new.pem", tmp_path / "rsa-old.pem"
    old.write_bytes(_private_key_pem("EdDSA"))
    new.write_bytes(_private_key_pem("EdDSA"))
    rsa_old.write_bytes(_private_key_pem("RS256"))
    (tmp_path / "old.pub").write_bytes(_public_pem(old.read_bytes()))
    (tmp_path / "rsa-old.pub").write_bytes(_public_pem(rsa_old.read_bytes()))

    before = app_factory(JWT_ALGORITHM="EdDSA", JWT_PRIVATE_KEY_FILE=str(old))
    async with running(before) as client:
        account = await signed_up(client)
        old_token = account["access_token"]
        old_kid = jwt.get_unverified_header(old_token)["kid"]
    before_rsa = app_factory(JWT_ALGORITHM="RS256", JWT_PRIVATE_KEY_FILE=str(rsa_old))
    async with running(before_rsa) as client:
        rsa_token = (await signed_up(client))["access_token"]

    # The new key signs; the old ones (public PEM; a repeat of the current key is ignored)
    # still verify the tokens they signed, whatever their algorithm.
    previous = f"{tmp_path / 'old.pub'}, {tmp_path / 'rsa-old.pub'},{new}"
    after = app_factory(
        JWT_ALGORITHM="EdDSA", JWT_PRIVATE_KEY_FILE=str(new), JWT_PREVIOUS_PUBLIC_KEY_FILES=previous
    )
    async with running(after) as client:
        for token in (old_token, rsa_token):
            assert (await client.get("/api/v1/users/me", headers=bearer(token))).status_code == 200
        fresh = await signed_up(client)
        new_kid = jwt.get_unverified_header(fresh["access_token"])["kid"]
        assert new_kid != old_kid
        keys = (await client.get("/.well-known/jwks.json")).json()["keys"]
        assert [k["kid"] for k in keys][:2] == [new_kid, old_kid]  # the signing key first
        assert [k["alg"] for k in keys] == ["EdDSA", "EdDSA", "RS256"]
        assert all("d" not in k for k in keys)

        # A token naming an unknown kid, or a known kid it was not signed with, is refused.
        claims = jwt.decode(fresh["access_token"], options={"verify_signature": False})
        stranger = ed25519.Ed25519PrivateKey.generate()
        for kid in ("nope", old_kid, new_kid):
            forged = jwt.encode(claims, stranger, algorithm="EdDSA", headers={"kid": kid})
            response = await client.get("/api/v1/users/me", headers=bearer(forged))
            assert_envelope(response, 401, "INVALID_TOKEN")
        unnamed = jwt.encode(claims, stranger, algorithm="EdDSA")
        response = await client.get("/api/v1/users/me", headers=bearer(unnamed))
        assert_envelope(response, 401, "INVALID_TOKEN")

    # Once the old key leaves the list, its tokens stop verifying.
    dropped = app_factory(JWT_ALGORITHM="EdDSA", JWT_PRIVATE_KEY_FILE=str(new))
    async with running(dropped) as client:
        response = await client.get("/api/v1/users/me", headers=bearer(old_token))
        assert_envelope(response, 401, "INVALID_TOKEN")
        assert len((await client.get("/.well-known/jwks.json")).json()["keys"]) == 1
