"""What the renderers share: the summary lines, how facts are grouped and titled, the reasons a
fact conflicts, and the escaping of article-derived text for each output format.

Everything that comes from an article (ids, outlets, origins, quotes, statements, URLs, failure
sources and reasons) is untrusted: the Markdown renderer passes it through :func:`md_text` (or
:func:`md_code` for ids), the HTML renderer through :func:`html_text` and :func:`attr`, and the
ClaimReview renderer through :func:`plain_text` and :func:`http_url`.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from urllib.parse import urlsplit

from ..models import Claim, Fact, PairJudgement, Relation, Report, Verdict

__all__ = [
    "VERDICT_ORDER",
    "VERDICT_TITLES",
    "attr",
    "claims_by_id",
    "conflict_reasons",
    "contradictions",
    "facts_by_verdict",
    "facts_line",
    "html_text",
    "http_url",
    "md_code",
    "md_text",
    "one_line",
    "pairs_line",
    "plain_text",
]

VERDICT_TITLES = {
    Verdict.conflicting: "Conflicts",
    Verdict.corroborated: "Corroborated facts",
    Verdict.single_source: "Single-source facts",
}
VERDICT_ORDER = [Verdict.conflicting, Verdict.corroborated, Verdict.single_source]


# -- summary --------------------------------------------------------------------------------------
def facts_line(report: Report) -> str:
    """``68 facts: 1 conflicting, 6 corroborated, 61 single-source``."""
    counts = Counter(f.verdict for f in report.facts)
    return (
        f"{len(report.facts)} facts: {counts[Verdict.conflicting]} conflicting, "
        f"{counts[Verdict.corroborated]} corroborated, {counts[Verdict.single_source]} single-source"
    )


def pairs_line(report: Report) -> str:
    """``87 of 2812 claim pairs considered, 21 sent to the model``."""
    p = report.pairing
    return f"{p.candidate_pairs} of {p.all_pairs} claim pairs considered, {p.sent_to_model} sent to the model"


def contradictions(report: Report) -> list[PairJudgement]:
    """The report's ``contradicts`` judgements, in report order."""
    return [j for j in report.judgements if j.relation == Relation.contradicts]


def conflict_reasons(contradictions: list[PairJudgement], fact: Fact) -> list[str]:
    """The rationales of the contradictions inside ``fact``, without repeats, in report order."""
    members = {m.claim_id for m in fact.members}
    reasons: list[str] = []
    for j in contradictions:
        if j.a in members and j.b in members and j.rationale not in reasons:
            reasons.append(j.rationale)
    return reasons


def claims_by_id(report: Report) -> dict[str, Claim]:
    """Claim id -> claim, over every article of the report."""
    return {c.id: c for c in report.claims()}


def facts_by_verdict(report: Report) -> dict[Verdict, list[Fact]]:
    """The facts grouped by verdict, every verdict of :data:`VERDICT_ORDER` present (maybe empty)."""
    grouped: dict[Verdict, list[Fact]] = {v: [] for v in VERDICT_ORDER}
    for fact in report.facts:
        grouped[fact.verdict].append(fact)
    return grouped


def one_line(text: str) -> str:
    """``text`` with every run of whitespace (newlines included) made one space, and trimmed."""
    return " ".join(text.split())


# -- escaping -------------------------------------------------------------------------------------
# Terminal escape sequences, removed whole so no "[31m" is left behind: CSI (ESC [ ... final), OSC
# (ESC ] ... BEL or ESC \), any other two-byte ESC sequence, and the one-byte C1 CSI.
_ESCAPE_SEQUENCE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[ -~]?|\x9b[0-?]*[ -/]*[@-~]"
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_KEPT_CONTROLS = "\t\n\r"


def _control(match: re.Match[str]) -> str:
    ch = match.group()
    if ch in _KEPT_CONTROLS:
        return ch
    return " " if ch.isspace() else ""


def plain_text(text: str) -> str:
    """``text`` without terminal escape sequences and C0/C1 control characters; tab, newline and
    carriage return stay, other whitespace controls (form feed, NEL…) become a space."""
    return _CONTROL.sub(_control, _ESCAPE_SEQUENCE.sub("", text))


_MD_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_MD_BACKSLASHED = frozenset("\\`*[]|~")
# What opens a block when it starts a line (every escaped string may follow "- "): a heading
# ("#"), a bullet ("- ", "+ "), a thematic break ("---"), an ordered list item ("1. ", "1) ").
# (">", "<", "*", "`", "~", "[" and "|" are escaped wherever they are.) Inert starts such as
# "-0,66 %" stay as written.
_MD_BLOCK_START = re.compile(r"#|-(?=[\s-]|$)|\+(?=\s|$)|\d{1,9}(?=[.)](?:\s|$))")


def _md_char(flat: str, i: int) -> str:
    ch = flat[i]
    if ch in _MD_ENTITIES:
        return _MD_ENTITIES[ch]
    if ch in _MD_BACKSLASHED:
        return "\\" + ch
    if ch == "_":
        # "_" between two letters or digits can neither open nor close emphasis (CommonMark), so
        # ids like "article:004_d0b7" stay as written; any other "_" is escaped.
        inner = 0 < i < len(flat) - 1 and flat[i - 1].isalnum() and flat[i + 1].isalnum()
        return ch if inner else "\\_"
    return ch


def md_text(text: str) -> str:
    """Untrusted ``text`` as inert Markdown on one line: escape sequences and control characters
    dropped, whitespace (newlines included) collapsed, ``& < >`` as HTML entities (so no HTML
    renders, even where backslash escapes are not understood), ``\\ ` * _ [ ] | ~`` backslashed,
    and a leading ``#``, ``- ``, ``+ ``, ``--`` or ``1. `` escaped so it cannot open a heading, a
    list or a thematic break."""
    flat = one_line(plain_text(text))
    out = "".join(_md_char(flat, i) for i in range(len(flat)))
    start = _MD_BLOCK_START.match(out)
    if start is None:
        return out
    if start.group().isdigit():
        end = start.end()
        return out[:end] + "\\" + out[end:]
    return "\\" + out


_MD_PLAIN_ID = re.compile(r"[A-Za-z0-9_.:/-]+")


def md_code(text: str) -> str:
    """An id for Markdown: a code span when it holds only letters, digits and ``_ . : / -`` (no
    character of it can close the span or mean anything), else escaped text (:func:`md_text`)."""
    return f"`{text}`" if _MD_PLAIN_ID.fullmatch(text) else md_text(text)


def html_text(text: str) -> str:
    """``text`` escaped for HTML element content (quotes escaped too, so it is also attribute-safe)."""
    return html.escape(text, quote=True)


def attr(value: str) -> str:
    """``value`` escaped for a double-quoted HTML attribute."""
    return html.escape(value, quote=True)


def http_url(url: str | None) -> str | None:
    """``url`` unchanged when it is an absolute ``http``/``https`` URL with a host, else ``None``:
    ``javascript:``, ``data:``, relative, padded (``" javascript:"``) and malformed URLs are never
    emitted as links."""
    if not url or any(ch.isspace() or _CONTROL.match(ch) for ch in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:  # an unbalanced IPv6 bracket, a bad port
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return url
