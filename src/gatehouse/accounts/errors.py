"""Errors of the Python account API that the HTTP API does not have.

Each is a Gatehouse error (an `AppError`, with its `code`) and also the builtin a caller of
the original exercise's `DB` and `Auth` would catch: a missing account is a `LookupError`
and a `ValueError`, a wrong argument a `ValueError`.
"""

from __future__ import annotations

from gatehouse.auth.exceptions import InvalidResetToken
from gatehouse.core.errors import AppError, ValidationFailed
from gatehouse.users.exceptions import EmailAlreadyRegistered, UserNotFound


class AccountNotFound(UserNotFound, LookupError, ValueError):
    """No account matches (find_user_by, update_user, destroy_session,
    get_reset_password_token)."""


class AccountExists(EmailAlreadyRegistered, ValueError):
    """An account has this email already (register_user, add_user, update_user)."""


class InvalidFilter(ValidationFailed, ValueError):
    """find_user_by was given no filter, a name that is not one, or a value of the wrong kind."""


class InvalidField(ValidationFailed, ValueError):
    """update_user was given a field it cannot change, or a value that is not valid for it."""


class InvalidInput(ValidationFailed, ValueError):
    """An email, name or password hash that the API would refuse (422 there)."""


class ResetTokenInvalid(InvalidResetToken, ValueError):
    """update_password: the token is unknown, used, expired, or its account is disabled."""


class SchemaOutOfDate(AppError, RuntimeError):
    """The database is not at the current migration: run `gatehouse db upgrade`, or open
    with `upgrade=True`."""

    code = "SCHEMA_OUT_OF_DATE"
    status = 503
    message = "The database schema is not up to date"
