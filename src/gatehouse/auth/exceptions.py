"""Errors of the accounts and tokens domain."""

from gatehouse.core.errors import AppError


class EmailAlreadyRegistered(AppError):
    code = "EMAIL_ALREADY_REGISTERED"
    status = 409
    message = "An account with this email already exists"


class InvalidCredentials(AppError):
    code = "INVALID_CREDENTIALS"
    status = 401
    message = "Incorrect email or password"


class AccountDisabled(AppError):
    code = "ACCOUNT_DISABLED"
    status = 403
    message = "This account is disabled"


class SessionNotFound(AppError):
    code = "NOT_FOUND"
    status = 404
    message = "Session not found"


class PasswordRejected(AppError):
    """The password policy refused a new password (422, like any invalid field)."""

    code = "VALIDATION_ERROR"
    status = 422
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


class InvalidResetToken(AppError):
    code = "INVALID_RESET_TOKEN"
    status = 400
    message = "The reset link is invalid or has expired"


class InvalidVerificationToken(AppError):
    code = "INVALID_VERIFICATION_TOKEN"
    status = 400
    message = "The verification link is invalid or has expired"
