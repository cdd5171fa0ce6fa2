"""Public keys of asymmetric access tokens: read from PEM, and the JWT algorithm of each."""

from __future__ import annotations

from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa


def load_public_key(pem: bytes) -> Any:
    """The public key in `pem`: a public key, or the public part of a private key (whose
    private part is then never used). ValueError when it is neither."""
    try:
        return serialization.load_pem_public_key(pem)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        pass
    try:
        return serialization.load_pem_private_key(pem, password=None).public_key()
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ValueError("not a PEM public or private key") from exc


def algorithm_of(public_key: Any) -> str:
    """The JWT algorithm a key verifies: EdDSA (Ed25519), ES256 (P-256) or RS256 (RSA,
    2048 bits or more). ValueError for any other key."""
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        return "EdDSA"
    if isinstance(public_key, ec.EllipticCurvePublicKey) and isinstance(
        public_key.curve, ec.SECP256R1
    ):
        return "ES256"
    if isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size >= 2048:
        return "RS256"
    raise ValueError("not an Ed25519, P-256 or RSA (2048+ bits) key")
