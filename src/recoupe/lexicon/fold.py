"""One typography fold, in three documented levels, for every module that compares text.

- :func:`fold` (level 1, *case*): lower case; ``’`` -> ``'``; no-break and narrow no-break spaces
  -> space; ``«`` ``»`` -> ``"``. Used to compare names, subjects, cue words and claim texts.
- :func:`fold_typography` (level 2, *typography*, same length as its input): every typographic
  variant of an apostrophe, quote or dash replaced one for one by its ASCII form, case kept. Used
  where offsets into the original text must survive.
- :func:`fold_for_search` (level 3, *search*): level 2, lower case, and spaces and straight double
  quotes dropped, with the original index of each kept character. Used to ground a quote whose
  spacing or quotes differ from the article's.

>>> fold("L’Élysée\u00a0«\u00a0AI\u00a0»")
'l\\'élysée " ai "'
>>> fold_typography("l’est — «x»")
'l\\'est - "x"'
>>> fold_for_search("« A  b »")[0]
'ab'
"""

from __future__ import annotations

__all__ = ["TYPOGRAPHY", "fold", "fold_for_search", "fold_typography"]

#: Level 1: the characters :func:`fold` replaces (before lower-casing).
_CASE_FOLD = str.maketrans({"\u2019": "'", "\u00a0": " ", "\u202f": " ", "«": '"', "»": '"'})
#: Level 2: typographic variants and their ASCII forms, one character for one.
TYPOGRAPHY: dict[str, str] = {
    "\u2019": "'",
    "\u2018": "'",
    "\u02bc": "'",
    "`": "'",
    "\u00b4": "'",
    "\u00ab": '"',
    "\u00bb": '"',
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2011": "-",
}
_TYPOGRAPHY = str.maketrans(TYPOGRAPHY)
#: Level 3: characters dropped from the search form.
_DROP = frozenset(' \t\r\n\u00a0\u202f\u2009\u2007"')


def fold(text: str) -> str:
    """Level 1: lower-case text with typographic apostrophes, guillemets and spaces folded."""
    return text.translate(_CASE_FOLD).lower()


def fold_typography(text: str) -> str:
    """Level 2: ``text`` with typographic variants replaced one for one (same length)."""
    return text.translate(_TYPOGRAPHY)


def fold_for_search(text: str, start: int = 0, end: int | None = None) -> tuple[str, list[int]]:
    """Level 3: typography-folded, whitespace- and quote-free lower-case ``text[start:end]``, with
    the original index of each kept character."""
    end = len(text) if end is None else end
    out: list[str] = []
    index: list[int] = []
    for i in range(start, end):
        ch = TYPOGRAPHY.get(text[i], text[i])
        if ch in _DROP:
            continue
        low = ch.lower()
        out.append(low if len(low) == 1 else ch)
        index.append(i)
    return "".join(out), index
