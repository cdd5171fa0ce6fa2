"""Errors of the users domain: the account rules."""

from gatehouse.core.errors import AppError, ValidationFailed


class UserNotFound(AppError):
    code = "NOT_FOUND"
    status = 404
    message = "User not found"


class LastAdmin(AppError):
    code = "LAST_ADMIN"
    status = 409
    message = "This is the last active admin; make another admin first"


class EmailAlreadyRegistered(AppError):
    code = "EMAIL_ALREADY_REGISTERED"
    status = 409
    message = "An account with this email already exists"


class PasswordRejected(ValidationFailed):
    """The password policy refused a new password (422, like any invalid field)."""

    message = "The password does not meet the password policy"

    def __init__(self, reason: str, *, field: str = "password") -> None:
        super().__init__(
            f"{self.message}: {reason}",
            details={
                "fields": [{"loc": ["body", field], "msg": reason, "type": "password_policy"}]
            },
        )


class InvalidPassword(AppError):
    """The current password given to confirm a sensitive change is wrong."""

    code = "INVALID_PASSWORD"
    status = 400
    message = "The current password is incorrect"
