"""Errors of the browser-facing routes."""

from gatehouse.core.errors import AppError


class CsrfFailed(AppError):
    """A state-changing request sent by another site's page (its Origin is not ours, or
    the browser says it is cross-site)."""

    code = "CSRF_FAILED"
    status = 403
    message = "Cross-site request refused"
