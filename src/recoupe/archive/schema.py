"""The archive's tables (SQLAlchemy 2). Alembic migrations in ``migrations/`` create and evolve them;
this module is their one description.

Every article has a sequence number (its place in the archive, in the order it was added); a
from-scratch cross-check of the archive reads the articles in that order, so the pair order, and
with it every tie-break, is the same as the incremental one's.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy import false as sa_false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "ArticleRow",
    "Base",
    "CandidateRow",
    "ClaimKeyRow",
    "ClaimRow",
    "CopyRow",
    "FactAliasRow",
    "FactEventRow",
    "FactMemberRow",
    "FactRow",
    "JobRow",
    "JudgementRow",
    "ShingleRow",
    "utcnow",
]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}  # noqa: RUF012 - SQLAlchemy's API


class ArticleRow(Base):
    """An article as it was added: the whole :class:`~recoupe.models.Article` and its claims'
    extraction record (``doc``: an :class:`~recoupe.models.ArticleClaims` without its claims)."""

    __tablename__ = "articles"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(200), unique=True)
    text_sha256: Mapped[str] = mapped_column(String(64))
    outlet: Mapped[str | None] = mapped_column(String(200))
    published: Mapped[dt.date | None]
    added_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    doc: Mapped[dict[str, Any]]


class ClaimRow(Base):
    """A claim, its origin (which can change when a later article turns out to be its source or its
    copy) and its sentence embedding (float32 bytes; semantic candidates within its blocks)."""

    __tablename__ = "claims"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(250), unique=True)
    article_seq: Mapped[int] = mapped_column(ForeignKey("articles.seq", ondelete="CASCADE"), index=True)
    article_id: Mapped[str] = mapped_column(String(200), index=True)
    origin: Mapped[str] = mapped_column(String(300))
    #: the article whose sentence it copies, when its origin comes from a copied sentence
    copied_from: Mapped[str | None] = mapped_column(String(200))
    doc: Mapped[dict[str, Any]]
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)


class ClaimKeyRow(Base):
    """A block key of a claim, and what it is used for: ``block`` (entity, subject or joined
    subject: amounts, wording, meaning), ``subject`` (roles and sites), ``dated`` (a dated claim's
    subject)."""

    __tablename__ = "claim_keys"
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    claim_seq: Mapped[int] = mapped_column(ForeignKey("claims.seq", ondelete="CASCADE"), primary_key=True, index=True)


class CandidateRow(Base):
    """A candidate pair before the partner cap (``a`` < ``b`` by claim sequence), its wording score
    and the blocks that proposed it; ``best_a`` / ``best_b`` when it is among the best partners of
    claim ``a`` / ``b``, ``kept`` when either holds."""

    __tablename__ = "candidates"
    a: Mapped[int] = mapped_column(ForeignKey("claims.seq", ondelete="CASCADE"), primary_key=True)
    b: Mapped[int] = mapped_column(ForeignKey("claims.seq", ondelete="CASCADE"), primary_key=True, index=True)
    score: Mapped[float] = mapped_column(Float)
    reasons: Mapped[list[Any]]
    kept: Mapped[bool] = mapped_column(Boolean, default=False)
    best_a: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    best_b: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    # a claim's best partners, read without its other candidates (partial indexes)
    __table_args__ = (
        Index("ix_candidates_best_a", "a", sqlite_where=text("best_a = 1"), postgresql_where=text("best_a")),
        Index("ix_candidates_best_b", "b", sqlite_where=text("best_b = 1"), postgresql_where=text("best_b")),
    )


class JudgementRow(Base):
    """The judgements of one kept pair (a rule's, or the model's), as :class:`PairJudgement` dicts;
    ``links`` when one of them links the pair into a fact (equivalent, compatible or contradicts):
    only those are read to rebuild facts."""

    __tablename__ = "judgements"
    a: Mapped[int] = mapped_column(ForeignKey("claims.seq", ondelete="CASCADE"), primary_key=True)
    b: Mapped[int] = mapped_column(ForeignKey("claims.seq", ondelete="CASCADE"), primary_key=True, index=True)
    docs: Mapped[list[Any]]
    links: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())


class CopyRow(Base):
    """A sentence of one article copied from a sentence of another (a
    :class:`~recoupe.crosscheck.syndication.Copied`), with its place in a from-scratch run's order:
    the pair of articles (``lo`` < ``hi`` by sequence), then ``position`` within the pair."""

    __tablename__ = "copies"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    article_seq: Mapped[int] = mapped_column(ForeignKey("articles.seq", ondelete="CASCADE"), index=True)
    source_seq: Mapped[int] = mapped_column(ForeignKey("articles.seq", ondelete="CASCADE"), index=True)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    source_start: Mapped[int] = mapped_column(Integer)
    source_end: Mapped[int] = mapped_column(Integer)
    lo: Mapped[int] = mapped_column(Integer)
    hi: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)


class ShingleRow(Base):
    """A word shingle of a sentence (its hash), for finding copied sentences by index."""

    __tablename__ = "shingles"
    hash: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    article_seq: Mapped[int] = mapped_column(
        ForeignKey("articles.seq", ondelete="CASCADE"), primary_key=True, autoincrement=False, index=True
    )
    sentence_start: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class FactRow(Base):
    """A fact as the cross-check gives it (``doc``: a :class:`~recoupe.models.Fact`)."""

    __tablename__ = "facts"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    verdict: Mapped[str] = mapped_column(String(20), index=True)
    rank: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    doc: Mapped[dict[str, Any]]
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    __table_args__ = (Index("ix_facts_order", "rank", "size", "id"),)


class FactMemberRow(Base):
    __tablename__ = "fact_members"
    fact_id: Mapped[str] = mapped_column(ForeignKey("facts.id", ondelete="CASCADE"), primary_key=True)
    claim_seq: Mapped[int] = mapped_column(ForeignKey("claims.seq", ondelete="CASCADE"), primary_key=True, index=True)
    article_id: Mapped[str] = mapped_column(String(200), index=True)


class FactAliasRow(Base):
    """A fact id that a later fact replaced (it grew, split or merged): lookups follow it."""

    __tablename__ = "fact_aliases"
    old_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    new_id: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)


class FactEventRow(Base):
    """One change of a fact: created, grew, merged, split, verdict changed; by which article."""

    __tablename__ = "fact_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    fact_id: Mapped[str] = mapped_column(String(40), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    article_id: Mapped[str | None] = mapped_column(String(200))
    change: Mapped[str] = mapped_column(String(20))
    verdict_before: Mapped[str | None] = mapped_column(String(20))
    verdict_after: Mapped[str] = mapped_column(String(20))
    previous: Mapped[list[Any]]
    reason: Mapped[str] = mapped_column(Text)


class JobRow(Base):
    """A job of the service: articles to add, run by a worker; the table is the queue, so a restart
    resumes what was queued or running."""

    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    body_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    request: Mapped[dict[str, Any]]
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    #: the worker running the job (``host:pid:token``) and until when its lease holds
    worker: Mapped[str | None] = mapped_column(String(200))
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (UniqueConstraint("idempotency_key", name="uq_jobs_idempotency_key"),)
