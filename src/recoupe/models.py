"""Data that crosses stages: pydantic models, strict (``extra="forbid"``)."""

from __future__ import annotations

import datetime as dt
import hashlib
from enum import Enum
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from .language import PARSED, detect_language


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Article(_Model):
    """One news article. Every offset in recoupe refers to ``text`` exactly as loaded."""

    id: str
    text: str
    outlet: str | None = None
    url: str | None = None
    published: dt.date | None = None
    language: str | None = None
    source: str | None = Field(default=None, description="file (and line) it was loaded from")

    @property
    def lang(self) -> str:
        """Two-letter language code for the parsers: ``language`` when given, else the language
        detected in ``text`` (French or English; French conventions for any other or when unsure)."""
        if self.language:
            return self.language.lower()[:2]
        return _detected_language(self.text)


@lru_cache(maxsize=4096)
def _detected_language(text: str) -> str:
    found = detect_language(text)
    return found if found in PARSED else "fr"


class Span(_Model):
    """Half-open character interval ``[start, end)`` into an article's text."""

    start: int = Field(ge=0)
    end: int = Field(ge=0)

    def slice(self, text: str) -> str:
        return text[self.start : self.end]

    def overlap(self, other: Span) -> int:
        return max(0, min(self.end, other.end) - max(self.start, other.start))

    def __len__(self) -> int:
        return self.end - self.start


class Sentence(_Model):
    """A sentence; ``kind`` says whether claims are taken from it (``body``) or not."""

    index: int
    span: Span
    text: str
    kind: Literal["body", "heading", "boilerplate"] = "body"


class Chunk(_Model):
    """Target sentences to extract from, plus the preceding context used only to resolve references."""

    article_id: str
    index: int
    target: Span
    context: Span | None = None
    sentence_indexes: list[int]


class Alignment(str, Enum):
    """How a quote was found: verbatim, verbatim up to typography (whitespace, case, quote and
    apostrophe variants), approximately, or not at all."""

    exact = "exact"
    normalized = "normalized"
    fuzzy = "fuzzy"
    none = "none"


class Bound(str, Enum):
    exact = "exact"
    more_than = "more_than"
    less_than = "less_than"
    up_to = "up_to"
    about = "about"


class Amount(_Model):
    value: float
    unit: str | None = None
    currency: str | None = None


class Quantity(_Model):
    """A number as the quote states it; ``equivalents`` holds the same amount in other currencies."""

    value: float
    unit: str | None = None
    currency: str | None = None
    bound: Bound = Bound.exact
    text: str | None = Field(default=None, description="the words the number was read from")
    equivalents: list[Amount] = Field(default_factory=list)


class TimeRef(_Model):
    """A time expression as written, and the dates it means when they can be known."""

    text: str
    start: dt.date | None = None
    end: dt.date | None = None
    weekday: int | None = Field(default=None, description="0=Monday … 6=Sunday, for day names")


class Modality(str, Enum):
    reported_fact = "reported_fact"
    announced_plan = "announced_plan"
    target_or_forecast = "target_or_forecast"
    quotation = "quotation"


class Claim(_Model):
    """An atomic, self-contained, check-worthy assertion grounded in its article."""

    id: str
    article_id: str
    text: str
    quote: str
    span: Span | None
    alignment: Alignment
    subject: str | None = None
    claimant: str | None = None
    quantity: Quantity | None = None
    time: TimeRef | None = None
    location: str | None = None
    modality: Modality = Modality.reported_fact
    chunk_index: int | None = None
    method: Literal["model", "rule"] = Field(
        default="model",
        description="'rule': added by the code for a sentence whose number or date no model claim carried",
    )
    flags: list[str] = Field(
        default_factory=list,
        description="where the claim's wording disagrees with its quote (a number, a day or a negation the "
        "quote does not state); the fields are read from the quote",
    )

    @staticmethod
    def make_id(article_id: str, text: str, quote: str) -> str:
        """Stable id: same article, claim text and quote give the same id."""
        digest = hashlib.sha256(f"{article_id}\x00{text}\x00{quote}".encode()).hexdigest()[:12]
        return f"{article_id}:{digest}"


class StageUsage(_Model):
    calls: int = 0
    cache_hits: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: int = 0
    reasks: int = 0
    seconds: float = 0.0


