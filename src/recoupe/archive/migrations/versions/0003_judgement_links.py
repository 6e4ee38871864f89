"""each stored judgement row says whether it links its pair into a fact, and a claim's best
partners are indexed apart from its other candidates

Facts are rebuilt from the linking judgements only (equivalent, compatible, contradicts); the flag
lets the archive follow links and read the judgements a fact needs without decoding every
judgement of every claim it meets. Existing rows are flagged from their documents. Re-ranking a
claim's partners reads its best partners so far through two partial indexes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 00:10:00
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_LINKING = {"equivalent", "compatible", "contradicts"}


def _links(docs: Any) -> bool:
    if isinstance(docs, str):
        docs = json.loads(docs)
    return any(d.get("relation") in _LINKING for d in docs or [])


def upgrade() -> None:
    with op.batch_alter_table("judgements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("links", sa.Boolean(), server_default=sa.false(), nullable=False))
    bind = op.get_bind()
    table = sa.table("judgements", sa.column("a"), sa.column("b"), sa.column("docs", sa.JSON()), sa.column("links"))
    linking = [
        {"ka": a, "kb": b}
        for a, b, docs in bind.execute(sa.select(table.c.a, table.c.b, table.c.docs)).tuples()
        if _links(docs)
    ]
    if linking:
        bind.execute(
            table.update()
            .where(table.c.a == sa.bindparam("ka"), table.c.b == sa.bindparam("kb"))
            .values(links=sa.true()),
            linking,
        )

    for column, flag in (("a", "best_a"), ("b", "best_b")):
        op.create_index(
            f"ix_candidates_{flag}",
            "candidates",
            [column],
            sqlite_where=sa.text(f"{flag} = 1"),
            postgresql_where=sa.text(flag),
        )


def downgrade() -> None:
    op.drop_index("ix_candidates_best_b", table_name="candidates")
    op.drop_index("ix_candidates_best_a", table_name="candidates")
    with op.batch_alter_table("judgements", schema=None) as batch_op:
        batch_op.drop_column("links")
