"""Passkeys (WebAuthn, with py_webauthn): register, list, rename, delete, and sign in
with one, either passwordless (a discoverable credential, user verification required) or
as the second step of a login that answered MFA_REQUIRED.

The relying party id is PUBLIC_URL's host (without the port) and the expected origin is
PUBLIC_URL's scheme://host[:port]. Each ceremony's challenge is random (64 bytes), stored
as its SHA-256 with its purpose and user, single-use (claimed before the response is
checked, so a failed response spends it too) and valid for 5 minutes; a response names
its challenge in its clientDataJSON. A signature counter that does not move forward
(when either side is non-zero) is refused, as py_webauthn does.

A failed sign-in whose credential is known counts as a failed login of its account
(throttle, audit `login_failed` with `reason: passkey`, or `mfa_failed` in the second step).
"""

from __future__ import annotations

import hmac
import json
import secrets
import uuid
from base64 import urlsafe_b64decode, urlsafe_b64encode
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.audit import service as audit_service
from gatehouse.auth import service as auth_service
from gatehouse.auth.exceptions import (
    AccountDisabled,
    PasskeyLoginFailed,
    PasskeyNotFound,
    PasskeyRegistrationFailed,
)
from gatehouse.auth.kit import AuthKit
from gatehouse.auth.models import MfaChallenge, Passkey, PasskeyChallenge, PasskeyPurpose
from gatehouse.auth.service import IssuedTokens
from gatehouse.core.config import Settings
from gatehouse.core.db import claim_once, utcnow
from gatehouse.core.origin import RequestOrigin
from gatehouse.core.security import hash_token, token_matches
from gatehouse.sessions.models import SessionKind
from gatehouse.users import service as users_service
from gatehouse.users.models import User

if TYPE_CHECKING:
    from webauthn.helpers.structs import PublicKeyCredentialDescriptor

CHALLENGE_TTL = timedelta(minutes=5)
TIMEOUT_MS = 300_000
CHALLENGE_BYTES = 64
RP_NAME = "Gatehouse"
DEFAULT_NAME = "Passkey"


# py_webauthn (with pyOpenSSL and pyasn1: ~12 MB, ~0.3 s) is imported by the functions of a
# ceremony, not at start; its two base64url helpers are these.
def bytes_to_base64url(val: bytes) -> str:
    return urlsafe_b64encode(val).decode("utf-8").rstrip("=")


def base64url_to_bytes(val: str) -> bytes:
    return urlsafe_b64decode(f"{val}===")  # as py_webauthn: padding is optional


@dataclass(frozen=True, slots=True)
class RelyingParty:
    id: str
    origin: str


def relying_party(settings: Settings) -> RelyingParty:
    """The relying party id (PUBLIC_URL's host) and the origin browsers report."""
    parts = urlsplit(settings.PUBLIC_URL)
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port is not None else ""
    return RelyingParty(id=host, origin=f"{parts.scheme}://{host}{port}")


def _user_handle(settings: Settings, user_id: uuid.UUID) -> bytes:
    """An opaque, stable WebAuthn user handle (not the email, not the raw id)."""
    return hmac.new(
        settings.secret_key.encode(), b"passkey user " + user_id.bytes, "sha256"
    ).digest()


def _decoy_credential_id(settings: Settings, email: str) -> str:
    """A stable made-up credential id offered for an email without passkeys, so the
    options do not tell whether an account (or its passkeys) exists."""
    digest = hmac.new(settings.secret_key.encode(), b"passkey decoy " + email.encode(), "sha256")
    return bytes_to_base64url(digest.digest())


async def _new_challenge(
    db: AsyncSession, *, purpose: PasskeyPurpose, user_id: uuid.UUID | None
) -> bytes:
    raw = secrets.token_bytes(CHALLENGE_BYTES)
    now = utcnow()
    db.add(
        PasskeyChallenge(
            user_id=user_id,
            challenge_hash=hash_token(bytes_to_base64url(raw)),
            purpose=purpose,
            created_at=now,
            expires_at=now + CHALLENGE_TTL,
        )
    )
    await db.commit()
    return raw


