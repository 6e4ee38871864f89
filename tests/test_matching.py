"""The one-to-one matching rule between predicted and gold claims."""

from __future__ import annotations

import random

import pytest

from recoupe.evaluation import matching
from recoupe.evaluation.matching import (
    THRESHOLD,
    Match,
    PairScore,
    match_claims,
    oracle_matches,
    pair_score,
    quantities_conflict,
    quantity_agreement,
    span_iou,
    text_similarity,
)
from recoupe.models import Alignment, Amount, Claim, Quantity, Span

TEXT = (
    "Dimanche, Microsoft a annoncé un investissement de quatre milliards d’euros dans des centres de "
    "données en France. Amazon investira plus de 1,2 milliard d’euros et créera 3 000 emplois."
)


def claim(
    cid: str,
    text: str,
    start: int | None,
    end: int | None,
    *,
    quantity: Quantity | None = None,
    article_id: str = "a",
) -> Claim:
    span = Span(start=start, end=end) if start is not None and end is not None else None
    return Claim(
        id=cid,
        article_id=article_id,
        text=text,
        quote=TEXT[start:end] if span else text,
        span=span,
        alignment=Alignment.exact if span else Alignment.none,
        quantity=quantity,
    )


def eur(value: float, *equivalents: Amount) -> Quantity:
    return Quantity(value=value, currency="EUR", equivalents=list(equivalents))


def test_span_iou_half_open() -> None:
    assert span_iou(Span(start=0, end=10), Span(start=0, end=10)) == 1.0
    assert span_iou(Span(start=0, end=10), Span(start=5, end=15)) == pytest.approx(5 / 15)
    assert span_iou(Span(start=0, end=10), Span(start=10, end=20)) == 0.0  # touching, not overlapping
    assert span_iou(None, Span(start=0, end=10)) == 0.0
    assert span_iou(Span(start=3, end=3), Span(start=3, end=3)) == 0.0


def test_text_similarity_folds_typography_and_case() -> None:
    assert text_similarity("L’Élysée a déclaré", "l'élysée a  déclaré.") == 1.0
    assert text_similarity("Microsoft investit", "Le chat dort") < 0.5


def test_identical_claim_matches_with_score_one() -> None:
    g = claim("g1", "Microsoft investit quatre milliards d’euros en France.", 10, 110, quantity=eur(4e9))
    p = claim("p1", g.text, 10, 110, quantity=eur(4e9))
    score = pair_score(p, g)
    assert (score.score, score.span_iou, score.text_sim, score.quantity_agree) == (1.0, 1.0, 1.0, True)
    assert match_claims([p], [g]) == [
        Match(pred_id="p1", gold_id="g1", score=1.0, span_iou=1.0, text_sim=1.0, quantity_agree=True)
    ]


def test_prediction_overlapping_two_gold_claims_is_assigned_once() -> None:
    g1 = claim("g1", "Amazon investira plus de 1,2 milliard d’euros en France.", 114, 162)
    g2 = claim("g2", "Amazon investira en France et créera 3 000 emplois en France.", 163, 186)
    # One prediction covering the whole sentence, similar to both gold claims.
    p = claim("p", "Amazon investira plus de 1,2 milliard d’euros et créera 3 000 emplois en France.", 114, 186)
    assert pair_score(p, g1).score >= THRESHOLD
    assert pair_score(p, g2).score >= THRESHOLD
    matches = match_claims([p], [g1, g2])
    assert len(matches) == 1
    assert matches[0].pred_id == "p"
    # It goes to the gold claim it overlaps more (g1's span is longer, so its IoU is larger).
    assert matches[0].gold_id == "g1"


def test_assignment_is_optimal_not_greedy(monkeypatch: pytest.MonkeyPatch) -> None:
    """A greedy pass would give A to g1 (0.9) and leave B unmatched; the optimum is A-g2, B-g1."""
    table = {("A", "g1"): 0.9, ("A", "g2"): 0.8, ("B", "g1"): 0.85, ("B", "g2"): 0.1}

    def fake(pred: Claim, gold: Claim) -> PairScore:
        s = table[(pred.id, gold.id)]
        return PairScore(score=s, span_iou=s, text_sim=s)

    monkeypatch.setattr(matching, "pair_score", fake)
    a, b = claim("A", "x", 0, 5), claim("B", "y", 6, 9)
    g1, g2 = claim("g1", "x", 0, 5), claim("g2", "y", 6, 9)
    pairs = {(m.pred_id, m.gold_id) for m in match_claims([a, b], [g1, g2])}
    assert pairs == {("A", "g2"), ("B", "g1")}


def test_below_threshold_pairs_are_not_matched() -> None:
    g = claim("g", "Microsoft investit quatre milliards d’euros en France.", 10, 110)
    p = claim("p", "Amazon créera trois mille emplois.", 163, 186)
    s = pair_score(p, g)
    assert s.score < THRESHOLD
    assert match_claims([p], [g]) == []


