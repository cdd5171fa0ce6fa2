"""Errors of the tasks domain."""

from gatehouse.core.errors import AppError


class TaskNotFound(AppError):
    """Also the answer for another user's task: its existence is not revealed."""

    code = "NOT_FOUND"
    status = 404
    message = "Task not found"
