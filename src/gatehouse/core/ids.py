"""Ids in paths are opaque strings: one that is not a UUID is simply not found."""

import uuid

from gatehouse.core.errors import AppError, NotFound


def parse_id(value: str, *, not_found: type[AppError] = NotFound) -> uuid.UUID:
    """The UUID in a path, or `not_found` (the domain's 404) for anything else."""
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise not_found() from exc
