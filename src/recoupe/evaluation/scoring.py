"""Eval v2 scores: strict extraction and fact-level cross-check metrics. Pure functions.

Extraction (:func:`score_extraction_strict`)
    Predictions are matched to gold claims by :func:`~recoupe.evaluation.strict.strict_match_claims`.
    Every prediction counts: the grounded claims and the drafts dropped as ungrounded
    (``ArticleClaims.ungrounded_claims``), which are false positives. P/R/F1 are reported micro
    (pooled), per article and per kind. A gold claim's kind is its annotated kind; an unmatched
    prediction's kind is read from its fields (a currency: amount; another quantity: count; a day or
    date: date; else other), so per-kind precision is an estimate for the kinds the code cannot tell.
    A ratio over nothing is ``None``, never 0.

Cross-check (:func:`score_facts`), over **every** gold fact
    - A gold fact's *predicted verdict*: the verdict of the predicted fact (of their own facet) that
      holds the most of its matched members (ties: report order); ``single_source`` when no member
      was matched (a missed fact is scored as single-source). A gold conflict whose two sides sit in
      one predicted conflicting fact is predicted ``conflicting``.
    - Verdict accuracy and macro-F1 (over the verdicts that occur in gold or prediction).
    - Corroborated facts: recall over gold corroborated facts (predicted verdict corroborated);
      precision over reported corroborated facts, one being right when the members matched to one
      gold corroborated fact come from two or more distinct origins.
    - Conflicts: a gold conflict is found when one reported conflicting fact (any facet) holds
      predictions matching both sides (a ``contradicts`` member and another); a reported
      conflicting fact that finds no gold conflict is false.
    - Conflicts reported as corroborated (the worst error): gold conflicts both of whose sides sit
      in one reported corroborated fact.
    - B-cubed over all gold claims: a gold claim's predicted cluster is its matched prediction's
      fact; an unmatched gold claim is a cluster of its own.
    - Origin accuracy: over gold facts whose members were all matched, the share whose set of
      independent origins (from the predicted members) equals the gold's.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from ..models import ArticleClaims, Claim, Fact, Verdict
from .gold import KINDS, GoldFact, GoldSet
from .matching import Match
from .metrics import BCubed, bcubed
from .strict import strict_match_claims

__all__ = ["Counts", "ExtractionV2", "FactCase", "FactScores", "score_extraction_strict", "score_facts"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Counts(_Model):
    """True positives, false positives, false negatives, and the ratios (None over nothing)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    precision: float | None = None
    recall: float | None = None
    f1: float | None = None

    @classmethod
    def of(cls, tp: int, fp: int, fn: int) -> Counts:
        """The counts with their precision, recall and F1."""
        return cls.ratios(tp, fp, fn, tp / (tp + fp) if tp + fp else None, tp / (tp + fn) if tp + fn else None)

    @classmethod
    def ratios(cls, tp: int, fp: int, fn: int, precision: float | None, recall: float | None) -> Counts:
        """Counts whose precision and recall are computed over different sets (facts reported vs
        facts in the gold)."""
        f1 = None
        if precision is not None and recall is not None:
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return cls(tp=tp, fp=fp, fn=fn, precision=precision, recall=recall, f1=f1)


class ExtractionV2(_Model):
    """Strict extraction scores of one system on one set."""

    micro: Counts
    articles: dict[str, Counts]
    kinds: dict[str, Counts]
    predicted: int
    ungrounded: int


def _kind_of(claim: Claim) -> str:
    if claim.quantity is not None:
        return "amount" if claim.quantity.currency else "count"
    t = claim.time
    if t is not None and (t.start is not None or t.end is not None or t.weekday is not None):
        return "date"
    return "other"


