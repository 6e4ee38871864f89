"""Language knowledge as data: French and English vocabulary, news organisations, and one fold.

Every rule of recoupe that depends on words reads them here: chunking (boilerplate, wire tags),
extraction (claimant cues, subject stop-words), normalisation (scales, currencies, units, bounds,
weekdays, months, modality cues, places) and the cross-check (sources, relays, predicates,
aliases, places). Per-language tables live in :mod:`.fr` and :mod:`.en`; this module merges them
(French first) into the bilingual tables the rules use, since an article may quote either
language. :mod:`.sources` holds what belongs to no language (news organisations, signs, aliases,
a small gazetteer); :mod:`.fold` the one typography fold.
"""

from __future__ import annotations

import re

from . import en, fr
from .fold import TYPOGRAPHY, fold, fold_for_search, fold_typography
from .sources import (
    CURRENCY_SIGNS,
    NEWS_ORGANISATIONS,
    NOT_PLACES,
    PLACE_COUNTRY,
    REGIONS,
    SUBJECT_ALIASES,
    UNIT_SIGNS,
    WIRE_TAGS,
)

__all__ = [
    "AGENT_CUES",
    "ARTICLE_CREDITS",
    "ASPECT_NOUNS",
    "BOILERPLATE",
    "BOUND_PATTERNS",
    "CLAIMANT_CUES",
    "CLAUSE_CONJUNCTIONS",
    "CURRENCIES",
    "DETERMINERS",
    "ENGLISH_WEEKDAY_NAMES",
    "ENTITY_STOPWORDS",
    "EVENT_PREDICATES",
    "FACILITY_NOUNS",
    "FRENCH_MONTHS",
    "GENERIC_ORGANISATIONS",
    "LEAD_JOINERS",
    "LEAD_OPENERS",
    "MONTHS",
    "NAME_LINKS",
    "NEWS_ORGANISATIONS",
    "NOT_PLACES",
    "NOT_UNITS",
    "NP_DETERMINERS",
    "PLACE_COUNTRY",
    "PLACE_PHRASES",
    "PLACE_PREPOSITIONS",
    "PLAN_PATTERNS",
    "PREDICATES",
    "QUALIFIERS",
    "QUARTERS",
    "REGIONS",
    "RELATIVE_PRONOUNS",
    "RELAY_CUES",
    "ROLES",
    "ROLE_COMPLEMENTS",
    "SCALES",
    "SITE_CUES",
    "SITE_PREPOSITIONS",
    "SOURCE_AFTER",
    "SOURCE_CUES",
    "SPEECH_VERBS",
    "START_CUES",
    "SUBJECT_ALIASES",
    "SUBJECT_JOINERS",
    "SUBJECT_PRONOUNS",
    "SUBJECT_STOPWORDS",
    "TARGET_PATTERNS",
    "TYPOGRAPHY",
    "UNITS",
    "UNIT_FILLERS",
    "WEEKDAYS",
    "WIDE_PLACE_WORDS",
    "WIRE_TAGS",
    "alternation",
    "en",
    "fold",
    "fold_for_search",
    "fold_typography",
    "fr",
]

