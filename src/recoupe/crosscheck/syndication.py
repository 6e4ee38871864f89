"""Syndicated copy: an article that reproduces another's sentences without naming it shares that
article's origin for what it copied.

Sentences are compared through word shingles (five folded words in a row), indexed once, so that
only sentences sharing several shingles are ever compared; a pair is a copy when rapidfuzz's
``ratio`` of the folded sentences is at least :data:`COPY_RATIO`. An article that copies at least
:data:`MIN_COPIED` sentences of another is its copy for those sentences; of two articles that
share sentences, the copy is the later published; on the same day, the one whose text the shared
sentences make up the larger share of (then the later id).

>>> import datetime as dt
>>> from recoupe.models import Article
>>> wire = Article(id="w", published=dt.date(2026, 3, 9), text="Acme Industries will build a battery plant near Lyon, creating 500 jobs by 2028. "
...                            "The plant will make batteries for electric cars sold in Europe.")
>>> copy = Article(id="c", published=dt.date(2026, 3, 10), text="Acme Industries will build a battery plant near Lyon, creating 500 jobs by 2028! "
...                            "The plant will make batteries for electric cars sold in Europe. "
...                            "The mayor welcomed it. Unions asked for more. Work starts soon.")
>>> [(c.article, c.source) for c in copied_sentences([wire, copy])][:1]
[('c', 'w')]
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz

from ..chunking import split_sentences
from ..lexicon import fold
from ..models import Article, Span

__all__ = [
    "COPY_RATIO",
    "MIN_COPIED",
    "Copied",
    "Split",
    "comparable_sentences",
    "copied_sentences",
    "sentence_shingles",
    "shingle_hash",
]

#: Least rapidfuzz ratio (0-100) of two folded sentences for one to be a copy of the other.
COPY_RATIO = 90
#: Sentences an article must share with another to be its copy (one shared phrase is a quote).
MIN_COPIED = 2
#: Shorter sentences are not compared (headlines, datelines, "(AFP)").
MIN_LETTERS = 40
SHINGLE = 5
MIN_SHARED_SHINGLES = 3
#: A shingle found in more sentences than this is boilerplate, not evidence of copying.
MAX_SHINGLE_POSTINGS = 50

_WORD = re.compile(r"\w+")
#: Most characters between two sentences read as one (the space after a full stop).
_ADJACENT = 3


@dataclass(frozen=True)
class Copied:
    """A sentence of ``article`` (at ``span``) copied from the sentence at ``source_span`` of
    ``source``."""

    article: str
    span: Span
    source: str
    source_span: Span


@dataclass(frozen=True)
class _Sentence:
    article: int
    span: Span
    folded: str
    #: for two adjacent sentences read as one (a copy that split a sentence or joined two): the
    #: indexes of the two
    parts: tuple[int, int] | None = None


def _shingles(folded: str) -> set[tuple[str, ...]]:
    words = _WORD.findall(folded)
    return {tuple(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}


def shingle_hash(shingle: tuple[str, ...]) -> int:
    """A stable signed 63-bit hash of a shingle, for storing it in an index.

    >>> shingle_hash(("a", "b", "c", "d", "e")) == shingle_hash(("a", "b", "c", "d", "e"))
    True
    """
    digest = hashlib.blake2b("\x1f".join(shingle).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


#: An article's sentences long enough to compare (span, folded text), and its sentence count.
Split = tuple[list[tuple[Span, str]], int]


def comparable_sentences(article: Article) -> Split:
    """The sentences of ``article`` long enough to compare, folded, and how many sentences it has."""
    split = split_sentences(article.text, article.lang)
    return [(s.span, fold(s.text)) for s in split if sum(ch.isalpha() for ch in s.text) >= MIN_LETTERS], len(split)


def _sentences(
    articles: Sequence[Article], split: Callable[[Article], Split] = comparable_sentences
) -> tuple[list[_Sentence], list[int]]:
    """The sentences long enough to compare, and every article's sentence count (split once).

    Each pair of adjacent sentences is also there as one sentence, so that a copy that splits a
    sentence in two ("…d'argent public : la Métropole en apportera…" against "…d'argent public.
    La Métropole en apportera…") is found as one."""
    out: list[_Sentence] = []
    counts = []
    for n, article in enumerate(articles):
        sentences, count = split(article)
        counts.append(count)
        first = len(out)
        out.extend(_Sentence(n, span, folded) for span, folded in sentences)
        for k in range(first, len(out) - 1):
            x, y = out[k], out[k + 1]
            if y.span.start - x.span.end <= _ADJACENT:
                out.append(_Sentence(n, Span(start=x.span.start, end=y.span.end), f"{x.folded} {y.folded}", (k, k + 1)))
    return out, counts


def sentence_shingles(
    article: Article, split: Callable[[Article], Split] = comparable_sentences
) -> list[tuple[int, set[int]]]:
    """The hashed shingles of every sentence of ``article`` long enough to compare, by the
    sentence's start offset: what an archive indexes to find the articles a new one may copy."""
    sentences, _ = split(article)
    return [(span.start, {shingle_hash(sh) for sh in _shingles(folded)}) for span, folded in sentences]


def _copy_pairs(
    sentences: list[_Sentence], postings_of: Callable[[int, int], int], only: int | None = None
) -> list[tuple[int, int]]:
    """Pairs of sentence indexes (of different articles) that are copies of each other."""
    index: dict[tuple[str, ...], list[int]] = defaultdict(list)
    shingles = [_shingles(s.folded) for s in sentences]
    for i, found in enumerate(shingles):
        for shingle in found:
            index[shingle].append(i)
    shared: dict[tuple[int, int], int] = defaultdict(int)
    for shingle, postings in index.items():
        # Boilerplate is counted over the sentences themselves (as an archive indexes them), not
        # over the adjacent pairs read as one: a shingle across a sentence end counts 0.
        real = sum(1 for p in postings if sentences[p].parts is None)
        if postings_of(shingle_hash(shingle), real) > MAX_SHINGLE_POSTINGS:
            continue
        for x in range(len(postings)):
            for y in range(x + 1, len(postings)):
                i, j = postings[x], postings[y]
                a, b = sentences[i].article, sentences[j].article
                if a != b and (only is None or only in (a, b)):
                    shared[(i, j)] += 1
    copies = {
        (i, j)
        for (i, j), count in shared.items()
        if (sentences[i].parts is None or sentences[j].parts is None)  # two joined: their parts match
        and count >= MIN_SHARED_SHINGLES
        and fuzz.ratio(sentences[i].folded, sentences[j].folded) >= COPY_RATIO
    }

    def covered(joined: int, other: int) -> bool:
        """A part of the joined sentence already matches ``other`` on its own."""
        parts = sentences[joined].parts or ()
        return any((min(p, other), max(p, other)) in copies for p in parts)

    return sorted(
        (i, j)
        for i, j in copies
        if not (sentences[i].parts and covered(i, j)) and not (sentences[j].parts and covered(j, i))
    )


def _local_postings(shingle: int, count: int) -> int:
    return count


def copied_sentences(
    articles: Sequence[Article],
    postings: Callable[[int, int], int] = _local_postings,
    *,
    only: int | None = None,
    split: Callable[[Article], Split] = comparable_sentences,
) -> list[Copied]:
    """Every sentence that an article copies from another, with where it comes from.

    ``postings(hash, count)`` tells in how many sentences a shingle occurs (``count``: among these
    articles); an archive that hands over only the articles that share shingles with a new one
    gives the count over all it holds, so that boilerplate is told apart as it is over all. With
    ``only`` (an index into ``articles``), only copies from or into that article are looked for;
    ``split`` gives an article's :func:`comparable_sentences` (an archive keeps them).
    """
    sentences, counts = _sentences(articles, split)
    by_articles: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    for i, j in _copy_pairs(sentences, postings, only):
        a, b = sentences[i].article, sentences[j].article
        key = (min(a, b), max(a, b))
        by_articles[key].append((i, j) if a == key[0] else (j, i))
    out: list[Copied] = []
    for (a, b), pairs in sorted(by_articles.items()):
        if len({p[0] for p in pairs}) < MIN_COPIED:
            continue
        copy_is_b = _copy_is_second(
            articles[a], articles[b], len(pairs) / max(1, counts[a]), len(pairs) / max(1, counts[b])
        )
        for i, j in pairs:
            src, dst = (sentences[i], sentences[j]) if copy_is_b else (sentences[j], sentences[i])
            out.append(Copied(articles[dst.article].id, dst.span, articles[src.article].id, src.span))
    return out


def _copy_is_second(first: Article, second: Article, share_first: float, share_second: float) -> bool:
    """Which of two articles is the copy, given the share of each one's sentences they share."""
    if first.published and second.published and first.published != second.published:
        return second.published > first.published
    if share_first != share_second:
        return share_second > share_first
    return second.id > first.id