class Usage(_Model):
    """Model usage per stage (``extract``, ``adjudicate``)."""

    stages: dict[str, StageUsage] = Field(default_factory=dict)

    def stage(self, name: str) -> StageUsage:
        return self.stages.setdefault(name, StageUsage())

    @property
    def calls(self) -> int:
        return sum(s.calls for s in self.stages.values())

    @property
    def cache_hits(self) -> int:
        return sum(s.cache_hits for s in self.stages.values())

    @property
    def prompt_tokens(self) -> int:
        return sum(s.prompt_tokens for s in self.stages.values())

    @property
    def completion_tokens(self) -> int:
        return sum(s.completion_tokens for s in self.stages.values())

    def summary(self) -> str:
        return (
            f"{self.calls} model calls, {self.cache_hits} cache hits, "
            f"{self.prompt_tokens} prompt + {self.completion_tokens} completion tokens"
        )


class Failure(_Model):
    """An article that could not be processed, and why."""

    source: str
    article_id: str | None = None
    stage: str
    reason: str


class ArticleClaims(_Model):
    article: Article
    claims: list[Claim]
    ungrounded: int = Field(0, description="claims dropped because their quote was not found")
    ungrounded_claims: list[Claim] = Field(default_factory=list)


class Extraction(_Model):
    """Result of ``recoupe extract``: the articles with their claims, failures and usage."""

    articles: list[ArticleClaims] = Field(default_factory=list)
    failures: list[Failure] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    model: str | None = None
    prompts: dict[str, str] = Field(default_factory=dict, description="prompt id -> sha256")

    def claims(self) -> list[Claim]:
        return [c for a in self.articles for c in a.claims]


class Relation(str, Enum):
    equivalent = "equivalent"
    compatible = "compatible"
    contradicts = "contradicts"
    unrelated = "unrelated"


class Verdict(str, Enum):
    corroborated = "corroborated"
    single_source = "single_source"
    conflicting = "conflicting"


class PairJudgement(_Model):
    """The relation found between two claims of different articles, and how it was decided."""

    a: str
    b: str
    relation: Relation
    decided_by: Literal["rule", "model"]
    rationale: str
    facet: Literal["quantity", "time", "statement"] | None = Field(
        default=None, description="what was compared: the amounts, the days, or the statements"
    )


class FactMember(_Model):
    claim_id: str
    article_id: str
    relation: Relation
    origin: str
    primary: bool = Field(
        default=True,
        description="False when the claim is here for another facet than its own (its day, while "
        "its amount makes it a member of another fact)",
    )


class Fact(_Model):
    id: str
    facet: Literal["quantity", "time", "statement"]
    statement: str
    members: list[FactMember]
    verdict: Verdict
    origins: list[str]


def facts_by_claim(facts: list[Fact]) -> dict[str, Fact]:
    """Claim id -> the fact of the claim's own facet, in the order of ``facts``; a claim that sits
    only in facts of another facet (its day) maps to the first of those."""
    index: dict[str, Fact] = {}
    for fact in facts:
        for m in fact.members:
            if m.primary:
                index.setdefault(m.claim_id, fact)
    for fact in facts:
        for m in fact.members:
            index.setdefault(m.claim_id, fact)
    return index


class PairingStats(_Model):
    claims: int = 0
    all_pairs: int = 0
    candidate_pairs: int = 0
    decided_by_rule: int = 0
    sent_to_model: int = 0


class Report(_Model):
    """Result of ``recoupe check``: articles, claims, facts (conflicts first), pair stats and usage."""

    articles: list[ArticleClaims]
    facts: list[Fact]
    judgements: list[PairJudgement] = Field(default_factory=list)
    pairing: PairingStats = Field(default_factory=PairingStats)
    failures: list[Failure] = Field(default_factory=list)
    usage: Usage = Field(default_factory=Usage)
    model: str | None = None
    prompts: dict[str, str] = Field(default_factory=dict)

    def claims(self) -> list[Claim]:
        return [c for a in self.articles for c in a.claims]

    def fact_of(self, claim_id: str) -> Fact | None:
        """The fact of the claim's own facet (a claim may also appear in a fact about its day)."""
        return facts_by_claim(self.facts).get(claim_id)
