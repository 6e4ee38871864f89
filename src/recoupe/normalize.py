"""Deterministic reading of numbers, currencies, bounds and dates in French and English.

The model may propose values; the quote wins: every quantity and time recoupe reports is read here,
from the article's own words.
"""

from __future__ import annotations

import calendar
import contextlib
import datetime as dt
import re
from dataclasses import dataclass

from text_to_num import alpha2digit

from . import lexicon
from .lexicon import fold
from .models import Amount, Bound, Modality, Quantity, TimeRef

__all__ = [
    "NAME_WORD",
    "NOT_PLACES",
    "canonical_unit",
    "find_location",
    "fold",
    "guess_modality",
    "is_known_unit",
    "main_quantity",
    "parse_quantities",
    "parse_time",
    "weekday_of",
]

_SCALES = lexicon.SCALES
_CURRENCY_WORDS = lexicon.CURRENCIES
_UNIT_ALIASES = lexicon.UNITS
_SKIP_BEFORE_UNIT = lexicon.UNIT_FILLERS
_BOUNDS = [
    (re.compile(rf"({lexicon.alternation(lexicon.BOUND_PATTERNS[bound.value])})$", re.I), bound)
    for bound in (Bound.more_than, Bound.less_than, Bound.up_to, Bound.about)
]

_NUMBER = r"(?P<num>\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)*)"
_AMOUNT = re.compile(
    r"(?P<pre>(?:US\$|\$|€|£)\s?)?"
    + _NUMBER
    + r"(?:\s*(?P<scale>milliards?|millions?|mille|billions?|thousand|bn|mds?|mrd|mln|mn|[mbk])\b\.?)?"
    + r"(?:\s*(?:d['’]\s*|de\s+)?(?P<cur>euros?|€|dollars?|\$|usd|eur|livres?|£|gbp|pounds)(?![\w]))?",
    re.IGNORECASE,
)
#: A capitalised word of a name: hyphens only inside it, a dot only before a letter
#: ("Brunet-Sauvage", "U.S"), so that a run of names splits one way only (no backtracking blow-up
#: on "A-A-A-...").
NAME_WORD = r"[A-ZÀ-ÖØ-Þ](?:[\w’'&]|\.(?=\w))*(?:-(?:[\w’'&]|\.(?=\w))+)*"
_PER_CENT = re.compile(r"\s*(?:pour\s*cent|per\s*cent)\b", re.I)
_DAY_OF_MONTH = re.compile(rf"\s*(?:er\s+)?(?:{lexicon.alternation(list(lexicon.MONTHS))})\b", re.I)
_MONTH_BEFORE = re.compile(rf"\b(?:{lexicon.alternation(list(lexicon.MONTHS))})\s+$", re.I)
#: How far before a number a month name is looked for ("March 19"): the longest name and its space.
_MONTH_WINDOW = 40
_ONE_SCALE = re.compile(r"\b(?:un|une|one|a)\s+(milliard|million|billion)\b", re.I)
_SCALE_AFTER_DIGIT = re.compile(r"(\d)(\s*)(milliards?|millions?|mille|billions?)\b", re.I)
# Private-use stand-ins keep scale words that follow digits away from the number-word converter.
_PROTECT = {
    "milliard": "\ue001",
    "milliards": "\ue002",
    "million": "\ue003",
    "millions": "\ue004",
    "mille": "\ue005",
    "billion": "\ue006",
    "billions": "\ue007",
    " pour cent": "\ue008",
}
_PER_CENT_WORDS = re.compile(r"(\S)\s+pour\s+cent\b", re.I)
_RESTORE = str.maketrans({v: k for k, v in _PROTECT.items()})


