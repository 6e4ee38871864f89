"""Grounding: align a model's quote to a half-open span of the article text (the code grounds, never
the model), then shape it: clipped to one sentence, extended to the end of its clause."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from .lexicon import fold, fold_for_search, fold_typography
from .models import Alignment, Sentence, Span

__all__ = [
    "CLAUSE_BREAK",
    "FUZZY_THRESHOLD",
    "MIN_QUOTE_CHARS",
    "Grounding",
    "clip_to_sentence",
    "extend_to_clause",
    "ground_quote",
    "sentence_at",
]

#: Minimum rapidfuzz partial-ratio (0-100) for a fuzzy alignment.
FUZZY_THRESHOLD = 85.0
#: A fuzzy span shorter than this share of the quote is refused (no 3-character "alignments").
MIN_COVERAGE = 0.6
#: A quote shorter than this is not evidence (no grounding on "l" or "AWS").
MIN_QUOTE_CHARS = 12


@dataclass(frozen=True)
class Grounding:
    span: Span | None
    alignment: Alignment
    score: float

    def quote(self, text: str) -> str | None:
        return self.span.slice(text) if self.span else None


def _expand_to_words(text: str, start: int, end: int, window: Span) -> tuple[int, int]:
    while start > window.start and text[start - 1].isalnum() and text[start].isalnum():
        start -= 1
    while end < window.end and text[end - 1].isalnum() and text[end].isalnum():
        end += 1
    return start, end


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start] in " \t\r\n\u00a0":
        start += 1
    while end > start and text[end - 1] in " \t\r\n\u00a0":
        end -= 1
    return start, end


def _ground_in(quote: str, text: str, window: Span) -> Grounding | None:
    found = text.find(quote, window.start, window.end)
    if found >= 0:
        return Grounding(Span(start=found, end=found + len(quote)), Alignment.exact, 100.0)
    folded_quote, _ = fold_for_search(quote)
    if not folded_quote:
        return None
    folded, index = fold_for_search(text, window.start, window.end)
    found = folded.find(folded_quote)
    if found >= 0:
        start, end = index[found], index[found + len(folded_quote) - 1] + 1
        start, end = _trim(text, start, end)
        return Grounding(Span(start=start, end=end), Alignment.normalized, 100.0)
    if len(folded) == 0:
        return None
    result = fuzz.partial_ratio_alignment(folded_quote, folded, score_cutoff=FUZZY_THRESHOLD)
    if result is None:
        return _ground_words_in_order(quote, text, window)
    if len(folded_quote) <= len(folded):
        d_start, d_end = result.dest_start, result.dest_end
    else:  # the quote is longer than the window: the window itself is what aligns
        d_start, d_end = 0, len(folded)
    if d_end <= d_start or (d_end - d_start) < MIN_COVERAGE * len(folded_quote):
        return None
    start, end = index[d_start], index[d_end - 1] + 1
    start, end = _expand_to_words(text, start, end, window)
    start, end = _trim(text, start, end)
    return Grounding(Span(start=start, end=end), Alignment.fuzzy, float(result.score))


_WORD = re.compile(r"\w+")
#: A quote whose words all appear in order may skip words of the article, within this stretch.
MAX_GAPPED_STRETCH = 1.8
MIN_GAPPED_WORDS = 4


def _ground_words_in_order(quote: str, text: str, window: Span) -> Grounding | None:
    """A small model copies a sentence but drops words ("AWS a généré 25 milliards" for "AWS,
    filiale d'Amazon, a généré 25 milliards"): find the shortest stretch of the window holding
    every word of the quote in order, if it is not much longer than the quote."""
    words = [w.lower() for w in _WORD.findall(fold_typography(quote))]
    if len(words) < MIN_GAPPED_WORDS:
        return None
    tokens = [
        (m.group().lower(), m.start() + window.start, m.end() + window.start)
        for m in _WORD.finditer(fold_typography(text[window.start : window.end]))
    ]
    best: tuple[int, int] | None = None
    for i, (tok, _, _) in enumerate(tokens):
        if tok != words[0]:
            continue
        k = 1
        j = i
        while k < len(words) and j + 1 < len(tokens):
            j += 1
            if tokens[j][0] == words[k]:
                k += 1
        if k == len(words):
            start, end = tokens[i][1], tokens[j][2]
            if best is None or end - start < best[1] - best[0]:
                best = (start, end)
    if best is None or best[1] - best[0] > MAX_GAPPED_STRETCH * len(quote):
        return None
    return Grounding(Span(start=best[0], end=best[1]), Alignment.fuzzy, 0.0)


def ground_quote(quote: str, text: str, within: Span | None = None, *, only_within: bool = False) -> Grounding:
    """Find ``quote`` in ``text``: exact, then up to typography, then fuzzy (score ≥ threshold).

    ``within`` is searched first (the chunk's target sentences), then the whole text unless
    ``only_within`` is set. The returned
    span satisfies ``text[span.start:span.end]`` being the article's own wording of the quote.

    >>> g = ground_quote("l'est de la France", "construit dans l’est de la France.")
    >>> g.alignment.value, g.quote("construit dans l’est de la France.")
    ('normalized', 'l’est de la France')
    """
    quote = quote.strip()
    if not quote:
        return Grounding(None, Alignment.none, 0.0)
    windows = [within] if within is not None else []
    if within is None or not only_within:
        windows.append(Span(start=0, end=len(text)))
    for window in windows:
        grounding = _ground_in(quote, text, window)
        if grounding is not None:
            return grounding
    return Grounding(None, Alignment.none, 0.0)


# -- quote shaping: a grounded quote clipped to one sentence, widened to what the claim states --
def sentence_at(span: Span, sentences: Sequence[Sentence]) -> Sentence | None:
    for s in sentences:
        if s.span.start <= span.start < s.span.end:
            return s
    return None


def clip_to_sentence(grounding: Grounding, claim: str, sentences: Sequence[Sentence]) -> Grounding:
    """A quote that runs over several sentences is clipped to the one that best supports the claim:
    a claim is atomic, and its evidence is the shortest span that states it."""
    span = grounding.span
    assert span is not None
    inside = [s for s in sentences if s.span.start < span.end and span.start < s.span.end]
    if len(inside) <= 1:
        return grounding
    best = max(inside, key=lambda s: (fuzz.token_set_ratio(fold(claim), fold(s.text)), -s.index))
    start, end = max(span.start, best.span.start), min(span.end, best.span.end)
    if end - start < MIN_QUOTE_CHARS:
        return grounding
    return Grounding(Span(start=start, end=end), grounding.alignment, grounding.score)


#: Where a clause ends: a semicolon, a colon, a comma, a dash, an opening bracket.
CLAUSE_BREAK = re.compile(r"\s*[;:]\s+|,\s+|\s+[-–—]\s+|\s*\(\s*")
#: A clause the code ends is at least this long (from the quote's start), so that "Dimanche," or
#: "Selon Reuters," is not a clause of its own.
MIN_CLAUSE_CHARS = 30


def extend_to_clause(grounding: Grounding, sentences: Sequence[Sentence], text: str) -> Grounding:
    """A quote that stops inside a clause is extended to the clause's end: the next clause break
    at least ``MIN_CLAUSE_CHARS`` after its start, else the end of its sentence. The model gives
    the first words of the words that state a fact; the code, not the model, finds where they end.
    A quote that already ends at a break or at its sentence's end is kept as it is.

    >>> from recoupe.chunking import split_sentences
    >>> text = "Dimanche, Microsoft a annoncé 4 milliards d'euros, selon l'AFP. Suite."
    >>> g = Grounding(Span(start=0, end=18), Alignment.exact, 1.0)
    >>> extend_to_clause(g, split_sentences(text), text).quote(text)
    "Dimanche, Microsoft a annoncé 4 milliards d'euros"
    """
    span = grounding.span
    assert span is not None
    sentence = sentence_at(span, sentences)
    if sentence is None:
        return grounding
    limit = sentence.span.end
    while limit > span.end and text[limit - 1] in " .;:,!?":
        limit -= 1
    if span.end >= limit or CLAUSE_BREAK.match(text, span.end):
        return grounding
    end = limit
    for m in CLAUSE_BREAK.finditer(text, span.end, limit):
        if m.start() - span.start >= MIN_CLAUSE_CHARS:
            end = m.start()
            break
    return Grounding(Span(start=span.start, end=end), grounding.alignment, grounding.score)
