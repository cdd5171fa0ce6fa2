"""retention: indexes for the batched purges, the housekeeping lease

Revision ID: 0007_retention
Revises: 0006_mfa
Create Date: 2026-11-30 01:15:16.552028+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_retention"
down_revision: str | None = "0006_mfa"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table(
        "housekeeping_leases",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=True),
        sa.Column("ran_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stats", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_housekeeping_leases")),
    )
    with op.batch_alter_table("auth_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_auth_sessions_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_auth_sessions_revoked_at"), ["revoked_at"], unique=False
        )

    with op.batch_alter_table("mfa_challenges", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_mfa_challenges_expires_at"), ["expires_at"], unique=False
        )

    with op.batch_alter_table("one_time_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_one_time_tokens_expires_at"), ["expires_at"], unique=False
        )

    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_refresh_tokens_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refresh_tokens_expires_at"))

    with op.batch_alter_table("one_time_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_one_time_tokens_expires_at"))

    with op.batch_alter_table("mfa_challenges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mfa_challenges_expires_at"))

    with op.batch_alter_table("auth_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_sessions_revoked_at"))
        batch_op.drop_index(batch_op.f("ix_auth_sessions_expires_at"))

    op.drop_table("housekeeping_leases")
