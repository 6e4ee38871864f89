"""Content-checked matching (eval v2): a predicted claim matches a gold claim only when it is
grounded in the gold's evidence **and** states the same content.

The rule, in plain words (thresholds fixed before any system was scored with it):

1. Only claims of the same article are compared, and only grounded predictions (a span in the
   article); an ungrounded draft never matches and counts as a false positive.
2. **Evidence.** The prediction's span covers at least :data:`MIN_COVERAGE` (half) of the gold
   quote, and is not much longer than it: at most :data:`MAX_LENGTH_RATIO` (2) times the gold
   quote's length plus :data:`LENGTH_SLACK` (20) characters. A whole sentence does not match one
   of its three facts.
3. **Content.**

   - *quantity*: when the gold states one, the prediction must too, with some value of one (its
     main value or a stated currency equivalent) within :data:`VALUE_TOLERANCE` (1 %) of some
     value of the other, in the same currency (``None`` equals ``None``), and with compatible
     bounds (a lower bound never matches an upper bound; an exact figure or an approximation
     matches either). A prediction stating an amount where the gold annotates none must state one
     that the gold's own wording gives, if that wording gives any;
   - *time*: when the gold names a date or a period, the prediction's dates must overlap it; when
     the gold names a weekday, the prediction must name the same one (or the same date);
   - *subject*: when the gold names a subject, the prediction's must be the same entity: equal
     after folding, one containing the other as whole words, or the same through a subject alias
     ("AWS" is "Amazon");
   - *wording*: rapidfuzz ``token_sort_ratio`` of the folded claim texts at least
     :data:`MIN_TEXT_SIMILARITY` (0.5).

   Span-only or text-only agreement therefore never matches, and neither does a wrong subject,
   amount or day.
4. Among the pairs that pass, predictions and gold claims are paired one to one so that the total
   score (``0.5 * coverage + 0.5 * text similarity``) is as large as possible (Hungarian
   algorithm). Then predictions with the same or nested spans collect at most one gold claim
   between them (the best-scoring pair is kept): a claim and its copy, or a sentence and a clause
   inside it, cannot collect more gold claims than one sentence-level claim could.
5. The result does not depend on input order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from rapidfuzz import fuzz
from scipy.optimize import linear_sum_assignment

from ..crosscheck.features import contains_words, subject_key
from ..lexicon import SUBJECT_ALIASES
from ..models import Bound, Claim, Quantity, TimeRef
from ..normalize import parse_quantities
from .matching import Match, fold_text

__all__ = [
    "LENGTH_SLACK",
    "MAX_LENGTH_RATIO",
    "MIN_COVERAGE",
    "MIN_TEXT_SIMILARITY",
    "VALUE_TOLERANCE",
    "content_agrees",
    "strict_match_claims",
]

#: Share of the gold quote the prediction's span must cover.
MIN_COVERAGE = 0.5
#: The prediction's span may be at most this many times the gold quote's length, plus the slack.
MAX_LENGTH_RATIO = 2.0
LENGTH_SLACK = 20
#: Least rapidfuzz token_sort_ratio (0-1) of the folded claim texts.
MIN_TEXT_SIMILARITY = 0.5
#: Two values agree when they differ by at most this share of the larger one.
VALUE_TOLERANCE = 0.01

_LOWER = {Bound.more_than}
_UPPER = {Bound.less_than, Bound.up_to}


def _values(q: Quantity) -> list[tuple[float, str | None]]:
    return [(q.value, q.currency), *((e.value, e.currency) for e in q.equivalents)]


def _quantity_agrees(pred: Quantity | None, gold: Quantity | None) -> bool:
    if gold is None:
        return True
    if pred is None:
        return False
    same_value = any(
        cp == cg and abs(vp - vg) <= VALUE_TOLERANCE * max(abs(vp), abs(vg))
        for vp, cp in _values(pred)
        for vg, cg in _values(gold)
    )
    bounds = {pred.bound, gold.bound}
    opposite = bool(bounds & _LOWER) and bool(bounds & _UPPER)
    return same_value and not opposite


def _time_agrees(pred: TimeRef | None, gold: TimeRef | None) -> bool:
    if gold is None:
        return True
    g_start, g_end = gold.start or gold.end, gold.end or gold.start
    if g_start is None and gold.weekday is None:
        return True  # a period in words only ("récemment"): nothing to check
    if pred is None:
        return False
    p_start, p_end = pred.start or pred.end, pred.end or pred.start
    if g_start is not None and g_end is not None:
        if p_start is not None and p_end is not None:
            return p_start <= g_end and g_start <= p_end
        if gold.weekday is None:
            return False
    return gold.weekday is not None and pred.weekday == gold.weekday


def _subject_agrees(pred: str | None, gold: str | None) -> bool:
    if not gold or not gold.strip():
        return True
    if not pred or not pred.strip():
        return False
    kp, kg = subject_key(pred), subject_key(gold)
    if kp is None or kg is None:
        return False
    return kp == kg or contains_words(kp, kg) or contains_words(kg, kp) or kg in _words(kp) or kp in _words(kg)


def _words(key: str) -> set[str]:
    return {SUBJECT_ALIASES.get(w, w) for w in re.findall(r"[\w.'-]+", key)}


def _unstated_amount_agrees(pred: Claim, gold: Claim) -> bool:
    """A prediction's amount where the gold annotates none: it must be one the gold's own wording
    states, if that wording states any ("un montant record de 4 milliards" is not 5,2 milliards)."""
    if pred.quantity is None or gold.quantity is not None:
        return True
    stated = parse_quantities(gold.text, "fr") + parse_quantities(gold.text, "en")
    return not stated or any(_quantity_agrees(pred.quantity, q) or _quantity_agrees(q, pred.quantity) for q in stated)


def content_agrees(pred: Claim, gold: Claim) -> bool:
    """Rule 3 without the wording: the same quantity, day or date and subject as the gold."""
    return (
        _quantity_agrees(pred.quantity, gold.quantity)
        and _unstated_amount_agrees(pred, gold)
        and _time_agrees(pred.time, gold.time)
        and _subject_agrees(pred.subject, gold.subject)
    )


def _pair(pred: Claim, gold: Claim) -> tuple[float, float, float] | None:
    """(score, coverage, text similarity) when the pair passes rules 1-3, else None."""
    if pred.span is None or gold.span is None or len(gold.span) == 0:
        return None
    coverage = pred.span.overlap(gold.span) / len(gold.span)
    if coverage < MIN_COVERAGE or len(pred.span) > MAX_LENGTH_RATIO * len(gold.span) + LENGTH_SLACK:
        return None
    similarity = fuzz.token_sort_ratio(fold_text(pred.text), fold_text(gold.text)) / 100.0
    if similarity < MIN_TEXT_SIMILARITY or not content_agrees(pred, gold):
        return None
    return 0.5 * coverage + 0.5 * similarity, coverage, similarity


def _nested(a: Claim, b: Claim) -> bool:
    sa, sb = a.span, b.span
    assert sa is not None and sb is not None
    return (sa.start <= sb.start and sb.end <= sa.end) or (sb.start <= sa.start and sa.end <= sb.end)


def _order(claim: Claim) -> tuple[int, int, int, str]:
    if claim.span is None:
        return (1, 0, 0, claim.id)
    return (0, claim.span.start, claim.span.end, claim.id)


def strict_match_claims(predicted: Sequence[Claim], gold: Sequence[Claim]) -> list[Match]:
    """Match one article's predicted claims to its gold claims one to one under the module's rule.

    Returns the matches in gold order (by span, then id)."""
    preds = sorted(predicted, key=_order)
    golds = sorted(gold, key=_order)
    if not preds or not golds:
        return []
    pairs = [[_pair(p, g) for g in golds] for p in preds]
    weights = np.zeros((len(preds), len(golds)))
    for i, row in enumerate(pairs):
        for j, found in enumerate(row):
            if found is not None:
                weights[i, j] = found[0]
    rows, cols = linear_sum_assignment(weights, maximize=True)
    assigned = sorted(
        ((i, j) for i, j in zip(rows.tolist(), cols.tolist(), strict=True) if pairs[i][j] is not None),
        key=lambda ij: (-weights[ij[0], ij[1]], ij),
    )
    kept: list[tuple[int, int]] = []
    for i, j in assigned:
        if any(_nested(preds[i], preds[k]) for k, _ in kept):
            continue  # rule 4: one gold claim per group of same or nested spans
        kept.append((i, j))
    matches = []
    for i, j in kept:
        found = pairs[i][j]
        assert found is not None
        score, coverage, similarity = found
        matches.append(
            Match(
                pred_id=preds[i].id,
                gold_id=golds[j].id,
                score=round(score, 10),
                span_iou=round(coverage, 10),
                text_sim=round(similarity, 10),
                quantity_agree=None if golds[j].quantity is None else True,
            )
        )
    position = {g.id: j for j, g in enumerate(golds)}
    matches.sort(key=lambda m: position[m.gold_id])
    return matches
