"""The extraction driver: every chunk of every article through one bounded pool of requests,
drafts grounded and completed by the code, a failing article reported and the batch going on."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from ..chunking import make_chunks, split_sentences
from ..errors import ArticleError, RecoupeError, TruncatedOutputError
from ..lexicon import fold
from ..llm.concurrency import first_pass, run_concurrently
from ..llm.model import Model
from ..llm.prompts import load_prompt
from ..models import (
    Alignment,
    Article,
    ArticleClaims,
    Chunk,
    Claim,
    Extraction,
    Failure,
    Sentence,
)
from .claims import build_claim
from .coverage import carry_currency, coverage_claims, split_claims
from .schema import EXTRACT_PROMPT, ClaimDraft, ClaimDrafts
from .subjects import Subjects

__all__ = ["OnDone", "admit", "extract_articles", "extract_one"]

log = logging.getLogger(__name__)

#: Called once per input as it finishes: the article (or its load error) and its claims or error.
OnDone = Callable[[Article | ArticleError, ArticleClaims | RecoupeError], None]


def _chunk_variables(article: Article, chunk: Chunk) -> dict[str, str]:
    context = chunk.context.slice(article.text) if chunk.context else ""
    return {"target": chunk.target.slice(article.text), "context": context.strip()}


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


def _extract_chunk(model: Model, article: Article, chunk: Chunk, sentences: Sequence[Sentence]) -> list[ClaimDraft]:
    prompt = load_prompt(EXTRACT_PROMPT)
    try:
        answer = model.complete(
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
        # A repetition loop or a long answer: ask again one sentence at a time. (On the event loop
        # this function runs again after each answer: the warning is logged the first time.)
        if first_pass():
            log.warning("article %s chunk %d: answer truncated; retrying sentence by sentence", article.id, chunk.index)
        drafts: list[ClaimDraft] = []
        for i in chunk.sentence_indexes:
            s = sentences[i]
            sub = chunk.model_copy(update={"target": s.span, "sentence_indexes": [i]})
            drafts.extend(_extract_chunk(model, article, sub, sentences))
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
        sentences = split_sentences(article.text, article.lang)
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
        subjects = Subjects(self.article, self.sentences)
        for chunk in self.chunks:
            drafts = self.drafts[chunk.index]
            assert isinstance(drafts, list)
            for draft in drafts:
                if not draft.quote.strip():
                    continue
                claim = build_claim(self.article, draft, chunk, self.sentences, subjects)
                if claim.id in seen:
                    continue
                seen.add(claim.id)
                (ungrounded if claim.alignment is Alignment.none else grounded).append(claim)
        grounded = _dedupe(sorted(split_claims(self.article, self.sentences, grounded, subjects), key=_position))
        if fill_gaps:
            extra = coverage_claims(self.article, self.sentences, self.chunks, grounded, subjects)
            grounded = sorted(grounded + extra, key=_position)
        grounded = carry_currency(self.article, self.sentences, grounded)
        return ArticleClaims(
            article=self.article,
            claims=grounded + (ungrounded if keep_ungrounded else []),
            ungrounded=len(ungrounded),
            ungrounded_claims=[] if keep_ungrounded else ungrounded,
        )


def extract_one(
    model: Model, article: Article, *, chunk_chars: int, keep_ungrounded: bool = False, fill_gaps: bool = True
) -> ArticleClaims:
    """Extract the claims of one article, chunk after chunk, raising on a failure.

    With ``fill_gaps`` (the default) a number or date the model left out becomes a sentence-level
    claim (``method="rule"``); see :func:`~recoupe.extraction.coverage.coverage_claims`.
    """
    plan = _Plan.of(article, chunk_chars)
    for chunk in plan.chunks:
        plan.drafts[chunk.index] = _extract_chunk(model, article, chunk, plan.sentences)
    return plan.assemble(keep_ungrounded=keep_ungrounded, fill_gaps=fill_gaps)


def admit(
    items: Iterable[Article | ArticleError], failures: list[Failure], on_done: OnDone | None = None
) -> list[Article]:
    """The articles to extract; load errors and duplicate ids go to ``failures``."""
    good: list[Article] = []
    ids: set[str] = set()
    for item in items:
        if isinstance(item, Article) and item.id in ids:
            # results are keyed by id: a second article with the same id would take the first's place
            item = ArticleError(item.source or item.id, f"duplicate article id {item.id!r}")
        if isinstance(item, ArticleError):
            failures.append(Failure(source=item.source, stage="load", reason=item.reason))
            if on_done:
                on_done(item, item)
        else:
            good.append(item)
            ids.add(item.id)
    return good


def extract_articles(
    items: Iterable[Article | ArticleError],
    model: Model,
    *,
    chunk_chars: int,
    on_done: OnDone | None = None,
) -> Extraction:
    """Extract every article with ``model``, ``chunk_chars`` characters of article text per request.

    A bad input (an :class:`~recoupe.errors.ArticleError` from loading, a duplicate id) or a failing
    article is listed in ``Extraction.failures`` with its reason, and the others are processed.
    ``on_done`` is called for every input as it finishes.
    """
    result = Extraction(model=model.name, usage=model.usage)
    prompt = load_prompt(EXTRACT_PROMPT)
    result.prompts[prompt.id] = prompt.sha256
    good = admit(items, result.failures, on_done)
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
                plan = _Plan.of(article, chunk_chars)
            except Exception as exc:  # noqa: BLE001 - a bug must not lose the batch
                if on_done:
                    on_done(article, fail(article, exc))
                continue
            if not plan.chunks:  # nothing to ask the model: only what the code finds
                finish(plan)
            yield from ((plan, chunk) for chunk in plan.chunks)

    for (plan, chunk), drafts in run_concurrently(
        lambda task: _extract_chunk(model, task[0].article, task[1], task[0].sentences), tasks(), model.concurrency
    ):
        plan.drafts[chunk.index] = drafts
        if plan.finished:
            finish(plan)
    result.articles = [done[a.id] for a in good if a.id in done]
    return result