def score_extraction_strict(
    predicted: Sequence[ArticleClaims], gold: GoldSet
) -> tuple[ExtractionV2, dict[str, list[Match]]]:
    """Strict P/R/F1 of ``predicted`` against ``gold``, and the matches per article id."""
    gold_claims = gold.to_claims()
    kind_of_gold = {c.id: c.kind for c in gold.claims}
    by_article = {ac.article.id: ac for ac in predicted}
    matches: dict[str, list[Match]] = {}
    articles: dict[str, Counts] = {}
    kinds: dict[str, list[int]] = {k: [0, 0, 0] for k in KINDS}
    total = [0, 0, 0]
    n_pred = n_ungrounded = 0
    for article_id in sorted(set(gold_claims) | set(by_article)):
        ac = by_article.get(article_id)
        preds = list(ac.claims) + list(ac.ungrounded_claims) if ac else []
        n_pred += len(preds)
        n_ungrounded += sum(1 for c in preds if c.span is None)
        golds = gold_claims.get(article_id, [])
        found = strict_match_claims(preds, golds)
        matches[article_id] = found
        tp, fp, fn = len(found), len(preds) - len(found), len(golds) - len(found)
        articles[article_id] = Counts.of(tp, fp, fn)
        total = [total[0] + tp, total[1] + fp, total[2] + fn]
        matched_pred = {m.pred_id for m in found}
        matched_gold = {m.gold_id for m in found}
        for m in found:
            kinds.setdefault(kind_of_gold[m.gold_id], [0, 0, 0])[0] += 1
        for p in preds:
            if p.id not in matched_pred:
                kinds.setdefault(_kind_of(p), [0, 0, 0])[1] += 1
        for g in golds:
            if g.id not in matched_gold:
                kinds.setdefault(kind_of_gold[g.id], [0, 0, 0])[2] += 1
    return (
        ExtractionV2(
            micro=Counts.of(*total),
            articles=articles,
            kinds={k: Counts.of(*v) for k, v in kinds.items() if any(v)},
            predicted=n_pred,
            ungrounded=n_ungrounded,
        ),
        matches,
    )


class FactCase(_Model):
    """One gold fact: its verdict and the one predicted for it."""

    fact: str
    gold: Verdict
    predicted: Verdict
    predicted_fact: str | None = None


class FactScores(_Model):
    """Fact-level cross-check scores of one system on one set (see the module docstring)."""

    gold_facts: int
    verdict_accuracy: float | None
    verdict_macro_f1: float | None
    verdicts: dict[str, Counts]
    corroborated: Counts
    conflicts: Counts
    conflicts_reported_corroborated: int
    bcubed: BCubed
    origin_accuracy: float | None
    origin_facts: int
    cases: list[FactCase]


class _Index:
    """Predicted facts seen from the gold claims, through the matches."""

    def __init__(self, facts: Sequence[Fact], matches: Sequence[Match]) -> None:
        self.facts = list(facts)
        self.pred_of = {m.gold_id: m.pred_id for m in matches}
        self.primary: dict[str, Fact] = {}
        self.any_facet: dict[str, list[Fact]] = defaultdict(list)
        self.origin: dict[str, str] = {}
        for fact in self.facts:
            for member in fact.members:
                self.any_facet[member.claim_id].append(fact)
                if member.primary and member.claim_id not in self.primary:
                    self.primary[member.claim_id] = fact
                    self.origin[member.claim_id] = member.origin
        for fact in self.facts:  # a claim only in facts of another facet: the first of those
            for member in fact.members:
                self.primary.setdefault(member.claim_id, fact)
                self.origin.setdefault(member.claim_id, member.origin)

    def sides(self, gold: GoldFact) -> tuple[set[str], set[str]]:
        """The predictions matched to a gold fact's contradicting members, and to the others."""
        against = {
            self.pred_of[m.claim] for m in gold.members if m.relation == "contradicts" and m.claim in self.pred_of
        }
        rest = {self.pred_of[m.claim] for m in gold.members if m.relation != "contradicts" and m.claim in self.pred_of}
        return against, rest

    def holds_both(self, fact: Fact, gold: GoldFact) -> bool:
        against, rest = self.sides(gold)
        ids = {m.claim_id for m in fact.members}
        return bool(ids & against) and bool(ids & rest)


def _predicted_verdict(index: _Index, gold: GoldFact) -> tuple[Verdict, str | None]:
    if gold.verdict == Verdict.conflicting:
        for fact in index.facts:
            if fact.verdict == Verdict.conflicting and index.holds_both(fact, gold):
                return Verdict.conflicting, fact.id
    preds = [index.pred_of[m.claim] for m in gold.members if m.claim in index.pred_of]
    counts: Counter[str] = Counter(index.primary[p].id for p in preds if p in index.primary)
    if not counts:
        return Verdict.single_source, None
    order = {f.id: n for n, f in enumerate(index.facts)}
    best = min(counts, key=lambda fid: (-counts[fid], order[fid]))
    return next(f.verdict for f in index.facts if f.id == best), best


