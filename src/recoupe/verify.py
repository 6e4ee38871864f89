"""Cross-checking: who is the original source, which claim pairs to compare, how they relate, and
which facts they form.

Every stage is a plain function over the pydantic models in :mod:`recoupe.models`:

1. :func:`claim_origin` — the independent origin of a claim (two outlets relaying Reuters are one
   origin, "Reuters").
2. :func:`candidate_pairs` — blocking: only pairs of claims from different articles that share a
   block key (a quantity of the same kind and size, a dated claim about the same subject, or similar
   wording about the same subject or entity). Never all pairs.
3. :func:`compare` — deterministic rules over numbers, currencies, bounds and days; ``None`` when
   the rules cannot decide.
4. :func:`adjudicate_pair` — the model, only for candidate pairs the rules left undecided.
5. :func:`build_facts` — connected components over the judgements, with a verdict each.

Example (``extraction`` from :func:`recoupe.extraction.extract_articles`)::

    facts, judgements, stats = verify(extraction.articles)            # rules only
    facts, judgements, stats = verify(extraction.articles, llm=llm)   # rules, then the model
    report = build_report(extraction, llm)                            # the same, as a Report
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field
from rapidfuzz import fuzz, process

from .errors import LLMError, RecordingMissingError
from .llm import LLM, run_concurrently
from .models import (
    Article,
    ArticleClaims,
    Bound,
    Extraction,
    Claim,
    Failure,
    Fact,
    FactMember,
    PairingStats,
    PairJudgement,
    Quantity,
    Relation,
    Report,
    Usage,
    Verdict,
)
from .normalize import find_location, fold
from .prompting import load_prompt

__all__ = [
    "ADJUDICATE_PROMPT",
    "PairAdjudication",
    "article_origin",
    "claim_origin",
    "candidate_pairs",
    "all_pairs_count",
    "compare",
    "adjudicate_pair",
    "claim_facet",
    "build_facts",
    "verify",
    "check_report",
    "build_report",
]

log = logging.getLogger(__name__)

ADJUDICATE_PROMPT = "adjudicate_pair.v1"

#: Two amounts of the same kind are candidates when within this factor of each other.
CANDIDATE_FACTOR = 1.5
#: Plausible EUR -> USD rates: 1 EUR buys between 1.0 and 1.2 USD.
EUR_USD_RATES = (1.0, 1.2)
#: Midpoint used only to put EUR and USD amounts in the same blocking bucket.
_EUR_USD_MID = 1.1
#: Two claims with this rapidfuzz token_set_ratio (on folded text) are candidates.
LEXICAL_THRESHOLD = 70
#: A word-block larger than this is too common to say anything ("France" in every claim); it is
#: skipped so that lexical pairing stays close to linear in the number of claims.
MAX_LEXICAL_BLOCK = 400
#: Candidate partners kept per claim (the most similar ones): bounds pairs at n * MAX_PARTNERS.
MAX_PARTNERS = 12
#: "Rounded" means within this relative difference and fewer significant digits.
ROUNDING_TOLERANCE = 0.10
#: Values further apart than this factor are clearly different.
CLEARLY_DIFFERENT = 1.5


# -- origins ------------------------------------------------------------------------------------
_AGENCIES = {
    "afp": "AFP",
    "agence france-presse": "AFP",
    "agence france presse": "AFP",
    "l'agence france-presse": "AFP",
    "reuters": "Reuters",
    "thomson reuters": "Reuters",
    "bloomberg": "Bloomberg",
    "bloomberg news": "Bloomberg",
    "aof": "AOF",
    "ap": "AP",
    "associated press": "AP",
    "the associated press": "AP",
    "dpa": "dpa",
    "ansa": "ANSA",
    "efe": "EFE",
    "belga": "Belga",
    "ats": "ATS",
    "xinhua": "Xinhua",
    # outlets that others relay
    "le monde": "Le Monde",
    "les echos": "Les Echos",
    "le figaro": "Le Figaro",
    "financial times": "Financial Times",
    "the wall street journal": "The Wall Street Journal",
    "wall street journal": "The Wall Street Journal",
    "the new york times": "The New York Times",
    "cnbc": "CNBC",
    "bfm business": "BFM Business",
}
_AGENCY_ALTERNATION = "|".join(
    sorted((re.escape(name) for name in _AGENCIES if not name.startswith("l'")), key=len, reverse=True)
)
_APOS = "['’]"
# A cue word (any case) then a capitalised name: "selon Reuters", "d'après l'AFP", "écrit
# Bloomberg", "according to Reuters". Only news organisations are origins: "selon L'Elysée" names a
# claimant, and the outlet that reports it stays the origin.
_NAME = r"(?P<who>[A-ZÉÈ][\w’'&-]*(?:[ \u00a0](?:[A-ZÉÈ][\w’'&-]*))*)"
_ARTICLE = rf"(?:l{_APOS}\s*|la\s+|le\s+|les\s+|the\s+)?"
_ATTRIBUTION = re.compile(
    rf"(?i:\bselon|\bd{_APOS}après|\bécrit|\brapporte|\baccording\s+to|\breported\s+by|"
    rf"\bcité\s+par|\bcited\s+by)\s+{_ARTICLE}{_NAME}"
)
# Weaker cues ("via une filiale", "a déclaré au personnel") count only before a news agency:
# "(via Reuters)", "a déclaré à l'Agence France-Presse", "told Reuters".
_RELAY = re.compile(rf"(?i:\bvia|\bdéclaré\s+à|\btold|\bconfié\s+à)\s+{_ARTICLE}{_NAME}")
# "(AFP)", "(Reuters)", "PARIS (AFP) -": a wire tag in parentheses names the agency.
_WIRE_TAG = re.compile(rf"\((?P<who>{_AGENCY_ALTERNATION})\)", re.I)
_WIRE_LINE = re.compile(rf"^\s*\((?P<who>{_AGENCY_ALTERNATION})\)\s*[-–—]?\s*$", re.I | re.M)
#: A wire tag this close to the start of the text is an article-level dateline.
_DATELINE_CHARS = 300
_SENTENCE_END = re.compile(r"[.!?…]\s|\n")


def _canonical_source(name: str) -> str:
    """``Agence France-Presse`` -> ``AFP``; other names as written, without a leading article."""
    cleaned = re.sub(rf"^(?:l{_APOS}\s*|la\s+|le\s+|les\s+|the\s+)", "", name.strip(), flags=re.I)
    cleaned = cleaned.strip(" .,;:)(\u00a0")
    return _AGENCIES.get(fold(cleaned), cleaned)


def _agency(name: str | None) -> str | None:
    """The canonical agency name when ``name`` is a news agency, else None."""
    if not name:
        return None
    canonical = _canonical_source(name)
    return canonical if fold(canonical) in _AGENCIES else None


def article_origin(article: Article) -> str:
    """The article-level origin: a wire tag alone on a line ("(AFP)") or near the start of the
    text ("(AOF) - ..."), else ``article:<id>``.

    >>> article_origin(Article(id="a1", text="PARIS (AFP) - Microsoft..."))
    'AFP'
    """
    m = _WIRE_LINE.search(article.text)
    if m is None:
        m = _WIRE_TAG.search(article.text[:_DATELINE_CHARS])
    if m is not None:
        return _canonical_source(m.group("who"))
    return f"article:{article.id}"


def _sentence_around(claim: Claim, text: str) -> tuple[str, int, int]:
    """The sentence(s) holding the claim's span, and where the span sits inside that window."""
    if claim.span is not None and claim.span.end <= len(text) and claim.span.start < claim.span.end:
        start, end = claim.span.start, claim.span.end
    else:
        found = text.find(claim.quote) if claim.quote else -1
        if found < 0:
            return claim.quote, 0, len(claim.quote)
        start, end = found, found + len(claim.quote)
    left = 0
    for m in _SENTENCE_END.finditer(text, 0, start):
        left = m.end()
    m = _SENTENCE_END.search(text, end)
    right = m.start() + 1 if m else len(text)
    return text[left:right], start - left, end - left


