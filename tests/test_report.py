"""Renderers: JSON, Markdown, the self-contained HTML viewer and ClaimReview JSON-LD, on a report
built by the real cross-checker from claims grounded in the seed articles. No network, no model."""

from __future__ import annotations

import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from recoupe.crosscheck import crosscheck
from recoupe.models import (
    Alignment,
    Article,
    ArticleClaims,
    Claim,
    Extraction,
    Fact,
    FactMember,
    Failure,
    PairJudgement,
    Relation,
    Report,
    Span,
    Verdict,
)
from recoupe.normalize import find_location, main_quantity, parse_time
from recoupe.report import to_claimreview, to_html, to_json, to_markdown

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
ARTICLES = {p.stem[:3]: Article(id=p.stem, text=p.read_text(encoding="utf-8")) for p in sorted(SEEDS.glob("*.txt"))}


def grounded(article: Article, quote: str, text: str | None = None, *, subject: str | None = None) -> Claim:
    """A claim whose quote is found verbatim in ``article``, normalised by the real code."""
    start = article.text.find(quote)
    assert start >= 0, f"quote not in {article.id}: {quote!r}"
    text = text or quote
    return Claim(
        id=Claim.make_id(article.id, text, quote),
        article_id=article.id,
        text=text,
        quote=quote,
        span=Span(start=start, end=start + len(quote)),
        alignment=Alignment.exact,
        subject=subject,
        quantity=main_quantity(quote, text),
        time=parse_time(quote, article.published),
        location=find_location(quote),
    )


def _bundle(claims_by_article: dict[str, list[Claim]], articles: dict[str, Article]) -> list[ArticleClaims]:
    return [ArticleClaims(article=articles[k], claims=v) for k, v in claims_by_article.items()]


@pytest.fixture(scope="module")
def report() -> Report:
    a0, a1, a2, a4 = ARTICLES["000"], ARTICLES["001"], ARTICLES["002"], ARTICLES["004"]
    sunday = grounded(
        a0,
        "Dimanche, Microsoft a annoncé un investissement de quatre milliards d’euros (4,3 milliards de dollars)",
        subject="Microsoft",
    )
    # overlaps the claim above: "Dimanche, Microsoft a annoncé" is inside it
    sunday_day = grounded(
        a0,
        "Dimanche, Microsoft a annoncé",
        "Microsoft a fait son annonce dimanche.",
        subject="Microsoft",
    )
    amazon_afp = grounded(
        a0,
        "Amazon investirait plus de 1,2 milliard d’euros (1,3 milliard de dollars)",
        subject="Amazon",
    )
    bloomberg = grounded(
        a1,
        "Microsoft va désormais investir 4 milliards d'euros supplémentaires",
        subject="Microsoft",
    )
    aws_reuters = grounded(
        a1,
        "il investit plus de 1,2 milliard d'euros dans ses activités françaises",
        "AWS investit plus de 1,2 milliard d'euros en France.",
        subject="AWS",
    )
    mistral = grounded(
        a1,
        "le géant de la technologie a investi 15 millions d’euros dans le développeur d’IA",
        "Microsoft a investi 15 millions d'euros dans Mistral AI.",
        subject="Microsoft",
    )
    aof = grounded(
        a2,
        "le second, 1,2 milliard d'euros",
        "Amazon va investir 1,2 milliard d'euros.",
        subject="Amazon",
    )
    monday = grounded(
        a4,
        "en s’engageant lundi à investir 4 milliards d’euros (4,3 milliards de dollars)",
        "Microsoft s'est engagé lundi à investir 4 milliards d'euros.",
        subject="Microsoft",
    )
    # text with markup in it, and a claim over it: everything must come out escaped
    hostile = Article(
        id="999_hostile",
        text="Intro <script>alert('x')</script> & « Microsoft investira 4 milliards d'euros » </b> fin.",
        outlet="Test <Outlet>",
    )
    tricky = grounded(
        hostile,
        "<script>alert('x')</script> & « Microsoft",
        "Un <b>test</b>.",
        subject="Test",
    )
    ungrounded = Claim(
        id="999_hostile:none",
        article_id=hostile.id,
        text="Jamais trouvé.",
        quote="absent",
        span=None,
        alignment=Alignment.none,
    )
    articles = dict(ARTICLES, hostile=hostile)
    bundle = _bundle(
        {
            "000": [sunday, sunday_day, amazon_afp],
            "001": [bloomberg, aws_reuters, mistral],
            "002": [aof],
            "004": [monday],
            "hostile": [tricky, ungrounded],
        },
        articles,
    )
    return crosscheck(Extraction(articles=bundle, model="none"))


