"""What the cross-check needs to know of one claim, computed once per claim.

:class:`ClaimFeatures` is a frozen record: the subject key (aliases applied), the words of the
subject, the predicates (what a number is about: investment, jobs, revenue...), the place, the
period, the weekday, the named entities and the folded text. Pairing and the rules read these
instead of re-parsing a claim for every pair it is in.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from .. import lexicon
from ..lexicon import fold
from ..models import Claim
from ..normalize import NAME_WORD, NOT_PLACES, canonical_unit, find_location, is_known_unit

__all__ = [
    "ClaimFeatures",
    "Scope",
    "contains_words",
    "days_agree",
    "differs",
    "same_subject",
    "scope_differs",
    "scope_unknown",
    "subject_key",
]

_ALIASES = lexicon.SUBJECT_ALIASES
_PREDICATES = {name: re.compile(lexicon.alternation(fragments), re.I) for name, fragments in lexicon.PREDICATES.items()}
_QUALIFIERS = {name: re.compile(lexicon.alternation(fragments), re.I) for name, fragments in lexicon.QUALIFIERS.items()}
_ROLES = {
    language.__name__.rsplit(".", 1)[-1]: re.compile(
        rf"(?<![\w-])(?:{lexicon.alternation(language.ROLES)}){language.ROLE_COMPLEMENT}(?![\w-])", re.I
    )
    for language in (lexicon.fr, lexicon.en)
}
_AGENT_NAME = rf"{NAME_WORD}(?:[ \u00a0]+(?:(?:de|du|des|la|le|et|&)[ \u00a0]+)?{NAME_WORD}){{0,7}}"
#: The role cue, then at most five words (a determiner, "l'agence lyonnaise", "Lyon-based
#: practice") before the names that follow.
_AGENTS = {
    role: re.compile(rf"(?:{lexicon.alternation(cues)})(?P<after>[^.;:()]{{0,80}})", re.I)
    for role, cues in lexicon.AGENT_CUES.items()
}
_AGENT_BEFORE = {
    role: re.compile(rf"(?P<name>{_AGENT_NAME})[ \u00a0]+(?:{lexicon.alternation(cues)})")
    for role, cues in lexicon.AGENT_CUES.items()
}
_PLACE_NAME = r"[A-ZÉÈÎ][\w’'-]+(?:[ -](?:(?:de|du|des|la|le)\s+|d['’])?[A-ZÉÈÎ][\w’'-]+)*"
#: A place right after a site cue (at most three words between them) and its preposition: where
#: the claim's site is. Further away, the place belongs to another phrase ("le stade … a été
#: dévoilé à l'Hôtel de la Métropole").
_SITE_PLACE = re.compile(
    rf"(?i:\b(?:{lexicon.alternation(lexicon.SITE_CUES)})\b)(?:\s+[\w’'-]+){{0,3}}?\s+"
    rf"(?<![\w-])(?i:{lexicon.alternation(lexicon.SITE_PREPOSITIONS)})\s+(?:(?i:l['’]|la\s+|le\s+|les\s+|the\s+))?"
    rf"(?P<p>{_PLACE_NAME})"
)
_START = re.compile(rf"(?<![\w-])(?:{lexicon.alternation(lexicon.START_CUES)})(?![\w-])", re.I)
_WIDE_PLACE = re.compile(rf"\b(?:{lexicon.alternation(lexicon.WIDE_PLACE_WORDS, escape=True)})\b", re.I)
_ENTITY = re.compile(r"\b[A-ZÉÈÎ][\w’'&-]*[\w]")
_SUBJECT_WORD = re.compile(r"[\w.'-]+")

#: A period a number refers to: ``("dates", start, end)`` or ``("text", folded words)``.
Scope = tuple[object, ...]


def subject_key(name: str | None) -> str | None:
    """The folded subject with aliases applied ("AWS" -> "amazon"), or None when there is none.

    >>> subject_key("Amazon Web Services"), subject_key("  ")
    ('amazon', None)
    """
    if not name or not name.strip():
        return None
    key = fold(name).strip(" .,;:")
    return _ALIASES.get(key, key)


def _predicates(claim: Claim) -> frozenset[str]:
    text = fold(f"{claim.text} {claim.quote}")
    return frozenset(name for name, pattern in _PREDICATES.items() if pattern.search(text))


def _place_kind(key: str) -> str:
    """``country``, ``area`` (a region, "northern France", a metropolitan area) or ``town``."""
    if key in _COUNTRIES:
        return "country"
    words = set(re.split(r"[\s-]+", key))
    if _WIDE_PLACE.search(key) or key in lexicon.REGIONS or words & _COUNTRIES:
        return "area"
    return "town"


def _place(claim: Claim) -> str | None:
    # The claim's own wording (self-contained by design) may name the place its quote leaves
    # implicit; a place is used only to keep apart, never to link.
    place = claim.location or find_location(claim.quote) or find_location(claim.text)
    if not place:
        return None
    key = fold(place).strip()
    return lexicon.PLACE_COUNTRY.get(key, key)


def _scope_time(claim: Claim) -> Scope | None:
    """The period a number refers to ("depuis 2010", "en 2024"); a weekday is when it was
    announced, not what it covers, so it is not a scope."""
    t = claim.time
    if t is None or t.weekday is not None:
        return None
    if t.start is not None or t.end is not None:
        return ("dates", t.start, t.end)
    return ("text", fold(t.text))


def _entities(claim: Claim, subject: str | None) -> frozenset[str]:
    found = set()
    for word in _ENTITY.findall(claim.text):
        key = fold(word).strip("’'")
        if key in lexicon.ENTITY_STOPWORDS or len(key) < 2:
            continue
        found.add(_ALIASES.get(key, key))
    if subject:
        found.add(subject)
    return frozenset(found)


_JOINER = re.compile(lexicon.alternation(lexicon.SUBJECT_JOINERS))
_LEADING_DETERMINER = re.compile(r"^(?:l'|la |le |les |the )")


_LINK_WORDS = frozenset({"de", "du", "des", "d", "la", "le", "les", "l", "the", "of", "a", "an"})


def subject_bag(subject: str | None) -> str | None:
    """A subject's words in any order, links dropped and nouns in one language ("stade du Grand
    Large" and "Grand Large stadium" -> "grand large stade"), for subjects that several words name;
    None for a one-word subject."""
    if not subject:
        return None
    words = [w for w in re.findall(r"[\w-]+", fold(subject)) if w not in _LINK_WORDS]
    if len(words) < 2:
        return None
    return " ".join(sorted(_in_one_language(w) for w in words))


def _in_one_language(word: str) -> str:
    """A noun the lexicon knows in its one name ("stadium" -> "stade"), any other word as it is."""
    unit = canonical_unit(word)
    return unit if unit is not None and is_known_unit(unit) else word


def _subject_parts(subject: str | None) -> frozenset[str]:
    if not subject:
        return frozenset()
    parts = {_LEADING_DETERMINER.sub("", p.strip(" .;:")) for p in _JOINER.split(subject)}
    return frozenset(_ALIASES.get(p, p) for p in parts if len(p) >= 2)


def _agents(claim: Claim) -> frozenset[tuple[str, str]]:
    """(role, folded name) of who holds a role only one holds ("conçu par l'agence Atelier X" ->
    ("design", "atelier x")); the longest name after the cue, or the name just before a cue that
    follows its holder ("Hertel Roux Architectes will lead the redesign")."""
    text = claim.quote or claim.text
    found: set[tuple[str, str]] = set()
    for role, pattern in _AGENTS.items():
        for m in pattern.finditer(text):
            words = m.group("after").split()[:8]
            names = re.findall(_AGENT_NAME, " ".join(words))
            names = [n for n in names if not n.endswith("-based")]
            if names:
                found.add((role, fold(max(names, key=lambda n: (len(n.split()), len(n))))))
        for m in _AGENT_BEFORE[role].finditer(text):
            if fold(m.group("name")) not in lexicon.ENTITY_STOPWORDS:
                found.add((role, fold(m.group("name"))))
    return frozenset(found)


def _roles(claim: Claim) -> frozenset[str]:
    """Roles and titles stated by the claim's quote, each tagged with its language ("fr:maire")."""
    text = fold(claim.quote or claim.text)
    return frozenset(
        f"{code}:{' '.join(m.group().split())}"
        for code, pattern in _ROLES.items()
        for m in pattern.finditer(text)
        if m.group().strip()
    )


