"""tasks

Revision ID: 0002_tasks
Revises: 0001_accounts
Create Date: 2026-11-22 02:24:09.242444+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_tasks"
down_revision: str | None = "0001_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tasks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.String(length=1000), nullable=True),
        sa.Column("completed", sa.Boolean(), nullable=False),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("priority IN ('low', 'medium', 'high')", name=op.f("ck_tasks_priority")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_tasks_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index("ix_tasks_user_id_completed", ["user_id", "completed"], unique=False)
        batch_op.create_index(
            "ix_tasks_user_id_created_at", ["user_id", "created_at"], unique=False
        )
    # Expression indexes (written by hand: autogenerate skips them). They must spell the
    # expressions exactly as gatehouse.tasks.models does, so ORDER BY can use them.
    op.create_index(
        "ix_tasks_user_id_priority",
        "tasks",
        [
            "user_id",
            sa.text("(CASE priority WHEN 'low' THEN 0 WHEN 'medium' THEN 1 ELSE 2 END)"),
            "created_at",
            "id",
        ],
    )
    op.create_index(
        "ix_tasks_user_id_due_date",
        "tasks",
        [
            "user_id",
            sa.text("(CASE WHEN due_date IS NULL THEN 1 ELSE 0 END)"),
            "due_date",
            "id",
        ],
    )


def downgrade() -> None:
    op.drop_index("ix_tasks_user_id_due_date", table_name="tasks")
    op.drop_index("ix_tasks_user_id_priority", table_name="tasks")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_tasks_user_id_created_at")
        batch_op.drop_index("ix_tasks_user_id_completed")

    op.drop_table("tasks")
