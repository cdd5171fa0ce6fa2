"""Errors of the accounts and tokens domain."""

from gatehouse.core.errors import AppError


class InvalidCredentials(AppError):
    code = "INVALID_CREDENTIALS"
    status = 401
    message = "Incorrect email or password"


class AccountDisabled(AppError):
    code = "ACCOUNT_DISABLED"
    status = 403
    message = "This account is disabled"


class InvalidResetToken(AppError):
    code = "INVALID_RESET_TOKEN"
    status = 400
    message = "The reset link is invalid or has expired"


class InvalidVerificationToken(AppError):
    code = "INVALID_VERIFICATION_TOKEN"
    status = 400
    message = "The verification link is invalid or has expired"