def _sentence_attribution(claim: Claim, text: str) -> str | None:
    """An attribution in the claim's own sentence, the one nearest the quote."""
    window, q_start, q_end = _sentence_around(claim, text)
    best: tuple[int, str] | None = None
    candidates = [(m.start(), m.end(), m.group("who")) for m in _ATTRIBUTION.finditer(window) if _agency(m.group("who"))]
    candidates += [(m.start(), m.end(), m.group("who")) for m in _RELAY.finditer(window) if _agency(m.group("who"))]
    candidates += [(m.start(), m.end(), m.group("who")) for m in _WIRE_TAG.finditer(window)]
    for m_start, m_end, who in candidates:
        distance = 0 if m_start < q_end and m_end > q_start else min(abs(m_start - q_end), abs(q_start - m_end))
        if best is None or distance < best[0]:
            best = (distance, who)
    return _canonical_source(best[1]) if best else None


def claim_origin(claim: Claim, article: Article) -> str:
    """The independent original source of ``claim``.

    In order: an attribution in the claim's sentence ("selon Reuters", "(via Reuters)", "écrit
    Bloomberg", "d'après l'AFP", "according to Reuters", "(AFP)"); the claim's claimant when it is a
    news agency; the article's wire tag; else ``article:<id>``. Agency names are canonical
    (Agence France-Presse -> AFP), so two outlets relaying Reuters give one origin.
    """
    attributed = _sentence_attribution(claim, article.text)
    if attributed:
        return attributed
    agency = _agency(claim.claimant)
    if agency:
        return agency
    return article_origin(article)


# -- subjects, predicates, scope ------------------------------------------------------------------
#: Names that refer to the same actor for cross-checking ("AWS" is reported as "Amazon").
_SUBJECT_ALIASES = {
    "aws": "amazon",
    "amazon web services": "amazon",
    "amazon web services (aws)": "amazon",
    "amazon.com": "amazon",
    "msft": "microsoft",
    "alphabet": "google",
    "l'elysée": "élysée",
    "elysée": "élysée",
    "l'élysée": "élysée",
    "elysee": "élysée",
}