def test_threshold_is_inclusive_and_ungrounded_needs_identical_text() -> None:
    g = claim("g", "Microsoft investit quatre milliards d’euros en France.", 10, 110)
    # No span: the score is 0.5 * text similarity, so only an identical text reaches 0.5.
    same = claim("p1", g.text, None, None)
    assert pair_score(same, g).score == pytest.approx(0.5)
    assert [m.pred_id for m in match_claims([same], [g])] == ["p1"]
    close = claim("p2", "Microsoft investit quatre milliards d’euros en Europe.", None, None)
    assert match_claims([close], [g]) == []


def test_quantity_disagreement_blocks_a_match() -> None:
    text = "Microsoft investit quatre milliards d’euros en France."
    g = claim("g", text, 10, 110, quantity=eur(4e9))
    p = claim("p", text, 10, 110, quantity=eur(1.2e9))  # same span and text, wrong amount
    s = pair_score(p, g)
    assert s.quantity_agree is False
    assert s.blocked
    assert s.score == pytest.approx(0.8) and s.score >= THRESHOLD  # high score, still blocked
    assert match_claims([p], [g]) == []
    # Within 1 % is agreement, not a conflict.
    assert not quantities_conflict(eur(4.03e9), eur(4e9))
    assert quantities_conflict(eur(4.05e9), eur(4e9))


def test_different_measures_do_not_block_and_equivalents_agree() -> None:
    text = "Microsoft investit quatre milliards d’euros (4,3 milliards de dollars) en France."
    g = claim("g", text, 10, 110, quantity=eur(4e9, Amount(value=4.3e9, currency="USD")))
    usd = Quantity(value=4.3e9, currency="USD")
    assert quantity_agreement(usd, g.quantity) is True
    p = claim("p", text, 10, 110, quantity=usd)
    assert match_claims([p], [g])[0].quantity_agree is True
    # A count of jobs against an amount in euros is not "the same measure": no block.
    jobs = Quantity(value=3000, unit="emploi")
    assert quantity_agreement(jobs, g.quantity) is False
    assert not quantities_conflict(jobs, g.quantity)
    assert [m.gold_id for m in match_claims([claim("q", text, 10, 110, quantity=jobs)], [g])] == ["g"]


def test_quantity_weighting_when_both_have_quantities() -> None:
    g = claim("g", "Amazon créera 3 000 emplois en France.", 163, 186, quantity=Quantity(value=3000, unit="emploi"))
    p = claim("p", "Amazon créera 3 000 emplois en France.", 163, 180, quantity=Quantity(value=3000, unit="emploi"))
    s = pair_score(p, g)
    assert s.score == pytest.approx(0.4 * (17 / 23) + 0.4 * 1.0 + 0.2 * 1.0)
    p_noq = p.model_copy(update={"quantity": None})
    assert pair_score(p_noq, g).score == pytest.approx(0.5 * (17 / 23) + 0.5 * 1.0)


def test_matching_is_deterministic_whatever_the_input_order() -> None:
    golds = [
        claim("g1", "Microsoft a annoncé dimanche un investissement.", 0, 60),
        claim("g2", "Microsoft investit quatre milliards d’euros en France.", 10, 113, quantity=eur(4e9)),
        claim("g3", "Amazon investira plus de 1,2 milliard d’euros.", 114, 162, quantity=eur(1.2e9)),
        claim("g4", "Amazon créera 3 000 emplois.", 163, 186, quantity=Quantity(value=3000, unit="emploi")),
    ]
    preds = [
        claim("p1", TEXT[:113], 0, 113, quantity=eur(4e9)),
        claim("p2", TEXT[114:], 114, 186, quantity=eur(1.2e9)),
        claim("p3", "Amazon créera 3 000 emplois.", 163, 186, quantity=Quantity(value=3000, unit="emploi")),
        claim("p4", "Microsoft a annoncé dimanche un investissement.", None, None),
    ]
    expected = match_claims(preds, golds)
    rng = random.Random(7)
    for _ in range(10):
        p, g = preds[:], golds[:]
        rng.shuffle(p)
        rng.shuffle(g)
        assert match_claims(p, g) == expected
    assert len({m.pred_id for m in expected}) == len(expected)
    assert len({m.gold_id for m in expected}) == len(expected)
    assert {(m.pred_id, m.gold_id) for m in expected} >= {("p1", "g2"), ("p2", "g3"), ("p3", "g4")}


def test_empty_sides_and_oracle_matches() -> None:
    g = claim("g", "Amazon créera 3 000 emplois.", 163, 186, quantity=Quantity(value=3000, unit="emploi"))
    assert match_claims([], [g]) == []
    assert match_claims([g], []) == []
    oracle = oracle_matches([g])
    assert oracle == [Match(pred_id="g", gold_id="g", score=1.0, span_iou=1.0, text_sim=1.0, quantity_agree=True)]
    assert match_claims([g], [g]) == oracle
