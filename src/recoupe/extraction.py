"""Extraction: chunk an article, ask the model for claims, ground and normalize them in code."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from rapidfuzz import fuzz

from .chunking import make_chunks, split_sentences
from .errors import ArticleError, RecoupeError, TruncatedOutputError
from .grounding import Grounding, ground_quote
from .llm import LLM, run_concurrently, using_llm
from .models import (
    Alignment,
    Article,
    ArticleClaims,
    Chunk,
    Claim,
    Extraction,
    Failure,
    Quantity,
    Sentence,
    Span,
)
from .normalize import find_location, fold, guess_modality, main_quantity, parse_quantities, parse_time
from .prompting import load_prompt
from .settings import Settings

__all__ = ["EXTRACT_PROMPT", "ClaimDraft", "ClaimDrafts", "extract_claims", "extract_articles"]

log = logging.getLogger(__name__)

EXTRACT_PROMPT = "extract_claims.v1"
#: Claims per request: also bounds a repetition loop of a weak model.
MAX_CLAIMS_PER_CHUNK = 10
#: A quote shorter than this is not evidence (no grounding on "l" or "AWS").
MIN_QUOTE_CHARS = 12


class ClaimDraft(BaseModel):
    """What the model is asked for: the least it must do. Every field is required but nullable,
    which OpenAI strict mode and llama.cpp grammars both honour; the code computes the rest."""

    model_config = ConfigDict(extra="forbid")
    claim: str = Field(max_length=400)
    quote: str = Field(max_length=400)
    subject: str | None = Field(max_length=80)
    claimant: str | None = Field(max_length=80)


class ClaimDrafts(BaseModel):
    model_config = ConfigDict(extra="forbid")
    claims: list[ClaimDraft] = Field(max_length=MAX_CLAIMS_PER_CHUNK)


_ATTRIBUTION = re.compile(
    r"(?:selon|d['’]après|via|écrit|rapporte|according to|reported by|said)\s+"
    r"(?:l['’]|la |le |les )?(?P<who>[A-ZÉ][\w’'.-]+(?:\s+[A-ZÉ][\w’'.-]+)*)"
)


def _sentence_attribution(sentence: str) -> str | None:
    m = _ATTRIBUTION.search(sentence)
    return m.group("who") if m else None


_ENTITY = re.compile(r"[A-ZÉÈÀÎ][\w’'&.-]*[\w&](?:[ \u00a0-](?:[A-ZÉÈÀÎ][\w’'&.-]*[\w&]|de|du|des))*")
_NOT_ENTITIES = {
    "le", "la", "les", "l", "un", "une", "des", "il", "elle", "ils", "elles", "ce", "cette", "cela", "ces",
    "dans", "en", "au", "aux", "plus", "de", "du", "selon", "pour", "par", "avec", "mais", "et", "ou",
    "the", "a", "an", "it", "this", "that", "in", "on", "for", "but", "and", "according", "its", "their",
    "nous", "vous", "dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "paris",
}


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


def _in_text(name: str | None, text: str) -> str | None:
    """Keep a model-proposed name only if the article names it (no invented claimants)."""
    if not name or not name.strip():
        return None
    name = name.strip()
    return name if fold(name) in fold(text) else None


def _chunk_variables(article: Article, chunk: Chunk) -> dict[str, str]:
    context = chunk.context.slice(article.text) if chunk.context else ""
    return {"target": chunk.target.slice(article.text), "context": context.strip()}


def _sentence_for(span: Span, sentences: Sequence[Sentence]) -> Sentence | None:
    for s in sentences:
        if s.span.start <= span.start < s.span.end:
            return s
    return None


def _one_sentence(grounding: Grounding, claim: str, sentences: Sequence[Sentence]) -> Grounding:
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


def _widen_to_stated(
    grounding: Grounding, claim: str, sentences: Sequence[Sentence], text: str, language: str
) -> Grounding:
    """When the claim states a day, date or number that its quote leaves out but the quote's own
    sentence holds ("Microsoft a annoncé cette annonce dimanche." quoting only "Microsoft a
    annoncé"), widen the quote to the words of the sentence that state it: the article's words,
    not the model's, carry the value."""
    span = grounding.span
    assert span is not None
    sentence = _sentence_for(span, sentences)
    if sentence is None:
        return grounding
    quote = span.slice(text)
    wanted: list[str] = []
    claim_time = parse_time(claim)
    if claim_time is not None and parse_time(quote) is None:
        sentence_time = parse_time(sentence.text)
        if sentence_time is not None and fold(sentence_time.text) == fold(claim_time.text):
            wanted.append(sentence_time.text)
    quote_values = {q.value for q in parse_quantities(quote, language)}
    sentence_quantities = parse_quantities(sentence.text, language)
    for q in parse_quantities(claim, language):
        if q.value in quote_values:
            continue
        for sq in sentence_quantities:
            if sq.value == q.value and sq.unit == q.unit and sq.text:
                wanted.append(sq.text)
                break
    start, end = span.start, span.end
    for words in wanted:
        at = sentence.text.find(words)
        if at < 0:
            continue
        start = min(start, sentence.span.start + at)
        end = max(end, sentence.span.start + at + len(words))
    if (start, end) == (span.start, span.end):
        return grounding
    return Grounding(Span(start=start, end=end), grounding.alignment, grounding.score)


def _dedupe(claims: list[Claim]) -> list[Claim]:
    """Drop a claim that repeats an earlier one of the same article: nearly the same evidence and
    nearly the same wording (a small model often says one thing twice)."""
    kept: list[Claim] = []
    for claim in claims:
        duplicate = False
        for other in kept:
            if claim.span is None or other.span is None:
                continue
            overlap = claim.span.overlap(other.span) / max(1, max(len(claim.span), len(other.span)))
            if overlap >= 0.8 and fuzz.token_sort_ratio(fold(claim.text), fold(other.text)) >= 85:
                duplicate = True
                break
        if not duplicate:
            kept.append(claim)
    return kept


def _same_amount(a: Quantity, b: Quantity) -> bool:
    values = [b.value, *(e.value for e in b.equivalents)]
    return a.unit == b.unit and any(abs(a.value - v) <= 0.005 * max(abs(a.value), 1.0) for v in values)


_CLAUSE_BREAK = re.compile(r"\s*[;:]\s+|,\s+|\s+[-–—]\s+|\s*\(\s*")


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
    for b in _CLAUSE_BREAK.finditer(body):
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
        quantity = main_quantity(quote, "", article.lang)
    return Claim(
        id=Claim.make_id(article.id, quote, quote),
        article_id=article.id,
        text=quote,
        quote=quote,
        span=span.model_copy(),
        alignment=Alignment.exact,
        subject=subject or infer_subject(quote, sentence),
        claimant=claimant or _sentence_attribution(sentence),
        quantity=quantity,
        time=parse_time(quote, article.published),
        location=find_location(quote),
        modality=guess_modality(quote, sentence),
        chunk_index=chunk_index,
        method="rule",
    )


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
                c for c in claims
                if c.span is not None and c.span.start < sentence.span.end and sentence.span.start < c.span.end
            ]
            quantities = parse_quantities(sentence.text, language)
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
                claim = span_claim(article, span, sentence.text, quantity=quantity, chunk_index=chunk.index,
                                   subject=_context_subject(sentence, claims))
                if claim.id in taken:
                    continue
                taken.add(claim.id)
                added.append(claim)
    return added


