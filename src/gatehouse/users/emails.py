"""The one form an email is stored, compared, counted and hashed in."""

import unicodedata


def normalize_email(email: str) -> str:
    """NFC-normalised, trimmed and lower-cased, so the unique index makes emails unique
    case-insensitively on every backend (`Ann@X.org ` and `ann@x.org` are one account, and
    so are an address typed in composed and in decomposed Unicode)."""
    return unicodedata.normalize("NFC", email).strip().lower()