def _place_name(claim: Claim) -> tuple[str | None, bool]:
    """Where the claim says its site is (folded), read from its quote, else its wording: a place
    right after a site noun or a verb of location ("usine à Saint-Nazaire", "situé à Genas",
    "will be built in Loon-Plage"); and whether that place is a wide area (a region, a country)."""
    for text in (claim.quote, claim.text):
        m = _SITE_PLACE.search(text or "")
        if m is None or m.group("p").lower() in NOT_PLACES:
            continue
        key = fold(m.group("p")).strip()
        return key, _place_kind(key) != "town"
    return None, False


#: Countries (folded), wide areas too.
_COUNTRIES = frozenset(lexicon.PLACE_COUNTRY.values()) | {"france", "europe", "germany", "spain", "italy"}


@dataclass(frozen=True, eq=False)
class ClaimFeatures:
    """One claim's features for pairing and comparison (see the module docstring)."""

    claim: Claim
    #: folded subject, aliases applied; None when the claim names none
    subject: str | None
    #: the subject's words, each with aliases applied ("amazon web services (aws)" -> {"amazon", ...})
    subject_words: frozenset[str]
    #: what a number of this claim is about ("invest", "jobs", "announce", ...)
    predicates: frozenset[str]
    #: the place, as its country when the gazetteer knows it ("marseille" -> "france")
    place: str | None
    #: the period the claim's number covers, if it states one
    period: Scope | None
    #: the claim names a day or a date
    dated: bool
    #: the weekday it names (0 = Monday), if any
    weekday: int | None
    #: named entities and the subject, for lexical blocking
    entities: frozenset[str]
    #: the claim text, folded
    folded: str
    #: words that make its number another figure ("indirect", "additional", "earlier", "total")
    qualifiers: frozenset[str] = frozenset()
    #: roles and titles it states ("ministre de l'industrie")
    roles: frozenset[str] = frozenset()
    #: its subject's words in any order, nouns in one language (:func:`subject_bag`)
    subject_bag: str | None = None
    #: who holds a role only one holds for its subject: (role, folded name), ("design", "atelier x")
    agents: frozenset[tuple[str, str]] = frozenset()
    #: the place as written (folded), and whether that place is a wide area
    place_name: str | None = None
    wide_place: bool = False
    #: the single day it names, when its time resolves to one ("dimanche", "hier", "12 mai")
    day: dt.date | None = None
    #: the one year its period lies in, when it names a year or a date range inside one
    year: int | None = None
    #: the subjects it names when its subject joins several ("Microsoft et Amazon")
    subject_parts: frozenset[str] = frozenset()
    #: it dates the start of its event ("la production démarrera en 2027"), not the event itself
    starts: bool = False
    #: what kind of place :attr:`place` is: ``country``, ``area`` or ``town`` (None: no place)
    place_kind: str | None = None

    @property
    def events(self) -> frozenset[str]:
        """The dated events it is about (production, opening, works)."""
        return self.predicates & lexicon.EVENT_PREDICATES

    @classmethod
    def of(cls, claim: Claim) -> ClaimFeatures:
        """Compute the features of ``claim``."""
        subject = subject_key(claim.subject)
        words = frozenset(_ALIASES.get(w, w) for w in _SUBJECT_WORD.findall(subject)) if subject else frozenset()
        t = claim.time
        place_name, wide = _place_name(claim)
        place = _place(claim)
        day = t.start if t is not None and t.start is not None and t.start == t.end else None
        year = t.start.year if t is not None and t.start and t.end and t.start.year == t.end.year else None
        evidence = fold(f"{claim.text} {claim.quote}")
        return cls(
            claim=claim,
            subject=subject,
            subject_words=words,
            predicates=_predicates(claim),
            place=place,
            period=_scope_time(claim),
            dated=t is not None and (t.weekday is not None or t.start is not None or t.end is not None),
            weekday=t.weekday if t is not None else None,
            entities=_entities(claim, subject),
            folded=fold(claim.text),
            qualifiers=frozenset(name for name, pattern in _QUALIFIERS.items() if pattern.search(evidence)),
            roles=_roles(claim),
            agents=_agents(claim),
            subject_bag=subject_bag(claim.subject),
            place_name=place_name,
            wide_place=wide,
            day=day,
            year=year,
            subject_parts=_subject_parts(subject),
            starts=bool(_START.search(evidence)),
            place_kind=None if place is None else _place_kind(place),
        )

    @property
    def purposes(self) -> frozenset[str]:
        """The predicates that say what a number counts (saying something is not one)."""
        return self.predicates - {"announce"}


