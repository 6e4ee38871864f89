"""The cross-check as one call: pair by blocking, compare by rule, ask the model about the pairs
the rules leave undecided, and cluster into facts with verdicts.

>>> from recoupe.models import Extraction
>>> crosscheck(Extraction()).facts
[]
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from ..llm.concurrency import run_concurrently
from ..llm.model import Model
from ..llm.prompts import load_prompt
from ..models import Article, Claim, Extraction, PairingStats, PairJudgement, Report
from .adjudicate import ADJUDICATE_PROMPT, adjudicate_pair
from .facts import build_facts
from .features import ClaimFeatures, same_subject
from .origins import claim_origin
from .pairing import all_pairs_count, candidate_indexes
from .rules import compare_features, with_amounts
from .syndication import Copied, copied_sentences

__all__ = ["claim_origins", "crosscheck", "judge_pairs"]


def claim_origins(
    claims: list[Claim],
    article_of: Mapping[str, Article],
    found: list[Copied] | Callable[[str], list[Copied]],
    sources: dict[str, str] | None = None,
) -> dict[str, str]:
    """Each claim's independent origin; a claim in a sentence copied from another article without
    credit (``found``: :func:`copied_sentences` of the articles) takes the origin of the sentence
    it copies, and so on up a chain of copies (a copy of a copy of a wire is the wire). ``sources``,
    when given, gets the id of the article each copied claim copies directly. ``found`` may also be
    a function giving the copies into one article (an archive reads them as they are needed)."""
    if callable(found):
        copies_into = found
    else:
        copied: dict[str, list[Copied]] = {}
        for c in found:
            copied.setdefault(c.article, []).append(c)

        def copies_into(article_id: str) -> list[Copied]:
            return copied.get(article_id, [])

    def origin(claim: Claim, article: Article, seen: frozenset[str]) -> tuple[str, str | None]:
        if claim.span is not None:
            for c in copies_into(article.id):
                if c.span.start <= claim.span.start < c.span.end and c.source in article_of and c.source not in seen:
                    source = article_of[c.source]
                    at_source = claim.model_copy(
                        update={"span": c.source_span, "quote": c.source_span.slice(source.text)}
                    )
                    return origin(at_source, source, seen | {source.id})[0], c.source
        return claim_origin(claim, article), None

    origins = {}
    for claim in claims:
        article = article_of.get(claim.article_id)
        if article is None:
            origins[claim.id] = f"article:{claim.article_id}"
            continue
        origins[claim.id], direct = origin(claim, article, frozenset({article.id}))
        if sources is not None and direct is not None:
            sources[claim.id] = direct
    return origins


def judge_pairs(
    features: list[ClaimFeatures],
    pairs: list[tuple[int, int]],
    stats: PairingStats,
    model: Model | None,
    trust_contradictions: bool,
) -> list[PairJudgement]:
    """The judgements of the candidate pairs: the rules', then the model's for pairs they leave open
    (with a model), in pair order."""
    decided_at: dict[int, PairJudgement] = {}

    def undecided() -> Iterator[tuple[int, tuple[int, int]]]:
        """Compare pair after pair; the ones the rules leave open go to the model as they are found,
        so the rules run while the first adjudications are in flight."""
        for n, (i, j) in enumerate(pairs):
            judgement = compare_features(features[i], features[j])
            if judgement is not None:
                decided_at[n] = judgement
                stats.decided_by_rule += 1
            elif same_subject(features[i], features[j]):
                # Only pairs about the same subject go to the model: that keeps adjudications
                # growing with the claims of each subject, not with all pairs of the batch.
                stats.sent_to_model += model is not None
                yield n, (i, j)

    if model is not None:
        asked = model
        for (n, _), result in run_concurrently(
            lambda item: adjudicate_pair(
                asked, features[item[1][0]].claim, features[item[1][1]].claim, trust_contradictions=trust_contradictions
            ),
            undecided(),
            asked.concurrency,
        ):
            if isinstance(result, BaseException):
                raise result  # not an LLMError (those are handled per pair): a real fault
            decided_at[n] = result
    else:
        for _ in undecided():
            pass  # without a model an open pair makes no judgement and links nothing
    # Input order, not completion order, keeps the output deterministic under concurrency.
    return [
        j for n in sorted(decided_at) for j in with_amounts(decided_at[n], features[pairs[n][0]], features[pairs[n][1]])
    ]


def crosscheck(
    extraction: Extraction,
    model: Model | None = None,
    *,
    adjudicate: bool = True,
    model_contradictions: bool = False,
) -> Report:
    """Cross-check the claims of ``extraction`` into a :class:`~recoupe.models.Report`.

    Undecided pairs go to ``model`` when one is given and ``adjudicate`` is set; with no model
    they make no judgement and link nothing. A model's "contradicts" is kept only with
    ``model_contradictions=True`` (advisable with a strong model); by default a conflict needs a
    difference in numbers or dates that the rules find.

    The report keeps the extraction's failures, usage (shared with ``model``, so adjudication
    calls are counted too), model name and prompt hashes; the adjudication prompt's hash is added
    when the model was asked.

    Example::

        report = crosscheck(extract_articles(articles, llm, chunk_chars=350), llm)
        conflicts = [f for f in report.facts if f.verdict == Verdict.conflicting]  # they come first
    """
    articles = extraction.articles
    claims = [c for ac in articles for c in ac.claims]
    origins = claim_origins(
        claims, {ac.article.id: ac.article for ac in articles}, copied_sentences([ac.article for ac in articles])
    )
    features = [ClaimFeatures.of(c) for c in claims]
    pairs = candidate_indexes(features)
    stats = PairingStats(claims=len(claims), all_pairs=all_pairs_count(claims), candidate_pairs=len(pairs))
    judgements = judge_pairs(features, pairs, stats, model if adjudicate else None, model_contradictions)
    prompt_hashes = dict(extraction.prompts)
    if stats.sent_to_model:
        prompt_hashes[ADJUDICATE_PROMPT] = load_prompt(ADJUDICATE_PROMPT).sha256
    return Report(
        articles=articles,
        facts=build_facts(claims, judgements, origins, {f.claim.id: f for f in features}),
        judgements=judgements,
        pairing=stats,
        failures=list(extraction.failures),
        usage=extraction.usage,
        model=extraction.model if extraction.model is not None else (model.name if model is not None else None),
        prompts=prompt_hashes,
    )
