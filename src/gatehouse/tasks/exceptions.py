"""Errors of the tasks domain."""

from gatehouse.core.errors import AppError


class TaskNotFound(AppError):
    """Also the answer for another user's task: its existence is not revealed."""

    code = "NOT_FOUND"
    status = 404
    message = "Task not found"


class TaskLimitReached(AppError):
    """The owner has TASKS_MAX_PER_USER tasks already; `details.limit` says how many."""

    code = "TASK_LIMIT_REACHED"
    status = 409
    message = "You have as many tasks as one account may have; delete some to add more"