def _challenge_of(credential: dict[str, Any]) -> str | None:
    """The base64url challenge a response's clientDataJSON names, or None."""
    try:
        response = credential["response"]
        client_data = json.loads(base64url_to_bytes(response["clientDataJSON"]))
        challenge = client_data["challenge"]
    except (KeyError, TypeError, ValueError):
        return None
    return challenge if isinstance(challenge, str) and challenge else None


async def _claim_challenge(
    db: AsyncSession, *, credential: dict[str, Any], purpose: PasskeyPurpose
) -> PasskeyChallenge | None:
    """The live challenge of `purpose` this response answers, now spent; None otherwise."""
    challenge = _challenge_of(credential)
    if challenge is None:
        return None
    record = await db.scalar(
        select(PasskeyChallenge).where(PasskeyChallenge.challenge_hash == hash_token(challenge))
    )
    if record is None or not token_matches(challenge, record.challenge_hash):
        return None
    now = utcnow()
    if record.purpose != purpose or record.expires_at <= now:
        return None
    if not await claim_once(db, PasskeyChallenge.used_at, record.id, at=now):
        return None
    return record


async def list_passkeys(db: AsyncSession, *, user_id: uuid.UUID) -> list[Passkey]:
    result = await db.scalars(
        select(Passkey).where(Passkey.user_id == user_id).order_by(Passkey.created_at)
    )
    return list(result)


async def _own_passkey(db: AsyncSession, *, user_id: uuid.UUID, passkey_id: uuid.UUID) -> Passkey:
    passkey = await db.scalar(
        select(Passkey).where(Passkey.id == passkey_id, Passkey.user_id == user_id)
    )
    if passkey is None:
        raise PasskeyNotFound()
    return passkey


async def registration_options(db: AsyncSession, *, kit: AuthKit, user: User) -> dict[str, Any]:
    """Creation options for a new discoverable passkey of `user` (its passkeys excluded)."""
    rp = relying_party(kit.settings)
    existing = await list_passkeys(db, user_id=user.id)
    challenge = await _new_challenge(db, purpose=PasskeyPurpose.REGISTER, user_id=user.id)
    from webauthn import generate_registration_options, options_to_json  # see above
    from webauthn.helpers.structs import (
        AuthenticatorSelectionCriteria,
        PublicKeyCredentialDescriptor,
        ResidentKeyRequirement,
        UserVerificationRequirement,
    )

    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=RP_NAME,
        user_name=user.email,
        user_id=_user_handle(kit.settings, user.id),
        user_display_name=user.full_name or user.email,
        challenge=challenge,
        timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(item.credential_id))
            for item in existing
        ],
    )
    parsed: dict[str, Any] = json.loads(options_to_json(options))
    return parsed


def _transports(credential: dict[str, Any]) -> list[str]:
    response = credential.get("response")
    found = response.get("transports") if isinstance(response, dict) else None
    if not isinstance(found, list):
        return []
    from webauthn.helpers.structs import AuthenticatorTransport  # see above

    known = {item.value for item in AuthenticatorTransport}
    return [item for item in found if isinstance(item, str) and item in known]


async def register(
    db: AsyncSession,
    *,
    kit: AuthKit,
    user: User,
    credential: dict[str, Any],
    name: str | None,
    origin: RequestOrigin,
) -> Passkey:
    """Store the passkey a registration response creates (audited `passkey_added`)."""
    challenge = await _claim_challenge(db, credential=credential, purpose=PasskeyPurpose.REGISTER)
    if challenge is None or challenge.user_id != user.id:
        await db.commit()
        raise PasskeyRegistrationFailed("The registration challenge is unknown, used or expired")
    rp = relying_party(kit.settings)
    from webauthn import verify_registration_response  # see above
    from webauthn.helpers.exceptions import WebAuthnException

    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=base64url_to_bytes(_challenge_of(credential) or ""),
            expected_rp_id=rp.id,
            expected_origin=rp.origin,
        )
    except (WebAuthnException, KeyError, TypeError, ValueError) as error:
        await db.commit()
        raise PasskeyRegistrationFailed(f"The passkey was not accepted: {error}") from None
    credential_id = bytes_to_base64url(verified.credential_id)
    if await db.scalar(select(Passkey.id).where(Passkey.credential_id == credential_id)):
        await db.commit()
        raise PasskeyRegistrationFailed("This passkey is registered already")
    passkey = Passkey(
        user_id=user.id,
        credential_id=credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=_transports(credential),
        name=(name or "").strip() or DEFAULT_NAME,
        created_at=utcnow(),
    )
    db.add(passkey)
    await db.flush()
    audit_service.record(
        db, kind="passkey_added", user_id=user.id, origin=origin, passkey=str(passkey.id)
    )
    await db.commit()
    return passkey


