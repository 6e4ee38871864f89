"""Renderers for a :class:`~recoupe.models.Report`: JSON, Markdown, one self-contained HTML viewer,
and schema.org ClaimReview JSON-LD.

Example::

    Path("report.html").write_text(to_html(report), encoding="utf-8")
    print(to_markdown(report))
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from typing import Any

from .models import Claim, Fact, PairJudgement, Relation, Report, Verdict, facts_by_claim

__all__ = ["to_json", "to_markdown", "to_html", "to_claimreview"]

_VERDICT_TITLES = {
    Verdict.conflicting: "Conflicts",
    Verdict.corroborated: "Corroborated facts",
    Verdict.single_source: "Single-source facts",
}
_VERDICT_ORDER = [Verdict.conflicting, Verdict.corroborated, Verdict.single_source]


def _contradictions(report: Report) -> list[PairJudgement]:
    return [j for j in report.judgements if j.relation == Relation.contradicts]


def _conflict_reasons(contradictions: list[PairJudgement], fact: Fact) -> list[str]:
    """The rationales of the contradictions inside ``fact``, without repeats, in report order."""
    members = {m.claim_id for m in fact.members}
    reasons: list[str] = []
    for j in contradictions:
        if j.a in members and j.b in members and j.rationale not in reasons:
            reasons.append(j.rationale)
    return reasons


def facts_line(report: Report) -> str:
    """``68 facts: 1 conflicting, 6 corroborated, 61 single-source``."""
    counts = Counter(f.verdict for f in report.facts)
    return (f"{len(report.facts)} facts: {counts[Verdict.conflicting]} conflicting, "
            f"{counts[Verdict.corroborated]} corroborated, {counts[Verdict.single_source]} single-source")


def pairs_line(report: Report) -> str:
    """``87 of 2812 claim pairs considered, 21 sent to the model``."""
    p = report.pairing
    return f"{p.candidate_pairs} of {p.all_pairs} claim pairs considered, {p.sent_to_model} sent to the model"


def to_json(report: Report) -> str:
    """The report as JSON (the pydantic model, indented by 2)."""
    return report.model_dump_json(indent=2)


def _claims_by_id(report: Report) -> dict[str, Claim]:
    return {c.id: c for c in report.claims()}


def _facts_by_verdict(report: Report) -> dict[Verdict, list[Fact]]:
    grouped: dict[Verdict, list[Fact]] = {v: [] for v in _VERDICT_ORDER}
    for fact in report.facts:
        grouped[fact.verdict].append(fact)
    return grouped


def _one_line(text: str) -> str:
    return " ".join(text.split())


# -- Markdown -------------------------------------------------------------------------------------
def _md_escape(text: str) -> str:
    """Keep quotes from turning into Markdown markup (emphasis, links, HTML)."""
    out = _one_line(text)
    for ch in "\\`*_[]<>|":
        out = out.replace(ch, "\\" + ch)
    return out


def to_markdown(report: Report) -> str:
    """A readable summary: counts, then conflicts, corroborated and single-source facts, each with
    its members (article, quote, relation, origin)."""
    claims = _claims_by_id(report)
    counts = Counter(f.verdict for f in report.facts)
    p = report.pairing
    lines = [
        "# recoupe report",
        "",
        f"- Articles: {len(report.articles)}",
        f"- Claims: {len(claims)}",
        f"- Facts: {len(report.facts)} ({counts[Verdict.conflicting]} conflicting, "
        f"{counts[Verdict.corroborated]} corroborated, {counts[Verdict.single_source]} single-source)",
        f"- Claim pairs: {p.all_pairs} across articles, {p.candidate_pairs} considered, "
        f"{p.decided_by_rule} decided by rule, {p.sent_to_model} sent to the model",
        f"- Model usage: {report.usage.summary()}" + (f" ({report.model})" if report.model else ""),
    ]
    if report.failures:
        lines.append(f"- Failures: {len(report.failures)}")
    grouped = _facts_by_verdict(report)
    contradictions = _contradictions(report)
    for verdict in _VERDICT_ORDER:
        facts = grouped[verdict]
        lines += ["", f"## {_VERDICT_TITLES[verdict]} ({len(facts)})"]
        if not facts:
            lines += ["", "None."]
        for fact in facts:
            lines += [
                "",
                f"### {fact.id}: {_md_escape(fact.statement)}",
                "",
                f"Verdict: **{fact.verdict.value}** · facet: {fact.facet} · origins: {', '.join(fact.origins)}",
                "",
            ]
            for m in fact.members:
                claim = claims.get(m.claim_id)
                quote = _md_escape(claim.quote) if claim else "(claim not found)"
                lines.append(f"- `{m.article_id}` — “{quote}” — {m.relation.value} — origin: {m.origin}")
            reasons = _conflict_reasons(contradictions, fact)
            if reasons:
                lines += ["", "Why conflicting:"] + [f"- {_md_escape(r)}" for r in reasons]
    if report.failures:
        lines += ["", "## Failures", ""]
        for f in report.failures:
            lines.append(f"- {_md_escape(f.source)} ({f.stage}): {_md_escape(f.reason)}")
    return "\n".join(lines) + "\n"


# -- HTML -----------------------------------------------------------------------------------------
_CSS = """
:root { --red: #f8c9c4; --red-b: #c0392b; --green: #cdeccf; --green-b: #2e7d32; --grey: #e4e4e4; --grey-b: #777; }
* { box-sizing: border-box; }
body { font: 15px/1.55 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #222; }
header, main { max-width: 60rem; margin: 0 1.5rem; }
header { padding: 1rem 0; }
h1 { font-size: 1.4rem; margin: .2rem 0; }
.summary { color: #444; }
.summary span { margin-right: 1rem; }
section#conflicts { border-left: 4px solid var(--red-b); padding: .3rem 1rem; background: #fff6f5; }
section#conflicts li { cursor: pointer; margin: .4rem 0; }
article.doc { border-top: 1px solid #ddd; padding: .5rem 0 1rem; }
article.doc h2 { font-size: 1.05rem; }
.text { white-space: pre-wrap; }
mark.claim { cursor: pointer; padding: 0 1px; border-bottom: 2px solid; color: inherit; }
mark.verdict-conflicting { background: var(--red); border-color: var(--red-b); }
mark.verdict-corroborated { background: var(--green); border-color: var(--green-b); }
mark.verdict-single_source { background: var(--grey); border-color: var(--grey-b); }
mark.claim mark.claim { border-bottom-style: dotted; }
mark.active { outline: 2px solid #1a4fa0; }
aside#fact-panel { position: fixed; top: 0; right: 0; width: 26rem; max-width: 90vw; height: 100vh; overflow: auto;
  background: #fafafa; border-left: 1px solid #ccc; padding: 1rem; box-shadow: -2px 0 8px rgba(0,0,0,.1); }
aside#fact-panel[hidden] { display: none; }
aside#fact-panel .close { float: right; cursor: pointer; border: 0; background: none; font-size: 1.3rem; }
.badge { display: inline-block; padding: 0 .4rem; border-radius: .3rem; font-size: .85rem; }
.badge.conflicting { background: var(--red); } .badge.corroborated { background: var(--green); }
.badge.single_source { background: var(--grey); }
.member { margin: .6rem 0; padding: .4rem .6rem; background: #fff; border: 1px solid #e0e0e0; border-radius: .3rem; }
.member.this { border-color: #1a4fa0; }
.meta { color: #666; font-size: .85rem; }
"""

_JS = """
(function () {
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var panel = document.getElementById('fact-panel');
  var body = document.getElementById('fact-body');
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function show(claimId) {
    var claim = data.claims[claimId];
    if (!claim) return;
    var fact = data.facts[claim.fact_id];
    document.querySelectorAll('mark.active').forEach(function (m) { m.classList.remove('active'); });
    document.querySelectorAll('mark[data-claim-id="' + CSS.escape(claimId) + '"]').forEach(function (m) {
      m.classList.add('active');
    });
    body.textContent = '';
    body.appendChild(el('h2', null, fact ? fact.statement : claim.text));
    if (fact) {
      var line = el('p');
      line.appendChild(el('span', 'badge ' + fact.verdict, fact.verdict));
      line.appendChild(document.createTextNode(' origins: ' + fact.origins.join(', ') + ' · ' + fact.id));
      body.appendChild(line);
      fact.members.forEach(function (m) {
        var other = data.claims[m.claim_id] || {};
        var box = el('div', 'member' + (m.claim_id === claimId ? ' this' : ''));
        box.appendChild(el('div', 'meta', m.article_id + ' · ' + m.relation + ' · origin: ' + m.origin));
        box.appendChild(el('blockquote', null, other.quote || ''));
        box.appendChild(el('div', 'meta', other.text || ''));
        box.addEventListener('click', function () {
          var target = document.querySelector('mark[data-claim-id="' + CSS.escape(m.claim_id) + '"]');
          if (target) target.scrollIntoView({block: 'center'});
        });
        body.appendChild(box);
      });
    }
    panel.hidden = false;
  }
  document.addEventListener('click', function (event) {
    var mark = event.target.closest('mark.claim');
    if (mark) { show(mark.getAttribute('data-claim-id')); event.stopPropagation(); return; }
    var item = event.target.closest('[data-show-claim]');
    if (item) { show(item.getAttribute('data-show-claim')); }
  });
  document.getElementById('fact-close').addEventListener('click', function () { panel.hidden = true; });
  // Deep link: report.html#claim=<id> opens that claim's fact (shareable, and testable headless).
  function fromHash() {
    var m = /^#claim=(.+)$/.exec(window.location.hash);
    if (m) show(decodeURIComponent(m[1]));
  }
  window.addEventListener('hashchange', fromHash);
  fromHash();
})();
"""


def _attr(value: str) -> str:
    return html.escape(value, quote=True)


def _valid_span(claim: Claim, text: str) -> tuple[int, int] | None:
    span = claim.span
    if span is None or span.start >= span.end or span.end > len(text):
        return None
    return span.start, span.end


def _highlight(text: str, claims: list[Claim], fact_of: dict[str, Fact]) -> str:
    """``text`` escaped, with every grounded claim wrapped in ``<mark>``.

    Overlapping spans are handled by cutting the text at every span boundary: each piece is wrapped
    in one ``<mark>`` per claim covering it, outermost (earliest start, then longest) first, so the
    markup always nests and a click lands on the innermost claim.
    """
    spans = []
    for claim in claims:
        bounds = _valid_span(claim, text)
        if bounds is not None:
            spans.append((bounds[0], bounds[1], claim))
    cuts = sorted({0, len(text)} | {s for s, _, _ in spans} | {e for _, e, _ in spans})
    out: list[str] = []
    for start, end in zip(cuts, cuts[1:]):
        covering = sorted(
            (item for item in spans if item[0] <= start and end <= item[1]),
            key=lambda item: (item[0], -item[1], item[2].id),
        )
        piece = html.escape(text[start:end], quote=False)
        for s, e, claim in reversed(covering):
            fact = fact_of.get(claim.id)
            verdict = fact.verdict.value if fact else "single_source"
            piece = (
                f'<mark class="claim verdict-{verdict}" data-claim-id="{_attr(claim.id)}" '
                f'data-fact-id="{_attr(fact.id if fact else "")}" title="{_attr(claim.text)}">{piece}</mark>'
            )
        out.append(piece)
    return "".join(out)


def _script_json(data: Any) -> str:
    """JSON safe inside ``<script>``: ``</`` becomes ``<\\/`` (it could close the element), and
    ``<!--`` and ``<script`` become ``\\u003c…`` (they switch the HTML parser into escaped states)."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True)
    text = text.replace("</", "<\\/")
    return re.sub(r"<(?=!--|script)", r"\\u003c", text, flags=re.I)


def _viewer_data(report: Report, fact_of: dict[str, Fact]) -> dict[str, Any]:
    claims = {
        c.id: {
            "article_id": c.article_id,
            "text": c.text,
            "quote": c.quote,
            "fact_id": fact_of[c.id].id if c.id in fact_of else None,
        }
        for c in report.claims()
    }
    facts = {
        f.id: {
            "id": f.id,
            "statement": f.statement,
            "verdict": f.verdict.value,
            "facet": f.facet,
            "origins": f.origins,
            "members": [m.model_dump(mode="json") for m in f.members],
        }
        for f in report.facts
    }
    return {"claims": claims, "facts": facts}


def to_html(report: Report) -> str:
    """One self-contained HTML file (inline CSS and JavaScript, no network resources): a summary,
    the conflicts, then every article with its claims highlighted by verdict; clicking a claim
    opens a panel with its fact and the other articles' wording."""
    claims = _claims_by_id(report)
    fact_of = facts_by_claim(report.facts)
    counts = Counter(f.verdict for f in report.facts)
    parts: list[str] = [
        "<!DOCTYPE html>",
        '<html>',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>recoupe report</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        "<header>",
        "<h1>recoupe report</h1>",
        '<p class="summary">'
        f"<span>{len(report.articles)} articles</span>"
        f"<span>{len(claims)} claims</span>"
        f"<span>{facts_line(report)}</span>"
        f"<span>{pairs_line(report)}</span>"
        f"<span>{html.escape(report.usage.summary())}</span>"
        "</p>",
        "</header>",
        "<main>",
        '<section id="conflicts">',
        f"<h2>Conflicts ({counts[Verdict.conflicting]})</h2>",
    ]
    conflicts = [f for f in report.facts if f.verdict == Verdict.conflicting]
    contradictions = _contradictions(report)
    if not conflicts:
        parts.append("<p>No conflicting facts.</p>")
    else:
        parts.append("<ul>")
        for fact in conflicts:
            parts.append(f"<li><strong>{html.escape(fact.statement)}</strong><ul>")
            for m in fact.members:
                claim = claims.get(m.claim_id)
                quote = claim.quote if claim else ""
                parts.append(
                    f'<li data-show-claim="{_attr(m.claim_id)}">{html.escape(m.article_id)} '
                    f"({html.escape(m.relation.value)}, {html.escape(m.origin)}): "
                    f"“{html.escape(_one_line(quote))}”</li>"
                )
            parts.append("</ul>")
            for reason in _conflict_reasons(contradictions, fact):
                parts.append(f'<p class="meta">Why: {html.escape(reason)}</p>')
            parts.append("</li>")
        parts.append("</ul>")
    parts.append("</section>")

    for ac in report.articles:
        a = ac.article
        meta = [x for x in (a.outlet, a.published.isoformat() if a.published else None, a.url) if x]
        parts.append(f'<article class="doc" id="article-{_attr(a.id)}">')
        parts.append(f"<h2>{html.escape(a.id)}</h2>")
        if meta:
            # The URL is shown as text, not a link: the file loads and links to nothing outside.
            parts.append(f'<p class="meta">{html.escape(" · ".join(meta))}</p>')
        parts.append(f'<div class="text">{_highlight(a.text, ac.claims, fact_of)}</div>')
        ungrounded = [c for c in ac.claims if _valid_span(c, a.text) is None]
        if ungrounded:
            parts.append('<p class="meta">Claims not found in the text:</p><ul>')
            for c in ungrounded:
                parts.append(f'<li data-show-claim="{_attr(c.id)}">{html.escape(c.text)}</li>')
            parts.append("</ul>")
        parts.append("</article>")

    parts += [
        "</main>",
        '<aside id="fact-panel" hidden>',
        '<button type="button" class="close" id="fact-close" aria-label="Close">×</button>',
        '<div id="fact-body"></div>',
        "</aside>",
        f'<script type="application/json" id="report-data">{_script_json(_viewer_data(report, fact_of))}</script>',
        f"<script>{_JS}</script>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"


# -- ClaimReview ----------------------------------------------------------------------------------
_RATING_VALUE = {Verdict.corroborated: 3, Verdict.single_source: 2, Verdict.conflicting: 1}


def to_claimreview(report: Report) -> list[dict[str, Any]]:
    """One schema.org ``ClaimReview`` per fact: ``claimReviewed`` is the statement, the verdict is
    the rating's ``alternateName``, and each member is an ``appearance`` of the claim (quote and
    article)."""
    claims = _claims_by_id(report)
    articles = {ac.article.id: ac.article for ac in report.articles}
    reviews: list[dict[str, Any]] = []
    for fact in report.facts:
        appearances = []
        for m in fact.members:
            claim = claims.get(m.claim_id)
            article = articles.get(m.article_id)
            work: dict[str, Any] = {"@type": "CreativeWork", "identifier": m.article_id}
            if claim is not None:
                work["text"] = claim.quote
            if article is not None:
                if article.url:
                    work["url"] = article.url
                if article.outlet:
                    work["publisher"] = {"@type": "Organization", "name": article.outlet}
                if article.published:
                    work["datePublished"] = article.published.isoformat()
            appearances.append(work)
        reviews.append(
            {
                "@context": "https://schema.org",
                "@type": "ClaimReview",
                "identifier": fact.id,
                "claimReviewed": fact.statement,
                "author": {"@type": "Organization", "name": "recoupe"},
                "reviewRating": {
                    "@type": "Rating",
                    "ratingValue": _RATING_VALUE[fact.verdict],
                    "bestRating": 3,
                    "worstRating": 1,
                    "alternateName": fact.verdict.value,
                    "ratingExplanation": (
                        f"{len(fact.members)} claim(s) from {len(fact.origins)} independent origin(s): "
                        + ", ".join(fact.origins)
                    ),
                },
                "itemReviewed": {"@type": "Claim", "appearance": appearances},
            }
        )
    return reviews
