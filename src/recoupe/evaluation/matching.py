"""One-to-one matching of predicted claims to gold claims, article by article.

The rule, in plain words:

1. Only claims of the same article are compared.
2. Every (predicted, gold) pair gets three measures:

   - **span overlap**: the length of the intersection of the two half-open character spans divided
     by the length of their union (0 when the predicted claim has no span, i.e. was not grounded);
   - **text similarity**: rapidfuzz ``token_sort_ratio`` of the two claim texts, after folding
     (lower case, typographic apostrophes, guillemets and spaces folded, punctuation dropped),
     divided by 100. It is symmetric on purpose: a whole sentence copied as a "claim" is not
     judged identical to the one atomic gold claim whose words it contains (``token_set_ratio``
     would give it 1.0);
   - **quantity agreement**, only when both claims carry a quantity: 1 when some value of the one
     (its value or one of its currency equivalents) is within 1 % of some value of the other,
     else 0.

3. The score is ``0.5 * span_overlap + 0.5 * text_similarity``; when both claims carry a quantity it
   is ``0.4 * span_overlap + 0.4 * text_similarity + 0.2 * quantity_agreement``.
4. A pair can never match when it is **blocked**: both claims carry a quantity, both quantities have
   the same currency and the same unit (``None`` equals ``None``), and no value agrees within 1 %.
   "4 milliards d'euros" never matches "1,2 milliard d'euros", however close the sentences are.
5. A pair whose score is below :data:`THRESHOLD` (0.5) is not a match (a score of exactly 0.5 is).
6. Among the pairs left, predictions and gold claims are paired one to one so that the total score
   is as large as possible (Hungarian algorithm, ``scipy.optimize.linear_sum_assignment``). A
   prediction that overlaps two gold claims is therefore given to one of them at most, and the
   other gold claim is either matched by another prediction or counted as missed.
7. The result does not depend on input order: both sides are sorted by span (start, end; no span
   last) and then id before the assignment.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict
from rapidfuzz import fuzz
from rapidfuzz.utils import default_process
from scipy.optimize import linear_sum_assignment

from ..models import Claim, Quantity, Span
from ..normalize import fold

__all__ = [
    "THRESHOLD",
    "VALUE_TOLERANCE",
    "Match",
    "PairScore",
    "fold_text",
    "match_claims",
    "oracle_matches",
    "pair_score",
    "quantities_conflict",
    "quantity_agreement",
    "span_iou",
    "text_similarity",
    "values_agree",
]

#: A pair scoring below this is never a match.
THRESHOLD = 0.5
#: Two values agree when they differ by at most this share of the larger one.
VALUE_TOLERANCE = 0.01


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Match(_Model):
    """A predicted claim paired with a gold claim, with the measures that paired them."""

    pred_id: str
    gold_id: str
    score: float
    span_iou: float
    text_sim: float
    quantity_agree: bool | None = None


class PairScore(_Model):
    score: float
    span_iou: float
    text_sim: float
    quantity_agree: bool | None = None
    blocked: bool = False


def span_iou(a: Span | None, b: Span | None) -> float:
    """|a ∩ b| / |a ∪ b| of half-open spans; 0 when either is missing or both are empty."""
    if a is None or b is None:
        return 0.0
    inter = a.overlap(b)
    union = len(a) + len(b) - inter
    return inter / union if union > 0 else 0.0


def fold_text(text: str) -> str:
    """Lower case, typography folded, punctuation dropped, whitespace collapsed."""
    return " ".join(default_process(fold(text)).split())


def text_similarity(a: str, b: str) -> float:
    """rapidfuzz ``token_sort_ratio`` of the folded texts, in [0, 1]."""
    return fuzz.token_sort_ratio(fold_text(a), fold_text(b)) / 100.0


def values_agree(a: float, b: float, tolerance: float = VALUE_TOLERANCE) -> bool:
    """True when ``a`` and ``b`` differ by at most ``tolerance`` of the larger magnitude."""
    return abs(a - b) <= tolerance * max(abs(a), abs(b))


def _values(q: Quantity) -> list[float]:
    return [q.value, *(e.value for e in q.equivalents)]


def quantity_agreement(a: Quantity | None, b: Quantity | None) -> bool | None:
    """None unless both quantities exist; then whether some value of one (main or equivalent) is
    within 1 % of some value of the other."""
    if a is None or b is None:
        return None
    return any(values_agree(x, y) for x in _values(a) for y in _values(b))


def _same_measure(a: Quantity, b: Quantity) -> bool:
    def norm(s: str | None) -> str | None:
        return s.strip().casefold() if s else None

    return norm(a.currency) == norm(b.currency) and norm(a.unit) == norm(b.unit)


def quantities_conflict(a: Quantity | None, b: Quantity | None) -> bool:
    """True when both quantities exist, have the same currency and unit, and no value agrees
    within 1 %: such a pair can never match."""
    if a is None or b is None:
        return False
    return _same_measure(a, b) and not quantity_agreement(a, b)


def pair_score(pred: Claim, gold: Claim) -> PairScore:
    """The score of one (predicted, gold) pair under the module's rule."""
    iou = span_iou(pred.span, gold.span)
    sim = text_similarity(pred.text, gold.text)
    agree = quantity_agreement(pred.quantity, gold.quantity)
    score = 0.5 * iou + 0.5 * sim if agree is None else 0.4 * iou + 0.4 * sim + 0.2 * (1.0 if agree else 0.0)
    return PairScore(
        score=round(score, 10),
        span_iou=round(iou, 10),
        text_sim=round(sim, 10),
        quantity_agree=agree,
        blocked=quantities_conflict(pred.quantity, gold.quantity),
    )


def _order(claim: Claim) -> tuple[int, int, int, str]:
    if claim.span is None:
        return (1, 0, 0, claim.id)
    return (0, claim.span.start, claim.span.end, claim.id)


def match_claims(predicted: Sequence[Claim], gold: Sequence[Claim], threshold: float = THRESHOLD) -> list[Match]:
    """Match one article's predicted claims to its gold claims one to one (see module docstring).

    Returns the matches in gold order (by span, then id)."""
    preds = sorted(predicted, key=_order)
    golds = sorted(gold, key=_order)
    if not preds or not golds:
        return []
    scores = [[pair_score(p, g) for g in golds] for p in preds]
    weights = np.zeros((len(preds), len(golds)))
    for i, row in enumerate(scores):
        for j, s in enumerate(row):
            if not s.blocked and s.score >= threshold:
                weights[i, j] = s.score
    rows, cols = linear_sum_assignment(weights, maximize=True)
    matches = []
    for i, j in zip(rows.tolist(), cols.tolist(), strict=True):
        s = scores[i][j]
        if s.blocked or s.score < threshold:
            continue
        matches.append(
            Match(
                pred_id=preds[i].id,
                gold_id=golds[j].id,
                score=s.score,
                span_iou=s.span_iou,
                text_sim=s.text_sim,
                quantity_agree=s.quantity_agree,
            )
        )
    position = {g.id: j for j, g in enumerate(golds)}
    matches.sort(key=lambda m: position[m.gold_id])
    return matches


def oracle_matches(gold: Sequence[Claim]) -> list[Match]:
    """Each gold claim matched to itself with score 1: the matches of the oracle mode, where the
    gold claims themselves are fed to the cross-checker."""
    return [
        Match(
            pred_id=g.id,
            gold_id=g.id,
            score=1.0,
            span_iou=1.0,
            text_sim=1.0,
            quantity_agree=True if g.quantity is not None else None,
        )
        for g in sorted(gold, key=_order)
    ]