def _to_float(raw: str, language: str) -> float | None:
    s = raw.replace("\u00a0", " ").replace("\u202f", " ")
    if " " in s:
        s = s.replace(" ", "")
        s = s.replace(",", ".")
    elif language == "en":
        if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", s):
            s = s.replace(",", "")
    else:
        if re.fullmatch(r"\d{1,3}(\.\d{3})+", s):
            s = s.replace(".", "")  # 1.200.000
        s = s.replace(",", ".")
    if s.count(".") > 1:
        return None
    try:
        return float(s)
    except ValueError:
        return None


def _numberize(text: str, language: str) -> str:
    """Digits for number words ("quatre milliards" -> "4 milliards"; "un milliard" -> "1 milliard")."""
    text = _PER_CENT_WORDS.sub(lambda m: m.group(1) + "\ue008", text)  # "pour cent" is not "100"
    text = _ONE_SCALE.sub(lambda m: f"1 {m.group(1)}", text)
    text = _SCALE_AFTER_DIGIT.sub(
        lambda m: m.group(1) + m.group(2) + _PROTECT.get(m.group(3).lower(), m.group(3)), text
    )
    with contextlib.suppress(Exception):  # the converter is best effort; keep the text as it is
        text = alpha2digit(text, "en" if language == "en" else "fr")
    return text.translate(_RESTORE)


def canonical_unit(unit: str | None) -> str | None:
    """One name for a unit in either language and number ("seats", "places" -> "place"; "days",
    "jours" -> "jour"); a word the lexicon does not know is kept in its singular form."""
    if not unit:
        return None
    low = unit.strip().lower()
    if low in _UNIT_ALIASES:
        return _UNIT_ALIASES[low]
    if unit in _KNOWN_UNITS:
        return unit
    singular = re.sub(r"(?<=\w{3})[sx]$", "", low)
    return _UNIT_ALIASES.get(singular, singular)


def is_known_unit(unit: str | None) -> bool:
    """Whether the lexicon knows ``unit`` (two known units that differ count different things)."""
    return unit is not None and canonical_unit(unit) in _KNOWN_UNITS


#: The unit of an ordinal ("cinquième", "5th"): a rank.
_RANK = "rang"
_ORDINAL = re.compile(r"(?:ème|eme|e|er|ère|re|th|st|nd|rd)\b", re.I)
_KNOWN_UNITS = frozenset(_UNIT_ALIASES.values()) | {_RANK}
#: Words after a number that are not what it counts.
_NOT_UNITS = frozenset(
    lexicon.SUBJECT_STOPWORDS
    | lexicon.ENTITY_STOPWORDS
    | set(lexicon.MONTHS)
    | set(lexicon.WEEKDAYS)
    | set(_SCALES)
    | set(_CURRENCY_WORDS)
    | lexicon.NOT_UNITS
)


def _unit_after(rest: str) -> str | None:
    """What the number before ``rest`` counts: a unit the lexicon knows ("emplois", "seats"), else
    the lower-case noun that follows it ("six matches", "trois usines")."""
    if _ORDINAL.match(rest):
        return _RANK  # "le 5ème projet", "cinquième", "the 3rd plant": a rank
    words = re.findall(r"%|[\w’'-]+", rest[:60])
    for word in words[:4]:
        low = word.lower().strip("’'")
        if low in _SKIP_BEFORE_UNIT:
            continue
        if low in _UNIT_ALIASES:
            return _UNIT_ALIASES[low]
        generic = word.isalpha() and word.islower() and len(word) >= 3 and low not in _NOT_UNITS
        if generic and rest[:1].isspace():  # not a suffix: "5ème", "3rd"
            return canonical_unit(low)
        return None
    return None


@dataclass
class _Found:
    quantity: Quantity
    start: int
    end: int


def _bound_before(text: str, start: int) -> Bound:
    before = text[max(0, start - 30) : start]
    for pattern, bound in _BOUNDS:
        if pattern.search(before):
            return bound
    return Bound.exact


