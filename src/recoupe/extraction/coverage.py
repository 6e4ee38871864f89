"""Code-made coverage claims: a number or a date the model left out becomes a claim of its own
(``method="rule"``), so that none is silently lost."""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..grounding import CLAUSE_BREAK
from ..language import sentence_language
from ..lexicon import fold
from ..models import Article, Chunk, Claim, Quantity, Sentence, Span
from ..normalize import parse_quantities, parse_time
from .claims import span_claim

__all__ = ["coverage_claims"]


def _same_amount(a: Quantity, b: Quantity) -> bool:
    values = [b.value, *(e.value for e in b.equivalents)]
    return a.unit == b.unit and any(abs(a.value - v) <= 0.005 * max(abs(a.value), 1.0) for v in values)


def _clause_around(text: str, sentence: Span, number_text: str | None) -> Span:
    """The clause of ``sentence`` that holds ``number_text`` (pieces between commas, semicolons,
    colons, dashes and brackets), widened with the preceding pieces (where the subject usually is)
    to at least 30 characters; the whole sentence when the number is not found."""
    body = sentence.slice(text)
    first = number_text.split()[0] if number_text else ""
    m = re.search(re.escape(first), body) if first else None
    if m is None:
        return sentence
    pieces: list[tuple[int, int]] = []
    cursor = 0
    for b in CLAUSE_BREAK.finditer(body):
        if b.start() > cursor:
            pieces.append((cursor, b.start()))
        cursor = b.end()
    if cursor < len(body):
        pieces.append((cursor, len(body)))
    i = next((n for n, (a, e) in enumerate(pieces) if a <= m.start() < e), None)
    if i is None:
        return sentence
    j = k = i
    while pieces[k][1] - pieces[j][0] < 30 and (j > 0 or k < len(pieces) - 1):
        if j > 0:
            j -= 1
        else:
            k += 1
    start, end = pieces[j][0], pieces[k][1]
    while end > start and body[end - 1] in " .;:,":
        end -= 1
    return Span(start=sentence.start + start, end=sentence.start + end)


def _context_subject(sentence: Sentence, claims: Sequence[Claim]) -> str | None:
    """The subject of a code-made claim, from what the model found in the article: a subject of the
    model's claims that the sentence names, else the subject of the nearest model claim before it
    (news text keeps its subject from one sentence to the next: "Grâce à cet investissement, le
    pays sera doté de 25 000 GPU")."""
    subjects = [(c.span.start, c.subject) for c in claims if c.subject and c.span is not None and c.method == "model"]
    folded = fold(sentence.text)
    for _, subject in sorted(subjects, key=lambda t: -len(t[1])):
        if fold(subject) in folded:
            return subject
    before = [(start, subject) for start, subject in subjects if start < sentence.span.start]
    return max(before)[1] if before else None


def coverage_claims(
    article: Article, sentences: Sequence[Sentence], chunks: Sequence[Chunk], claims: Sequence[Claim]
) -> list[Claim]:
    """Claims for the numbers and dates the model left out, so that none is silently lost.

    For each target sentence that states a quantity no model claim of that sentence carries, or a
    number or date while no model claim comes from it at all, the sentence itself becomes a claim
    (``method="rule"``), grounded exactly, its fields read from it by the code.
    """
    language = article.lang
    added: list[Claim] = []
    taken = {c.id for c in claims}
    for chunk in chunks:
        for i in chunk.sentence_indexes:
            sentence = sentences[i]
            inside = [
                c
                for c in claims
                if c.span is not None and c.span.start < sentence.span.end and sentence.span.start < c.span.end
            ]
            quantities = parse_quantities(sentence.text, sentence_language(sentence.text, language))
            time = parse_time(sentence.text, article.published)
            carried = [c.quantity for c in inside if c.quantity is not None]
            missing = [q for q in quantities if not any(_same_amount(q, c) for c in carried)]
            if not missing and (inside or not (quantities or time)):
                continue
            if not missing:  # the model took nothing from a sentence with a number or a date
                candidates = [(sentence.span, quantities[0] if quantities else None)]
            elif not inside:
                candidates = [(sentence.span, missing[0])]
                candidates += [(_clause_around(article.text, sentence.span, q.text), q) for q in missing[1:]]
            else:  # the sentence has claims: each number they left out gets the clause stating it
                candidates = [(_clause_around(article.text, sentence.span, q.text), q) for q in missing]
            for span, quantity in candidates:
                claim = span_claim(
                    article,
                    span,
                    sentence.text,
                    quantity=quantity,
                    chunk_index=chunk.index,
                    subject=_context_subject(sentence, claims),
                )
                if claim.id in taken:
                    continue
                taken.add(claim.id)
                added.append(claim)
    return added
