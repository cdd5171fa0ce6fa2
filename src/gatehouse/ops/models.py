"""The housekeeping lease: one row per scheduled job, so a pass runs once across workers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from gatehouse.core.db import Base


class HousekeepingLease(Base):
    """`next_run_at` is the lease: a worker takes a pass by moving it one interval ahead in
    one conditional UPDATE (`WHERE next_run_at <= now`), so of several workers exactly one
    wins each interval. `stats` is what the last pass counted, for /metrics."""

    __tablename__ = "housekeeping_leases"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    next_run_at: Mapped[datetime]
    holder: Mapped[str | None] = mapped_column(String(64))
    ran_at: Mapped[datetime | None]
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
