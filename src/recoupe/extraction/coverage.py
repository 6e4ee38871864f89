"""Code-made coverage claims: a number or a date the model left out becomes a claim of its own
(``method="rule"``), so that none is silently lost."""

from __future__ import annotations

import re
from collections.abc import Sequence

from .. import lexicon
from ..grounding import CLAUSE_BREAK, sentence_at
from ..language import sentence_language
from ..lexicon import fold
from ..models import Article, Chunk, Claim, Quantity, Sentence, Span
from ..normalize import parse_quantities, parse_time
from .claims import span_claim
from .subjects import Subjects

__all__ = ["carry_currency", "coverage_claims", "split_claims"]


def _same_amount(a: Quantity, b: Quantity) -> bool:
    values = [b.value, *(e.value for e in b.equivalents)]
    return a.unit == b.unit and any(abs(a.value - v) <= 0.005 * max(abs(a.value), 1.0) for v in values)


#: Where a sentence's clauses meet: punctuation, or a conjunction between two statements ("... 180
#: millions et la Région 90 millions", "... 40 % while private investors pay 60 %").
_BREAK = re.compile(rf"{CLAUSE_BREAK.pattern}|\s+(?:{lexicon.alternation(lexicon.CLAUSE_CONJUNCTIONS)})\s+", re.I)


def _pieces(body: str) -> list[tuple[int, int]]:
    """(start, end) of the clauses of ``body``, between the breaks of :data:`_BREAK`."""
    pieces: list[tuple[int, int]] = []
    cursor = 0
    for b in _BREAK.finditer(body):
        if b.start() > cursor:
            pieces.append((cursor, b.start()))
        cursor = b.end()
    if cursor < len(body):
        pieces.append((cursor, len(body)))
    return pieces


def _dated_clauses(sentence: str) -> list[str]:
    """The time expression of each clause of ``sentence`` that states one."""
    found: list[str] = []
    for start, end in _pieces(sentence):
        time = parse_time(sentence[start:end])
        if time is not None and time.text not in found:
            found.append(time.text)
    return found


def _clause_around(text: str, sentence: Span, number_text: str | None, min_chars: int = 30) -> Span:
    """The clause of ``sentence`` that holds ``number_text`` (pieces between commas, semicolons,
    colons, dashes, brackets and conjunctions), widened with the preceding pieces (where the subject usually is)
    to at least ``min_chars``; the whole sentence when the number is not found."""
    body = sentence.slice(text)
    first = number_text.split()[0] if number_text else ""
    m = re.search(re.escape(first), body) if first else None
    if m is None:
        return sentence
    pieces = _pieces(body)
    i = next((n for n, (a, e) in enumerate(pieces) if a <= m.start() < e), None)
    if i is None:
        return sentence
    j = k = i
    while pieces[k][1] - pieces[j][0] < min_chars and (j > 0 or k < len(pieces) - 1):
        if j > 0:
            j -= 1
        else:
            k += 1
    start, end = pieces[j][0], pieces[k][1]
    while end > start and body[end - 1] in " .;:,":
        end -= 1
    return Span(start=sentence.start + start, end=sentence.start + end)


def _context_subject(sentence: Sentence, claims: Sequence[Claim]) -> str | None:
    """The subject of a code-made claim whose own words name none, from what the model found in
    the article: a subject of the model's claims that the sentence names, else the subject of the
    nearest model claim before it (news text keeps its subject from one sentence to the next:
    "Grâce à cet investissement, le pays sera doté de 25 000 GPU")."""
    subjects = [(c.span.start, c.subject) for c in claims if c.subject and c.span is not None and c.method == "model"]
    folded = fold(sentence.text)
    for _, subject in sorted(subjects, key=lambda t: -len(t[1])):
        if fold(subject) in folded:
            return subject
    before = [(start, subject) for start, subject in subjects if start < sentence.span.start]
    return max(before)[1] if before else None


def _new_claims(
    article: Article,
    sentence: Sentence,
    chunk_index: int,
    candidates: Sequence[tuple[Span, Quantity | None]],
    subjects: Subjects,
    claims: Sequence[Claim],
    taken: set[str],
) -> list[Claim]:
    """The code-made claims of ``candidates`` (span, the amount it is about) not made already."""
    made: list[Claim] = []
    for span, quantity in candidates:
        claim = span_claim(
            article,
            span,
            sentence.text,
            quantity=quantity,
            chunk_index=chunk_index,
            subject=subjects.subject_for(span, span.slice(article.text), _context_subject(sentence, claims)),
        )
        if claim.id not in taken:
            taken.add(claim.id)
            made.append(claim)
    return made