def build_claim(
    article: Article,
    draft: ClaimDraft,
    chunk: Chunk,
    sentences: Sequence[Sentence],
) -> Claim:
    """Ground a draft in the article and fill what the code can compute."""
    text = article.text
    # Claims come from the target sentences only: a quote found only in the context or elsewhere
    # in the article is not this chunk's claim.
    grounding = ground_quote(draft.quote, text, within=chunk.target, only_within=True)
    if grounding.span is not None and len(grounding.span) < MIN_QUOTE_CHARS:
        grounding = ground_quote("", text)
    if grounding.span is None and draft.claim:
        # A weak model often copies the sentence into the claim instead of the quote.
        fallback = ground_quote(draft.claim, text, within=chunk.target, only_within=True)
        if fallback.span is not None and len(fallback.span) >= MIN_QUOTE_CHARS:
            grounding = fallback
    if grounding.span is not None:
        grounding = _one_sentence(grounding, draft.claim, sentences)
        grounding = _widen_to_stated(grounding, draft.claim, sentences, text, article.lang)
    if grounding.span is None:
        quote = draft.quote.strip()
        sentence_text = ""
    else:
        quote = grounding.span.slice(text)
        sentence = _sentence_for(grounding.span, sentences)
        sentence_text = sentence.text if sentence else quote
    evidence = quote if grounding.span is not None else ""
    claimant = _in_text(draft.claimant, text) or _sentence_attribution(sentence_text)
    claim_text = draft.claim.strip()
    return Claim(
        id=Claim.make_id(article.id, claim_text, quote),
        article_id=article.id,
        text=claim_text,
        quote=quote,
        span=grounding.span,
        alignment=grounding.alignment,
        subject=_in_text(draft.subject, text) or draft.subject or infer_subject(claim_text, quote),
        claimant=claimant,
        quantity=main_quantity(evidence, claim_text, article.lang) if evidence else None,
        time=parse_time(evidence, article.published) if evidence else None,
        location=find_location(evidence) if evidence else None,
        modality=guess_modality(evidence, sentence_text),
        chunk_index=chunk.index,
    )


