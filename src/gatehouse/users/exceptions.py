"""Errors of the users domain."""

from gatehouse.core.errors import AppError


class UserNotFound(AppError):
    code = "NOT_FOUND"
    status = 404
    message = "User not found"


class LastAdmin(AppError):
    code = "LAST_ADMIN"
    status = 409
    message = "This is the last active admin; make another admin first"
