"""The one form an email is stored, compared, counted and hashed in."""


def normalize_email(email: str) -> str:
    """Trimmed and lower-cased, so the unique index makes emails unique case-insensitively
    on every backend (and `Ann@X.org ` and `ann@x.org` are one account)."""
    return email.strip().lower()
