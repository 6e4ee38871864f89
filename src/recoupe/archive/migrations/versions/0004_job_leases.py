"""a running job names its worker and holds a lease that the worker renews

Several services may share one archive (PostgreSQL): a job is taken by one worker, which renews
its lease while it runs; a job whose lease ran out (its worker died on another machine) is taken
again by any worker, and one left by a dead process of the same machine at once.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 00:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("worker", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("lease_until")
        batch_op.drop_column("worker")