def _verdict_counts(cases: Sequence[FactCase]) -> dict[str, Counts]:
    out: dict[str, Counts] = {}
    for verdict in Verdict:
        tp = sum(1 for c in cases if c.gold == verdict and c.predicted == verdict)
        fp = sum(1 for c in cases if c.gold != verdict and c.predicted == verdict)
        fn = sum(1 for c in cases if c.gold == verdict and c.predicted != verdict)
        if tp or fp or fn:
            out[verdict.value] = Counts.of(tp, fp, fn)
    return out


def _corroborated_precision(index: _Index, gold: GoldSet) -> tuple[int, int]:
    """(right, reported) over the reported corroborated facts."""
    fact_of_gold = {m.claim: g for g in gold.facts for m in g.members}
    gold_of_pred = {p: g for g, p in index.pred_of.items()}
    right = reported = 0
    for fact in index.facts:
        if fact.verdict != Verdict.corroborated:
            continue
        reported += 1
        origins: dict[str, set[str]] = defaultdict(set)
        for member in fact.members:
            g = gold_of_pred.get(member.claim_id)
            gf = fact_of_gold.get(g) if g else None
            if gf is not None and gf.verdict == Verdict.corroborated:
                origins[gf.id].add(member.origin)
        right += any(len(o) >= 2 for o in origins.values())
    return right, reported


def _origin_accuracy(index: _Index, gold: GoldSet) -> tuple[float | None, int]:
    eligible = right = 0
    for g in gold.facts:
        if not all(m.claim in index.pred_of for m in g.members):
            continue
        preds = [index.pred_of[m.claim] for m in g.members]
        if not all(p in index.origin for p in preds):
            continue
        eligible += 1
        right += {index.origin[p] for p in preds} == set(g.origins)
    return (right / eligible if eligible else None), eligible


def score_facts(facts: Sequence[Fact], gold: GoldSet, matches: Sequence[Match]) -> FactScores:
    """Fact-level scores of ``facts`` (a report's) against ``gold`` through ``matches``."""
    index = _Index(facts, matches)
    cases = []
    for g in gold.facts:
        verdict, fact_id = _predicted_verdict(index, g)
        cases.append(FactCase(fact=g.id, gold=g.verdict, predicted=verdict, predicted_fact=fact_id))
    verdicts = _verdict_counts(cases)
    f1s = [c.f1 for c in verdicts.values() if c.f1 is not None]
    gold_conflicts = [g for g in gold.facts if g.verdict == Verdict.conflicting]
    reported = [f for f in index.facts if f.verdict == Verdict.conflicting]
    found = [g for g in gold_conflicts if any(index.holds_both(f, g) for f in reported)]
    true_reports = [f for f in reported if any(index.holds_both(f, g) for g in gold_conflicts)]
    corroborated_facts = [f for f in index.facts if f.verdict == Verdict.corroborated]
    worst = sum(1 for g in gold_conflicts if any(index.holds_both(f, g) for f in corroborated_facts))
    right, n_reported = _corroborated_precision(index, gold)
    gold_corroborated = [c for c in cases if c.gold == Verdict.corroborated]
    recalled = sum(1 for c in gold_corroborated if c.predicted == Verdict.corroborated)
    gold_cluster = {m.claim: g.id for g in gold.facts for m in g.members}
    pred_cluster = {
        claim: (
            index.primary[index.pred_of[claim]].id if index.pred_of.get(claim) in index.primary else f"alone:{claim}"
        )
        for claim in gold_cluster
    }
    origin_accuracy, origin_facts = _origin_accuracy(index, gold)
    return FactScores(
        gold_facts=len(cases),
        verdict_accuracy=sum(c.gold == c.predicted for c in cases) / len(cases) if cases else None,
        verdict_macro_f1=sum(f1s) / len(f1s) if f1s else None,
        verdicts=verdicts,
        corroborated=Counts.ratios(
            recalled,
            n_reported - right,
            len(gold_corroborated) - recalled,
            right / n_reported if n_reported else None,
            recalled / len(gold_corroborated) if gold_corroborated else None,
        ),
        conflicts=Counts.ratios(
            len(found),
            len(reported) - len(true_reports),
            len(gold_conflicts) - len(found),
            len(true_reports) / len(reported) if reported else None,
            len(found) / len(gold_conflicts) if gold_conflicts else None,
        ),
        conflicts_reported_corroborated=worst,
        bcubed=bcubed(gold_cluster, pred_cluster),
        origin_accuracy=origin_accuracy,
        origin_facts=origin_facts,
        cases=cases,
    )
