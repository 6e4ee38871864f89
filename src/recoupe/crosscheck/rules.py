"""The deterministic comparison of two claims: a judgement by rule, or None when the rules
cannot decide (then, if the subjects match, the model may be asked)."""

from __future__ import annotations

from typing import Literal

from .. import lexicon
from ..models import Claim, PairJudgement, Relation
from .features import ClaimFeatures, same_subject
from .quantities import Outcome, compare_quantities

__all__ = ["compare", "compare_features", "with_amounts"]

_WEEKDAY_NAMES = lexicon.ENGLISH_WEEKDAY_NAMES
Facet = Literal["quantity", "time", "statement"]


def compare(a: Claim, b: Claim) -> PairJudgement | None:
    """Decide the relation of two claims by rule, or return None when the rules cannot.

    Rules, in order: different subjects -> unrelated; amounts of different units -> unrelated;
    amounts that are equal, rounded, bounded consistently or converted EUR/USD -> equivalent or
    compatible; clearly different amounts for the same purpose, period and place -> contradicts
    (a different period or place -> unrelated); both name a weekday for the same subject's
    announcement -> contradicts when the days differ, equivalent (or the amounts' relation) when
    they match. Claims with neither an amount nor a day are left to the model.

    Example: "Dimanche, Microsoft a annoncé" vs "en s'engageant lundi à investir 4 milliards
    d'euros" (both about Microsoft) gives ``contradicts``; "plus de 1,2 milliard d'euros" vs
    "1,2 milliard d'euros" gives ``compatible``.
    """
    return compare_features(ClaimFeatures.of(a), ClaimFeatures.of(b))


def compare_features(fa: ClaimFeatures, fb: ClaimFeatures) -> PairJudgement | None:
    """:func:`compare` on claims whose features are already computed."""
    a, b = fa.claim, fb.claim

    def judged(relation: Relation, rationale: str, facet: Facet | None = None) -> PairJudgement:
        return PairJudgement(a=a.id, b=b.id, relation=relation, decided_by="rule", rationale=rationale, facet=facet)

    same = same_subject(fa, fb)
    if same is False:
        return judged(Relation.unrelated, "The claims are about different subjects.")
    if same is None:
        return None  # without a subject on both sides no rule is safe

    outcome = compare_quantities(fa, fb) if a.quantity is not None and b.quantity is not None else None
    if outcome is not None and outcome[0] == Relation.unrelated:
        return judged(*outcome)
    if outcome is not None:
        pa, pb = fa.purposes, fb.purposes
        if pa and pb and not pa & pb:
            return judged(
                Relation.unrelated,
                f"The amounts count different things ({', '.join(sorted(pa))} vs {', '.join(sorted(pb))}).",
            )
    by_day = _compare_days(fa, fb, outcome)
    if by_day is not None:
        return judged(*by_day, "time")
    if outcome is not None:
        return judged(*outcome, "quantity")
    return None


def _compare_days(fa: ClaimFeatures, fb: ClaimFeatures, amounts: Outcome) -> Outcome:
    """Two claims that both name a weekday: the day of an announcement is comparable when both are
    about the same thing (the amounts agree, or, lacking amounts on one side, they share a
    purpose)."""
    wa, wb = fa.weekday, fb.weekday
    if wa is None or wb is None:
        return None
    if amounts is None and not fa.predicates & fb.predicates:
        return None
    if wa != wb:
        return (
            Relation.contradicts,
            f"Same subject's announcement dated on different days ({_WEEKDAY_NAMES[wa]} vs {_WEEKDAY_NAMES[wb]}).",
        )
    if amounts is None:
        return Relation.equivalent, f"Same subject's announcement on the same day ({_WEEKDAY_NAMES[wa]})."
    return None


def with_amounts(judgement: PairJudgement, fa: ClaimFeatures, fb: ClaimFeatures) -> list[PairJudgement]:
    """A pair told apart by its days may still agree on its amounts: keep both judgements, so that
    the day makes a conflicting fact of its own and the amount stays corroborated."""
    a, b = fa.claim, fb.claim
    if judgement.facet != "time" or a.quantity is None or b.quantity is None:
        return [judgement]
    outcome = compare_quantities(fa, fb)
    if outcome is None or outcome[0] == Relation.unrelated:
        return [judgement]
    return [judgement, PairJudgement(a=a.id, b=b.id, relation=outcome[0], decided_by="rule",
                                     rationale=outcome[1], facet="quantity")]
