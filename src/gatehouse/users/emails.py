"""The one form an email is stored, compared, counted and hashed in."""

import hashlib
import unicodedata


def normalize_email(email: str) -> str:
    """NFC-normalised, trimmed and lower-cased, so the unique index makes emails unique
    case-insensitively on every backend (`Ann@X.org ` and `ann@x.org` are one account, and
    so are an address typed in composed and in decomposed Unicode)."""
    return unicodedata.normalize("NFC", email).strip().lower()


def email_digest(email: str) -> str:
    """An identifier for an email in counters and limits: the SHA-256 of its normal form
    (shortened), so the store holds no addresses."""
    return hashlib.sha256(normalize_email(email).encode()).hexdigest()[:32]
