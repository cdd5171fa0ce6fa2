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


class MfaRequired(AppError):
    """The password was right; the login ends with a second factor at /mfa/verify.
    `details` carries the `mfa_token` and the `methods` it accepts."""

    code = "MFA_REQUIRED"
    status = 401
    message = "A second factor is required: send a code with the mfa_token"


class InvalidMfaCode(AppError):
    code = "INVALID_MFA_CODE"
    status = 401
    message = "The code is incorrect or was used already"


class MfaAlreadyEnabled(AppError):
    code = "MFA_ALREADY_ENABLED"
    status = 409
    message = "A second factor is enabled already; disable it first"


class MfaNotEnabled(AppError):
    code = "MFA_NOT_ENABLED"
    status = 409
    message = "No second factor is enabled (or set up) for this account"


class PasskeyRegistrationFailed(AppError):
    code = "PASSKEY_REGISTRATION_FAILED"
    status = 400
    message = "The passkey was not accepted"


class PasskeyLoginFailed(AppError):
    code = "PASSKEY_LOGIN_FAILED"
    status = 401
    message = "The passkey sign-in was refused"


class PasskeyNotFound(AppError):
    code = "PASSKEY_NOT_FOUND"
    status = 404
    message = "No such passkey"