def _scan(text: str, language: str) -> list[_Found]:
    found: list[_Found] = []
    for m in _AMOUNT.finditer(text):
        value = _to_float(m.group("num"), language)
        if value is None:
            continue
        scale = (m.group("scale") or "").lower().rstrip(".")
        cur_raw = (m.group("cur") or m.group("pre") or "").strip().lower()
        currency = _CURRENCY_WORDS.get(cur_raw)
        if scale in ("m", "b", "k") and not (currency or m.group("pre")):
            scale = ""  # a bare letter is a scale only next to a currency sign
        if scale:
            value *= _SCALES[scale]
        unit = None if currency else _unit_after(text[m.end() :])
        if text[m.end() : m.end() + 2].strip().startswith("%") or _PER_CENT.match(text, m.end()):
            unit = "%"
        known = unit is not None and unit in _KNOWN_UNITS
        is_year = not scale and not currency and not known and re.fullmatch(r"(19|20)\d\d", m.group("num"))
        day = _DAY_OF_MONTH.match(text, m.end()) or _MONTH_BEFORE.search(
            text, max(0, m.start() - _MONTH_WINDOW), m.start()
        )
        if is_year or (not scale and not currency and day):
            continue  # a year, or the day of a date ("le 16 juin", "March 9")
        # A bare small number with no unit or currency is rarely a check-worthy quantity.
        if not scale and not currency and unit is None and value < 10 and "," not in m.group("num"):
            continue
        found.append(
            _Found(
                Quantity(
                    value=value,
                    unit=unit,
                    currency=currency,
                    bound=_bound_before(text, m.start()),
                    text=m.group(0).strip(),
                ),
                m.start(),
                m.end(),
            )
        )
    # An amount followed by the same amount in another currency, "(4,3 milliards de dollars)" or
    # "soit …", is one quantity with an equivalent.
    merged: list[_Found] = []
    for item in found:
        if merged:
            prev = merged[-1]
            between = text[prev.end : item.start]
            if (
                prev.quantity.currency
                and item.quantity.currency
                and prev.quantity.currency != item.quantity.currency
                and re.fullmatch(r"\s*(\(|,?\s*soit\s+|,?\s*or\s+|/)\s*(environ\s+|about\s+)?", between, re.I)
            ):
                prev.quantity.equivalents.append(Amount(value=item.quantity.value, currency=item.quantity.currency))
                prev.end = item.end
                continue
        merged.append(item)
    return merged


def parse_quantities(text: str, language: str = "fr") -> list[Quantity]:
    """Every quantity stated in ``text``, in order.

    >>> q = parse_quantities("investir plus de 1,2 milliard d’euros (1,3 milliard de dollars)")[0]
    >>> q.value, q.currency, q.bound.value, q.equivalents[0].currency
    (1200000000.0, 'EUR', 'more_than', 'USD')
    """
    return [f.quantity for f in _scan(_numberize(text, language), language)]


def main_quantity(quote: str, claim_text: str = "", language: str = "fr") -> Quantity | None:
    """The quantity a claim is about: the quote's quantity that the claim text also states; else,
    when the claim states a number or the quote holds only one, the quote's first quantity. The
    claim text never supplies a value the quote lacks (the model misreads amounts).

    >>> main_quantity("Microsoft (-0,38% à 413,16 dollars) et Amazon ont dévoilé", "Ils ont dévoilé des investissements.") is None
    True
    """
    in_quote = parse_quantities(quote, language)
    if not in_quote:
        return None
    in_claim = parse_quantities(claim_text, language) if claim_text else []
    for q in in_quote:
        for c in in_claim:
            if abs(q.value - c.value) <= 1e-9 * max(1.0, q.value) and q.unit == c.unit:
                return q
    if in_claim or len(in_quote) == 1 or not claim_text:
        return in_quote[0]
    return None


