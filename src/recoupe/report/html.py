"""The self-contained HTML viewer: a summary, the conflicts, then every article with its claims
highlighted by verdict; clicking a claim opens a panel with its fact and the other articles'
wording. The stylesheet and the script are package files (``viewer.css``, ``viewer.js``) inlined
into the page, which loads nothing and links to nothing outside itself.

Every article-derived string is escaped (:func:`.summary.html_text`, :func:`.summary.attr`), and
the data the script reads is JSON made safe inside ``<script>`` (:func:`_script_json`).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from functools import cache
from html import escape
from importlib.resources import files
from itertools import pairwise
from typing import Any

from ..models import ArticleClaims, Claim, Fact, Report, Verdict, facts_by_claim
from .summary import (
    attr,
    claims_by_id,
    conflict_reasons,
    contradictions,
    facts_line,
    html_text,
    one_line,
    pairs_line,
)

__all__ = ["to_html"]

_PACKAGE = __name__.rpartition(".")[0]  # recoupe.report, where viewer.css and viewer.js are


@cache
def _viewer_file(name: str) -> str:
    """A file of the viewer (``viewer.css``, ``viewer.js``), read once from the package."""
    return files(_PACKAGE).joinpath(name).read_text(encoding="utf-8")


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
    for start, end in pairwise(cuts):
        covering = sorted(
            (item for item in spans if item[0] <= start and end <= item[1]),
            key=lambda item: (item[0], -item[1], item[2].id),
        )
        piece = escape(text[start:end], quote=False)
        for _, _, claim in reversed(covering):
            fact = fact_of.get(claim.id)
            verdict = fact.verdict.value if fact else "single_source"
            piece = (
                f'<mark class="claim verdict-{verdict}" data-claim-id="{attr(claim.id)}" '
                f'data-fact-id="{attr(fact.id if fact else "")}" title="{attr(claim.text)}">{piece}</mark>'
            )
        out.append(piece)
    return "".join(out)


def _script_json(data: Any) -> str:
    """JSON safe inside ``<script>``: ``</`` becomes ``<\\/`` (it could close the element), and
    ``<!--`` and ``<script`` become ``\\u003c…`` (they switch the HTML parser into escaped states)."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True)
    text = text.replace("</", "<\\/")
    return re.sub(r"<(?=!--|script)", r"\\u003c", text, flags=re.IGNORECASE)


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


def _head(report: Report, claims: dict[str, Claim]) -> list[str]:
    # viewer.css is the old inline string without its first newline, hence "<style>\n".
    return [
        "<!DOCTYPE html>",
        "<html>",
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>recoupe report</title>",
        f"<style>\n{_viewer_file('viewer.css')}</style>",
        "</head>",
        "<body>",
        "<header>",
        "<h1>recoupe report</h1>",
        (
            '<p class="summary">'
            f"<span>{len(report.articles)} articles</span>"
            f"<span>{len(claims)} claims</span>"
            f"<span>{facts_line(report)}</span>"
            f"<span>{pairs_line(report)}</span>"
            f"<span>{html_text(report.usage.summary())}</span>"
            "</p>"
        ),
        "</header>",
    ]


def _conflicts(report: Report, claims: dict[str, Claim]) -> list[str]:
    counts = Counter(f.verdict for f in report.facts)
    parts = [
        '<section id="conflicts">',
        f"<h2>Conflicts ({counts[Verdict.conflicting]})</h2>",
    ]
    conflicts = [f for f in report.facts if f.verdict == Verdict.conflicting]
    judged = contradictions(report)
    if not conflicts:
        parts.append("<p>No conflicting facts.</p>")
    else:
        parts.append("<ul>")
        for fact in conflicts:
            parts.append(f"<li><strong>{html_text(fact.statement)}</strong><ul>")
            for m in fact.members:
                claim = claims.get(m.claim_id)
                quote = claim.quote if claim else ""
                parts.append(
                    f'<li data-show-claim="{attr(m.claim_id)}">{html_text(m.article_id)} '
                    f"({html_text(m.relation.value)}, {html_text(m.origin)}): "
                    f"“{html_text(one_line(quote))}”</li>"
                )
            parts.append("</ul>")
            for reason in conflict_reasons(judged, fact):
                parts.append(f'<p class="meta">Why: {html_text(reason)}</p>')
            parts.append("</li>")
        parts.append("</ul>")
    parts.append("</section>")
    return parts


def _article(ac: ArticleClaims, fact_of: dict[str, Fact]) -> list[str]:
    a = ac.article
    meta = [x for x in (a.outlet, a.published.isoformat() if a.published else None, a.url) if x]
    parts = [
        f'<article class="doc" id="article-{attr(a.id)}">',
        f"<h2>{html_text(a.id)}</h2>",
    ]
    if meta:
        # The URL is shown as text, never as a link (whatever its scheme): the file loads and
        # links to nothing outside.
        parts.append(f'<p class="meta">{html_text(" · ".join(meta))}</p>')
    parts.append(f'<div class="text">{_highlight(a.text, ac.claims, fact_of)}</div>')
    ungrounded = [c for c in ac.claims if _valid_span(c, a.text) is None]
    if ungrounded:
        parts.append('<p class="meta">Claims not found in the text:</p><ul>')
        for c in ungrounded:
            parts.append(f'<li data-show-claim="{attr(c.id)}">{html_text(c.text)}</li>')
        parts.append("</ul>")
    parts.append("</article>")
    return parts


def to_html(report: Report) -> str:
    """One self-contained HTML file (inline CSS and JavaScript, no network resources): a summary,
    the conflicts, then every article with its claims highlighted by verdict; clicking a claim
    opens a panel with its fact and the other articles' wording."""
    claims = claims_by_id(report)
    fact_of = facts_by_claim(report.facts)
    parts = [*_head(report, claims), "<main>", *_conflicts(report, claims)]
    for ac in report.articles:
        parts += _article(ac, fact_of)
    data = _script_json(_viewer_data(report, fact_of))
    parts += [
        "</main>",
        '<aside id="fact-panel" hidden>',
        '<button type="button" class="close" id="fact-close" aria-label="Close">×</button>',
        '<div id="fact-body"></div>',
        "</aside>",
        f'<script type="application/json" id="report-data">{data}</script>',
        # viewer.js, like viewer.css, is the old inline string without its first newline
        f"<script>\n{_viewer_file('viewer.js')}</script>",
        "</body>",
        "</html>",
    ]
    return "\n".join(parts) + "\n"
