"""The Markdown report: counts, then conflicts, corroborated and single-source facts with their
members, then failures. Every article-derived string goes through :func:`.summary.md_text` (ids
through :func:`.summary.md_code`), so no article can inject markup, HTML or terminal escapes."""

from __future__ import annotations

from collections import Counter

from ..models import Claim, Fact, PairJudgement, Report, Verdict
from .summary import (
    VERDICT_ORDER,
    VERDICT_TITLES,
    claims_by_id,
    conflict_reasons,
    contradictions,
    facts_by_verdict,
    md_code,
    md_text,
)

__all__ = ["to_markdown"]


def _header(report: Report, claims: dict[str, Claim]) -> list[str]:
    counts = Counter(f.verdict for f in report.facts)
    p = report.pairing
    lines = [
        "# recoupe report",
        "",
        f"- Articles: {len(report.articles)}",
        f"- Claims: {len(claims)}",
        (
            f"- Facts: {len(report.facts)} ({counts[Verdict.conflicting]} conflicting, "
            f"{counts[Verdict.corroborated]} corroborated, {counts[Verdict.single_source]} single-source)"
        ),
        (
            f"- Claim pairs: {p.all_pairs} across articles, {p.candidate_pairs} considered, "
            f"{p.decided_by_rule} decided by rule, {p.sent_to_model} sent to the model"
        ),
        f"- Model usage: {report.usage.summary()}" + (f" ({md_text(report.model)})" if report.model else ""),
    ]
    if report.failures:
        lines.append(f"- Failures: {len(report.failures)}")
    return lines


def _fact(fact: Fact, claims: dict[str, Claim], judged: list[PairJudgement]) -> list[str]:
    origins = ", ".join(md_text(o) for o in fact.origins)
    lines = [
        "",
        f"### {md_text(fact.id)}: {md_text(fact.statement)}",
        "",
        f"Verdict: **{fact.verdict.value}** · facet: {md_text(fact.facet)} · origins: {origins}",
        "",
    ]
    for m in fact.members:
        claim = claims.get(m.claim_id)
        quote = md_text(claim.quote) if claim else "(claim not found)"
        lines.append(f"- {md_code(m.article_id)} — “{quote}” — {m.relation.value} — origin: {md_text(m.origin)}")
    reasons = conflict_reasons(judged, fact)
    if reasons:
        lines += ["", "Why conflicting:"] + [f"- {md_text(r)}" for r in reasons]
    return lines


def to_markdown(report: Report) -> str:
    """A readable summary: counts, then conflicts, corroborated and single-source facts, each with
    its members (article, quote, relation, origin), then the failures."""
    claims = claims_by_id(report)
    lines = _header(report, claims)
    grouped = facts_by_verdict(report)
    judged = contradictions(report)
    for verdict in VERDICT_ORDER:
        facts = grouped[verdict]
        lines += ["", f"## {VERDICT_TITLES[verdict]} ({len(facts)})"]
        if not facts:
            lines += ["", "None."]
        for fact in facts:
            lines += _fact(fact, claims, judged)
    if report.failures:
        lines += ["", "## Failures", ""]
        for f in report.failures:
            lines.append(f"- {md_text(f.source)} ({md_text(f.stage)}): {md_text(f.reason)}")
    return "\n".join(lines) + "\n"