def _subject_key(name: str | None) -> str | None:
    if not name or not name.strip():
        return None
    key = fold(name).strip(" .,;:")
    return _SUBJECT_ALIASES.get(key, key)


def _same_subject(a: Claim, b: Claim) -> bool | None:
    """True/False when both subjects are known, None when one is missing."""
    ka, kb = _subject_key(a.subject), _subject_key(b.subject)
    if ka is None or kb is None:
        return None
    if ka == kb or _contains_words(ka, kb) or _contains_words(kb, ka):
        return True
    # "Amazon Web Services (AWS)" vs "Amazon": compare aliases of the words too.
    wa = {_SUBJECT_ALIASES.get(w, w) for w in re.findall(r"[\w.'-]+", ka)}
    wb = {_SUBJECT_ALIASES.get(w, w) for w in re.findall(r"[\w.'-]+", kb)}
    return kb in wa or ka in wb


def _contains_words(inner: str, outer: str) -> bool:
    """``inner`` appears in ``outer`` as whole words ("microsoft" in "microsoft france", but "ia"
    not in "nvidia")."""
    return re.search(rf"(?<!\w){re.escape(inner)}(?!\w)", outer) is not None


#: What the number is about; two amounts contradict only when they are about the same thing.
_PREDICATES = {
    "invest": re.compile(r"invest|injection|débloqu|financ|fund|capex|engag\w* à investir|pledg|commit", re.I),
    "jobs": re.compile(r"emploi|poste|embauch|recrut|\bcdi\b|\bjobs?\b|hire|hiring", re.I),
    "revenue": re.compile(r"chiffre d'affaires|généré|revenu|ventes|bénéfice|profit|revenue|sales|earn", re.I),
    "staff": re.compile(r"employés|salariés|effectif|employees|workforce|headcount", re.I),
    "training": re.compile(r"\bformer\b|\bformera\b|formation|compétences|\btrain(?:ing|s)?\b|\bskills?\b", re.I),
    # Saying something, not a quantity: it makes announcement days comparable, never amounts.
    "announce": re.compile(r"annonc|dévoil|s'engag|engagement|promet|confirm|announc|unveil|pledg", re.I),
}


def _predicates(claim: Claim) -> set[str]:
    text = fold(f"{claim.text} {claim.quote}")
    return {name for name, pattern in _PREDICATES.items() if pattern.search(text)}


#: Places inside a country, so that "région parisienne" does not differ from "France".
_PLACE_COUNTRY = {
    "paris": "france", "région parisienne": "france", "paris region": "france", "marseille": "france",
    "lyon": "france", "mulhouse": "france", "grand est": "france", "alsace": "france",
    "auvergne-rhône-alpes": "france", "hexagone": "france", "l'hexagone": "france", "versailles": "france",
    "île-de-france": "france", "ile-de-france": "france",
    "berlin": "allemagne", "germany": "allemagne", "munich": "allemagne",
    "london": "royaume-uni", "londres": "royaume-uni", "united kingdom": "royaume-uni", "uk": "royaume-uni",
    "spain": "espagne", "italy": "italie",
}


def _place(claim: Claim) -> str | None:
    # The claim's own wording (self-contained by design) may name the place its quote leaves
    # implicit; a place is used only to keep apart, never to link.
    place = claim.location or find_location(claim.quote) or find_location(claim.text)
    if not place:
        return None
    key = fold(place).strip()
    return _PLACE_COUNTRY.get(key, key)


def _scope_time(claim: Claim) -> tuple[object, ...] | None:
    """The period a number refers to ("depuis 2010", "en 2024"); a weekday is when it was
    announced, not what it covers, so it is not a scope."""
    t = claim.time
    if t is None or t.weekday is not None:
        return None
    if t.start is not None or t.end is not None:
        return ("dates", t.start, t.end)
    return ("text", fold(t.text))


def _differs(x: object | None, y: object | None) -> bool:
    """Both known and different."""
    if x is None or y is None:
        return False
    if isinstance(x, tuple) and isinstance(y, tuple) and x[0] != y[0]:
        return False  # one has dates, the other only words: cannot tell
    return x != y


def _scope_differs(a: Claim, b: Claim) -> str | None:
    """Why two claims are about different scopes (place or period), when both state one."""
    if _differs(_place(a), _place(b)):
        return "place"
    if _differs(_scope_time(a), _scope_time(b)):
        return "period"
    return None


def _scope_unknown(a: Claim, b: Claim) -> str | None:
    """Why two claims might be about different scopes: one states a place or period the other lacks."""
    if (_place(a) is None) != (_place(b) is None):
        return "place"
    if (_scope_time(a) is None) != (_scope_time(b) is None):
        return "period"
    return None


