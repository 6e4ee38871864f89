"""Renderers for a :class:`~recoupe.models.Report`: JSON, Markdown, one self-contained HTML viewer,
and schema.org ClaimReview JSON-LD, plus the one-line summaries the CLI prints.

Article text, ids, outlets, origins and URLs are untrusted: each format escapes them its own way
(see :mod:`recoupe.report.summary`), and only http(s) URLs are ever emitted as URLs.

Example::

    Path("report.html").write_text(to_html(report), encoding="utf-8")
    print(to_markdown(report))
"""

from __future__ import annotations

from .claimreview import to_claimreview
from .html import to_html
from .jsonfile import to_json
from .markdown import to_markdown
from .summary import facts_line, pairs_line

__all__ = [
    "facts_line",
    "pairs_line",
    "to_claimreview",
    "to_html",
    "to_json",
    "to_markdown",
]