def test_json_round_trips(report: Report):
    text = to_json(report)
    assert text.startswith("{\n  ")
    assert Report.model_validate_json(text) == report


def test_report_has_each_verdict(report: Report):
    verdicts = {f.verdict for f in report.facts}
    assert verdicts == {
        Verdict.conflicting,
        Verdict.corroborated,
        Verdict.single_source,
    }


def test_markdown_lists_conflicts_before_corroborated_and_single_source(report: Report):
    md = to_markdown(report)
    conflicts = md.index("## Conflicts")
    corroborated = md.index("## Corroborated facts")
    single = md.index("## Single-source facts")
    assert conflicts < corroborated < single
    assert "- Articles: 5" in md and f"- Claims: {len(report.claims())}" in md
    assert f"{report.pairing.candidate_pairs} considered" in md and "sent to the model" in md
    assert "model calls" in md  # usage summary
    # members under the conflict: article id, quote, relation, origin
    conflict_part = md[conflicts:corroborated]
    assert "Dimanche, Microsoft a annoncé" in conflict_part and "contradicts" in conflict_part
    assert "origin: AFP" in conflict_part
    assert "Why conflicting:" in conflict_part and "different days" in conflict_part
    assert "<script>" not in md  # quotes cannot inject markup


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.stack: list[str] = []
        self.balanced = True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in ("meta", "br", "link", "img", "input", "hr"):
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.balanced = False


def test_html_is_one_self_contained_file(report: Report):
    page = to_html(report)
    assert page.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", page, re.IGNORECASE)
    assert "@import" not in page and "url(" not in page
    parser = _Collector()
    parser.feed(page)
    assert parser.balanced and parser.stack == []
    ids = [attrs.get("id") for _, attrs in parser.tags]
    assert "conflicts" in ids and "fact-panel" in ids and "report-data" in ids
    assert page.index('id="conflicts"') < page.index('class="doc"')


def test_html_marks_every_grounded_claim(report: Report):
    page = to_html(report)
    parser = _Collector()
    parser.feed(page)
    marked = {attrs["data-claim-id"] for tag, attrs in parser.tags if tag == "mark"}
    grounded_ids = {c.id for c in report.claims() if c.span is not None}
    assert marked == grounded_ids
    for tag, attrs in parser.tags:
        if tag == "mark":
            fact = report.fact_of(attrs["data-claim-id"])
            assert attrs["data-fact-id"] == fact.id
            assert f"verdict-{fact.verdict.value}" in attrs["class"].split()


def test_html_keeps_article_text_and_nests_overlapping_claims(report: Report):
    page = to_html(report)
    a0 = ARTICLES["000"]
    # stripping the markup of the article block gives back the article text, unchanged
    block = page.split('id="article-000_6aa68e9ac400efb7">', 1)[1].split('<div class="text">', 1)[1]
    block = block.split("</div>", 1)[0]
    assert html.unescape(re.sub(r"<[^>]+>", "", block)) == a0.text
    # the short claim sits inside the long one: a mark directly inside a mark
    assert re.search(r'<mark class="claim[^"]*"[^>]*><mark class="claim', block)


def test_html_escapes_article_text(report: Report):
    page = to_html(report)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert" in page
    assert "</b> fin" not in page and "&lt;/b&gt; fin" in page
    assert "Test &lt;Outlet&gt;" in page
    # the embedded data cannot close its script element early
    data = page.split('<script type="application/json" id="report-data">', 1)[1].split("</script>", 1)[0]
    assert "</" not in data
    parsed = json.loads(data)
    assert any("<script>alert('x')</script>" in c["quote"] for c in parsed["claims"].values())
    assert set(parsed["facts"]) == {f.id for f in report.facts}