def contains_words(inner: str, outer: str) -> bool:
    """``inner`` appears in ``outer`` as whole words ("microsoft" in "microsoft france", but "ia"
    not in "nvidia")."""
    return re.search(rf"(?<!\w){re.escape(inner)}(?!\w)", outer) is not None


def same_subject(a: ClaimFeatures, b: ClaimFeatures) -> bool | None:
    """True/False when both subjects are known, None when one is missing."""
    ka, kb = a.subject, b.subject
    if ka is None or kb is None:
        return None
    if ka == kb or contains_words(ka, kb) or contains_words(kb, ka):
        return True
    if a.subject_bag is not None and a.subject_bag == b.subject_bag:
        return True  # "stade du Grand Large" and "Grand Large stadium"
    joined = len(a.subject_parts) > 1 or len(b.subject_parts) > 1  # "Microsoft et Amazon" vs "Amazon"
    if joined and any(
        x == y or contains_words(x, y) or contains_words(y, x) for x in a.subject_parts for y in b.subject_parts
    ):
        return True
    # "ligne de tramway T7" vs "T7 tram line": the same identifier (letters and digits) names both
    if _identifiers(ka) & _identifiers(kb):
        return True
    # "Amazon Web Services (AWS)" vs "Amazon": compare aliases of the words too.
    return kb in a.subject_words or ka in b.subject_words