# -- time ---------------------------------------------------------------------------------------
_WEEKDAYS = lexicon.WEEKDAYS
_FRENCH_MONTHS = lexicon.FRENCH_MONTHS
_MONTHS = lexicon.MONTHS
_APOS = r"['’]"
_DAY_NAMES = "|".join(_WEEKDAYS)
_DAY = re.compile(rf"\b(?P<w>{_DAY_NAMES})\b", re.I)
_TIME_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "by_end_year",
        re.compile(
            rf"(?:d{_APOS}ici|by)\s+(?:la\s+)?(?:fin|end)\s+(?:de\s+|d{_APOS}\s*|of\s+)?(?:l{_APOS}année\s+)?(?P<y>(?:19|20)\d\d)",
            re.I,
        ),
    ),
    ("by_year", re.compile(rf"(?:d{_APOS}ici|by)\s+(?P<y>(?:19|20)\d\d)", re.I)),
    # "à temps pour l'Euro 2031", "avant les Jeux de 2030", "in time for the 2031 tournament":
    # the year is a deadline (the event it names), not when the thing happens.
    (
        "before_year",
        re.compile(
            r"(?:à\s+temps\s+pour|avant(?!\s+d[e'’])|in\s+time\s+for|before|ahead\s+of)\s+[^\d.;!?]{0,40}?(?P<y>(?:19|20)\d\d)\b",
            re.I,
        ),
    ),
    (
        "by_end_this_year",
        re.compile(
            rf"(?:d{_APOS}ici\s+(?:la\s+)?fin\s+(?:de\s+)?l{_APOS}année|by\s+(?:the\s+)?end\s+of\s+(?:the|this)\s+year)",
            re.I,
        ),
    ),
    (
        "date",
        re.compile(rf"(?P<d>\d{{1,2}})(?:er)?\s+(?P<m>{'|'.join(_FRENCH_MONTHS)})(?:\s+(?P<y>(?:19|20)\d\d))?", re.I),
    ),
    ("since_year", re.compile(r"(?:depuis|since)\s+(?P<y>(?:19|20)\d\d)", re.I)),
    ("in_year", re.compile(r"(?:\ben\s+|\bin\s+|\bde\s+|\bannée\s+)(?P<y>(?:19|20)\d\d)\b", re.I)),
    ("weekday", _DAY),
    ("this_year", re.compile(r"\b(?:cette\s+année|this\s+year|en\s+cours)\b", re.I)),
    ("last_year", re.compile(rf"\b(?:l{_APOS}année\s+dernière|l{_APOS}an\s+dernier|last\s+year)\b", re.I)),
    (
        "quarter",
        re.compile(
            r"\b(?:au\s+)?(?P<q>premier|deuxième|second|troisième|quatrième|first|third|fourth)\s+(?:trimestre|quarter)\b",
            re.I,
        ),
    ),
    ("this_month", re.compile(r"\b(?:ce\s+mois-ci|this\s+month)\b", re.I)),
    ("today", re.compile(rf"\b(?:aujourd{_APOS}hui|today)\b", re.I)),
    ("yesterday", re.compile(r"\b(?:hier|yesterday)\b", re.I)),
    ("year", re.compile(r"\b(?P<y>(?:19|20)\d\d)\b")),
]
_QUARTERS = lexicon.QUARTERS


