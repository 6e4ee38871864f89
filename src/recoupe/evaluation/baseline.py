"""The no-LLM baseline: every body sentence that states a number, a time or a named entity is a claim.

It sets the floor the model has to beat: a claim is the whole sentence (text = quote = sentence,
grounded exactly), its fields read by :mod:`recoupe.normalize`; the subject is the sentence's first
named entity (as for every code-made claim) and there is no claimant.
"""

from __future__ import annotations

import re

from ..chunking import split_sentences
from ..extraction import span_claim
from ..models import Article, ArticleClaims, Claim
from ..normalize import parse_quantities, parse_time

__all__ = ["baseline_claims", "has_named_entity"]

# Words split at apostrophes too, so that "d’Amazon" yields "Amazon".
_WORD = re.compile(r"[^\W\d_][\w-]*")
# A capital right after these starts a quoted or introduced sentence, not a name.
_OPENERS = ("«", "“", '"', ":", "—", "–", "(", "[")


def has_named_entity(sentence: str) -> bool:
    """True when a capitalised word appears anywhere but at the start of the sentence (or at the
    start of a quotation or clause introduced by a colon, guillemet or dash)."""
    first = True
    for m in _WORD.finditer(sentence):
        word = m.group()
        if first:
            first = False
            continue
        if not word[0].isupper():
            continue
        before = sentence[: m.start()].rstrip()
        if before.endswith(_OPENERS) or before.endswith((".", "!", "?", "…")):
            continue
        return True
    return False


def baseline_claims(article: Article) -> ArticleClaims:
    """One claim per body sentence that carries a number or time (``parse_quantities`` or
    ``parse_time``) or a named entity (a capitalised word that is not sentence-initial)."""
    language = article.lang
    claims: list[Claim] = []
    seen: set[str] = set()
    for sentence in split_sentences(article.text, article.lang):
        if sentence.kind != "body":
            continue
        text = sentence.text
        time = parse_time(text, article.published)
        if not (parse_quantities(text, language) or time is not None or has_named_entity(text)):
            continue
        claim = span_claim(article, sentence.span, text)
        if claim.id in seen:  # the same sentence repeated verbatim: one claim
            continue
        seen.add(claim.id)
        # no claimant: an attribution is what the model is asked to read
        claims.append(claim.model_copy(update={"claimant": None}))
    return ArticleClaims(article=article, claims=claims)
