"""Who stands behind a claim: its independent origin.

Two outlets relaying Reuters are one origin, "Reuters". In order, a claim's origin is: an
attribution to a news organisation in its own sentence ("selon Reuters", "(via Reuters)", "écrit
Bloomberg", "d'après l'AFP", "according to Reuters", "(AFP)"); its claimant when that is a news
agency; the article's wire tag; else the article itself, ``article:<id>``.
"""

from __future__ import annotations

import re

from .. import lexicon
from ..lexicon import fold
from ..models import Article, Claim

__all__ = ["article_origin", "claim_origin"]

_AGENCIES = lexicon.NEWS_ORGANISATIONS
_AGENCY_ALTERNATION = "|".join(
    sorted((re.escape(name) for name in _AGENCIES if not name.startswith("l'")), key=len, reverse=True)
)
_APOS = "['’]"
# A cue word (any case) then a capitalised name: "selon Reuters", "d'après l'AFP", "écrit
# Bloomberg", "according to Reuters". Only news organisations are origins: "selon L'Elysée" names a
# claimant, and the outlet that reports it stays the origin.
_NAME = r"(?P<who>[A-ZÉÈ][\w’'&-]*(?:[ \u00a0](?:[A-ZÉÈ][\w’'&-]*))*)"
_DETERMINER = "|".join(rf"l{_APOS}\s*" if d == "l'" else rf"{re.escape(d)}\s+" for d in lexicon.DETERMINERS)
_ARTICLE = rf"(?:{_DETERMINER})?"
_WORD_START = r"\b"
_SOURCE_CUES = "|".join(_WORD_START + cue for cue in lexicon.SOURCE_CUES)
_RELAY_CUES = "|".join(_WORD_START + cue for cue in lexicon.RELAY_CUES)
_ATTRIBUTION = re.compile(rf"(?i:{_SOURCE_CUES})\s+{_ARTICLE}{_NAME}")
# Weaker cues ("via une filiale", "a déclaré au personnel") count only before a news agency:
# "(via Reuters)", "a déclaré à l'Agence France-Presse", "told Reuters".
_RELAY = re.compile(rf"(?i:{_RELAY_CUES})\s+{_ARTICLE}{_NAME}")
# "(AFP)", "(Reuters)", "PARIS (AFP) -": a wire tag in parentheses names the agency.
_WIRE_TAG = re.compile(rf"\((?P<who>{_AGENCY_ALTERNATION})\)", re.I)
_WIRE_LINE = re.compile(rf"^\s*\((?P<who>{_AGENCY_ALTERNATION})\)\s*[-–—]?\s*$", re.I | re.M)
_LEADING_DETERMINER = re.compile(rf"^(?:{_DETERMINER})", re.I)
# "AFP reported", "l'AFP précise": the agency named before its verb.
_SOURCE_AFTER = re.compile(
    rf"\b(?P<who>{_AGENCY_ALTERNATION})\s+(?:{lexicon.alternation(lexicon.SOURCE_AFTER)})\b", re.I
)
# A credit line for the whole article: "(avec AFP)", "This article is based on an AFP dispatch".
_ARTICLE_CREDIT = re.compile(
    "|".join(
        f"(?:{c.replace('{who}', f'(?P<who{n}>{_AGENCY_ALTERNATION})')})" for n, c in enumerate(lexicon.ARTICLE_CREDITS)
    ),
    re.I,
)
#: A wire tag this close to the start of the text is an article-level dateline.
_DATELINE_CHARS = 300
_SENTENCE_END = re.compile(r"[.!?…]\s|\n")


def canonical_source(name: str) -> str:
    """``Agence France-Presse`` -> ``AFP``; other names as written, without a leading article.

    >>> canonical_source("l'Agence France-Presse")
    'AFP'
    """
    cleaned = _LEADING_DETERMINER.sub("", name.strip())
    cleaned = cleaned.strip(" .,;:)(\u00a0")
    return _AGENCIES.get(fold(cleaned), cleaned)


def agency(name: str | None) -> str | None:
    """The canonical agency name when ``name`` is a news agency, else None."""
    if not name:
        return None
    canonical = canonical_source(name)
    return canonical if fold(canonical) in _AGENCIES else None


def article_origin(article: Article) -> str:
    """The article-level origin: a wire tag alone on a line ("(AFP)") or near the start of the
    text ("(AOF) - ..."), or a credit line for the whole text ("(avec AFP)", "based on an AFP
    dispatch"), else ``article:<id>``.

    >>> article_origin(Article(id="a1", text="PARIS (AFP) - Microsoft..."))
    'AFP'
    """
    m = _WIRE_LINE.search(article.text)
    if m is None:
        m = _WIRE_TAG.search(article.text[:_DATELINE_CHARS])
    if m is not None:
        return canonical_source(m.group("who"))
    credit = _ARTICLE_CREDIT.search(article.text)
    if credit is not None:
        return canonical_source(next(v for v in credit.groupdict().values() if v))
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
    after = _SENTENCE_END.search(text, end)
    right = after.start() + 1 if after else len(text)
    return text[left:right], start - left, end - left


def _sentence_attribution(claim: Claim, text: str) -> str | None:
    """An attribution in the claim's own sentence, the one nearest the quote."""
    window, q_start, q_end = _sentence_around(claim, text)
    best: tuple[int, str] | None = None
    candidates = [(m.start(), m.end(), m.group("who")) for m in _ATTRIBUTION.finditer(window) if agency(m.group("who"))]
    candidates += [(m.start(), m.end(), m.group("who")) for m in _RELAY.finditer(window) if agency(m.group("who"))]
    candidates += [(m.start(), m.end(), m.group("who")) for m in _WIRE_TAG.finditer(window)]
    candidates += [(m.start(), m.end(), m.group("who")) for m in _SOURCE_AFTER.finditer(window)]
    for m_start, m_end, who in candidates:
        distance = 0 if m_start < q_end and m_end > q_start else min(abs(m_start - q_end), abs(q_start - m_end))
        if best is None or distance < best[0]:
            best = (distance, who)
    return canonical_source(best[1]) if best else None


def claim_origin(claim: Claim, article: Article) -> str:
    """The independent original source of ``claim`` (see the module docstring for the order).

    Agency names are canonical (Agence France-Presse -> AFP), so two outlets relaying Reuters give
    one origin.
    """
    attributed = _sentence_attribution(claim, article.text)
    if attributed:
        return attributed
    from_claimant = agency(claim.claimant)
    if from_claimant:
        return from_claimant
    return article_origin(article)
