"""What the archive returns: the outcome of adding articles, pages of facts, a fact with its
members and history."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from ..models import Claim, Fact, Failure, Usage

__all__ = ["AddReport", "ArchiveStats", "FactChange", "FactDetail", "FactEvent", "FactPage", "MemberDetail"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FactChange(_Model):
    """A fact that adding an article created or changed."""

    fact_id: str
    change: str = Field(description="created, grew, merged, split, verdict or updated")
    verdict_before: str | None
    verdict_after: str
    article_id: str | None
    previous: list[str] = Field(default_factory=list, description="the ids of the facts it replaces")


class AddReport(_Model):
    """What adding (or checking) articles did: the articles stored, those already there, those that
    failed and why, and the facts that changed."""

    added: list[str] = Field(default_factory=list)
    unchanged: list[str] = Field(default_factory=list, description="already archived with the same text")
    failures: list[Failure] = Field(default_factory=list)
    changes: list[FactChange] = Field(default_factory=list)
    candidates: int = Field(0, description="stored claims retrieved as candidate partners")
    usage: Usage = Field(default_factory=Usage)
    seconds: float = 0.0
    stored: bool = Field(True, description="False for a check that stored nothing")


class FactEvent(_Model):
    """One change in a fact's life."""

    at: dt.datetime
    article_id: str | None
    change: str
    verdict_before: str | None
    verdict_after: str
    previous: list[str] = Field(default_factory=list)
    reason: str


class FactPage(_Model):
    facts: list[Fact]
    next_cursor: str | None = None


class MemberDetail(_Model):
    claim: Claim
    article_id: str
    outlet: str | None
    relation: str
    origin: str


class FactDetail(_Model):
    fact: Fact
    members: list[MemberDetail]
    history: list[FactEvent]


class ArchiveStats(_Model):
    articles: int
    claims: int
    facts: dict[str, int]