def _extract_chunk(llm: LLM, article: Article, chunk: Chunk, sentences: Sequence[Sentence]) -> list[ClaimDraft]:
    prompt = load_prompt(EXTRACT_PROMPT)
    try:
        answer = llm.complete(
            stage="extract",
            prompt=prompt,
            variables=_chunk_variables(article, chunk),
            response_model=ClaimDrafts,
            article_id=article.id,
            chunk_index=chunk.index,
        )
        return answer.claims
    except TruncatedOutputError:
        if len(chunk.sentence_indexes) <= 1:
            raise
        # A repetition loop or a long answer: ask again one sentence at a time.
        log.warning("article %s chunk %d: answer truncated; retrying sentence by sentence", article.id, chunk.index)
        drafts: list[ClaimDraft] = []
        for i in chunk.sentence_indexes:
            s = sentences[i]
            sub = chunk.model_copy(update={"target": s.span, "sentence_indexes": [i]})
            drafts.extend(_extract_chunk(llm, article, sub, sentences))
        return drafts


def _position(claim: Claim) -> tuple[int, int, int]:
    span = claim.span
    return (span.start, span.end, 0 if claim.method == "model" else 1) if span else (1 << 62, 0, 0)


@dataclass
class _Plan:
    """An article split into sentences and chunks, and the drafts each chunk has brought back."""

    article: Article
    sentences: list[Sentence]
    chunks: list[Chunk]
    drafts: dict[int, list[ClaimDraft] | BaseException] = field(default_factory=dict)

    @classmethod
    def of(cls, article: Article, target_chars: int) -> _Plan:
        sentences = split_sentences(article.text, article.language)
        return cls(article, sentences, make_chunks(article, sentences, max_chars=target_chars))

    @property
    def finished(self) -> bool:
        return len(self.drafts) == len(self.chunks)

    def error(self) -> BaseException | None:
        for chunk in self.chunks:
            outcome = self.drafts.get(chunk.index)
            if isinstance(outcome, BaseException):
                return outcome
        return None

    def assemble(self, *, keep_ungrounded: bool = False, fill_gaps: bool = True) -> ArticleClaims:
        grounded: list[Claim] = []
        ungrounded: list[Claim] = []
        seen: set[str] = set()
        for chunk in self.chunks:
            drafts = self.drafts[chunk.index]
            assert isinstance(drafts, list)
            for draft in drafts:
                if not draft.claim.strip() and not draft.quote.strip():
                    continue
                claim = build_claim(self.article, draft, chunk, self.sentences)
                if claim.id in seen:
                    continue
                seen.add(claim.id)
                (ungrounded if claim.alignment is Alignment.none else grounded).append(claim)
        grounded = _dedupe(sorted(grounded, key=_position))
        if fill_gaps:
            extra = coverage_claims(self.article, self.sentences, self.chunks, grounded)
            grounded = sorted(grounded + extra, key=_position)
        return ArticleClaims(
            article=self.article,
            claims=grounded + (ungrounded if keep_ungrounded else []),
            ungrounded=len(ungrounded),
            ungrounded_claims=[] if keep_ungrounded else ungrounded,
        )