def test_html_lists_conflicts_with_member_quotes(report: Report):
    page = to_html(report)
    section = page.split('<section id="conflicts">', 1)[1].split("</section>", 1)[0]
    conflict = next(f for f in report.facts if f.verdict == Verdict.conflicting)
    for m in conflict.members:
        assert f'data-show-claim="{m.claim_id}"' in section
    assert "s’engageant lundi" in section
    assert "Why: " in section and "different days (Sunday vs Monday)" in section


def test_claimreview_one_per_fact(report: Report):
    reviews = to_claimreview(report)
    assert len(reviews) == len(report.facts)
    json.dumps(reviews)  # serialisable as JSON-LD
    for review, fact in zip(reviews, report.facts, strict=True):
        assert review["@context"] == "https://schema.org"
        assert review["@type"] == "ClaimReview"
        assert review["claimReviewed"] == fact.statement
        assert review["reviewRating"]["alternateName"] == fact.verdict.value
        appearances = review["itemReviewed"]["appearance"]
        assert [a["identifier"] for a in appearances] == [m.article_id for m in fact.members]
        assert all("text" in a for a in appearances)


def test_empty_report_renders():
    empty = Report(articles=[], facts=[])
    assert "No conflicting facts." in to_html(empty)
    assert "## Conflicts (0)" in to_markdown(empty)
    assert to_claimreview(empty) == []


# -- hostile input: every article-derived string is escaped in every format ------------------------
SCRIPT_ID = "x<script>alert(1)</script>"
BREAKOUT_ID = "y`\n# injected"
IMG = '<img src=x onerror="alert(1)">'
ESC = "\x1b[31m"
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@pytest.fixture(scope="module")
def hostile() -> Report:
    """A report whose every article-derived field carries markup, a code-span breakout, a heading
    injection, terminal escapes or a ``javascript:`` URL."""
    a = Article(
        id=SCRIPT_ID,
        text=f"Selon {ESC}AFP{ESC}, Microsoft investira 4 milliards d'euros.",
        outlet=f"{IMG}{ESC}",
        url="javascript:alert(1)",
    )
    b = Article(
        id=BREAKOUT_ID,
        text="Microsoft investira 5 milliards d'euros, dit Reuters.",
        outlet=f"Reuters\n# injected {IMG}",
        url=" JavaScript:alert(2)",
    )
    c = Article(
        id="z_safe",
        text="Microsoft investira 4 milliards d'euros.",
        outlet="Le Monde",
        url="https://example.org/z?a=1&b=2",
    )
    ca = grounded(
        a,
        f"{ESC}AFP{ESC}, Microsoft investira 4 milliards d'euros",
        f"Microsoft {ESC}investira\n# injected 4 milliards.",
        subject="Microsoft",
    )
    cb = grounded(b, "Microsoft investira 5 milliards d'euros", subject="Microsoft")
    cc = grounded(c, "Microsoft investira 4 milliards d'euros", subject="Microsoft")
    members = [
        FactMember(
            claim_id=ca.id,
            article_id=a.id,
            relation=Relation.equivalent,
            origin=f"AFP{ESC}\n# injected",
        ),
        FactMember(claim_id=cb.id, article_id=b.id, relation=Relation.contradicts, origin=IMG),
        FactMember(
            claim_id=cc.id,
            article_id=c.id,
            relation=Relation.equivalent,
            origin="article:z_safe",
        ),
    ]
    fact = Fact(
        id="F1",
        facet="quantity",
        statement=f"Microsoft investira {ESC}4 milliards\n# injected <b>",
        members=members,
        verdict=Verdict.conflicting,
        origins=[f"AFP{ESC}", IMG, "article:z_safe"],
    )
    return Report(
        articles=[ArticleClaims(article=x, claims=[cl]) for x, cl in ((a, ca), (b, cb), (c, cc))],
        facts=[fact],
        judgements=[
            PairJudgement(
                a=ca.id,
                b=cb.id,
                relation=Relation.contradicts,
                decided_by="rule",
                rationale=f"4 vs 5\n# injected {IMG} {ESC}",
            )
        ],
        failures=[
            Failure(
                source=f"evil\n# injected{ESC}.txt",
                stage="load",
                reason=f"<script>x</script>\n- {IMG}",
            )
        ],
        model="none",
    )


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _strings(k) + _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_markdown_escapes_hostile_ids_origins_and_text(hostile: Report):
    md = to_markdown(hostile)
    assert "<script" not in md.lower() and "<img" not in md.lower() and "<b>" not in md
    assert "x&lt;script&gt;alert(1)&lt;/script&gt;" in md  # shown, as text
    assert "\x1b" not in md and not _CONTROLS.search(md)
    assert not [line for line in md.splitlines() if line.lstrip("-> ").startswith("# injected")]
    headings = [line for line in md.splitlines() if line.lstrip().startswith("#")]
    assert headings == [
        "# recoupe report",
        "## Conflicts (1)",
        "### F1: Microsoft investira 4 milliards # injected &lt;b&gt;",
        "## Corroborated facts (0)",
        "## Single-source facts (0)",
        "## Failures",
    ]
    # the only code spans left are plain ids; every other backtick is escaped
    rest = re.sub(r"`[A-Za-z0-9_.:/-]+`", "", md)
    assert not re.search(r"(?<!\\)`", rest)
    assert "- `z_safe` —" in md and "origin: article:z_safe" in md


