"""How two stated amounts relate: equal, rounded, a bound, another currency, or clearly different.

Every function here is deterministic and returns ``(relation, rationale)`` or ``None`` when the
rules cannot tell (then the pair may go to the model).
"""

from __future__ import annotations

import math

from ..models import Bound, Quantity, Relation
from ..normalize import canonical_unit, is_known_unit
from .features import ClaimFeatures, scope_differs, scope_unknown

__all__ = [
    "CLEARLY_DIFFERENT",
    "EUR_USD_MID",
    "EUR_USD_RATES",
    "ROUNDING_TOLERANCE",
    "Outcome",
    "compare_quantities",
    "quantity_kind",
]

#: Plausible EUR -> USD rates: 1 EUR buys between 1.0 and 1.2 USD.
EUR_USD_RATES = (1.0, 1.2)
#: Midpoint used only to put EUR and USD amounts in the same blocking bucket.
EUR_USD_MID = 1.1
#: "Rounded" means within this relative difference and fewer significant digits.
ROUNDING_TOLERANCE = 0.10
#: "environ", "près de", "about": within this relative difference of the stated value.
ABOUT_TOLERANCE = 0.05
#: Values further apart than this factor are clearly different.
CLEARLY_DIFFERENT = 1.5

Outcome = tuple[Relation, str] | None


def quantity_kind(q: Quantity) -> str | None:
    """What the amount counts: its currency, else its unit in one name across languages ("seats"
    and "places" are "place"), else None (a bare number)."""
    return q.currency or canonical_unit(q.unit)


def _significant_digits(value: float) -> int:
    if value == 0:
        return 1
    digits = f"{abs(value):.6e}".split("e")[0].replace(".", "").rstrip("0")
    return max(1, len(digits))


def _interval(value: float, bound: Bound) -> tuple[float, float]:
    if bound == Bound.more_than:
        return value, math.inf
    if bound in (Bound.less_than, Bound.up_to):
        return 0.0, value
    if bound == Bound.about:
        return value * (1 - ABOUT_TOLERANCE), value * (1 + ABOUT_TOLERANCE)
    return value, value


def _is_rounding(x: float, y: float) -> bool:
    """One value is the other rounded to its own precision (4,3 and 4; 1 240 and 1 200; not 870 and
    800, which rounds to 900)."""
    coarse, fine = (x, y) if _significant_digits(x) < _significant_digits(y) else (y, x)
    digits = _significant_digits(coarse)
    if digits == _significant_digits(fine) or fine == 0:
        return False
    rounded = float(f"{fine:.{digits - 1}e}")
    return math.isclose(rounded, coarse, rel_tol=1e-9)


def _ratio(x: float, y: float) -> float:
    lo, hi = sorted((abs(x), abs(y)))
    return math.inf if lo == 0 else hi / lo


def _in_currency(q: Quantity, currency: str) -> Quantity | None:
    """``q`` expressed in ``currency`` through its own stated equivalent, if it has one."""
    if q.currency == currency:
        return q
    for eq in q.equivalents:
        if eq.currency == currency:
            return Quantity(value=eq.value, currency=currency, bound=q.bound, text=q.text)
    return None


def _far_apart(a: ClaimFeatures, b: ClaimFeatures) -> Outcome:
    """Two clearly different amounts whose bounds do not overlap."""
    pa, pb = a.purposes, b.purposes
    if not pa or not pb:
        return None  # what each number counts is unclear: leave it to the model
    if not pa & pb:
        return Relation.unrelated, "The amounts measure different things."
    unknown = scope_unknown(a, b)
    if unknown:
        return Relation.unrelated, f"Different amounts, but only one claim states a {unknown}."
    return Relation.contradicts, "Same subject, same kind of amount and purpose, clearly different values."