def _identifiers(key: str) -> set[str]:
    """The words of a subject that are identifiers: letters and digits together ("t7", "a380")."""
    return {w for w in re.findall(r"\w+", key) if re.search(r"\d", w) and re.search(r"[^\W\d_]", w)}


def differs(x: object | None, y: object | None) -> bool:
    """Both known and different."""
    if x is None or y is None:
        return False
    if isinstance(x, tuple) and isinstance(y, tuple) and x[0] != y[0]:
        return False  # one has dates, the other only words: cannot tell
    return x != y


def scope_differs(a: ClaimFeatures, b: ClaimFeatures) -> str | None:
    """Why two claims are about different scopes (place or period), when both state one."""
    if differs(a.place, b.place) and _places_exclusive(a.place_kind, b.place_kind):
        return "place"
    if differs(a.period, b.period):
        return "period"
    return None


def days_agree(a: ClaimFeatures, b: ClaimFeatures, *, strict: bool = False) -> bool:
    """Whether two claims' days or dates agree: the same day, the same weekday, or overlapping
    periods. When one states none or they cannot be compared (a weekday against "by 2030"), True,
    or False when ``strict`` (they cannot be said to agree)."""
    if a.day is not None and b.day is not None:
        return a.day == b.day
    if a.weekday is not None and b.weekday is not None:
        return a.weekday == b.weekday
    ta, tb = a.claim.time, b.claim.time
    if ta is None or tb is None or None in (ta.start, ta.end, tb.start, tb.end):
        return not strict
    if strict and (a.weekday is None) != (b.weekday is None):
        return False  # a weekday against a period that only contains its date: not the same fact
    assert ta.start and ta.end and tb.start and tb.end
    return ta.start <= tb.end and tb.start <= ta.end


def _places_exclusive(x: str | None, y: str | None) -> bool:
    """Whether two different places of these kinds cannot hold one another: two towns, or two
    countries. A town against a region or a country may lie inside it (Loon-Plage in the
    Hauts-de-France, "in northern France"): a place is then no reason to keep two amounts apart."""
    return x == y and x in ("town", "country")


def scope_unknown(a: ClaimFeatures, b: ClaimFeatures) -> str | None:
    """Why two claims might be about different scopes: one states a place or period the other lacks."""
    if (a.place is None) != (b.place is None):
        return "place"
    if (a.period is None) != (b.period is None):
        return "period"
    return None
