"""Extraction: chunk an article, ask the model for claims, ground and normalize them in code."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Sequence

from pydantic import BaseModel, ConfigDict, Field

from .articles import iter_articles
from .chunking import make_chunks, split_sentences
from .errors import ArticleError, LLMError, RecoupeError, TruncatedOutputError
from .grounding import ground_quote
from .llm import LLM, run_concurrently
from .models import (
    Alignment,
    Article,
    ArticleClaims,
    Chunk,
    Claim,
    Extraction,
    Failure,
    Sentence,
    Span,
)
from .normalize import find_location, fold, guess_modality, main_quantity, parse_time
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


def build_claim(
    article: Article,
    draft: ClaimDraft,
    chunk: Chunk,
    sentences: Sequence[Sentence],
) -> Claim:
    """Ground a draft in the article and fill what the code can compute."""
    text = article.text
    grounding = ground_quote(draft.quote, text, within=chunk.target)
    if grounding.span is not None and len(grounding.span) < MIN_QUOTE_CHARS:
        grounding = ground_quote("", text)
    if grounding.span is None and draft.claim:
        # A weak model often copies the sentence into the claim instead of the quote.
        fallback = ground_quote(draft.claim, text, within=chunk.target)
        if fallback.span is not None and len(fallback.span) >= MIN_QUOTE_CHARS:
            grounding = fallback
    language = (article.language or "fr")[:2]
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
        subject=_in_text(draft.subject, text) or draft.subject,
        claimant=claimant,
        quantity=main_quantity(evidence, claim_text, language) if evidence else None,
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


def extract_with(llm: LLM, article: Article, *, keep_ungrounded: bool = False) -> ArticleClaims:
    """Extract the claims of one article with an existing :class:`LLM`."""
    sentences = split_sentences(article.text, article.language)
    chunks = make_chunks(article, sentences)
    grounded: list[Claim] = []
    ungrounded: list[Claim] = []
    seen: set[str] = set()
    for chunk in chunks:
        for draft in _extract_chunk(llm, article, chunk, sentences):
            if not draft.claim.strip() and not draft.quote.strip():
                continue
            claim = build_claim(article, draft, chunk, sentences)
            if claim.id in seen:
                continue
            seen.add(claim.id)
            (ungrounded if claim.alignment is Alignment.none else grounded).append(claim)
    grounded.sort(key=lambda c: (c.span.start if c.span else 0, c.span.end if c.span else 0))
    return ArticleClaims(
        article=article,
        claims=grounded + (ungrounded if keep_ungrounded else []),
        ungrounded=len(ungrounded),
        ungrounded_claims=[] if keep_ungrounded else ungrounded,
    )


def extract_claims(article: Article, settings: Settings | None = None, *, llm: LLM | None = None) -> ArticleClaims:
    """Extract grounded claims from one article.

    >>> from recoupe import Settings, load_articles, extract_claims
    >>> article = load_articles("seeds/000_6aa68e9ac400efb7.txt")[0]
    >>> result = extract_claims(article, settings=Settings())   # embedded model
    >>> all(article.text[c.span.start:c.span.end] == c.quote for c in result.claims)
    True
    """
    own = llm is None
    llm = llm or LLM(settings or Settings.from_env())
    try:
        return extract_with(llm, article)
    finally:
        if own:
            llm.close()


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
    items = list(items)
    good = [i for i in items if isinstance(i, Article)]
    done: dict[str, ArticleClaims] = {}
    for item in items:
        if isinstance(item, ArticleError):
            result.failures.append(Failure(source=item.source, stage="load", reason=item.reason))
            if on_done:
                on_done(item, item)
    for article, outcome in run_concurrently(lambda a: extract_with(llm, a), good, llm.settings.concurrency):
        if isinstance(outcome, ArticleClaims):
            done[article.id] = outcome
        else:
            if isinstance(outcome, LLMError):
                reason = str(outcome)
            elif isinstance(outcome, RecoupeError):
                reason = str(outcome)
            else:  # a bug must not lose the batch; say what it was
                log.exception("unexpected error on article %s", article.id, exc_info=outcome)
                reason = f"internal error: {type(outcome).__name__}: {outcome}"
            result.failures.append(
                Failure(source=article.source or article.id, article_id=article.id, stage="extract", reason=reason)
            )
        if on_done:
            on_done(article, outcome)
    result.articles = [done[a.id] for a in good if a.id in done]
    return result


def extract_paths(paths: Iterable[str], llm: LLM, **kwargs) -> Extraction:  # type: ignore[no-untyped-def]
    return extract_articles(iter_articles(paths), llm, **kwargs)
