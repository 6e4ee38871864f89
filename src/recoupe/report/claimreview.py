"""schema.org ``ClaimReview`` JSON-LD, one review per fact. Article-derived names and texts are
plain strings (terminal escapes and control characters dropped, :func:`.summary.plain_text`);
only absolute http(s) URLs are emitted as ``url`` (:func:`.summary.http_url`)."""

from __future__ import annotations

from typing import Any

from ..models import Article, Claim, Fact, FactMember, Report, Verdict
from .summary import claims_by_id, http_url, plain_text

__all__ = ["to_claimreview"]

_RATING_VALUE = {
    Verdict.corroborated: 3,
    Verdict.single_source: 2,
    Verdict.conflicting: 1,
}


def _appearance(m: FactMember, claim: Claim | None, article: Article | None) -> dict[str, Any]:
    """The member as a ``CreativeWork``: its article's id, the quote, and the article's URL (if
    http(s)), outlet and date."""
    work: dict[str, Any] = {
        "@type": "CreativeWork",
        "identifier": plain_text(m.article_id),
    }
    if claim is not None:
        work["text"] = plain_text(claim.quote)
    if article is not None:
        url = http_url(article.url)
        if url:
            work["url"] = url
        if article.outlet:
            work["publisher"] = {
                "@type": "Organization",
                "name": plain_text(article.outlet),
            }
        if article.published:
            work["datePublished"] = article.published.isoformat()
    return work


def _review(fact: Fact, appearances: list[dict[str, Any]]) -> dict[str, Any]:
    origins = ", ".join(plain_text(o) for o in fact.origins)
    return {
        "@context": "https://schema.org",
        "@type": "ClaimReview",
        "identifier": plain_text(fact.id),
        "claimReviewed": plain_text(fact.statement),
        "author": {"@type": "Organization", "name": "recoupe"},
        "reviewRating": {
            "@type": "Rating",
            "ratingValue": _RATING_VALUE[fact.verdict],
            "bestRating": 3,
            "worstRating": 1,
            "alternateName": fact.verdict.value,
            "ratingExplanation": (
                f"{len(fact.members)} claim(s) from {len(fact.origins)} independent origin(s): " + origins
            ),
        },
        "itemReviewed": {"@type": "Claim", "appearance": appearances},
    }


def to_claimreview(report: Report) -> list[dict[str, Any]]:
    """One schema.org ``ClaimReview`` per fact: ``claimReviewed`` is the statement, the verdict is
    the rating's ``alternateName``, and each member is an ``appearance`` of the claim (quote and
    article). The result is data for ``json.dumps``; a page embedding it in a
    ``<script type="application/ld+json">`` must still escape ``</`` as for any JSON in HTML."""
    claims = claims_by_id(report)
    articles = {ac.article.id: ac.article for ac in report.articles}
    return [
        _review(
            fact,
            [_appearance(m, claims.get(m.claim_id), articles.get(m.article_id)) for m in fact.members],
        )
        for fact in report.facts
    ]
