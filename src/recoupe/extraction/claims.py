"""Claim building: a model's draft, or a span the code picked, becomes a grounded :class:`Claim`
whose fields (quantity, time, place, modality) the code reads from the article's own words."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from .. import lexicon
from ..grounding import (
    MIN_QUOTE_CHARS,
    clip_to_sentence,
    extend_to_clause,
    ground_quote,
    sentence_at,
)
from ..language import sentence_language
from ..lexicon import fold
from ..models import Alignment, Article, Chunk, Claim, Quantity, Sentence, Span
from ..normalize import find_location, guess_modality, main_quantity, parse_quantities, parse_time, weekday_of
from .schema import MAX_QUOTE_CHARS, ClaimDraft
from .subjects import Subjects

__all__ = ["build_claim", "claim_wording", "claimant_in", "fill_claim", "infer_subject", "named_in", "span_claim"]

_DETERMINERS = "|".join("l['’]" if d == "l'" else f"{d} " for d in lexicon.fr.DETERMINERS)
_ATTRIBUTION = re.compile(
    rf"(?:{lexicon.alternation(lexicon.CLAIMANT_CUES)})\s+"
    rf"(?:{_DETERMINERS})?(?P<who>[A-ZÉ][\w’'.-]+(?:\s+[A-ZÉ][\w’'.-]+)*)"
)


def claimant_in(sentence: str) -> str | None:
    """The name after an attribution cue in ``sentence`` ("selon Reuters" -> "Reuters").

    >>> claimant_in("Le montant, selon Reuters, est confirmé.")
    'Reuters'
    >>> claimant_in("Le montant est confirmé, selon l'AFP.")
    'AFP'
    """
    m = _ATTRIBUTION.search(sentence)
    if m is None:
        return None
    who = m.group("who")
    # the sentence's full stop is not part of the name ("selon l'AFP."), an abbreviation's is ("U.S.")
    return who[:-1] if who.endswith(".") and who.count(".") == 1 else who


_ENTITY = re.compile(r"[A-ZÉÈÀÎ][\w’'&.-]*[\w&](?:[ \u00a0-](?:[A-ZÉÈÀÎ][\w’'&.-]*[\w&]|de|du|des))*")
_NOT_ENTITIES = lexicon.SUBJECT_STOPWORDS


def infer_subject(*texts: str) -> str | None:
    """The first named entity (a run of capitalised words) of the first text that has one, for
    claims that come without a subject: code-made claims, or a model that gave none.

    >>> infer_subject("Selon L'Elysée, ce sommet donnera lieu à 15 milliards")
    'Elysée'
    """
    for text in texts:
        for m in _ENTITY.finditer(text):
            tokens = m.group().replace("\u00a0", " ").split(" ")
            while tokens and (tokens[0].lower() in _NOT_ENTITIES or not tokens[0][:1].isupper()):
                tokens.pop(0)
            if tokens:
                tokens[0] = re.sub(r"^[LDld][’']", "", tokens[0])
            while tokens and tokens[-1] in ("de", "du", "des"):
                tokens.pop()
            name = " ".join(tokens).strip(" -")
            if len(name) >= 2:
                return name
    return None


def named_in(name: str | None, text: str) -> str | None:
    """Keep a model-proposed name only if the article names it (no invented claimants)."""
    if not name or not name.strip():
        return None
    name = name.strip()
    return name if fold(name) in fold(text) else None


_LEADING_PRONOUN = re.compile(rf"^(?:qu['’]\s*)?(?:{lexicon.alternation(lexicon.SUBJECT_PRONOUNS)})\b\s*", re.I)


def claim_wording(quote: str, subject: str | None) -> str:
    """A claim's wording, made by the code from its quote: the quote itself, its leading pronoun
    replaced by the subject's name so that it reads alone. The model is not asked to write it: a
    small model copies the quote anyway, and every word it writes is a word it can get wrong.

    >>> claim_wording("il créera 500 emplois à Lyon", "Google")
    'Google créera 500 emplois à Lyon'
    >>> claim_wording("the company will hire 1,200 people", "Volta")
    'Volta will hire 1,200 people'
    >>> claim_wording("Microsoft investira 4 milliards", "Microsoft")
    'Microsoft investira 4 milliards'
    """
    text = quote.strip()
    if subject and subject.strip() and fold(subject) not in fold(text):
        m = _LEADING_PRONOUN.match(text)
        if m and m.end() < len(text):
            text = f"{subject.strip()} {text[m.end() :]}"
    return text


_NEGATION = re.compile(r"\b(?:ne|n['’])\s*\w+\s+(?:pas|plus|jamais)\b|\b(?:not|never|no longer|n['’]t)\b", re.I)


def disagreements(text: str, quote: str, language: str) -> list[str]:
    """Where a claim's wording states what its quote does not: a number, a day, or a negation.

    >>> disagreements("Microsoft investit 99 milliards d'euros.", "Microsoft investit 15 milliards d'euros", "fr")
    ['the claim states 99000000000 (EUR), the quote does not']
    >>> disagreements("Amazon a confirmé son projet.", "Amazon n'a pas confirmé son projet", "fr")
    ['the quote is negated, the claim is not']
    """
    found: list[str] = []
    in_quote = parse_quantities(quote, language)
    for q in parse_quantities(text, language):
        values = [q.value, *(e.value for e in q.equivalents)]
        if not any(
            abs(v - x.value) <= 0.005 * max(abs(v), 1.0)
            or any(abs(v - e.value) <= 0.005 * max(abs(v), 1.0) for e in x.equivalents)
            for v in values
            for x in in_quote
        ):
            found.append(f"the claim states {q.value:.0f} ({q.currency or q.unit or 'number'}), the quote does not")
    day_text, day_quote = weekday_of(text), weekday_of(quote)
    if day_text is not None and day_quote is not None and day_text != day_quote:
        found.append("the claim and its quote name different days")
    if bool(_NEGATION.search(quote)) != bool(_NEGATION.search(text)):
        found.append(
            "the quote is negated, the claim is not"
            if _NEGATION.search(quote)
            else "the claim is negated, the quote is not"
        )
    return found


def fill_claim(
    article: Article,
    *,
    text: str,
    quote: str,
    span: Span | None,
    alignment: Alignment,
    sentence: str,
    subject: str | None,
    claimant: str | None,
    chunk_index: int | None,
    quantity: Quantity | None = None,
    method: Literal["model", "rule"] = "model",
) -> Claim:
    """A claim of ``article``: its wording, evidence and attribution as given, every other field read
    by the code from the grounded quote (never from the claim text, which a model may misread).

    An ungrounded claim (``span=None``) gets no quantity, time or place. ``quantity``, when given,
    is used as it is (a code-made claim already knows which of its sentence's amounts it is about).
    """
    evidence = quote if span is not None else ""
    if quantity is None and evidence:
        quantity = main_quantity(evidence, text, sentence_language(sentence or evidence, article.lang))
    return Claim(
        id=Claim.make_id(article.id, text, quote),
        article_id=article.id,
        text=text,
        quote=quote,
        span=span,
        alignment=alignment,
        subject=subject,
        claimant=claimant,
        quantity=quantity,
        time=parse_time(evidence, article.published) if evidence else None,
        location=find_location(evidence) if evidence else None,
        modality=guess_modality(evidence, sentence),
        chunk_index=chunk_index,
        method=method,
        flags=disagreements(text, quote, article.lang) if evidence and text != quote else [],
    )


def span_claim(
    article: Article,
    span: Span,
    sentence: str,
    *,
    quantity: Quantity | None = None,
    chunk_index: int | None = None,
    claimant: str | None = None,
    subject: str | None = None,
) -> Claim:
    """A claim made by the code from a span of the article: text = quote = the span, grounded
    exactly, its fields read from it (``method="rule"``)."""
    quote = span.slice(article.text)
    if quantity is None:
        quantity = main_quantity(quote, "", sentence_language(sentence, article.lang))
    return fill_claim(
        article,
        text=quote,
        quote=quote,
        span=span.model_copy(),
        alignment=Alignment.exact,
        sentence=sentence,
        subject=subject or infer_subject(quote, sentence),
        claimant=claimant or claimant_in(sentence),
        chunk_index=chunk_index,
        quantity=quantity,
        method="rule",
    )


def build_claim(
    article: Article,
    draft: ClaimDraft,
    chunk: Chunk,
    sentences: Sequence[Sentence],
    subjects: Subjects | None = None,
) -> Claim:
    """Ground a draft in the article and fill what the code can compute: the quote (extended to
    the end of its clause when the decoder closed it at its length limit,
    :func:`~recoupe.grounding.extend_to_clause`),
    the wording from the quote (:func:`claim_wording`), the subject from the quote and the text
    before it (``subjects``, :class:`~recoupe.extraction.subjects.Subjects`; the model's where they
    find none), the claimant from the quote's sentence, every other field from the quote."""
    text = article.text
    words = draft.quote.strip()
    cut = len(words) >= MAX_QUOTE_CHARS
    if cut and " " in words:
        words = words.rsplit(" ", 1)[0]  # the decoder closed the string inside a word
    # Claims come from the target sentences only: words found only in the context or elsewhere in
    # the article are not this chunk's claim.
    grounding = ground_quote(words, text, within=chunk.target, only_within=True)
    if grounding.span is not None:
        grounding = clip_to_sentence(grounding, words, sentences)
        if cut:  # the model's own end is kept; a quote the decoder closed ends with its clause
            grounding = extend_to_clause(grounding, sentences, text)
    if grounding.span is not None and len(grounding.span) < MIN_QUOTE_CHARS:
        grounding = ground_quote("", text)
    if grounding.span is None:
        quote = words
        sentence_text = ""
    else:
        quote = grounding.span.slice(text)
        sentence = sentence_at(grounding.span, sentences)
        sentence_text = sentence.text if sentence else quote
    proposed = named_in(draft.subject, text) or draft.subject
    if subjects is not None and grounding.span is not None:
        subject = subjects.subject_for(grounding.span, quote, proposed) or infer_subject(quote)
    else:
        subject = proposed or infer_subject(quote)
    return fill_claim(
        article,
        text=claim_wording(quote, subject),
        quote=quote,
        span=grounding.span,
        alignment=grounding.alignment,
        sentence=sentence_text,
        subject=subject,
        claimant=claimant_in(sentence_text),
        chunk_index=chunk.index,
    )
