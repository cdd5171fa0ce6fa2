"""Ids in paths are opaque strings: one that is not ours is simply not found."""

import uuid

from gatehouse.core.errors import NotFound


def parse_id(value: str, *, not_found: str = "Not found") -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError as exc:
        raise NotFound(not_found) from exc