# -- quantities -----------------------------------------------------------------------------------
def _kind(q: Quantity) -> str | None:
    return q.currency or q.unit


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
        return value * (1 - ROUNDING_TOLERANCE), value * (1 + ROUNDING_TOLERANCE)
    return value, value


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


_Outcome = tuple[Relation, str] | None


def _compare_values(qa: Quantity, qb: Quantity, a: Claim, b: Claim, *, converted: bool) -> _Outcome:
    """Two amounts of the same kind (same unit, or same currency after conversion)."""
    va, vb = qa.value, qb.value
    scope = _scope_differs(a, b)
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
    if rel <= ROUNDING_TOLERANCE:
        if _significant_digits(va) != _significant_digits(vb):
            return Relation.compatible, "One amount is the other rounded."
        if Bound.about in (qa.bound, qb.bound):
            return Relation.compatible, "The amounts agree within the stated approximation."
    lo_a, hi_a = _interval(va, qa.bound)
    lo_b, hi_b = _interval(vb, qb.bound)
    overlap = lo_a <= hi_b and lo_b <= hi_a
    ratio = _ratio(va, vb)
    if overlap and ratio <= CLEARLY_DIFFERENT:
        return Relation.compatible, "The bound of one amount is consistent with the other."
    if ratio > CLEARLY_DIFFERENT and not overlap:
        pa, pb = _predicates(a) - {"announce"}, _predicates(b) - {"announce"}
        if not pa or not pb:
            return None  # what each number counts is unclear: leave it to the model
        if not pa & pb:
            return Relation.unrelated, "The amounts measure different things."
        unknown = _scope_unknown(a, b)
        if unknown:
            return Relation.unrelated, f"Different amounts, but only one claim states a {unknown}."
        return Relation.contradicts, "Same subject, same kind of amount and purpose, clearly different values."
    if ratio > CLEARLY_DIFFERENT:
        # Consistent bounds but far apart ("plus de 20 milliards" vs "plus de 1,2 milliard"):
        # most likely two different amounts.
        return Relation.unrelated, "Far-apart amounts whose bounds do not pin them to one fact."
    return None


def _compare_quantities(a: Claim, b: Claim) -> _Outcome:
    qa, qb = a.quantity, b.quantity
    if qa is None or qb is None:
        return None
    ka, kb = _kind(qa), _kind(qb)
    if ka is None or kb is None:
        return None  # a bare number: cannot tell what it counts
    if qa.currency and qb.currency and qa.currency != qb.currency:
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
            if low <= rate <= high and not _scope_differs(a, b):
                return Relation.compatible, f"Same amount in euros and dollars (rate {rate:.2f})."
            # Otherwise compare at a mid rate: rounding and bounds still apply, never "equivalent".
            as_eur = Quantity(value=usd.value / _EUR_USD_MID, currency="EUR", bound=usd.bound)
            pair = (eur, as_eur) if qa is eur else (as_eur, eur)
            return _compare_values(pair[0], pair[1], a, b, converted=True)
        return None
    if ka != kb:
        return Relation.unrelated, f"Different units ({ka} vs {kb})."
    return _compare_values(qa, qb, a, b, converted=False)


_WEEKDAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


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

    def judged(relation: Relation, rationale: str, facet: str | None = None) -> PairJudgement:
        return PairJudgement(
            a=a.id, b=b.id, relation=relation, decided_by="rule", rationale=rationale,
            facet=facet,  # type: ignore[arg-type]
        )

    same = _same_subject(a, b)
    if same is False:
        return judged(Relation.unrelated, "The claims are about different subjects.")
    if same is None:
        return None  # without a subject on both sides no rule is safe

    outcome = _compare_quantities(a, b) if a.quantity is not None and b.quantity is not None else None
    if outcome is not None and outcome[0] == Relation.unrelated:
        return judged(*outcome)
    if outcome is not None:
        pa, pb = _predicates(a) - {"announce"}, _predicates(b) - {"announce"}
        if pa and pb and not pa & pb:
            return judged(
                Relation.unrelated,
                f"The amounts count different things ({', '.join(sorted(pa))} vs {', '.join(sorted(pb))}).",
            )

    wa = a.time.weekday if a.time is not None else None
    wb = b.time.weekday if b.time is not None else None
    if wa is not None and wb is not None:
        # The day of an announcement is comparable when both are about the same thing: the amounts
        # agree, or (lacking amounts on one side) they share a purpose.
        comparable = outcome is not None or bool(_predicates(a) & _predicates(b))
        if comparable:
            if wa != wb:
                return judged(
                    Relation.contradicts,
                    f"Same subject's announcement dated on different days ({_WEEKDAY_NAMES[wa]} vs {_WEEKDAY_NAMES[wb]}).",
                    "time",
                )
            if outcome is None:
                return judged(
                    Relation.equivalent, f"Same subject's announcement on the same day ({_WEEKDAY_NAMES[wa]}).", "time"
                )
    if outcome is not None:
        return judged(*outcome, "quantity")
    return None


