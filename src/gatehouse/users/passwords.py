"""The password policy: NIST SP 800-63B length limits and a list of common passwords."""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files

from gatehouse.core.config import Settings
from gatehouse.users.emails import normalize_email
from gatehouse.users.exceptions import PasswordRejected


def load_common_passwords() -> frozenset[str]:
    """The bundled list (30,000 most common passwords), lower-cased."""
    text = files("gatehouse.users").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


@dataclass(frozen=True)
class PasswordPolicy:
    min_length: int
    max_length: int
    common: frozenset[str]

    @classmethod
    def from_settings(cls, settings: Settings) -> PasswordPolicy:
        common = load_common_passwords() if settings.PASSWORD_CHECK_COMMON else frozenset()
        return cls(
            min_length=settings.PASSWORD_MIN_LENGTH,
            max_length=settings.PASSWORD_MAX_LENGTH,
            common=common,
        )

    def check(self, password: str, *, email: str | None = None, field: str = "password") -> None:
        """Raise PasswordRejected (422) when `password` breaks the policy."""
        if len(password) < self.min_length:
            raise PasswordRejected(f"must be at least {self.min_length} characters", field=field)
        if len(password) > self.max_length:
            raise PasswordRejected(f"must be at most {self.max_length} characters", field=field)
        folded = password.strip().lower()
        if folded in self.common:
            raise PasswordRejected("is too common; choose a less guessable password", field=field)
        if email is not None and folded == normalize_email(email):
            raise PasswordRejected("must not be the same as the email", field=field)