def _compare_values(qa: Quantity, qb: Quantity, a: ClaimFeatures, b: ClaimFeatures, *, converted: bool) -> Outcome:
    """Two amounts of the same kind (same unit, or same currency after conversion)."""
    va, vb = qa.value, qb.value
    scope = scope_differs(a, b)
    if scope:
        return Relation.unrelated, f"Same kind of amount but a different {scope}."
    top = Relation.compatible if converted else Relation.equivalent
    rel = abs(va - vb) / max(abs(va), abs(vb), 1e-12)
    if rel < 1e-9:
        if qa.bound == Bound.exact and qb.bound == Bound.exact:
            if converted:
                return top, "Same amount stated exactly by both, through a currency equivalent."
            return top, "Same amount stated exactly by both."
        return Relation.compatible, "Same amount; one or both state it as a bound or an approximation."
    if rel <= ROUNDING_TOLERANCE and _is_rounding(va, vb):
        return Relation.compatible, "One amount is the other rounded."
    if rel <= ABOUT_TOLERANCE and Bound.about in (qa.bound, qb.bound):
        return Relation.compatible, "The amounts agree within the stated approximation."
    if qa.bound == Bound.exact and qb.bound == Bound.exact and not converted:
        # Two exact figures that differ beyond rounding ("1 200" and "1 500 emplois"): the same
        # thing counted differently, unless they count different things or scopes.
        return _far_apart(a, b)
    lo_a, hi_a = _interval(va, qa.bound)
    lo_b, hi_b = _interval(vb, qb.bound)
    overlap = lo_a <= hi_b and lo_b <= hi_a
    ratio = _ratio(va, vb)
    if overlap and ratio <= CLEARLY_DIFFERENT:
        return Relation.compatible, "The bound of one amount is consistent with the other."
    if not overlap and not converted and {qa.bound, qb.bound} <= {Bound.exact, Bound.about}:
        # "près de 800 millions" and "870 millions": an approximation the other figure is outside
        return _far_apart(a, b)
    if ratio > CLEARLY_DIFFERENT and not overlap:
        return _far_apart(a, b)
    if ratio > CLEARLY_DIFFERENT:
        # Consistent bounds but far apart ("plus de 20 milliards" vs "plus de 1,2 milliard"):
        # most likely two different amounts.
        return Relation.unrelated, "Far-apart amounts whose bounds do not pin them to one fact."
    return None


def _compare_currencies(qa: Quantity, qb: Quantity, a: ClaimFeatures, b: ClaimFeatures) -> Outcome:
    """Amounts in two currencies: through a stated equivalent, else EUR/USD at a plausible rate."""
    assert qa.currency is not None and qb.currency is not None
    # A stated equivalent ("4 milliards d'euros (4,3 milliards de dollars)") is the best rate.
    eb = _in_currency(qb, qa.currency)
    if eb is not None:
        return _compare_values(qa, eb, a, b, converted=True)
    ea = _in_currency(qa, qb.currency)
    if ea is not None:
        return _compare_values(ea, qb, a, b, converted=True)
    if {qa.currency, qb.currency} == {"EUR", "USD"}:
        eur, usd = (qa, qb) if qa.currency == "EUR" else (qb, qa)
        rate = usd.value / eur.value if eur.value else math.inf
        low, high = EUR_USD_RATES
        if low <= rate <= high and not scope_differs(a, b):
            return Relation.compatible, f"Same amount in euros and dollars (rate {rate:.2f})."
        # Otherwise compare at a mid rate: rounding and bounds still apply, never "equivalent".
        as_eur = Quantity(value=usd.value / EUR_USD_MID, currency="EUR", bound=usd.bound)
        pair = (eur, as_eur) if qa is eur else (as_eur, eur)
        return _compare_values(pair[0], pair[1], a, b, converted=True)
    return None


def compare_quantities(a: ClaimFeatures, b: ClaimFeatures) -> Outcome:
    """How the amounts of two claims relate, or None when one has none or the rules cannot tell."""
    qa, qb = a.claim.quantity, b.claim.quantity
    if qa is None or qb is None:
        return None
    ka, kb = quantity_kind(qa), quantity_kind(qb)
    if ka is None or kb is None:
        return None  # a bare number: cannot tell what it counts
    if qa.currency and qb.currency and qa.currency != qb.currency:
        return _compare_currencies(qa, qb, a, b)
    if ka != kb:
        if not ((qa.currency or is_known_unit(ka)) and (qb.currency or is_known_unit(kb))):
            return None  # a word the lexicon does not know may name the same thing
        return Relation.unrelated, f"Different units ({ka} vs {kb})."
    return _compare_values(qa, qb, a, b, converted=False)