def extract_with(
    llm: LLM, article: Article, *, keep_ungrounded: bool = False, fill_gaps: bool = True
) -> ArticleClaims:
    """Extract the claims of one article with an existing :class:`LLM`, chunk after chunk.

    With ``fill_gaps`` (the default) a number or date the model left out becomes a sentence-level
    claim (``method="rule"``); see :func:`coverage_claims`.
    """
    plan = _Plan.of(article, llm.settings.target_chars)
    for chunk in plan.chunks:
        plan.drafts[chunk.index] = _extract_chunk(llm, article, chunk, plan.sentences)
    return plan.assemble(keep_ungrounded=keep_ungrounded, fill_gaps=fill_gaps)


def extract_claims(article: Article, settings: Settings | None = None, *, llm: LLM | None = None) -> ArticleClaims:
    """Extract grounded claims from one article.

    >>> from recoupe import Settings, load_articles, extract_claims
    >>> article = load_articles("seeds/000_6aa68e9ac400efb7.txt")[0]
    >>> result = extract_claims(article, settings=Settings())   # embedded model
    >>> all(article.text[c.span.start:c.span.end] == c.quote for c in result.claims)
    True
    """
    with using_llm(llm, settings) as model:
        return extract_with(model, article)


def extract_articles(
    items: Iterable[Article | ArticleError],
    llm: LLM,
    *,
    on_done: Callable[[Article | ArticleError, ArticleClaims | RecoupeError], None] | None = None,
) -> Extraction:
    """Extract every article; a bad or failing article is reported and the others go on."""
    result = Extraction(model=llm.settings.model, usage=llm.usage)
    prompt = load_prompt(EXTRACT_PROMPT)
    result.prompts[prompt.id] = prompt.sha256
    good: list[Article] = []
    ids: set[str] = set()
    for item in items:
        if isinstance(item, Article) and item.id in ids:
            # results are keyed by id: a second article with the same id would take the first's place
            item = ArticleError(item.source or item.id, f"duplicate article id {item.id!r}")
        if isinstance(item, ArticleError):
            result.failures.append(Failure(source=item.source, stage="load", reason=item.reason))
            if on_done:
                on_done(item, item)
        else:
            good.append(item)
            ids.add(item.id)
    done: dict[str, ArticleClaims] = {}
    # Every chunk of every article goes through one pool, so that a long article and a short batch
    # both keep ``concurrency`` requests in flight. Articles are split as the pool takes their
    # chunks, not all before the first request.

    def fail(article: Article, error: BaseException) -> RecoupeError:
        if isinstance(error, RecoupeError):
            reason = str(error)
        else:  # a bug must not lose the batch; say what it was
            log.error("unexpected error on article %s", article.id, exc_info=error)
            reason = f"internal error: {type(error).__name__}: {error}"
        result.failures.append(
            Failure(source=article.source or article.id, article_id=article.id, stage="extract", reason=reason)
        )
        return error if isinstance(error, RecoupeError) else RecoupeError(reason)

    def finish(plan: _Plan) -> None:
        outcome: ArticleClaims | RecoupeError
        error = plan.error()
        if error is None:
            try:
                outcome = done[plan.article.id] = plan.assemble()
            except Exception as exc:  # noqa: BLE001 - a bug must not lose the batch
                outcome = fail(plan.article, exc)
        else:
            outcome = fail(plan.article, error)
        if on_done:
            on_done(plan.article, outcome)

    def tasks() -> Iterator[tuple[_Plan, Chunk]]:
        for article in good:
            try:
                plan = _Plan.of(article, llm.settings.target_chars)
            except Exception as exc:  # noqa: BLE001 - a bug must not lose the batch
                if on_done:
                    on_done(article, fail(article, exc))
                continue
            if not plan.chunks:  # nothing to ask the model: only what the code finds
                finish(plan)
            yield from ((plan, chunk) for chunk in plan.chunks)

    for (plan, chunk), drafts in run_concurrently(
        lambda task: _extract_chunk(llm, task[0].article, task[1], task[0].sentences), tasks(), llm.settings.concurrency
    ):
        plan.drafts[chunk.index] = drafts
        if plan.finished:
            finish(plan)
    result.articles = [done[a.id] for a in good if a.id in done]
    return result
