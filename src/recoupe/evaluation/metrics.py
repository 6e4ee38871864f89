"""Extraction and cross-check metrics against gold. Pure functions: no I/O, no model calls.

Extraction (:func:`score_extraction`)
    Predicted claims (``ArticleClaims.claims``, what the pipeline outputs) are matched to gold
    claims article by article with :func:`~recoupe.evaluation.matching.match_claims`. A match is a
    true positive, an unmatched prediction a false positive, an unmatched gold claim a false
    negative. *micro* pools the counts of every article; *macro* is the mean of the per-article
    precision, recall and F1. A ratio whose denominator is 0 is 0.0 (the counts are reported next
    to it).

    Grounding rate: the share of predicted claims by alignment (exact, normalized, fuzzy, none),
    where the claims dropped as ungrounded (``ArticleClaims.ungrounded``) count as ``none``.

    Field accuracy, on matched pairs only:

    - ``quantity_value`` (main value within 1 %), ``unit``, ``currency``, ``bound``: over pairs where
      at least one side has a quantity; a side without one makes the field wrong;
    - ``time``: over pairs where at least one side has a time; right when both have one and, if
      either carries a date, start and end are equal, else the folded texts are equal;
    - ``claimant``: every pair; folded equality, ``None`` equals ``None``;
    - ``subject``: every pair; folded, equal or one containing the other, ``None`` equals ``None``.

    Misses by kind: recall per gold claim kind.

Cross-check (:func:`score_crosscheck`)
    Predicted facts are mapped onto gold claims through the matches (a gold claim's predicted
    claim is the one matched to it). Only matched gold claims are scored.

    - Pairwise relation of two claims: members of the same fact are ``contradicts`` if either
      member's relation is ``contradicts``, else ``equivalent`` if both are ``equivalent``, else
      ``compatible``; claims in different facts (or in none) are ``unrelated``. When two predicted
      claims share several facts (a claim may sit in a quantity fact and a time fact), the
      relation is ``contradicts`` if any shared fact says so, else ``equivalent`` if any does,
      else ``compatible``.
    - Relation macro-F1: over every pair of matched gold claims from different articles, the F1 of
      each relation label, averaged over the labels that occur in gold or prediction on those pairs.
    - Contradiction precision and recall: the ``contradicts`` label on the same pairs.
    - B-cubed precision, recall and F1 of the clustering, over matched gold claims. A gold claim's
      gold cluster is its gold fact; its predicted cluster is the first predicted fact listing its
      matched predicted claim (the order of ``Report.facts``, as ``Report.fact_of``), or itself
      alone when that claim is in no fact.
    - Verdict accuracy: for each gold fact with at least two members, the predicted fact that holds
      the most of its matched members (ties: the earlier predicted fact) gives the predicted
      verdict; no matched member in any predicted fact counts as wrong.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from itertools import combinations

from pydantic import BaseModel, ConfigDict, Field

from ..models import (
    Alignment,
    ArticleClaims,
    Claim,
    Fact,
    Relation,
    TimeRef,
    facts_by_claim,
)
from .gold import KINDS, GoldSet
from .matching import Match, fold_text, match_claims, values_agree

__all__ = [
    "PRF",
    "ArticleScores",
    "BCubed",
    "CrossCheckScores",
    "ExtractionScores",
    "FieldScore",
    "GroundingScores",
    "KindRecall",
    "MacroPRF",
    "VerdictCase",
    "VerdictScores",
    "bcubed",
    "field_scores",
    "grounding_scores",
    "pair_relation",
    "prf",
    "relation_pairs",
    "score_crosscheck",
    "score_extraction",
]

FIELDS = ("quantity_value", "unit", "currency", "bound", "time", "claimant", "subject")
RELATION_LABELS = tuple(r.value for r in Relation)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PRF(_Model):
    tp: int
    fp: int
    fn: int
    precision: float
    recall: float
    f1: float


class MacroPRF(_Model):
    precision: float
    recall: float
    f1: float


class GroundingScores(_Model):
    total: int = Field(description="predicted claims, including the ones dropped as ungrounded")
    counts: dict[str, int]
    shares: dict[str, float]
    grounded: float = Field(description="share with any alignment but none")


class FieldScore(_Model):
    correct: int
    total: int
    accuracy: float | None = Field(description="None when no pair carries the field")


class KindRecall(_Model):
    gold: int
    matched: int
    recall: float | None = Field(description="None when the gold has no claim of this kind")


class ArticleScores(_Model):
    article_id: str
    predicted: int
    gold: int
    counts: PRF
    grounding: GroundingScores
    matches: list[Match]
    missed: list[str] = Field(description="gold claim ids with no match")
    spurious: list[str] = Field(description="predicted claim ids with no match")


class ExtractionScores(_Model):
    articles: list[ArticleScores]
    micro: PRF
    macro: MacroPRF
    grounding: GroundingScores
    fields: dict[str, FieldScore]
    by_kind: dict[str, KindRecall]
    unscored_articles: list[str] = Field(
        default_factory=list, description="predicted articles that have no gold annotation"
    )


class BCubed(_Model):
    items: int
    precision: float
    recall: float
    f1: float


class VerdictCase(_Model):
    gold_fact: str
    gold_verdict: str
    predicted_fact: str | None
    predicted_verdict: str | None
    correct: bool


class VerdictScores(_Model):
    total: int
    correct: int
    accuracy: float | None
    cases: list[VerdictCase]


class CrossCheckScores(_Model):
    gold_claims: int
    matched_gold_claims: int
    pairs: int = Field(description="pairs of matched gold claims from different articles")
    relation_macro_f1: float
    relations: dict[str, PRF]
    contradiction: PRF
    bcubed: BCubed
    verdict: VerdictScores


# -- small arithmetic ----------------------------------------------------------------------------
def _ratio(num: float, den: float) -> float:
    return num / den if den else 0.0


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def prf(tp: int, fp: int, fn: int) -> PRF:
    """Precision, recall and F1 from counts (0.0 when a denominator is 0)."""
    p, r = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    return PRF(tp=tp, fp=fp, fn=fn, precision=p, recall=r, f1=_f1(p, r))


# -- extraction ----------------------------------------------------------------------------------
def grounding_scores(articles: Iterable[ArticleClaims]) -> GroundingScores:
    """Share of predicted claims by alignment; claims dropped as ungrounded count as ``none``."""
    counts = {a.value: 0 for a in Alignment}
    for item in articles:
        for claim in item.claims:
            counts[claim.alignment.value] += 1
        counts[Alignment.none.value] += max(item.ungrounded, len(item.ungrounded_claims))
    total = sum(counts.values())
    shares = {k: _ratio(v, total) for k, v in counts.items()}
    return GroundingScores(
        total=total,
        counts=counts,
        shares=shares,
        grounded=_ratio(total - counts[Alignment.none.value], total),
    )


def _fold_or_none(value: str | None) -> str | None:
    folded = fold_text(value) if value else ""
    return folded or None


def _time_equal(p: TimeRef, g: TimeRef) -> bool:
    if p.start or p.end or g.start or g.end:
        return p.start == g.start and p.end == g.end
    return fold_text(p.text) == fold_text(g.text)


def _field_results(pred: Claim, gold: Claim) -> dict[str, bool | None]:
    """For one matched pair: each field right (True), wrong (False) or not scored (None)."""
    out: dict[str, bool | None] = {}
    pq, gq = pred.quantity, gold.quantity
    if pq is None and gq is None:
        out.update(quantity_value=None, unit=None, currency=None, bound=None)
    elif pq is None or gq is None:
        out.update(quantity_value=False, unit=False, currency=False, bound=False)
    else:
        out["quantity_value"] = values_agree(pq.value, gq.value)
        out["unit"] = _fold_or_none(pq.unit) == _fold_or_none(gq.unit)
        out["currency"] = (pq.currency or "").upper() == (gq.currency or "").upper()
        out["bound"] = pq.bound == gq.bound
    if pred.time is None and gold.time is None:
        out["time"] = None
    elif pred.time is None or gold.time is None:
        out["time"] = False
    else:
        out["time"] = _time_equal(pred.time, gold.time)
    out["claimant"] = _fold_or_none(pred.claimant) == _fold_or_none(gold.claimant)
    ps, gs = _fold_or_none(pred.subject), _fold_or_none(gold.subject)
    if ps is None or gs is None:
        out["subject"] = ps is None and gs is None
    else:
        out["subject"] = ps in gs or gs in ps
    return out


def field_scores(pairs: Iterable[tuple[Claim, Claim]]) -> dict[str, FieldScore]:
    """Field accuracy over (predicted, gold) matched pairs (see the module docstring)."""
    correct = dict.fromkeys(FIELDS, 0)
    total = dict.fromkeys(FIELDS, 0)
    for pred, gold in pairs:
        for field, ok in _field_results(pred, gold).items():
            if ok is None:
                continue
            total[field] += 1
            correct[field] += int(ok)
    return {
        f: FieldScore(correct=correct[f], total=total[f], accuracy=correct[f] / total[f] if total[f] else None)
        for f in FIELDS
    }


def score_extraction(
    predicted: Sequence[ArticleClaims],
    gold: GoldSet,
    matches: Mapping[str, Sequence[Match]] | None = None,
) -> ExtractionScores:
    """Precision, recall, F1, grounding, field accuracy and recall per kind of ``predicted``
    against ``gold``.

    Every annotated gold article is scored (an article with no prediction has every gold claim
    missed); predicted articles with no gold annotation are listed in ``unscored_articles``.
    ``matches`` (article id -> matches) is computed with :func:`match_claims` when not given."""
    gold_claims = gold.to_claims()
    kinds = {c.id: c.kind for c in gold.claims}
    by_article = {a.article.id: a for a in predicted}
    per_article: list[ArticleScores] = []
    pairs: list[tuple[Claim, Claim]] = []
    tp = fp = fn = 0
    kind_gold: Counter[str] = Counter()
    kind_matched: Counter[str] = Counter()
    for article_id in sorted(gold_claims):
        golds = gold_claims[article_id]
        item = by_article.get(article_id)
        preds = item.claims if item is not None else []
        found = list(matches[article_id]) if matches is not None and article_id in matches else None
        if found is None:
            found = match_claims(preds, golds)
        pred_by_id = {c.id: c for c in preds}
        gold_by_id = {c.id: c for c in golds}
        for m in found:
            if m.pred_id not in pred_by_id or m.gold_id not in gold_by_id:
                raise ValueError(
                    f"article {article_id}: match {m.pred_id} -> {m.gold_id} names a claim that is "
                    "not among this article's predicted or gold claims"
                )
            pairs.append((pred_by_id[m.pred_id], gold_by_id[m.gold_id]))
        matched_gold = {m.gold_id for m in found}
        matched_pred = {m.pred_id for m in found}
        counts = prf(len(found), len(preds) - len(matched_pred), len(golds) - len(matched_gold))
        tp, fp, fn = tp + counts.tp, fp + counts.fp, fn + counts.fn
        for g in golds:
            kind_gold[kinds[g.id]] += 1
            if g.id in matched_gold:
                kind_matched[kinds[g.id]] += 1
        per_article.append(
            ArticleScores(
                article_id=article_id,
                predicted=len(preds),
                gold=len(golds),
                counts=counts,
                grounding=grounding_scores([item] if item is not None else []),
                matches=found,
                missed=[g.id for g in golds if g.id not in matched_gold],
                spurious=[p.id for p in preds if p.id not in matched_pred],
            )
        )
    n = len(per_article)
    macro = MacroPRF(
        precision=sum(a.counts.precision for a in per_article) / n if n else 0.0,
        recall=sum(a.counts.recall for a in per_article) / n if n else 0.0,
        f1=sum(a.counts.f1 for a in per_article) / n if n else 0.0,
    )
    by_kind = {
        k: KindRecall(
            gold=kind_gold[k],
            matched=kind_matched[k],
            recall=kind_matched[k] / kind_gold[k] if kind_gold[k] else None,
        )
        for k in KINDS
    }
    scored = [by_article[a] for a in sorted(gold_claims) if a in by_article]
    return ExtractionScores(
        articles=per_article,
        micro=prf(tp, fp, fn),
        macro=macro,
        grounding=grounding_scores(scored),
        fields=field_scores(pairs),
        by_kind=by_kind,
        unscored_articles=sorted(a for a in by_article if a not in gold_claims),
    )


# -- cross-check ---------------------------------------------------------------------------------
def pair_relation(a: Relation | str, b: Relation | str) -> Relation:
    """Relation between two members of one fact, from their relations to the fact."""
    ra, rb = Relation(a), Relation(b)
    if Relation.contradicts in (ra, rb):
        return Relation.contradicts
    if ra == rb == Relation.equivalent:
        return Relation.equivalent
    return Relation.compatible


_PRIORITY = {Relation.contradicts: 0, Relation.equivalent: 1, Relation.compatible: 2}


class _Clusters:
    """Claim -> relations to each fact that lists it, and claim -> first fact."""

    def __init__(self, facts: Iterable[tuple[str, Iterable[tuple[str, Relation]]]]) -> None:
        self.member: dict[str, dict[str, Relation]] = {}
        self.first: dict[str, str] = {}
        for fact_id, members in facts:
            for claim_id, relation in members:
                self.member.setdefault(claim_id, {}).setdefault(fact_id, relation)
                self.first.setdefault(claim_id, fact_id)

    def relation(self, a: str, b: str) -> Relation:
        fa, fb = self.member.get(a, {}), self.member.get(b, {})
        shared = [pair_relation(fa[f], fb[f]) for f in fa if f in fb]
        if not shared:
            return Relation.unrelated
        return min(shared, key=_PRIORITY.__getitem__)


def relation_pairs(
    facts: Sequence[Fact], gold: GoldSet, matches: Iterable[Match]
) -> list[tuple[str, str, Relation, Relation]]:
    """``(gold_a, gold_b, gold_relation, predicted_relation)`` for every pair of matched gold claims
    from different articles, in gold order."""
    gold_to_pred = {m.gold_id: m.pred_id for m in matches}
    gold_clusters = _Clusters((f.id, ((m.claim, m.as_relation) for m in f.members)) for f in gold.facts)
    pred_clusters = _Clusters((f.id, ((m.claim_id, m.relation) for m in f.members)) for f in facts)
    matched = [c for c in gold.claims if c.id in gold_to_pred]
    out = []
    for a, b in combinations(matched, 2):
        if a.article_id == b.article_id:
            continue
        out.append(
            (
                a.id,
                b.id,
                gold_clusters.relation(a.id, b.id),
                pred_clusters.relation(gold_to_pred[a.id], gold_to_pred[b.id]),
            )
        )
    return out


def bcubed(gold_cluster: Mapping[str, str], pred_cluster: Mapping[str, str]) -> BCubed:
    """B-cubed precision, recall and F1; both mappings send each item to its cluster label and
    must have the same keys."""
    items = sorted(gold_cluster)
    if set(items) != set(pred_cluster):
        raise ValueError("gold and predicted clusterings must cover the same items")
    if not items:
        return BCubed(items=0, precision=0.0, recall=0.0, f1=0.0)
    gold_members: dict[str, set[str]] = {}
    pred_members: dict[str, set[str]] = {}
    for item in items:
        gold_members.setdefault(gold_cluster[item], set()).add(item)
        pred_members.setdefault(pred_cluster[item], set()).add(item)
    precision = recall = 0.0
    for item in items:
        g, p = gold_members[gold_cluster[item]], pred_members[pred_cluster[item]]
        both = len(g & p)
        precision += both / len(p)
        recall += both / len(g)
    precision /= len(items)
    recall /= len(items)
    return BCubed(items=len(items), precision=precision, recall=recall, f1=_f1(precision, recall))


def score_crosscheck(facts: Sequence[Fact], gold: GoldSet, matches: Iterable[Match]) -> CrossCheckScores:
    """Relation macro-F1, contradiction P/R, B-cubed and verdict accuracy of predicted ``facts``
    (see the module docstring). ``matches`` are the extraction matches of every article, pooled;
    in oracle mode, :func:`~recoupe.evaluation.matching.oracle_matches`."""
    matches = list(matches)
    gold_to_pred = {m.gold_id: m.pred_id for m in matches}
    gold_ids = {c.id for c in gold.claims}
    unknown = sorted(set(gold_to_pred) - gold_ids)
    if unknown:
        raise ValueError(f"matches name gold claims that are not in the gold set: {unknown[:5]}")

    # relations
    pairs = relation_pairs(facts, gold, matches)
    counts = {label: [0, 0, 0] for label in RELATION_LABELS}  # tp, fp, fn
    seen: set[str] = set()
    for _, _, g, p in pairs:
        seen.update((g.value, p.value))
        if g == p:
            counts[g.value][0] += 1
        else:
            counts[p.value][1] += 1
            counts[g.value][2] += 1
    relations = {label: prf(*counts[label]) for label in RELATION_LABELS}
    present = [label for label in RELATION_LABELS if label in seen]
    macro_f1 = sum(relations[label].f1 for label in present) / len(present) if present else 0.0

    # clustering
    # A claim's cluster is the fact of its own facet (a claim can also sit in a fact about its day).
    pred_first = {claim_id: fact.id for claim_id, fact in facts_by_claim(list(facts)).items()}
    gold_first = {m.claim: f.id for f in gold.facts for m in f.members}
    matched = [c.id for c in gold.claims if c.id in gold_to_pred]
    gold_cluster = {g: gold_first.get(g, f"gold-alone:{g}") for g in matched}
    pred_cluster = {g: pred_first.get(gold_to_pred[g], f"pred-alone:{gold_to_pred[g]}") for g in matched}
    b3 = bcubed(gold_cluster, pred_cluster)

    # verdicts
    pred_order = {f.id: i for i, f in enumerate(facts)}
    pred_verdict = {f.id: f.verdict.value for f in facts}
    cases = []
    for fact in gold.facts:
        if len(fact.members) < 2:
            continue
        votes: Counter[str] = Counter()
        for member in fact.members:
            pred_id = gold_to_pred.get(member.claim)
            if pred_id is not None and pred_id in pred_first:
                votes[pred_first[pred_id]] += 1
        chosen = min(votes, key=lambda f: (-votes[f], pred_order[f])) if votes else None
        verdict = pred_verdict[chosen] if chosen is not None else None
        cases.append(
            VerdictCase(
                gold_fact=fact.id,
                gold_verdict=fact.verdict.value,
                predicted_fact=chosen,
                predicted_verdict=verdict,
                correct=verdict == fact.verdict.value,
            )
        )
    correct = sum(c.correct for c in cases)
    return CrossCheckScores(
        gold_claims=len(gold.claims),
        matched_gold_claims=len(matched),
        pairs=len(pairs),
        relation_macro_f1=macro_f1,
        relations=relations,
        contradiction=relations[Relation.contradicts.value],
        bcubed=b3,
        verdict=VerdictScores(
            total=len(cases),
            correct=correct,
            accuracy=correct / len(cases) if cases else None,
            cases=cases,
        ),
    )
