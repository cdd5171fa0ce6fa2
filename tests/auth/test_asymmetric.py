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