def test_markdown_escape_neutralises_any_text():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from recoupe.report.summary import md_text

    @settings(max_examples=300, deadline=None)
    @given(st.text())
    def check(text: str) -> None:
        out = md_text(text)
        assert "\n" not in out and "\r" not in out and not _CONTROLS.search(out)
        assert "<" not in out and ">" not in out
        assert not re.search(r"&(?!amp;|lt;|gt;)", out)
        assert not re.search(r"(?<!\\)(?:\\\\)*[`*\[\]|]", out)
        assert not re.match(r"#|-[\s-]|-$|\+\s|\+$|\d{1,9}[.)](?:\s|$)", out)

    check()


def test_html_escapes_hostile_ids_origins_and_links_nothing(hostile: Report):
    page = to_html(hostile)
    assert not re.search(r"""href\s*=\s*["']?\s*javascript:""", page, re.IGNORECASE)
    head, rest = page.split('<script type="application/json" id="report-data">', 1)
    data, tail = rest.split("</script>", 1)
    # outside the JSON block (which JSON.parse reads as data), no article markup survives
    assert "<img" not in (head + tail).lower() and "<b>" not in head + tail
    assert "<script" not in head.lower() and tail.lower().count("<script") == 1  # the viewer only
    assert "</" not in data and not re.search(r"<(?:!--|script)", data, re.IGNORECASE)
    parser = _Collector()
    parser.feed(page)
    assert parser.balanced and parser.stack == []
    for _, attrs in parser.tags:
        assert not any((v or "").strip().lower().startswith("javascript:") for v in attrs.values())
        assert "href" not in attrs and "src" not in attrs and "onerror" not in attrs
    assert json.loads(data)["facts"]["F1"]["members"][0]["article_id"] == SCRIPT_ID


def test_claimreview_keeps_only_http_urls_and_plain_names(hostile: Report):
    reviews = to_claimreview(hostile)
    dumped = json.dumps(reviews, ensure_ascii=False)
    assert "javascript:" not in dumped.lower()
    appearances = reviews[0]["itemReviewed"]["appearance"]
    assert [a.get("url") for a in appearances] == [
        None,
        None,
        "https://example.org/z?a=1&b=2",
    ]
    assert all(not _CONTROLS.search(s) for s in _strings(reviews))
    assert appearances[0]["publisher"]["name"] == IMG  # a plain string: JSON-escaped, not altered
    assert appearances[0]["identifier"] == SCRIPT_ID
    json.loads(dumped)


def test_html_inlines_the_packaged_viewer_files(report: Report):
    from importlib.resources import files

    folder = files("recoupe.report")
    css = folder.joinpath("viewer.css").read_text(encoding="utf-8")
    js = folder.joinpath("viewer.js").read_text(encoding="utf-8")
    page = to_html(report)
    assert f"<style>\n{css}</style>" in page and f"<script>\n{js}</script>" in page
    assert css.endswith("}\n") and "JSON.parse" in js
