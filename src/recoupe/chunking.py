"""Sentence splitting with character offsets, and chunks of target sentences plus context."""

from __future__ import annotations

import re
from functools import lru_cache

import pysbd

from . import lexicon
from .models import Article, Chunk, Sentence, Span

__all__ = ["make_chunks", "split_sentences"]

_TERMINAL = re.compile(r"[.!?…»\"”)]\s*$")
# Site furniture and links that are never claims (French and English).
_BOILERPLATE = re.compile(rf"^({lexicon.alternation(lexicon.BOILERPLATE)})", re.IGNORECASE)
_WIRE_ONLY = re.compile(rf"^\(?\s*({lexicon.alternation(lexicon.WIRE_TAGS, escape=True)})\s*\)?\s*$", re.IGNORECASE)
# Fallback splitter when the rule-based splitter's output cannot be found back in the text.
_FALLBACK = re.compile(r"(?<=[.!?…])\s+(?=[«\"“A-ZÀ-ÖØ-Þ0-9])")


@lru_cache(maxsize=4)
def _segmenter(language: str) -> pysbd.Segmenter:
    lang = language if language in ("fr", "en", "de", "es", "it", "nl") else "en"
    return pysbd.Segmenter(language=lang, clean=False)


def _segments(paragraph: str, language: str) -> list[str]:
    if len(paragraph) > 20_000:
        # The rule-based splitter is quadratic on pathological input (one huge line).
        return [p for p in _FALLBACK.split(paragraph) if p.strip()]
    return _pysbd_segments(_segmenter(language), paragraph)


def _pysbd_segments(segmenter: pysbd.Segmenter, text: str) -> list[str]:
    """``segmenter.segment(text)`` with ``clean=False``, its sentences found back in the text by
    ``str.find`` where pysbd compiles one regular expression per sentence (``re.escape(sentence)
    + r"\\s*"``, the first match ending after the previous sentence): the same output, at about
    half the cost, since those patterns overflow ``re``'s cache."""
    if not text:
        return []
    found: list[str] = []
    prior_end = 0
    for sentence in segmenter.processor(text).process():
        if not sentence:  # as pysbd does: an empty pattern matches (almost) anywhere
            for m in re.finditer(r"\s*", text):
                if m.end() > prior_end:
                    found.append(m.group())
                    prior_end = m.end()
                    break
            continue
        start = 0
        while (at := text.find(sentence, start)) >= 0:
            end = at + len(sentence)
            while end < len(text) and text[end].isspace():
                end += 1
            if end > prior_end:
                found.append(text[at:end])
                prior_end = end
                break
            start = end
    return found


def _fallback_pieces(paragraph: str) -> list[tuple[int, int]]:
    """Sentence offsets by :data:`_FALLBACK` alone (end punctuation, then a capital), trimmed."""
    pieces = []
    start = 0
    for m in [*_FALLBACK.finditer(paragraph), None]:
        end = m.start() if m is not None else len(paragraph)
        piece = paragraph[start:end]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            pieces.append((start + lead, start + len(piece.rstrip())))
        if m is not None:
            start = m.end()
    return pieces


def _paragraphs(text: str) -> list[tuple[int, int]]:
    spans = []
    for m in re.finditer(r"[^\n]+", text):
        if m.group().strip():
            spans.append((m.start(), m.end()))
    return spans


def _kind(sentence: str, alone_on_line: bool) -> str:
    stripped = sentence.strip()
    if _BOILERPLATE.match(stripped) or _WIRE_ONLY.match(stripped):
        return "boilerplate"
    words = len(stripped.split())
    if alone_on_line and not _TERMINAL.search(stripped) and words <= 20:
        return "heading"
    if words < 3:
        return "boilerplate"
    return "body"


def split_sentences(text: str, language: str | None = None) -> list[Sentence]:
    """Split ``text`` into sentences whose spans slice back to their text exactly.

    Lines are split first (a line break always ends a sentence), then each line by a rule-based
    splitter that knows French and English abbreviations, decimal commas and guillemets.
    """
    lang = (language or "fr").lower()[:2]
    sentences: list[Sentence] = []
    story_ended = False
    for p_start, p_end in _paragraphs(text):
        paragraph = text[p_start:p_end]
        pieces: list[tuple[int, int]] | None = []
        cursor = 0
        for segment in _segments(paragraph, lang):
            seg = segment.strip()
            if not seg:
                continue
            found = paragraph.find(seg, cursor)
            if found < 0:
                pieces = None
                break
            pieces.append((found, found + len(seg)))  # type: ignore[union-attr]  # None only after break
            cursor = found + len(seg)
        if pieces is None:
            pieces = _fallback_pieces(paragraph)
        alone = len(pieces) == 1
        for start, end in pieces:
            s_text = paragraph[start:end]
            kind = "boilerplate" if story_ended else _kind(s_text, alone)
            # A wire tag alone on its line, such as "(AFP)", closes the story: what follows is
            # the byline and site furniture.
            if _WIRE_ONLY.match(s_text.strip()) and len(sentences) > 2:
                story_ended = True
            sentences.append(
                Sentence(
                    index=len(sentences),
                    span=Span(start=p_start + start, end=p_start + end),
                    text=s_text,
                    kind=kind,  # type: ignore[arg-type]
                )
            )
    return sentences


def make_chunks(
    article: Article,
    sentences: list[Sentence] | None = None,
    *,
    max_chars: int = 350,
    context_chars: int = 200,
) -> list[Chunk]:
    """Group consecutive body sentences into chunks of at most ``max_chars`` (a longer sentence is
    a chunk of its own), each with the sentence before it as context, and the ones before that
    while the context stays within ``context_chars``: enough to say who "il" is, and every
    character of it is evaluated again by the model for each chunk."""
    if sentences is None:
        sentences = split_sentences(article.text, article.lang)
    chunks: list[Chunk] = []
    group: list[Sentence] = []

    def flush() -> None:
        if not group:
            return
        target = Span(start=group[0].span.start, end=group[-1].span.end)
        first = group[0].index
        context_start = None
        for s in reversed(sentences[:first]):
            if context_start is not None and target.start - s.span.start > context_chars:
                break
            context_start = s.span.start
        context = Span(start=context_start, end=target.start) if context_start is not None else None
        chunks.append(
            Chunk(
                article_id=article.id,
                index=len(chunks),
                target=target,
                context=context,
                sentence_indexes=[s.index for s in group],
            )
        )
        group.clear()

    for sentence in sentences:
        if sentence.kind != "body":
            flush()
            continue
        if group and sentence.span.end - group[0].span.start > max_chars:
            flush()
        group.append(sentence)
    flush()
    return chunks