WEEKDAYS: dict[str, int] = {**fr.WEEKDAYS, **en.WEEKDAYS}
#: English weekday names by number, for rationales ("Sunday vs Monday").
ENGLISH_WEEKDAY_NAMES: list[str] = [name.capitalize() for name in en.WEEKDAYS]
FRENCH_MONTHS: dict[str, int] = dict(fr.MONTHS)
MONTHS: dict[str, int] = {**fr.MONTHS, **en.MONTHS}
QUARTERS: dict[str, int] = {**fr.QUARTERS, **en.QUARTERS}
SCALES: dict[str, float] = {**fr.SCALES, **en.SCALES}
CURRENCIES: dict[str, str] = {**fr.CURRENCIES, **en.CURRENCIES, **CURRENCY_SIGNS}
UNITS: dict[str, str] = {**fr.UNITS, **en.UNITS, **UNIT_SIGNS}
UNIT_FILLERS: frozenset[str] = fr.UNIT_FILLERS | en.UNIT_FILLERS
BOUND_PATTERNS: dict[str, list[str]] = {
    bound: fr.BOUND_PATTERNS[bound] + en.BOUND_PATTERNS[bound] for bound in fr.BOUND_PATTERNS
}
TARGET_PATTERNS: list[str] = fr.TARGET_PATTERNS + en.TARGET_PATTERNS
PLAN_PATTERNS: list[str] = fr.PLAN_PATTERNS + en.PLAN_PATTERNS
PLACE_PREPOSITIONS: list[str] = fr.PLACE_PREPOSITIONS + en.PLACE_PREPOSITIONS
PLACE_PHRASES: list[str] = fr.PLACE_PHRASES + en.PLACE_PHRASES
SITE_CUES: list[str] = fr.SITE_CUES + en.SITE_CUES
SITE_PREPOSITIONS: list[str] = fr.SITE_PREPOSITIONS + en.SITE_PREPOSITIONS
START_CUES: list[str] = fr.START_CUES + en.START_CUES
SOURCE_CUES: list[str] = fr.SOURCE_CUES + en.SOURCE_CUES
RELAY_CUES: list[str] = fr.RELAY_CUES + en.RELAY_CUES
CLAIMANT_CUES: list[str] = fr.CLAIMANT_CUES + en.CLAIMANT_CUES
DETERMINERS: list[str] = fr.DETERMINERS + en.DETERMINERS
ENTITY_STOPWORDS: frozenset[str] = fr.ENTITY_STOPWORDS | en.ENTITY_STOPWORDS
SUBJECT_STOPWORDS: frozenset[str] = fr.SUBJECT_STOPWORDS | en.SUBJECT_STOPWORDS
PREDICATES: dict[str, list[str]] = {name: fr.PREDICATES[name] + en.PREDICATES[name] for name in fr.PREDICATES}
BOILERPLATE: list[str] = fr.BOILERPLATE + en.BOILERPLATE
SOURCE_AFTER: list[str] = fr.SOURCE_AFTER + en.SOURCE_AFTER
ARTICLE_CREDITS: list[str] = fr.ARTICLE_CREDITS + en.ARTICLE_CREDITS
QUALIFIERS: dict[str, list[str]] = {name: fr.QUALIFIERS[name] + en.QUALIFIERS[name] for name in fr.QUALIFIERS}
ROLES: list[str] = fr.ROLES + en.ROLES
ROLE_COMPLEMENTS: list[str] = [fr.ROLE_COMPLEMENT, en.ROLE_COMPLEMENT]
WIDE_PLACE_WORDS: list[str] = fr.WIDE_PLACE_WORDS + en.WIDE_PLACE_WORDS
GENERIC_ORGANISATIONS: frozenset[str] = frozenset(fr.GENERIC_ORGANISATIONS + en.GENERIC_ORGANISATIONS)
#: Predicates that name an event with a date of its own (a year of production or opening).
EVENT_PREDICATES: frozenset[str] = frozenset({"production", "opening", "works"})
#: Words that join two subjects ("Microsoft et Amazon", "LRFC and the city").
#: Words that stand for a quote's subject at its start ("il", "the company").
SUBJECT_PRONOUNS: list[str] = fr.SUBJECT_PRONOUNS + en.SUBJECT_PRONOUNS
#: What opens a sentence before its subject, what opens a noun phrase, what links a head noun to its
#: name (:mod:`recoupe.extraction.subjects`).
LEAD_OPENERS: list[str] = fr.LEAD_OPENERS + en.LEAD_OPENERS
LEAD_JOINERS: list[str] = fr.LEAD_JOINERS + en.LEAD_JOINERS
NP_DETERMINERS: list[str] = fr.NP_DETERMINERS + en.NP_DETERMINERS
NAME_LINKS: list[str] = fr.NAME_LINKS + en.NAME_LINKS
RELATIVE_PRONOUNS: list[str] = fr.RELATIVE_PRONOUNS + en.RELATIVE_PRONOUNS
CLAUSE_CONJUNCTIONS: list[str] = fr.CLAUSE_CONJUNCTIONS + en.CLAUSE_CONJUNCTIONS
NOT_UNITS: frozenset[str] = fr.NOT_UNITS | en.NOT_UNITS
#: Head nouns that name a side of a project ("les travaux", "the cost"), not a thing of their own.
ASPECT_NOUNS: frozenset[str] = fr.ASPECT_NOUNS | en.ASPECT_NOUNS
#: A verb of saying and what opens what was said ("a déclaré que", "said that").
SPEECH_VERBS: list[str] = fr.SPEECH_VERBS + en.SPEECH_VERBS
#: Head nouns of a built thing a project is about ("stade", "plant").
FACILITY_NOUNS: frozenset[str] = fr.FACILITY_NOUNS | en.FACILITY_NOUNS
#: Who holds a role only one holds for a thing (its designer), by role (:func:`~recoupe.crosscheck.features`).
AGENT_CUES: dict[str, list[str]] = {role: fr.AGENT_CUES[role] + en.AGENT_CUES[role] for role in fr.AGENT_CUES}
SUBJECT_JOINERS: list[str] = [r"\s+et\s+", r"\s+and\s+", r"\s*,\s*", r"\s*&\s*"]


def alternation(fragments: list[str] | tuple[str, ...], *, escape: bool = False) -> str:
    """``a|b|c`` of regex fragments (or of literal words, escaped, with ``escape=True``).

    >>> alternation(["selon", r"d['’]après"])
    "selon|d['’]après"
    """
    return "|".join(re.escape(f) for f in fragments) if escape else "|".join(fragments)