async def rename(
    db: AsyncSession, *, user_id: uuid.UUID, passkey_id: uuid.UUID, name: str
) -> Passkey:
    passkey = await _own_passkey(db, user_id=user_id, passkey_id=passkey_id)
    passkey.name = name.strip() or DEFAULT_NAME
    await db.commit()
    return passkey


async def delete(
    db: AsyncSession, *, user_id: uuid.UUID, passkey_id: uuid.UUID, origin: RequestOrigin
) -> None:
    """Remove one of the user's passkeys (audited `passkey_removed`); another's is 404."""
    passkey = await _own_passkey(db, user_id=user_id, passkey_id=passkey_id)
    await db.delete(passkey)
    audit_service.record(
        db, kind="passkey_removed", user_id=user_id, origin=origin, passkey=str(passkey_id)
    )
    await db.commit()


async def has_passkey(db: AsyncSession, *, user_id: uuid.UUID) -> bool:
    return (
        await db.scalar(select(Passkey.id).where(Passkey.user_id == user_id).limit(1)) is not None
    )


async def login_options(db: AsyncSession, *, kit: AuthKit, email: str | None) -> dict[str, Any]:
    """Request options. Without an email: any discoverable passkey (empty
    allowCredentials). With one: that account's passkeys, or a made-up stable one when it
    has none (or does not exist), so the answer does not tell."""
    from webauthn import generate_authentication_options, options_to_json  # see above
    from webauthn.helpers.structs import (
        PublicKeyCredentialDescriptor,
        UserVerificationRequirement,
    )

    user = await users_service.find_user_by_email(db, email=email) if email else None
    allowed: list[PublicKeyCredentialDescriptor] = []
    if email:
        passkeys = await list_passkeys(db, user_id=user.id) if user is not None else []
        ids = [item.credential_id for item in passkeys] or [
            _decoy_credential_id(kit.settings, email.strip().lower())
        ]
        allowed = [PublicKeyCredentialDescriptor(id=base64url_to_bytes(item)) for item in ids]
    challenge = await _new_challenge(
        db, purpose=PasskeyPurpose.LOGIN, user_id=user.id if user is not None else None
    )
    options = generate_authentication_options(
        rp_id=relying_party(kit.settings).id,
        challenge=challenge,
        timeout=TIMEOUT_MS,
        allow_credentials=allowed,
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    parsed: dict[str, Any] = json.loads(options_to_json(options))
    return parsed


async def _live_mfa_challenge(
    db: AsyncSession, *, mfa_token: str, kind: SessionKind, user_id: uuid.UUID
) -> MfaChallenge | None:
    challenge = await db.scalar(
        select(MfaChallenge).where(MfaChallenge.token_hash == hash_token(mfa_token))
    )
    if (
        challenge is None
        or not token_matches(mfa_token, challenge.token_hash)
        or challenge.used_at is not None
        or challenge.expires_at <= utcnow()
        or challenge.kind != kind
        or challenge.user_id != user_id
    ):
        return None
    return challenge


async def _authenticate(
    db: AsyncSession,
    *,
    kit: AuthKit,
    credential: dict[str, Any],
    mfa_token: str | None,
    kind: SessionKind,
    origin: RequestOrigin,
    device_token: str | None,
) -> User:
    """The user a sign-in response proves (passkey counter and last use updated,
    flushed); PASSKEY_LOGIN_FAILED otherwise (committed)."""
    challenge = await _claim_challenge(db, credential=credential, purpose=PasskeyPurpose.LOGIN)
    raw_id = credential.get("id")
    passkey = (
        await db.scalar(select(Passkey).where(Passkey.credential_id == raw_id))
        if isinstance(raw_id, str) and raw_id
        else None
    )
    if challenge is None or passkey is None:
        await db.commit()
        raise PasskeyLoginFailed()
    user = await users_service.get_user(db, user_id=passkey.user_id)
    device = kit.devices.device_of(device_token, user.id)
    await kit.throttle.check(user.email, device=device)
    failure = None
    if challenge.user_id is not None and challenge.user_id != user.id:
        failure = "The passkey is not one of this account's"
    mfa_challenge = None
    if failure is None and mfa_token is not None:
        mfa_challenge = await _live_mfa_challenge(
            db, mfa_token=mfa_token, kind=kind, user_id=user.id
        )
        if mfa_challenge is None:
            failure = "The mfa_token is unknown, used, expired or another account's"
    if failure is None:
        from webauthn import verify_authentication_response  # see above
        from webauthn.helpers.exceptions import WebAuthnException

        try:
            verified = verify_authentication_response(
                credential=credential,
                expected_challenge=base64url_to_bytes(_challenge_of(credential) or ""),
                expected_rp_id=relying_party(kit.settings).id,
                expected_origin=relying_party(kit.settings).origin,
                credential_public_key=passkey.public_key,
                credential_current_sign_count=passkey.sign_count,
                require_user_verification=mfa_token is None,
            )
        except (WebAuthnException, KeyError, TypeError, ValueError) as error:
            failure = str(error)
    if failure is not None:
        await kit.throttle.record_failure(user.email, device=device)
        if mfa_token is None:
            audit_service.record(
                db, kind="login_failed", user_id=user.id, origin=origin, reason="passkey"
            )
        else:
            audit_service.record(
                db,
                kind="mfa_failed",
                user_id=user.id,
                origin=origin,
                step="login",
                method="webauthn",
            )
        await db.commit()
        raise PasskeyLoginFailed(f"The passkey sign-in was refused: {failure}")
    if not user.is_active:
        await db.commit()
        raise AccountDisabled()
    if mfa_challenge is not None and not await claim_once(
        db, MfaChallenge.used_at, mfa_challenge.id, at=utcnow()
    ):
        await db.commit()
        raise PasskeyLoginFailed()
    passkey.sign_count = verified.new_sign_count
    passkey.last_used_at = utcnow()
    await kit.throttle.clear(user.email, device=device)
    audit_service.record(
        db,
        kind="login_succeeded",
        user_id=user.id,
        origin=origin,
        **({"method": "passkey"} if mfa_token is None else {"mfa": "webauthn"}),
    )
    return user


async def login(
    db: AsyncSession,
    *,
    kit: AuthKit,
    credential: dict[str, Any],
    mfa_token: str | None,
    origin: RequestOrigin,
    device_token: str | None = None,
) -> IssuedTokens:
    """Sign in with a passkey (or finish an API login's second step): an API session and
    its first token pair."""
    user = await _authenticate(
        db,
        kit=kit,
        credential=credential,
        mfa_token=mfa_token,
        kind=SessionKind.API,
        origin=origin,
        device_token=device_token,
    )
    return await auth_service.finish_api_login(
        db, kit=kit, user=user, origin=origin, device_token=device_token
    )


async def browser_login(
    db: AsyncSession,
    *,
    kit: AuthKit,
    credential: dict[str, Any],
    mfa_token: str | None,
    origin: RequestOrigin,
    device_token: str | None = None,
) -> tuple[User, str, str]:
    """Sign in with a passkey for the cookie API (or finish a `POST /sessions` second
    step): the user, the cookie value and the browser's device token."""
    user = await _authenticate(
        db,
        kit=kit,
        credential=credential,
        mfa_token=mfa_token,
        kind=SessionKind.BROWSER,
        origin=origin,
        device_token=device_token,
    )
    return await auth_service.finish_browser_login(
        db, kit=kit, user=user, origin=origin, device_token=device_token
    )
