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
    """One news article. Every offset in recoupe refers to ``text`` exactly as loaded.

    Attributes:
        id: the article's identifier, unique in a batch (a file's name without extension by default).
        text: the article as published, headline and byline included.
        outlet: who published it ("Le Monde"); shown in reports.
        url: where it was published; only an http(s) address ever becomes a link.
        published: the publication date; relative dates ("dimanche", "hier") are resolved against it.
        language: "fr", "en"...; when missing, the language is detected from the text (:attr:`lang`).
        source: the file (and line) it was loaded from.
    """

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
    """An atomic, self-contained, check-worthy assertion grounded in its article.

    Attributes:
        id: stable id, ``<article id>:<hash>`` of its text and quote.
        article_id: the article it comes from.
        text: the claim in a sentence readable alone (the model's wording, or the quote itself).
        quote: the article's own words that support it; ``text[span.start:span.end] == quote``.
        span: where the quote is in the article (half-open), or None when it could not be found.
        alignment: how the quote was found: exact, normalized (typography only), fuzzy, none.
        subject: the main entity it is about.
        claimant: who asserts it, when the article attributes it ("Brad Smith", "Reuters").
        quantity: the amount or count it states, read from the quote by the code.
        time: the day, date or period it states, resolved against the publication date.
        location: the place it states.
        modality: reported fact, announced plan, target or forecast, or quotation.
        chunk_index: the extraction request it came from.
        method: ``model``, or ``rule`` for a number or date the code added itself.
        flags: where the claim's wording disagrees with its quote.
    """

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
    """Model calls of one stage: calls made, answers from the cache, tokens, transport retries,
    schema re-asks, and seconds spent waiting for answers."""

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

    def since(self, before: Usage) -> Usage:
        """What this usage counts beyond ``before`` (an earlier copy of the same counters); stages
        with nothing new are left out.

        >>> before = Usage(); before.stage("extract").calls = 2
        >>> after = before.model_copy(deep=True); after.stage("extract").calls = 5
        >>> after.since(before).calls
        3
        """
        out = Usage()
        for name, stage in self.stages.items():
            was = before.stages.get(name)
            delta = stage.model_copy()
            if was is not None:
                for key in ("calls", "cache_hits", "prompt_tokens", "completion_tokens", "retries", "reasks"):
                    setattr(delta, key, getattr(stage, key) - getattr(was, key))
                delta.seconds = round(stage.seconds - was.seconds, 3)
            if delta.calls or delta.cache_hits or delta.retries or delta.reasks or delta.seconds:
                out.stages[name] = delta
        return out

    def add(self, more: Usage) -> None:
        """Add ``more``'s counters to these, stage by stage (another process's or worker's usage).

        >>> usage = Usage(); more = Usage(); more.stage("extract").calls = 2
        >>> usage.add(more); usage.add(more); usage.calls
        4
        """
        for name, stage in more.stages.items():
            mine = self.stage(name)
            for key in ("calls", "cache_hits", "prompt_tokens", "completion_tokens", "retries", "reasks"):
                setattr(mine, key, getattr(mine, key) + getattr(stage, key))
            mine.seconds = round(mine.seconds + stage.seconds, 3)

    def summary(self) -> str:
        return (
            f"{self.calls} model calls, {self.cache_hits} cache hits, "
            f"{self.prompt_tokens} prompt + {self.completion_tokens} completion tokens"
        )


class Failure(_Model):
    """An input or article that could not be processed, and why; the rest of the batch went on.

    Attributes:
        source: the file (and line) or article id concerned.
        article_id: the article's id when it was loaded.
        stage: where it failed: ``load``, ``extract``.
        reason: one line saying what is wrong, for the desk.
    """

    source: str
    article_id: str | None = None
    stage: str
    reason: str


class ArticleClaims(_Model):
    """One article and the claims found in it.

    Attributes:
        article: the article.
        claims: its grounded claims, in text order; ``text[span.start:span.end] == quote`` for each.
        ungrounded: how many model claims were dropped because their quote is not in the article.
        ungrounded_claims: those claims, for inspection (they never reach facts).
    """

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
    """How two claims relate: the same (``equivalent``), consistent but less precise, rounded, a
    bound or another currency (``compatible``), in conflict (``contradicts``), or not about the same
    thing (``unrelated``)."""

    equivalent = "equivalent"
    compatible = "compatible"
    contradicts = "contradicts"
    unrelated = "unrelated"


class Verdict(str, Enum):
    """A fact's verdict: stated by two or more independent origins that agree (``corroborated``),
    by one origin however many outlets relay it (``single_source``), or with members that
    contradict each other (``conflicting``)."""

    corroborated = "corroborated"
    single_source = "single_source"
    conflicting = "conflicting"


class PairJudgement(_Model):
    """The relation found between two claims of different articles, and how it was decided.

    Attributes:
        a, b: the two claim ids.
        relation: their relation.
        decided_by: ``rule`` (the code's comparison of numbers, dates, places, roles) or ``model``.
        rationale: why, in one sentence, for the editor.
        facet: what was compared.
    """

    a: str
    b: str
    relation: Relation
    decided_by: Literal["rule", "model"]
    rationale: str
    facet: Literal["quantity", "time", "statement"] | None = Field(
        default=None, description="what was compared: the amounts, the days, or the statements"
    )


class FactMember(_Model):
    """One claim in a fact.

    Attributes:
        claim_id: the claim.
        article_id: the article it comes from.
        relation: how it relates to the fact's reference member (``contradicts`` if a conflict touches it).
        origin: its independent origin: a news agency it relays ("Reuters"), or ``article:<id>``.
        primary: False when the claim is here for another facet than its own.
    """

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
    """Claims of different articles that state the same thing, with a verdict.

    Attributes:
        id: stable id (the same members give the same id).
        facet: what the fact is about: an amount (``quantity``), a day or date (``time``), or a
            ``statement``.
        statement: the reference member's wording.
        members: the claims, reference first.
        verdict: corroborated, single_source or conflicting.
        origins: the distinct independent origins behind the members.
    """

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
    """How many claim pairs a check considered: all pairs across articles, the candidates found by
    blocking, those the rules decided, and those sent to the model."""

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