def _year_range(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def weekday_of(text: str) -> int | None:
    m = _DAY.search(text)
    return _WEEKDAYS[m.group("w").lower()] if m else None


def parse_time(text: str, published: dt.date | None = None) -> TimeRef | None:
    """The first time expression in ``text`` with the dates it means; relative expressions are
    resolved against ``published`` when it is known.

    >>> parse_time("d’ici fin 2025").end
    datetime.date(2025, 12, 31)
    >>> parse_time("Dimanche, Microsoft a annoncé", dt.date(2024, 5, 13)).start
    datetime.date(2024, 5, 12)
    """
    best: tuple[int, str, re.Match[str]] | None = None
    for name, pattern in _TIME_PATTERNS:
        m = pattern.search(text)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), name, m)
    if best is None:
        return None
    _, name, m = best
    ref = TimeRef(text=m.group(0).strip())
    year = published.year if published else None
    if name in ("by_end_year", "by_year", "before_year"):
        ref.end = dt.date(int(m.group("y")), 12, 31)
    elif name == "by_end_this_year" and year:
        ref.end = dt.date(year, 12, 31)
    elif name == "date":
        y = int(m.group("y")) if m.group("y") else year
        month = _MONTHS[m.group("m").lower()]
        if y:
            with contextlib.suppress(ValueError):
                ref.start = ref.end = dt.date(y, month, int(m.group("d")))
    elif name == "since_year":
        ref.start = dt.date(int(m.group("y")), 1, 1)
    elif name in ("in_year", "year"):
        ref.start, ref.end = _year_range(int(m.group("y")))
    elif name == "weekday":
        ref.weekday = _WEEKDAYS[m.group("w").lower()]
        if published:
            # News reports the recent past: the latest such day on or before publication.
            delta = (published.weekday() - ref.weekday) % 7
            ref.start = ref.end = published - dt.timedelta(days=delta)
    elif name == "this_year" and year:
        ref.start, ref.end = _year_range(year)
    elif name == "last_year" and year:
        ref.start, ref.end = _year_range(year - 1)
    elif name == "quarter" and year:
        q = _QUARTERS[m.group("q").lower()]
        first_month = 3 * (q - 1) + 1
        ref.start = dt.date(year, first_month, 1)
        last_month = first_month + 2
        ref.end = dt.date(year, last_month, calendar.monthrange(year, last_month)[1])
    elif name == "this_month" and published:
        ref.start = published.replace(day=1)
        ref.end = published.replace(day=calendar.monthrange(published.year, published.month)[1])
    elif name == "today" and published:
        ref.start = ref.end = published
    elif name == "yesterday" and published:
        ref.start = ref.end = published - dt.timedelta(days=1)
        ref.weekday = ref.start.weekday()
    return ref


# -- modality and place -------------------------------------------------------------------------
_TARGET = re.compile(rf"\b({lexicon.alternation(lexicon.TARGET_PATTERNS)})\b", re.I)
_PLAN = re.compile(rf"\b({lexicon.alternation(lexicon.PLAN_PATTERNS)})\b", re.I)
_QUOTATION = re.compile(r"[«“\"]")


def guess_modality(quote: str, sentence: str = "") -> Modality:
    """reported_fact, announced_plan, target_or_forecast or quotation, from the wording."""
    if _QUOTATION.search(quote) and len(quote) > 30:
        return Modality.quotation
    if _TARGET.search(quote):
        return Modality.target_or_forecast
    if _PLAN.search(quote) or (_PLAN.search(sentence) and not quote):
        return Modality.announced_plan
    return Modality.reported_fact


#: Capitalised words after a preposition that are not places (weekdays, months, "Choose France"...).
NOT_PLACES = frozenset(set(_WEEKDAYS) | set(_MONTHS) | lexicon.NOT_PLACES)
_PLACE = re.compile(
    rf"\b(?:{lexicon.alternation(lexicon.PLACE_PREPOSITIONS)})\s+"
    r"(?P<p>(?:[A-ZÉÈÎ][\w’'-]+)(?:[ -](?:[A-ZÉÈÎ][\w’'-]+))*)"
)
_PLACE_PHRASE = re.compile(lexicon.alternation(lexicon.PLACE_PHRASES, escape=True), re.I)


def places_in(text: str) -> set[str]:
    """Every place ``text`` names after a preposition ("à Dunkerque", "in Loon-Plage")."""
    return {m.group("p") for m in _PLACE.finditer(text) if m.group("p").lower() not in NOT_PLACES}


def find_location(text: str) -> str | None:
    """The first place named after a preposition ("en France", "dans la région Grand Est"), or
    "région parisienne"."""
    for m in _PLACE.finditer(text):
        place = m.group("p")
        if place.lower() not in NOT_PLACES:
            return place
    phrase = _PLACE_PHRASE.search(text)
    return phrase.group(0) if phrase else None
