"""The deterministic comparison of two claims: a judgement by rule, or None when the rules
cannot decide (then, if the subjects match, the model may be asked)."""

from __future__ import annotations

from typing import Literal

from rapidfuzz import fuzz

from .. import lexicon
from ..models import Claim, PairJudgement, Relation
from .features import ClaimFeatures, contains_words, same_subject
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

    both_amounts = a.quantity is not None and b.quantity is not None
    outcome = compare_quantities(fa, fb) if both_amounts else None
    if both_amounts and fa.qualifiers != fb.qualifiers and (outcome is None or outcome[0] == Relation.contradicts):
        # "3 000 emplois indirects" is not a rival count of "1 200 emplois"; the same figure
        # qualified on one side only ("4 milliards supplémentaires") still agrees.
        differ = ", ".join(sorted(fa.qualifiers ^ fb.qualifiers))
        return judged(
            Relation.unrelated, f"One figure is qualified and the other not ({differ}): two different figures."
        )
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
    if not both_amounts:
        by_year = _compare_years(fa, fb)
        if by_year is not None:
            return judged(*by_year, "time")
        for rule in (_compare_places, _compare_agents, _compare_roles, _near_copy):
            found = rule(fa, fb)
            if found is not None:
                return judged(*found, "statement")
    return None


def _compare_years(fa: ClaimFeatures, fb: ClaimFeatures) -> Outcome:
    """The year something happens ("la production démarrera en 2027" vs "production in 2028"), for
    claims that share what happens (production, opening, works...)."""
    if fa.year is None or fb.year is None or fa.weekday is not None or fb.weekday is not None:
        return None
    shared = fa.events
    if not shared or fa.events != fb.events or fa.qualifiers != fb.qualifiers or fa.starts != fb.starts:
        return None  # "la production démarrera en 2027" and "produira 16 GWh en 2030" are two dates
    what = ", ".join(sorted(shared))
    if fa.year != fb.year:
        return Relation.contradicts, f"Same subject, same event ({what}), different years ({fa.year} vs {fb.year})."
    return Relation.equivalent, f"Same subject, same event ({what}), same year ({fa.year})."


def _compare_places(fa: ClaimFeatures, fb: ClaimFeatures) -> Outcome:
    """Where a site is: two different towns contradict; a town against a wide area cannot be told."""
    if not fa.place_name or not fb.place_name:  # both must say where the site is
        return None
    if fa.wide_place or fb.wide_place or fa.place_name == fb.place_name:
        return None
    if fa.place_name in fb.place_name or fb.place_name in fa.place_name:
        return None
    return (
        Relation.contradicts,
        f"Same subject's site placed in two different towns ({fa.place_name} vs {fb.place_name}).",
    )


def _compare_agents(fa: ClaimFeatures, fb: ClaimFeatures) -> Outcome:
    """Who holds a role only one holds (who designs the stadium): two different names contradict,
    the same name (or one inside the other) agrees."""
    for role in sorted({r for r, _ in fa.agents} & {r for r, _ in fb.agents}):
        na = {n for r, n in fa.agents if r == role}
        nb = {n for r, n in fb.agents if r == role}
        if any(x == y or contains_words(x, y) or contains_words(y, x) for x in na for y in nb):
            return Relation.equivalent, f"The same {role} holder ({', '.join(sorted(na & nb) or sorted(na))})."
        return Relation.contradicts, f"Different {role} holders ({', '.join(sorted(na))} vs {', '.join(sorted(nb))})."
    return None


def _compare_roles(fa: ClaimFeatures, fb: ClaimFeatures) -> Outcome:
    """A person's role or title, compared within one language ("ministre de l'industrie" vs
    "ministre de l'économie"); one role inside the other ("président" in "vice-président et
    président") agrees."""
    for code in ("fr", "en"):
        ra = {r.split(":", 1)[1] for r in fa.roles if r.startswith(code + ":")}
        rb = {r.split(":", 1)[1] for r in fb.roles if r.startswith(code + ":")}
        if not ra or not rb:
            continue
        if any(_same_role(x, y) for x in ra for y in rb):
            return Relation.compatible, f"The same role or title ({', '.join(sorted(ra & rb) or sorted(ra))})."
        return Relation.contradicts, f"Different roles or titles ({', '.join(sorted(ra))} vs {', '.join(sorted(rb))})."
    return None


def _same_role(x: str, y: str) -> bool:
    """One role inside the other, or the same role word whose complement names the organisation
    generically on one side ("président du club" and "président du lrfc")."""
    if x in y or y in x:
        return True
    hx, hy = x.split()[0], y.split()[0]
    generic = lexicon.GENERIC_ORGANISATIONS
    return hx == hy and (x.split()[-1] in generic or y.split()[-1] in generic)


#: Two claims without numbers or dates whose folded texts score at least this (rapidfuzz ratio)
#: state the same thing in nearly the same words.
NEAR_COPY = 92


def _near_copy(fa: ClaimFeatures, fb: ClaimFeatures) -> Outcome:
    if fa.dated or fb.dated or fa.claim.quantity is not None or fb.claim.quantity is not None:
        return None
    if fuzz.ratio(fa.folded, fb.folded) < NEAR_COPY:
        return None
    return Relation.equivalent, "The same statement in nearly the same words."


def _compare_days(fa: ClaimFeatures, fb: ClaimFeatures, amounts: Outcome) -> Outcome:
    """Two claims that both name a weekday: the day of an announcement is comparable when both are
    about the same thing (the amounts agree, or, lacking amounts on one side, they share a
    purpose)."""
    wa, wb = fa.weekday, fb.weekday
    if wa is None or wb is None:
        return None
    if amounts is None and not fa.predicates & fb.predicates:
        return None
    if fa.day is not None and fb.day is not None and fa.day != fb.day and wa == wb:
        return Relation.contradicts, f"Same subject's announcement dated on different days ({fa.day} vs {fb.day})."
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
    return [
        judgement,
        PairJudgement(a=a.id, b=b.id, relation=outcome[0], decided_by="rule", rationale=outcome[1], facet="quantity"),
    ]
