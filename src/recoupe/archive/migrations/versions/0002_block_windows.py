"""blocks compared through windows: the claim amounts table is no longer read or written, and
each candidate says for which of its claims it is a best partner

Candidates are now the pairs within a block's window (recoupe.crosscheck.pairing.BLOCK_WINDOW),
found by reading the latest claims of each key, so the amount index is dropped. An archive filled
under revision 0001 (whose large blocks stopped proposing pairs past a cap) keeps its facts, but
new articles are paired the new way; to have it equal a from-scratch check again, load its
extraction into a new archive: ``Archive(new).add_extracted(Archive(old).extraction(), bulk=True)``.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 21:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("candidates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("best_a", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("best_b", sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table("claim_amounts", schema=None) as batch_op:
        batch_op.drop_index("ix_claim_amounts_lookup")
        batch_op.drop_index(batch_op.f("ix_claim_amounts_claim_seq"))
    op.drop_table("claim_amounts")


def downgrade() -> None:
    with op.batch_alter_table("candidates", schema=None) as batch_op:
        batch_op.drop_column("best_b")
        batch_op.drop_column("best_a")
    op.create_table(
        "claim_amounts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("claim_seq", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["claim_seq"], ["claims.seq"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("claim_amounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_claim_amounts_claim_seq"), ["claim_seq"], unique=False)
        batch_op.create_index("ix_claim_amounts_lookup", ["key", "kind", "value"], unique=False)
