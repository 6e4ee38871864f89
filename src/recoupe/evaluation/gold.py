"""Gold claims and facts: load, validate, and convert them into recoupe claims.

Layout of a gold folder (written by hand, see ``ANNOTATION.md``)::

    claims/<article_id>.json   {"article_id": ..., "claims": [GoldClaim, ...]}
    facts.json                 {"facts": [GoldFact, ...]}

A gold claim gives its ``quote`` and ``occurrence`` (1-based), never offsets: the loader finds the
``occurrence``-th verbatim ``text.find`` of the quote in the article and stores the span. Any quote
that is not found verbatim, any fact member that names no gold claim, and any claim listed in two
facts is a :class:`~recoupe.errors.GoldError` that names the file and the claim id.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..articles import load_articles
from ..errors import ArticleError, GoldError
from ..models import (
    Alignment,
    Amount,
    Article,
    Bound,
    Claim,
    Modality,
    Quantity,
    Relation,
    Span,
    TimeRef,
    Verdict,
)
from ..normalize import weekday_of

__all__ = [
    "KINDS",
    "GoldClaim",
    "GoldFact",
    "GoldMember",
    "GoldQuantity",
    "GoldSet",
    "GoldTime",
    "find_occurrence",
    "gold_hash",
    "load_gold",
    "make_gold",
]

#: The claim kinds of ``ANNOTATION.md``, in the order results list them.
KINDS: tuple[str, ...] = ("amount", "count", "date", "attribution", "plan", "ranking", "place", "other")
Kind = Literal["amount", "count", "date", "attribution", "plan", "ranking", "place", "other"]
#: Keys a gold file must not carry: offsets are computed from the quote, never typed by hand.
_COMPUTED = ("span", "start", "end", "article_id")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class GoldQuantity(_Model):
    value: float
    unit: str | None = None
    currency: str | None = None
    bound: Bound = Bound.exact
    equivalents: list[Amount] = Field(default_factory=list)


class GoldTime(_Model):
    text: str
    start: dt.date | None = None
    end: dt.date | None = None


class GoldClaim(_Model):
    """One hand-written claim. ``article_id`` and ``span`` are filled by the loader."""

    id: str = Field(min_length=1)
    kind: Kind
    text: str = Field(min_length=1)
    quote: str = Field(min_length=1)
    occurrence: int = Field(1, ge=1)
    subject: str | None = None
    claimant: str | None = None
    quantity: GoldQuantity | None = None
    time: GoldTime | None = None
    location: str | None = None
    modality: Modality = Modality.reported_fact
    article_id: str | None = Field(None, description="computed by the loader")
    span: Span | None = Field(None, description="computed by the loader from quote and occurrence")

    def to_claim(self) -> Claim:
        """This gold claim as a recoupe :class:`Claim` (same id, exact alignment)."""
        if self.article_id is None or self.span is None:
            raise GoldError(f"gold claim {self.id}: not loaded (no article or span); use load_gold")
        quantity = None
        if self.quantity is not None:
            quantity = Quantity(
                value=self.quantity.value,
                unit=self.quantity.unit,
                currency=self.quantity.currency,
                bound=self.quantity.bound,
                equivalents=[a.model_copy() for a in self.quantity.equivalents],
            )
        time = None
        if self.time is not None:
            time = TimeRef(
                text=self.time.text,
                start=self.time.start,
                end=self.time.end,
                weekday=weekday_of(self.time.text),
            )
        return Claim(
            id=self.id,
            article_id=self.article_id,
            text=self.text,
            quote=self.quote,
            span=self.span.model_copy(),
            alignment=Alignment.exact,
            subject=self.subject,
            claimant=self.claimant,
            quantity=quantity,
            time=time,
            location=self.location,
            modality=self.modality,
        )


class GoldMember(_Model):
    claim: str
    relation: Literal["equivalent", "compatible", "contradicts"]

    @property
    def as_relation(self) -> Relation:
        return Relation(self.relation)


class GoldFact(_Model):
    id: str = Field(min_length=1)
    statement: str
    members: list[GoldMember] = Field(min_length=1)
    verdict: Verdict
    origins: list[str] = Field(default_factory=list)


class _ClaimsFile(_Model):
    article_id: str
    claims: list[GoldClaim]


class _FactsFile(_Model):
    facts: list[GoldFact]


class GoldSet(_Model):
    """Every gold claim (with its span) and fact, plus the articles they were read from."""

    articles: dict[str, Article]
    claims: list[GoldClaim]
    facts: list[GoldFact]
    hash: str | None = Field(None, description="gold_hash of the folder it was loaded from")

    def by_article(self) -> dict[str, list[GoldClaim]]:
        """Gold claims per article id (every article of the set, possibly with no claims)."""
        out: dict[str, list[GoldClaim]] = {aid: [] for aid in self.articles}
        for claim in self.claims:
            out.setdefault(claim.article_id or "", []).append(claim)
        return out

    def claim(self, claim_id: str) -> GoldClaim:
        for claim in self.claims:
            if claim.id == claim_id:
                return claim
        raise KeyError(claim_id)

    def fact_of(self, claim_id: str) -> GoldFact | None:
        for fact in self.facts:
            if any(m.claim == claim_id for m in fact.members):
                return fact
        return None

    def to_claims(self) -> dict[str, list[Claim]]:
        """Gold claims as recoupe :class:`Claim` objects per article id (the oracle mode's input).

        Ids are the gold ids; alignment is exact; the span is the computed one; a time's weekday is
        read from its text."""
        return {aid: [c.to_claim() for c in claims] for aid, claims in self.by_article().items()}


def find_occurrence(text: str, quote: str, occurrence: int = 1) -> Span | None:
    """Span of the ``occurrence``-th (1-based) verbatim ``text.find`` of ``quote``, or None."""
    if not quote or occurrence < 1:
        return None
    found = -1
    for _ in range(occurrence):
        found = text.find(quote, found + 1)
        if found < 0:
            return None
    return Span(start=found, end=found + len(quote))


def make_gold(
    articles: Iterable[Article],
    claims: Mapping[str, Sequence[GoldClaim]],
    facts: Sequence[GoldFact],
    *,
    sources: Mapping[str, str] | None = None,
    facts_source: str = "facts.json",
) -> GoldSet:
    """Validate gold claims against their articles and facts against the claims; compute spans.

    ``claims`` maps an article id to its gold claims; ``sources`` maps an article id to the file
    name used in error messages. Raises :class:`GoldError` naming the file and claim id when a quote
    is not found verbatim, a claim id is repeated, a fact member is unknown, or a claim is in two
    facts."""
    by_id = {a.id: a for a in articles}
    sources = dict(sources or {})
    loaded: list[GoldClaim] = []
    seen: dict[str, str] = {}
    for article_id in sorted(claims):
        source = sources.get(article_id, f"claims/{article_id}.json")
        article = by_id.get(article_id)
        if article is None:
            raise GoldError(f"{source}: no seed article with id {article_id!r}")
        for claim in claims[article_id]:
            if claim.id in seen:
                raise GoldError(f"{source}: claim {claim.id}: duplicate claim id (also in {seen[claim.id]})")
            seen[claim.id] = source
            span = find_occurrence(article.text, claim.quote, claim.occurrence)
            if span is None:
                count = article.text.count(claim.quote)
                detail = (
                    "quote not found verbatim in the article"
                    if count == 0
                    else f"quote occurs {count} time(s), occurrence {claim.occurrence} asked"
                )
                raise GoldError(f"{source}: claim {claim.id}: {detail}: {claim.quote!r}")
            loaded.append(claim.model_copy(update={"article_id": article_id, "span": span}))
    fact_of: dict[str, str] = {}
    fact_ids: set[str] = set()
    for fact in facts:
        if fact.id in fact_ids:
            raise GoldError(f"{facts_source}: fact {fact.id}: duplicate fact id")
        fact_ids.add(fact.id)
        for member in fact.members:
            if member.claim not in seen:
                raise GoldError(f"{facts_source}: fact {fact.id}: member claim {member.claim} does not exist")
            if member.claim in fact_of:
                where = fact_of[member.claim]
                again = "twice in the same fact" if where == fact.id else f"in two facts ({where}, {fact.id})"
                raise GoldError(f"{facts_source}: claim {member.claim}: {again}")
            fact_of[member.claim] = fact.id
    # Only annotated articles are part of the set: an article with no claims file is not "an
    # article with no claims", it is an article nobody annotated.
    return GoldSet(articles={a: by_id[a] for a in sorted(claims)}, claims=loaded, facts=list(facts))


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GoldError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise GoldError(f"{path}: not UTF-8 (bad byte at offset {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise GoldError(f"{path}: invalid JSON: {exc.msg} (line {exc.lineno})") from None


def _validation_message(path: Path, exc: ValidationError, raw: Any, list_key: str) -> str:
    """A pydantic error, with the claim or fact id it concerns when it can be told."""
    problems = []
    for err in exc.errors():
        loc = list(err["loc"])
        where = ".".join(map(str, loc))
        if len(loc) >= 2 and loc[0] == list_key and isinstance(loc[1], int):
            try:
                item_id = raw[list_key][loc[1]].get("id")
            except (AttributeError, IndexError, KeyError, TypeError):
                item_id = None
            if item_id is not None:
                kind = "claim" if list_key == "claims" else "fact"
                where = f"{kind} {item_id}: " + ".".join(map(str, loc[2:]))
        problems.append(f"{where}: {err['msg']}")
    return f"{path}: " + "; ".join(problems)


def load_gold(gold_dir: str | Path, seeds_dir: str | Path) -> GoldSet:
    """Load ``gold_dir/claims/*.json`` and ``gold_dir/facts.json`` against the seed articles.

    Every claim's span is computed from its quote and occurrence. Raises :class:`GoldError`, which
    names the file (and the claim or fact id), when anything does not fit."""
    gold_dir = Path(gold_dir)
    claims_dir = gold_dir / "claims"
    if not claims_dir.is_dir():
        raise GoldError(f"{claims_dir}: no gold claims folder")
    try:
        articles = load_articles(seeds_dir)
    except ArticleError as exc:
        raise GoldError(f"seed articles: {exc}") from None
    claims: dict[str, list[GoldClaim]] = {}
    sources: dict[str, str] = {}
    for path in sorted(claims_dir.glob("*.json")):
        raw = _read_json(path)
        if isinstance(raw, dict):
            for i, item in enumerate(raw.get("claims") or []):
                if isinstance(item, dict):
                    typed = [k for k in _COMPUTED if k in item]
                    if typed:
                        raise GoldError(
                            f"{path}: claim {item.get('id', f'#{i}')}: {', '.join(typed)} must not be "
                            "written by hand (offsets are computed from the quote)"
                        )
        try:
            parsed = _ClaimsFile.model_validate(raw)
        except ValidationError as exc:
            raise GoldError(_validation_message(path, exc, raw, "claims")) from None
        if parsed.article_id != path.stem:
            raise GoldError(f"{path}: article_id {parsed.article_id!r} does not match the file name")
        claims[parsed.article_id] = parsed.claims
        sources[parsed.article_id] = str(path)
    facts_path = gold_dir / "facts.json"
    raw_facts = _read_json(facts_path)
    try:
        facts = _FactsFile.model_validate(raw_facts).facts
    except ValidationError as exc:
        raise GoldError(_validation_message(facts_path, exc, raw_facts, "facts")) from None
    gold = make_gold(articles, claims, facts, sources=sources, facts_source=str(facts_path))
    gold.hash = gold_hash(gold_dir)
    return gold


def gold_hash(gold_dir: str | Path) -> str:
    """sha256 over the gold folder's ``.json`` files, sorted by relative path (each file's path and
    bytes are hashed, so renaming or moving a file changes the hash too)."""
    root = Path(gold_dir)
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*.json") if p.is_file()):
        rel = path.relative_to(root).as_posix().encode()
        data = path.read_bytes()
        digest.update(len(rel).to_bytes(8, "big") + rel + len(data).to_bytes(8, "big") + data)
    return digest.hexdigest()
