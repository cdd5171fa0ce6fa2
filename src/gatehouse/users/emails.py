"""The one form an email is stored, compared, counted and hashed in."""

import contextlib
import hashlib
import unicodedata

from email_validator import EmailNotValidError, validate_email


def normalize_email(email: str) -> str:
    """NFC-normalised, trimmed and lower-cased, so the unique index makes emails unique
    case-insensitively on every backend (`Ann@X.org ` and `ann@x.org` are one account, and
    so are an address typed in composed and in decomposed Unicode)."""
    return unicodedata.normalize("NFC", email).strip().lower()


def email_digest(email: str) -> str:
    """An identifier for an email in counters and limits: the SHA-256 of its normal form
    (shortened), so the store holds no addresses."""
    return hashlib.sha256(normalize_email(email).encode()).hexdigest()[:32]


def canonical_email(email: str) -> str:
    """The account an address typed by a client stands for, as the routes that validate
    emails see it: email-validator's normal form (which maps a domain written in fullwidth
    letters to ASCII), normalised; an address it refuses is only normalised. Limits key on
    this, so spellings of one address share one counter."""
    with contextlib.suppress(EmailNotValidError):
        email = validate_email(email, check_deliverability=False).normalized
    return normalize_email(email)