def coverage_claims(
    article: Article,
    sentences: Sequence[Sentence],
    chunks: Sequence[Chunk],
    claims: Sequence[Claim],
    subjects: Subjects | None = None,
) -> list[Claim]:
    """Claims for the numbers and dates the model left out, so that none is silently lost.

    For each target sentence that states a quantity no model claim of that sentence carries, or a
    number or date while no model claim comes from it at all, the sentence itself becomes a claim
    (``method="rule"``), grounded exactly, its fields read from it by the code, its subject by
    ``subjects`` (:class:`~recoupe.extraction.subjects.Subjects`).
    """
    subjects = subjects or Subjects(article, sentences)
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
            # the clauses' own dates, read only where a sentence has a date at all
            dated = _dated_clauses(sentence.text) if time is not None and not missing else []
            if inside and not missing:
                # a date the sentence's claims left out, in a clause of its own, gets that clause
                stated = {fold(c.time.text) for c in inside if c.time is not None}
                undated = [d for d in dated if fold(d) not in stated]
                if len(dated) > 1 and undated:
                    clauses = [(_clause_around(article.text, sentence.span, d), None) for d in undated]
                    added += _new_claims(article, sentence, chunk.index, clauses, subjects, claims, taken)
                continue
            if not missing and not (quantities or time):
                continue
            if not missing and len(dated) > 1 and len(quantities) <= 1:
                # the model took nothing from a sentence with dates in several clauses ("Works will
                # begin in January 2027, with the reopening pencilled in for summer 2029"): a claim each
                candidates: list[tuple[Span, Quantity | None]] = [
                    (_clause_around(article.text, sentence.span, d), None) for d in dated
                ]
            elif not missing:  # the model took nothing from a sentence with a number or a date
                candidates = [(sentence.span, quantities[0] if quantities else None)]
            elif not inside and len(missing) == 1:
                candidates = [(sentence.span, missing[0])]
            else:  # several numbers, or a sentence with claims: each number gets the clause stating it
                candidates = [(_clause_around(article.text, sentence.span, q.text), q) for q in missing]
            added += _new_claims(article, sentence, chunk.index, candidates, subjects, claims, taken)
    return added


_SCALED = re.compile(
    rf"\b(?:{lexicon.alternation(sorted(lexicon.SCALES, key=len, reverse=True), escape=True)})\b", re.I
)


def carry_currency(article: Article, sentences: Sequence[Sentence], claims: Sequence[Claim]) -> list[Claim]:
    """``claims`` with the currency a sum leaves unsaid taken from the amounts before it: "Le
    montage repose sur 312 millions d'euros d'argent public. La Métropole en apportera 180
    millions" is 180 million euros. Only a scaled sum ("millions", "bn") with neither currency nor
    unit takes one, from its own sentence up to it or else from the sentence before."""
    out: list[Claim] = []
    for claim in claims:
        q = claim.quantity
        if q is None or q.currency or q.unit or claim.span is None or not q.text or not _SCALED.search(q.text):
            out.append(claim)
            continue
        i = next((n for n, s in enumerate(sentences) if s.span.start <= claim.span.start < s.span.end), None)
        currency = None
        if i is not None:
            own = article.text[sentences[i].span.start : claim.span.start + claim.quote.find(q.text)]
            for text in (own, sentences[i - 1].text if i > 0 else ""):
                stated = [
                    x.currency for x in parse_quantities(text, sentence_language(text, article.lang)) if x.currency
                ]
                if stated:
                    currency = stated[-1]
                    break
        out.append(
            claim.model_copy(update={"quantity": q.model_copy(update={"currency": currency})}) if currency else claim
        )
    return out


#: A clause cut out of a model claim is at least this long ("et créera 300 emplois").
_MIN_SPLIT_CHARS = 15


def split_claims(
    article: Article, sentences: Sequence[Sentence], claims: Sequence[Claim], subjects: Subjects
) -> list[Claim]:
    """``claims`` with a model claim that states several amounts in several clauses cut into one
    claim per clause ("Le projet coûtera 780 millions d'euros et l'enceinte passera à 62 000
    places" gives two), each keeping the model's subject where its own words name none."""
    out: list[Claim] = []
    for claim in claims:
        span = claim.span
        if claim.method != "model" or span is None:
            out.append(claim)
            continue
        sentence = sentence_at(span, sentences)
        context = sentence.text if sentence else claim.quote
        language = sentence_language(context, article.lang)
        amounts = parse_quantities(claim.quote, language)
        clauses: dict[tuple[int, int], tuple[Span, Quantity]] = {}
        for q in amounts:
            around = _clause_around(article.text, span, q.text, _MIN_SPLIT_CHARS)
            clauses.setdefault((around.start, around.end), (around, q))
        nested = any(a != b and a[0] <= b[0] and b[1] <= a[1] for a in clauses for b in clauses)
        if len(clauses) < 2 or nested:
            out.append(claim)
            continue
        for _, (clause, quantity) in sorted(clauses.items()):
            part = span_claim(
                article,
                clause,
                context,
                quantity=quantity,
                chunk_index=claim.chunk_index,
                subject=subjects.subject_for(clause, clause.slice(article.text), claim.subject),
            )
            out.append(part.model_copy(update={"method": "model"}))
    return out
