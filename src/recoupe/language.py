"""Which language a text is in: py3langid (langid.py's model, shipped inside the package, offline).

An article's explicit ``language`` always wins; without one, the article's text decides, and a
sentence long enough to tell that is clearly in another language (an English quote in a French
article) is read in its own language. Numbers, dates and cue words are parsed by the language found.

>>> detect_language("Microsoft said on Monday it would invest 4 billion euros in France.")
'en'
>>> detect_language("AWS") is None
True
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import Any

__all__ = ["DETECTED", "PARSED", "detect_language", "sentence_language"]

#: Languages the detector chooses among (restricting it makes short texts far more reliable).
DETECTED: tuple[str, ...] = ("fr", "en", "de", "es", "it", "nl", "pt")
#: Languages whose numbers, dates and cue words recoupe reads; any other is read by French
#: (continental) conventions, "1.500" a thousand and five hundred.
PARSED: tuple[str, ...] = ("fr", "en")
#: Shortest text (in letters) whose language is guessed at all.
MIN_LETTERS = 12
#: Article level: the detector's probability needed to trust it.
MIN_CONFIDENCE = 0.90
#: Sentence level: a sentence overrides its article's language only when this long and this sure.
SENTENCE_MIN_LETTERS = 60
SENTENCE_MIN_CONFIDENCE = 0.995

_lock = threading.Lock()


@lru_cache(maxsize=1)
def _identifier() -> Any:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(DETECTED))
    return identifier


def _classify(text: str) -> tuple[str, float]:
    with _lock:  # the identifier keeps no state per call, but its loading must happen once
        identifier = _identifier()
    code, probability = identifier.classify(text)
    return str(code), float(probability)


def _letters(text: str) -> int:
    return sum(map(str.isalpha, text))


def detect_language(text: str, *, min_confidence: float = MIN_CONFIDENCE) -> str | None:
    """The two-letter code of ``text``'s language, or None when it is too short or unclear."""
    if _letters(text) < MIN_LETTERS:
        return None
    code, probability = _classify(text)
    return code if probability >= min_confidence else None


@lru_cache(maxsize=4096)
def sentence_language(sentence: str, article_language: str) -> str:
    """The language to read ``sentence`` in: its own when it is long and clearly another language
    than its article's, else the article's. (Cached: claims and the code's coverage of one
    sentence ask it several times.)"""
    if len(sentence) < SENTENCE_MIN_LETTERS or _letters(sentence) < SENTENCE_MIN_LETTERS:
        return article_language
    found = detect_language(sentence, min_confidence=SENTENCE_MIN_CONFIDENCE)
    return found if found in PARSED and found != article_language else article_language