def _with_amounts(judgement: PairJudgement, pair: tuple[Claim, Claim]) -> list[PairJudgement]:
    """A pair told apart by its days may still agree on its amounts: keep both judgements, so that
    the day makes a conflicting fact of its own and the amount stays corroborated."""
    a, b = pair
    if judgement.facet != "time" or a.quantity is None or b.quantity is None:
        return [judgement]
    outcome = _compare_quantities(a, b)
    if outcome is None or outcome[0] == Relation.unrelated:
        return [judgement]
    return [judgement, PairJudgement(a=a.id, b=b.id, relation=outcome[0], decided_by="rule",
                                     rationale=outcome[1], facet="quantity")]


# -- pairing --------------------------------------------------------------------------------------
_ENTITY = re.compile(r"\b[A-ZÉÈÎ][\w’'&-]*[\w]")
_NOT_ENTITIES = {
    "le", "la", "les", "l", "un", "une", "des", "du", "de", "il", "elle", "ils", "elles", "ce", "cette",
    "cet", "ces", "son", "sa", "ses", "leur", "leurs", "en", "dans", "selon", "par", "pour", "plus",
    "dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "the", "a", "an", "it",
    "this", "that", "in", "on", "by", "according", "sunday", "monday", "tuesday", "wednesday",
    "thursday", "friday", "saturday", "ia", "ai", "au", "aux", "et", "and", "mais", "but", "grâce",
}


def _entities(claim: Claim) -> set[str]:
    found = set()
    for word in _ENTITY.findall(claim.text):
        key = fold(word).strip("’'")
        if key in _NOT_ENTITIES or len(key) < 2:
            continue
        found.add(_SUBJECT_ALIASES.get(key, key))
    subject = _subject_key(claim.subject)
    if subject:
        found.add(subject)
    return found


def _amounts(q: Quantity) -> list[tuple[str, float]]:
    """(kind, value) pairs for blocking; euros and dollars share one kind at a mid rate, and stated
    equivalents count too."""
    out: list[tuple[str, float]] = []
    for currency, unit, value in [(q.currency, q.unit, q.value)] + [(e.currency, e.unit, e.value) for e in q.equivalents]:
        if value <= 0:
            continue
        if currency in ("EUR", "USD"):
            out.append(("money", value / _EUR_USD_MID if currency == "USD" else value))
        elif currency or unit:
            out.append((currency or unit or "", value))
    return out


def _has_date(claim: Claim) -> bool:
    t = claim.time
    return t is not None and (t.weekday is not None or t.start is not None or t.end is not None)


def all_pairs_count(claims: Sequence[Claim]) -> int:
    """Pairs of claims from different articles: n-choose-2 minus same-article pairs."""
    per_article: dict[str, int] = defaultdict(int)
    for c in claims:
        per_article[c.article_id] += 1
    n = len(claims)
    return n * (n - 1) // 2 - sum(k * (k - 1) // 2 for k in per_article.values())


