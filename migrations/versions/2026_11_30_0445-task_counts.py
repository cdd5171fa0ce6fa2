"""task counts: each user's number of tasks, kept beside the tasks

Revision ID: 0009_task_counts
Revises: 0008_passkeys
Create Date: 2026-11-30 04:45:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_task_counts"
down_revision: str | None = "0008_passkeys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "task_counts",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_task_counts_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_task_counts")),
    )
    op.execute(
        "INSERT INTO task_counts (user_id, total) "
        "SELECT user_id, count(*) FROM tasks GROUP BY user_id"
    )


def downgrade() -> None:
    op.drop_table("task_counts")
