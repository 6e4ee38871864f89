"""Eval v2's yardstick cannot be fooled: systems made by code from the gold, each scored, with
bounds. The gold itself scores 1.0; span-only, text-only and altered systems score (almost) 0."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from conftest import EVAL, SEEDS
from recoupe.evaluation.gold import GoldSet, load_gold
from recoupe.evaluation.harness import Dataset, datasets, score_predictions
from recoupe.evaluation.scoring import score_extraction_strict, score_facts
from recoupe.evaluation.strict import strict_match_claims
from recoupe.models import (
    Alignment,
    Article,
    ArticleClaims,
    Claim,
    Extraction,
    Fact,
    FactMember,
    Quantity,
    Relation,
    Span,
    TimeRef,
    Verdict,
)

SETS = {d.name: d for d in datasets(EVAL, SEEDS)}


@pytest.fixture(scope="module", params=sorted(SETS))
def gold(request: pytest.FixtureRequest) -> GoldSet:
    d = SETS[request.param]
    return load_gold(d.gold, d.articles)


def _system(gold: GoldSet, change) -> list[ArticleClaims]:  # type: ignore[no-untyped-def]
    claims = gold.to_claims()
    return [
        ArticleClaims(article=article, claims=[c for c in (change(g, article) for g in claims.get(aid, [])) if c])
        for aid, article in gold.articles.items()
    ]


def _f1(gold: GoldSet, system: list[ArticleClaims]) -> float:
    scores, _ = score_extraction_strict(system, gold)
    return scores.micro.f1 or 0.0


def _tp(gold: GoldSet, system: list[ArticleClaims]) -> int:
    scores, _ = score_extraction_strict(system, gold)
    return scores.micro.tp


def test_the_gold_scores_one(gold: GoldSet) -> None:
    assert _f1(gold, _system(gold, lambda g, a: g)) == 1.0


def test_span_only_and_text_only_never_match(gold: GoldSet) -> None:
    span_only = _system(gold, lambda g, a: g.model_copy(update={"id": g.id + "-s", "text": "zzz"}))
    text_only = _system(gold, lambda g, a: g.model_copy(update={"id": g.id + "-t", "span": None}))
    assert _f1(gold, span_only) <= 0.05
    assert _f1(gold, text_only) == 0.0


def _sentence_of(article: Article, span: Span) -> Span:
    text = article.text
    start = max(text.rfind(". ", 0, span.start) + 2, text.rfind("\n", 0, span.start) + 1, 0)
    ends = [i for i in (text.find(". ", span.end), text.find("\n", span.end)) if i >= 0]
    return Span(start=start, end=min(ends) + 1 if ends else len(text))


def test_whole_sentences_and_duplicates_do_not_collect_atomic_claims(gold: GoldSet) -> None:
    def sentence(g: Claim, a: Article) -> Claim:
        assert g.span is not None
        s = _sentence_of(a, g.span)
        quote = s.slice(a.text)
        return g.model_copy(update={"id": f"{a.id}:{s.start}", "span": s, "quote": quote, "text": quote})

    sentences = _system(gold, sentence)
    for ac in sentences:  # one claim per sentence, as a sentence-level system would give
        ac.claims = list({c.id: c for c in ac.claims}.values())
    twice = [
        ac.model_copy(update={"claims": ac.claims + [c.model_copy(update={"id": c.id + "-2"}) for c in ac.claims]})
        for ac in sentences
    ]
    assert _tp(gold, twice) == _tp(gold, sentences)  # a copy collects nothing more
    assert _f1(gold, sentences) < 0.75


def test_altered_amounts_days_and_subjects_never_match(gold: GoldSet) -> None:
    def amount(g: Claim, a: Article) -> Claim | None:
        if g.quantity is None:
            return None
        q = Quantity(
            value=g.quantity.value * 1.3, unit=g.quantity.unit, currency=g.quantity.currency, bound=g.quantity.bound
        )
        return g.model_copy(update={"id": g.id + "-a", "quantity": q})

    def day(g: Claim, a: Article) -> Claim | None:
        t = g.time
        if t is None or (t.start is None and t.end is None and t.weekday is None):
            return None
        shift = dt.timedelta(days=400)
        moved = TimeRef(
            text=t.text,
            start=t.start and t.start + shift,
            end=t.end and t.end + shift,
            weekday=None if t.weekday is None else (t.weekday + 1) % 7,
        )
        return g.model_copy(update={"id": g.id + "-d", "time": moved})

    subjects = sorted({c.subject for c in gold.claims if c.subject})

    def subject(g: Claim, a: Article) -> Claim | None:
        others = [
            s
            for s in subjects
            if s and g.subject and s.lower() not in g.subject.lower() and g.subject.lower() not in s.lower()
        ]
        if not g.subject or not others:
            return None
        return g.model_copy(update={"id": g.id + "-x", "subject": others[len(g.id) % len(others)]})

    for change in (amount, day, subject):
        system = _system(gold, change)
        assert sum(len(ac.claims) for ac in system) > 0
        assert _tp(gold, system) == 0, change.__name__


def _gold_facts(gold: GoldSet) -> list[Fact]:
    article_of = {c.id: c.article_id for c in gold.claims}
    return [
        Fact(
            id=g.id,
            facet="statement",
            statement=g.statement,
            verdict=g.verdict,
            origins=sorted(g.origins),
            members=[
                FactMember(
                    claim_id=m.claim,
                    article_id=article_of[m.claim] or "",
                    relation=Relation(m.relation),
                    origin=(g.origins or ["?"])[0] if len(g.origins) < 2 else _member_origin(gold, g, m.claim),
                )
                for m in g.members
            ],
        )
        for g in gold.facts
    ]


def _member_origin(gold: GoldSet, fact, claim_id: str) -> str:  # type: ignore[no-untyped-def]
    # the origins are listed per fact; a member's own is the one named after its article, or the
    # fact's origin that no other article stands for
    article = next(c.article_id for c in gold.claims if c.id == claim_id)
    own = f"article:{article}"
    return (
        own
        if own in fact.origins
        else fact.origins[[m.claim for m in fact.members].index(claim_id) % len(fact.origins)]
    )


def test_gold_facts_score_perfect_verdicts(gold: GoldSet) -> None:
    claims = _system(gold, lambda g, a: g)
    _, matches = score_extraction_strict(claims, gold)
    scores = score_facts(_gold_facts(gold), gold, [m for ms in matches.values() for m in ms])
    assert scores.verdict_accuracy == 1.0
    assert scores.conflicts.recall in (1.0, None) and scores.conflicts.precision in (1.0, None)
    assert scores.bcubed.f1 == pytest.approx(1.0)


def test_all_alone_is_not_a_good_clustering(gold: GoldSet) -> None:
    """Every claim in a fact of its own: corroborated recall 0, conflicts missed."""
    claims = _system(gold, lambda g, a: g)
    _, matches = score_extraction_strict(claims, gold)
    alone = [
        Fact(
            id=c.id,
            facet="statement",
            statement=c.text,
            verdict=Verdict.single_source,
            origins=["x"],
            members=[
                FactMember(claim_id=c.id, article_id=c.article_id or "", relation=Relation.equivalent, origin="x")
            ],
        )
        for c in gold.claims
    ]
    scores = score_facts(alone, gold, [m for ms in matches.values() for m in ms])
    if any(g.verdict == Verdict.corroborated for g in gold.facts):
        assert scores.corroborated.recall == 0.0
    if any(g.verdict == Verdict.conflicting for g in gold.facts):
        assert scores.conflicts.recall == 0.0


def test_strict_matching_needs_both_evidence_and_content() -> None:
    text = (
        "Microsoft investit 4 milliards d'euros en France, et Amazon 1,2 milliard d'euros dans ses "
        "centres logistiques du nord du pays."
    )
    span = Span(start=0, end=38)
    gold = Claim(
        id="g",
        article_id="a",
        text="Microsoft investit 4 milliards d'euros en France.",
        quote=span.slice(text),
        alignment=Alignment.exact,
        span=span,
        subject="Microsoft",
        quantity=Quantity(value=4e9, currency="EUR"),
    )
    good = gold.model_copy(update={"id": "p"})
    assert [m.pred_id for m in strict_match_claims([good], [gold])] == ["p"]
    whole = good.model_copy(update={"span": Span(start=0, end=len(text)), "quote": text})
    assert strict_match_claims([whole], [gold]) == []  # a sentence holding two facts
    assert strict_match_claims([good.model_copy(update={"subject": "Amazon"})], [gold]) == []
    assert strict_match_claims([good.model_copy(update={"text": "zzz"})], [gold]) == []
    assert strict_match_claims([good.model_copy(update={"span": None})], [gold]) == []


def test_predictions_file_scores_like_the_harness(tmp_path: Path) -> None:
    """`recoupe eval --predictions` on a saved extraction gives the harness's strict row."""
    d = SETS["seeds"]
    gold = load_gold(d.gold, d.articles)
    system = _system(gold, lambda g, a: g if len(g.id) % 2 else None)
    path = tmp_path / "claims.json"
    path.write_text(Extraction(articles=system).model_dump_json(), encoding="utf-8")
    scored = score_predictions(path, Dataset("seeds", d.articles, d.gold, d.recordings))
    direct, _ = score_extraction_strict(system, gold)
    assert scored["extraction_v2"] == json.loads(direct.model_dump_json())