def candidate_pairs(claims: Sequence[Claim]) -> list[tuple[Claim, Claim]]:
    """Claim pairs from different articles worth comparing, found by blocking.

    A pair is a candidate when it shares a block key: (a) amounts of the same kind within a factor
    1.5 (euros and dollars compared at a plausible rate, stated equivalents included); (b) both
    dated (a weekday or a date) and about the same subject; (c) wording similar enough
    (token_set_ratio >= 70 on folded text) with a shared subject or capitalised entity. Each claim
    then keeps its :data:`MAX_PARTNERS` most similar partners. Claims are indexed by key and the
    pair arithmetic and string scoring run vectorised (numpy, rapidfuzz's C scorers), so 3,500
    claims pair in well under a second. Pairs come in input order, ``(earlier, later)``.
    """
    claims = list(claims)
    n = len(claims)
    if n < 2:
        return []
    article = np.array(_article_codes(claims), dtype=np.int64)
    found: list[np.ndarray] = []  # pair codes i * n + j, i < j

    def keep(i: np.ndarray, j: np.ndarray) -> None:
        lo, hi = np.minimum(i, j), np.maximum(i, j)
        ok = (lo != hi) & (article[lo] != article[hi])
        found.append(lo[ok] * n + hi[ok])

    # (a) amounts: for each kind, every pair within the factor, found on the sorted values.
    by_kind: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for i, c in enumerate(claims):
        if c.quantity is not None:
            for kind, value in _amounts(c.quantity):
                by_kind[kind].append((value, i))
    for entries in by_kind.values():
        entries.sort()
        values = np.array([v for v, _ in entries])
        owners = np.array([i for _, i in entries], dtype=np.int64)
        # a slightly wider window, then the exact test below (the same division as ``_ratio``)
        ends = np.searchsorted(values, values * (CANDIDATE_FACTOR * (1 + 1e-9)), side="right")
        starts = np.arange(len(values))
        counts = ends - starts - 1
        left = np.repeat(starts, counts)
        right = left + 1 + (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
        close = values[right] / values[left] <= CANDIDATE_FACTOR
        keep(owners[left[close]], owners[right[close]])

    # (b) dated claims about the same subject.
    dated: dict[str, list[int]] = defaultdict(list)
    for i, c in enumerate(claims):
        key = _subject_key(c.subject)
        if key and _has_date(c):
            dated[key].append(i)
    for members in dated.values():
        if len(members) > 1:
            left, right = np.triu_indices(len(members), k=1)
            m = np.array(members, dtype=np.int64)
            keep(m[left], m[right])

    # (c) similar wording within a subject or entity block.
    folded = [fold(c.text) for c in claims]
    blocks: dict[str, list[int]] = defaultdict(list)
    for i, c in enumerate(claims):
        for key in _entities(c):
            blocks[key].append(i)
    for members in blocks.values():
        if len(members) < 2 or len(members) > MAX_LEXICAL_BLOCK:
            continue
        texts = [folded[i] for i in members]
        scores = process.cdist(texts, texts, scorer=fuzz.token_set_ratio, score_cutoff=LEXICAL_THRESHOLD,
                               dtype=np.float64, workers=-1)
        left, right = np.nonzero(np.triu(scores >= LEXICAL_THRESHOLD, k=1))
        m = np.array(members, dtype=np.int64)
        keep(m[left], m[right])

    codes = np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)
    kept = _best_partners(codes // n, codes % n, folded)
    return [(claims[i], claims[j]) for i, j in kept]


def _article_codes(claims: list[Claim]) -> list[int]:
    codes: dict[str, int] = {}
    return [codes.setdefault(c.article_id, len(codes)) for c in claims]


def _best_partners(left: np.ndarray, right: np.ndarray, folded: list[str]) -> list[tuple[int, int]]:
    """Keep a pair only if it is among the :data:`MAX_PARTNERS` most similar partners of one of its
    two claims (ties: the earlier pair). Blocks can grow with the batch (many claims about one
    company); this cap keeps the candidates, and so the adjudications, at most linear in the number
    of claims. Returns the kept pairs sorted."""
    if len(left) == 0:
        return []
    scores = process.cpdist([folded[i] for i in left], [folded[j] for j in right],
                            scorer=fuzz.token_set_ratio, dtype=np.float64, workers=-1)
    pair = np.arange(len(left))
    owner = np.concatenate([left, right])
    both = np.concatenate([pair, pair])
    # by owner, then best score first, then the earlier pair (pairs are sorted by (i, j) already)
    order = np.lexsort((both, -np.concatenate([scores, scores]), owner))
    owner, both = owner[order], both[order]
    first = np.searchsorted(owner, owner, side="left")
    rank = np.arange(len(owner)) - first
    chosen = np.unique(both[rank < MAX_PARTNERS])
    return list(zip(left[chosen].tolist(), right[chosen].tolist(), strict=True))


# -- model adjudication ---------------------------------------------------------------------------
class PairAdjudication(BaseModel):
    """What the model answers for one undecided pair. Required, non-nullable fields only."""

    model_config = ConfigDict(extra="forbid")
    relation: Literal["equivalent", "compatible", "contradicts", "unrelated"]
    rationale: str = Field(max_length=300)


def adjudicate_pair(llm: LLM, a: Claim, b: Claim, *, trust_contradictions: bool = False) -> PairJudgement:
    """Ask the model how two claims relate. An :class:`LLMError` is not raised: the pair is recorded
    as unrelated with the reason, so that one bad answer does not stop a whole check."""
    try:
        answer = llm.complete(
            stage="adjudicate",
            prompt=load_prompt(ADJUDICATE_PROMPT),
            variables={"claim_a": a.text, "quote_a": a.quote, "claim_b": b.text, "quote_b": b.quote},
            response_model=PairAdjudication,
            article_id=None,
        )
    except RecordingMissingError:
        raise  # a replay that lacks an answer is a setup problem, not a model failure
    except LLMError as exc:
        log.warning("adjudication of %s / %s failed: %s", a.id, b.id, exc)
        return PairJudgement(
            a=a.id, b=b.id, relation=Relation.unrelated, decided_by="model",
            rationale=f"model adjudication failed: {exc}",
        )
    relation, rationale = Relation(answer.relation), answer.rationale
    if relation is Relation.contradicts and not trust_contradictions:
        # A conflict is a strong claim to put before an editor: by default it needs a difference in
        # numbers or dates that the rules can check, not a model's word alone.
        relation = Relation.unrelated
        rationale = f"The model said they contradict, which is not counted without a checkable difference: {rationale}"
    return PairJudgement(a=a.id, b=b.id, relation=relation, decided_by="model", rationale=rationale)


# -- facts ----------------------------------------------------------------------------------------
def claim_facet(claim: Claim) -> Literal["quantity", "time", "statement"]:
    """``quantity`` if the claim states an amount, else ``time`` if it names a day or a date, else
    ``statement``."""
    if claim.quantity is not None:
        return "quantity"
    if _has_date(claim):
        return "time"
    return "statement"


_LINKING = (Relation.equivalent, Relation.compatible, Relation.contradicts)
_VERDICT_ORDER = {Verdict.conflicting: 0, Verdict.corroborated: 1, Verdict.single_source: 2}


def _fact_id(claim_ids: Iterable[str], facet: str = "") -> str:
    key = "\n".join(sorted(claim_ids)) + ("\n#" + facet if facet else "")
    return "F" + hashlib.sha256(key.encode()).hexdigest()[:10]


def build_facts(
    claims: Sequence[Claim],
    judgements: Sequence[PairJudgement],
    origins: dict[str, str],
) -> list[Fact]:
    """Group claims into facts: connected components over equivalent, compatible and contradicts
    judgements; every other claim is a fact of its own.

    The reference member is an undisputed one (touched by no contradiction) when there is one, with
    the most equivalent/compatible edges (ties: smallest claim id); it gives the fact its statement and facet; another member's relation is ``contradicts``
    if a contradiction touches it, else its judgement with the reference, else ``compatible``
    (linked through other members). Verdict: ``conflicting`` if any contradiction
    lies inside, else ``corroborated`` with two or more distinct origins, else ``single_source``.
    Facts come conflicting first, then corroborated, then single-source; larger first, then by id.
    """
    by_id = {c.id: c for c in claims}
    primary = {c.id: claim_facet(c) for c in claims}

    def edge_facet(j: PairJudgement) -> str:
        if j.facet is not None:
            return j.facet
        fa, fb = primary.get(j.a), primary.get(j.b)
        return fa if fa == fb and fa is not None else "statement"

    linking = [j for j in judgements if j.relation in _LINKING and j.a in by_id and j.b in by_id and j.a != j.b]
    facts: list[Fact] = []
    # One clustering per facet: a claim that gives an amount and a day is a member of the fact
    # about the amount and, through its day, of the fact about the day, so that a wrong day does
    # not make the amount look disputed.
    for facet in ("quantity", "time", "statement"):
        edges = [j for j in linking if edge_facet(j) == facet]
        nodes = {c.id for c in claims if primary[c.id] == facet}
        nodes.update(x for j in edges for x in (j.a, j.b))
        facts.extend(_cluster(facet, [c for c in claims if c.id in nodes], edges, origins, primary))
    facts.sort(key=lambda f: (_VERDICT_ORDER[f.verdict], -len(f.members), f.id))
    return facts


def _cluster(
    facet: str,
    claims: Sequence[Claim],
    edges: Sequence[PairJudgement],
    origins: dict[str, str],
    primary: dict[str, str],
) -> list[Fact]:
    """Connected components of ``claims`` over ``edges`` (one facet), as facts."""
    by_id = {c.id: c for c in claims}
    parent = {c.id: c.id for c in claims}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for j in edges:
        ra, rb = find(j.a), find(j.b)
        if ra != rb:
            # The smaller id becomes the root so that the grouping does not depend on edge order.
            parent[max(ra, rb)] = min(ra, rb)

    groups: dict[str, list[str]] = defaultdict(list)
    for c in claims:
        groups[find(c.id)].append(c.id)
    edges_of: dict[str, list[PairJudgement]] = defaultdict(list)
    inner_of: dict[str, list[PairJudgement]] = defaultdict(list)  # an edge lies inside one group
    for j in edges:
        edges_of[j.a].append(j)
        edges_of[j.b].append(j)
        inner_of[find(j.a)].append(j)

    facts: list[Fact] = []
    for root, ids in groups.items():
        inner = inner_of[root]

        def disputed(cid: str) -> bool:
            return any(j.relation == Relation.contradicts for j in edges_of[cid])

        def agreeing(cid: str) -> int:
            return sum(1 for j in edges_of[cid] if j.relation != Relation.contradicts)

        # An undisputed member states the fact best; among those, the best connected one.
        reference = min(ids, key=lambda cid: (disputed(cid), -agreeing(cid), cid))
        fact_members: list[FactMember] = []
        for cid in ids:
            direct = next((j for j in edges_of[cid] if {j.a, j.b} == {cid, reference}), None)
            if cid == reference:
                relation = Relation.equivalent
            elif disputed(cid):
                # A conflict must show on the members that take part in it, even when each of
                # them agrees with the reference (Sunday vs Monday, both "4 milliards").
                relation = Relation.contradicts
            elif direct is not None:
                relation = direct.relation
            else:
                relation = Relation.compatible
            claim = by_id[cid]
            fact_members.append(
                FactMember(
                    claim_id=cid, article_id=claim.article_id, relation=relation,
                    origin=origins.get(cid, f"article:{claim.article_id}"),
                    primary=primary[cid] == facet,
                )
            )
        fact_members.sort(key=lambda m: (m.claim_id != reference, m.article_id, m.claim_id))
        fact_origins = sorted({m.origin for m in fact_members})
        if any(j.relation == Relation.contradicts for j in inner):
            verdict = Verdict.conflicting
        elif len(fact_origins) >= 2:
            verdict = Verdict.corroborated
        else:
            verdict = Verdict.single_source
        ref_claim = by_id[reference]
        facts.append(
            Fact(
                id=_fact_id(ids, facet),
                facet=facet,  # type: ignore[arg-type]
                statement=ref_claim.text,
                members=fact_members,
                verdict=verdict,
                origins=fact_origins,
            )
        )
    return facts


# -- the whole cross-check ------------------------------------------------------------------------
def verify(
    articles: list[ArticleClaims],
    llm: LLM | None = None,
    *,
    adjudicate: bool = True,
    model_contradictions: bool = False,
) -> tuple[list[Fact], list[PairJudgement], PairingStats]:
    """Cross-check the claims of ``articles``: pair by blocking, compare by rule, ask ``llm`` about
    the pairs the rules leave undecided (when given and ``adjudicate``), and cluster into facts.

    Undecided pairs with no model make no judgement and link nothing. A model's "contradicts" is
    kept only with ``model_contradictions=True`` (advisable with a strong model); by default a
    conflict needs a difference in numbers or dates that the rules find.

    Example::

        facts, judgements, stats = verify(extraction.articles, llm)
        conflicts = [f for f in facts if f.verdict == Verdict.conflicting]  # they come first
    """
    claims = [c for ac in articles for c in ac.claims]
    article_of = {ac.article.id: ac.article for ac in articles}
    origins = {
        c.id: claim_origin(c, article_of[c.article_id]) if c.article_id in article_of else f"article:{c.article_id}"
        for c in claims
    }
    pairs = candidate_pairs(claims)
    stats = PairingStats(claims=len(claims), all_pairs=all_pairs_count(claims), candidate_pairs=len(pairs))

    decided_at: dict[int, PairJudgement] = {}
    asking = llm is not None and adjudicate

    def undecided() -> Iterator[tuple[int, tuple[Claim, Claim]]]:
        """Compare pair after pair; the ones the rules leave open go to the model as they are found,
        so the rules run while the first adjudications are in flight."""
        for n, (a, b) in enumerate(pairs):
            judgement = compare(a, b)
            if judgement is not None:
                decided_at[n] = judgement
                stats.decided_by_rule += 1
            elif _same_subject(a, b):
                # Only pairs about the same subject go to the model: that keeps adjudications
                # growing with the claims of each subject, not with all pairs of the batch.
                stats.sent_to_model += asking
                yield n, (a, b)

    if asking:
        model = llm
        concurrency = max(1, int(getattr(getattr(model, "settings", None), "concurrency", 1) or 1))
        for (n, _), result in run_concurrently(
            lambda item: adjudicate_pair(model, *item[1], trust_contradictions=model_contradictions),
            undecided(), concurrency,
        ):
            if isinstance(result, BaseException):
                raise result  # not an LLMError (those are handled per pair): a real fault
            decided_at[n] = result
    else:
        for _ in undecided():
            pass  # without a model an open pair makes no judgement and links nothing

    # Input order, not completion order, keeps the output deterministic under concurrency.
    judgements = [j for n in sorted(decided_at) for j in _with_amounts(decided_at[n], pairs[n])]
    facts = build_facts(claims, judgements, origins)
    return facts, judgements, stats


def check_report(
    articles: list[ArticleClaims],
    llm: LLM | None = None,
    *,
    usage: Usage | None = None,
    model: str | None = None,
    prompts: dict[str, str] | None = None,
    failures: list[Failure] | None = None,
    adjudicate: bool = True,
    model_contradictions: bool = False,
) -> Report:
    """Run :func:`verify` and wrap the result in a :class:`Report`.

    ``usage`` defaults to the model's usage counters; ``prompts`` (prompt id -> sha256) gets the
    adjudication prompt added when the model was asked.
    """
    facts, judgements, stats = verify(articles, llm, adjudicate=adjudicate, model_contradictions=model_contradictions)
    if usage is None:
        usage = getattr(llm, "usage", None) if llm is not None else None
        usage = usage if isinstance(usage, Usage) else Usage()
    prompt_hashes = dict(prompts or {})
    if stats.sent_to_model:
        prompt_hashes[ADJUDICATE_PROMPT] = load_prompt(ADJUDICATE_PROMPT).sha256
    if model is None and llm is not None:
        model = getattr(getattr(llm, "settings", None), "model", None)
    return Report(
        articles=articles,
        facts=facts,
        judgements=judgements,
        pairing=stats,
        failures=list(failures or []),
        usage=usage,
        model=model,
        prompts=prompt_hashes,
    )


def build_report(
    extraction: Extraction, llm: LLM | None = None, *, adjudicate: bool = True, model_contradictions: bool = False
) -> Report:
    """Cross-check an :class:`~recoupe.models.Extraction` into a :class:`Report`, keeping its
    failures, usage (shared with ``llm``, so adjudication calls are counted too), model and prompt
    hashes.

    Example::

        report = build_report(extract_articles(articles, llm), llm)
    """
    return check_report(
        extraction.articles,
        llm,
        usage=extraction.usage,
        model=extraction.model,
        prompts=extraction.prompts,
        failures=extraction.failures,
        adjudicate=adjudicate,
        model_contradictions=model_contradictions,
    )
