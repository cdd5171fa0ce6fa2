"""Errors of the users domain."""

from gatehouse.core.errors import AppError


class UserNotFound(AppError):
    code = "NOT_FOUND"
    status = 404
    message = "User not found"
