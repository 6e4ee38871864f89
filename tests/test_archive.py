"""The archive: incremental adds give what a from-scratch cross-check of every archived article
gives, on SQLite and PostgreSQL; same article twice changes nothing; a failing article leaves the
others and the archive whole; facts keep their history."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pg import pg_server, pg_url  # noqa: F401  (pytest fixtures)
from recoupe.archive import Archive, database_url
from recoupe.archive.schema import ArticleRow, CandidateRow, ClaimRow, FactRow
from recoupe.crosscheck import crosscheck
from recoupe.errors import ArticleError, ConfigError, StoreError
from recoupe.evaluation.gold import load_gold
from recoupe.models import Article, ArticleClaims, Claim, Extraction
from recoupe.testing import RuleModel

ROOT = Path(__file__).resolve().parents[1]
pairing = importlib.import_module("recoupe.crosscheck.pairing")
incremental = importlib.import_module("recoupe.archive.incremental")


def _gold_set(name: str) -> list[ArticleClaims]:
    if name == "seeds":
        gold_dir, articles = ROOT / "eval" / "gold", ROOT / "seeds"
    else:
        gold_dir, articles = ROOT / "eval" / "sets" / name / "gold", ROOT / "eval" / "sets" / name / "articles"
    from recoupe.articles import load_articles

    gold = load_gold(gold_dir, articles)
    claims = gold.to_claims()
    return [
        ArticleClaims(article=a, claims=claims.get(a.id, [])) for a in load_articles(articles) if a.id in gold.articles
    ]


def _dump(facts: list[Any]) -> list[dict[str, Any]]:
    return [f.model_dump(mode="json") for f in facts]


def _assert_same_as_scratch(archive: Archive, model: Any = None) -> None:
    scratch = crosscheck(archive.extraction(), model, adjudicate=model is not None)
    assert _dump(archive.report().facts) == _dump(scratch.facts)


@pytest.mark.parametrize("name", ["seeds", "gigafactory", "stade"])
def test_one_by_one_equals_from_scratch_on_gold_claims(tmp_path: Path, name: str) -> None:
    articles = _gold_set(name)
    with Archive(str(tmp_path / "a.sqlite")) as archive:
        for ac in articles:
            report = archive.add_extracted(Extraction(articles=[ac]))
            assert report.added == [ac.article.id] and not report.failures
        assert archive.articles() == [ac.article.id for ac in articles]
        _assert_same_as_scratch(archive)
        conflicting = archive.facts(verdict="conflicting").facts
        assert conflicting, "each set holds at least one conflict among its gold claims"


def test_with_a_model_equals_from_scratch_and_pays_no_call_twice(tmp_path: Path) -> None:
    articles = _gold_set("gigafactory")
    model = RuleModel()
    with Archive(str(tmp_path / "a.sqlite"), model=model) as archive:
        for ac in articles:
            archive.add_extracted(Extraction(articles=[ac]))
        asked = model.calls
        assert asked > 0
        _assert_same_as_scratch(archive, RuleModel())
        assert any(j.decided_by == "model" for j in archive.report().judgements)


def test_partner_cap_and_block_window_are_kept_as_from_scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a tiny cap and window, new partners push old ones out of a claim's best and blocks
    outgrow their window: the archive pairs and drops as a from-scratch run does."""
    monkeypatch.setattr(pairing, "MAX_PARTNERS", 2)
    monkeypatch.setattr(pairing, "BLOCK_WINDOW", 6)
    monkeypatch.setattr(incremental, "BLOCK_WINDOW", 6)
    articles = _gold_set("seeds")
    with Archive(str(tmp_path / "a.sqlite")) as archive:
        for ac in articles:
            archive.add_extracted(Extraction(articles=[ac]))
        _assert_same_as_scratch(archive)
        with Session(archive.engine) as s:
            dropped = s.scalar(select(func.count()).select_from(CandidateRow).where(CandidateRow.kept.is_(False)))
        assert dropped and dropped > 0


def test_extracting_articles_then_adding_more(tmp_path: Path, seed_articles: list[Article]) -> None:
    model = RuleModel()
    with Archive(str(tmp_path / "a.sqlite"), model=model) as archive:
        first = archive.add(seed_articles[:3])
        assert first.added == [a.id for a in seed_articles[:3]] and not first.failures
        assert first.changes and all(c.change == "created" for c in first.changes[:1])
        second = archive.add(seed_articles[3:])
        assert second.added == [a.id for a in seed_articles[3:]]
        assert second.candidates > 0  # stored claims were retrieved for the new ones
        _assert_same_as_scratch(archive, RuleModel())
        stored = archive.claims(seed_articles[0].id)
        assert stored and all(isinstance(c, Claim) for c in stored)
        assert archive.article(seed_articles[0].id) == seed_articles[0]
        assert archive.claims("nope") is None and archive.article("nope") is None


def test_same_article_twice_changes_nothing(tmp_path: Path) -> None:
    articles = _gold_set("seeds")
    with Archive(str(tmp_path / "a.sqlite")) as archive:
        archive.add_extracted(Extraction(articles=articles))
        before = _dump(archive.report().facts)
        with Session(archive.engine) as s:
            rows = s.scalar(select(func.count()).select_from(ClaimRow))
        again = archive.add_extracted(Extraction(articles=articles[:2]))
        assert again.added == [] and again.unchanged == [a.article.id for a in articles[:2]] and not again.changes
        assert _dump(archive.report().facts) == before
        with Session(archive.engine) as s:
            assert s.scalar(select(func.count()).select_from(ClaimRow)) == rows


def test_same_id_other_text_fails_alone(tmp_path: Path) -> None:
    articles = _gold_set("seeds")
    with Archive(str(tmp_path / "a.sqlite")) as archive:
        archive.add_extracted(Extraction(articles=articles[:1]))
        changed = articles[0].article.model_copy(update={"text": articles[0].article.text + " Correction."})
        report = archive.add_extracted(Extraction(articles=[ArticleClaims(article=changed, claims=[]), articles[1]]))
        assert report.added == [articles[1].article.id]
        assert len(report.failures) == 1 and "another text" in report.failures[0].reason
        assert articles[0].article.id in report.failures[0].reason


def test_bad_inputs_are_reported_and_the_rest_added(tmp_path: Path, seed_articles: list[Article]) -> None:
    with Archive(str(tmp_path / "a.sqlite"), model=RuleModel()) as archive:
        report = archive.add([ArticleError("feed.jsonl:3", "missing field 'text'"), seed_articles[0]])
        assert report.added == [seed_articles[0].id]
        assert report.failures[0].source == "feed.jsonl:3" and "text" in report.failures[0].reason


def test_a_crash_mid_article_leaves_it_wholly_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    articles = _gold_set("seeds")
    with Archive(str(tmp_path / "a.sqlite")) as archive:
        archive.add_extracted(Extraction(articles=articles[:2]))
        before = _dump(archive.report().facts)

        def boom(self: Any, *args: Any) -> Any:
            raise RuntimeError("power cut")

        monkeypatch.setattr(incremental.Integration, "_facts", boom)
        with pytest.raises(RuntimeError, match="power cut"):
            archive.add_extracted(Extraction(articles=articles[2:3]))
        monkeypatch.undo()
        assert archive.articles() == [a.article.id for a in articles[:2]]
        assert _dump(archive.report().facts) == before
        with Session(archive.engine) as s:
            assert s.scalar(select(func.count()).select_from(ArticleRow)) == 2
        # and it can be added afterwards, as if nothing had happened
        archive.add_extracted(Extraction(articles=articles[2:]))
        _assert_same_as_scratch(archive)


def test_check_tells_what_would_change_and_stores_nothing(tmp_path: Path) -> None:
    articles = _gold_set("seeds")
    with Archive(str(tmp_path / "a.sqlite")) as archive:
        archive.add_extracted(Extraction(articles=articles[:3]))
        before = _dump(archive.report().facts)
        dry = archive._add([], store=False, extracted=Extraction(articles=[articles[3]]))
        assert not dry.stored and dry.added == [] and dry.changes
        assert _dump(archive.report().facts) == before and len(archive.articles()) == 3
        real = archive.add_extracted(Extraction(articles=[articles[3]]))
        assert [c.fact_id for c in real.changes] == [c.fact_id for c in dry.changes]


def test_history_follows_a_fact_through_its_changes(tmp_path: Path) -> None:
    articles = _gold_set("gigafactory")
    with Archive(str(tmp_path / "a.sqlite")) as archive:
        ids_seen: list[str] = []
        for ac in articles:
            report = archive.add_extracted(Extraction(articles=[ac]))
            ids_seen.extend(c.fact_id for c in report.changes)
        conflict = archive.facts(verdict="conflicting").facts[0]
        history = archive.history(conflict.id)
        assert history, "a conflict came about through articles"
        assert history[-1].verdict_after == "conflicting"
        assert all(e.article_id in archive.articles() for e in history)
        assert len(conflict.members) > 1 and history[0].change == "created"
        # an id a later fact replaced leads to its successor
        replaced = [fid for fid in ids_seen if archive.fact(fid) is not None and archive.fact(fid).fact.id != fid]  # type: ignore[union-attr]
        assert replaced, "facts grew as articles came"
        detail = archive.fact(conflict.id)
        assert detail is not None and {m.claim.id for m in detail.members} == {m.claim_id for m in conflict.members}
        assert all(m.claim.quote and m.claim.span is not None for m in detail.members)


def test_pages_filters_and_cursor(tmp_path: Path) -> None:
    articles = _gold_set("stade")
    with Archive(str(tmp_path / "a.sqlite")) as archive:
        archive.add_extracted(Extraction(articles=articles))
        everything = archive.report().facts
        seen: list[str] = []
        cursor = None
        while True:
            page = archive.facts(limit=7, cursor=cursor)
            seen.extend(f.id for f in page.facts)
            cursor = page.next_cursor
            if cursor is None:
                break
        assert seen == [f.id for f in everything]
        assert everything[0].verdict.value == "conflicting"
        one = articles[0].article.id
        of_one = archive.facts(article=one, limit=500).facts
        assert of_one and all(any(m.article_id == one for m in f.members) for f in of_one)
        assert all(f.verdict.value == "corroborated" for f in archive.facts(verdict="corroborated").facts)
        with pytest.raises(Exception, match="verdict"):
            archive.facts(verdict="maybe")
        with pytest.raises(Exception, match="cursor"):
            archive.facts(cursor="%%%")


def test_store_urls_and_errors(tmp_path: Path) -> None:
    assert database_url(str(tmp_path / "x.db")) == f"sqlite:///{tmp_path / 'x.db'}"
    with pytest.raises(StoreError, match="no such folder"):
        Archive(str(tmp_path / "missing" / "x.db"))
    with pytest.raises(StoreError, match="SQLite or PostgreSQL"):
        Archive("mysql://127.0.0.1/x")
    # reopening migrates nothing and keeps what is there
    with Archive(str(tmp_path / "a.db")) as archive:
        archive.add_extracted(Extraction(articles=_gold_set("seeds")[:1]))
    with Archive(str(tmp_path / "a.db")) as archive:
        assert len(archive.articles()) == 1


def _schema_differences(engine: Any) -> list[Any]:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from recoupe.archive.schema import Base

    with engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), Base.metadata)


def test_the_migrations_give_the_schema_the_models_declare(tmp_path: Path) -> None:
    with Archive(str(tmp_path / "a.db")) as archive:
        assert _schema_differences(archive.engine) == []


def test_an_archive_of_an_older_revision_is_migrated_with_its_rows(tmp_path: Path) -> None:
    """Revision 0003 flags the linking judgements of an archive filled before it; the archive then
    goes on as one filled under the newest schema."""
    from alembic import command
    from alembic.config import Config

    from recoupe.archive import store

    articles = _gold_set("gigafactory")
    with Archive(str(tmp_path / "new.db"), model=RuleModel()) as archive:
        for ac in articles:
            archive.add_extracted(Extraction(articles=[ac]))
        expected = _state(archive)
    with Archive(str(tmp_path / "old.db"), model=RuleModel()) as archive:
        for ac in articles[:-1]:
            archive.add_extracted(Extraction(articles=[ac]))
        config = Config()
        config.set_main_option("script_location", str(store._MIGRATIONS))
        with archive.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0002")
    with Archive(str(tmp_path / "old.db"), model=RuleModel()) as archive:  # migrated on open
        assert _schema_differences(archive.engine) == []
        archive.add_extracted(Extraction(articles=articles[-1:]))
        assert _state(archive) == expected
        assert any(links for *_, links in expected["judgements"])
        assert not all(links for *_, links in expected["judgements"])


def test_postgresql_equals_from_scratch(pg_url: str) -> None:  # noqa: F811
    articles = _gold_set("gigafactory")
    with Archive(pg_url, model=RuleModel()) as archive:
        for ac in articles:
            archive.add_extracted(Extraction(articles=[ac]))
        _assert_same_as_scratch(archive, RuleModel())
        with Session(archive.engine) as s:
            assert s.scalar(select(func.count()).select_from(FactRow)) == len(archive.report().facts)
        assert _schema_differences(archive.engine) == []


@pytest.mark.parametrize("name", ["gigafactory", "stade"])
def test_copies_found_in_any_order_and_boilerplate_as_over_all(
    tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Added newest first, a copy's source arrives after the copy; with a tiny boilerplate limit,
    later articles turn shingles into boilerplate that earlier copies were found through."""
    syndication = importlib.import_module("recoupe.crosscheck.syndication")
    monkeypatch.setattr(syndication, "MAX_SHINGLE_POSTINGS", 3)
    monkeypatch.setattr(incremental, "MAX_SHINGLE_POSTINGS", 3)
    articles = list(reversed(_gold_set(name)))
    with Archive(str(tmp_path / "a.sqlite")) as archive:
        for ac in articles:
            archive.add_extracted(Extraction(articles=[ac]))
        _assert_same_as_scratch(archive)
        origins = {m.origin for f in archive.report().facts for m in f.members}
        assert any(o.startswith("article:") for o in origins)


def test_a_relayed_wire_counts_once_when_its_source_comes_last(tmp_path: Path) -> None:
    """Constructed: two outlets reproduce a wire's sentences without naming it; the wire, published
    first, is added last and becomes the origin of what they copied, through a chain of copies."""
    import datetime as dt

    wire_text = (
        "Acme Industries will build a battery plant near Lyon, creating 500 jobs by 2028 in the region. "
        "The plant will make batteries for electric cars sold across Europe from the end of the decade."
    )
    wire = Article(id="wire", outlet="Wire", published=dt.date(2026, 3, 9), text=wire_text)
    copies = [
        Article(
            id=f"copy{n}",
            outlet=f"Outlet {n}",
            published=dt.date(2026, 3, 10),
            text=wire_text + " The mayor welcomed it.",
        )
        for n in (1, 2)
    ]

    def claims_of(article: Article) -> ArticleClaims:
        sentence = article.text.split(". ")[0] + "."
        start = article.text.index(sentence)
        from recoupe.models import Alignment, Span

        claim = Claim(
            id=f"{article.id}-c0",
            article_id=article.id,
            text=sentence,
            quote=sentence,
            span=Span(start=start, end=start + len(sentence)),
            alignment=Alignment.exact,
            subject="Acme Industries",
        )
        return ArticleClaims(article=article, claims=[claim])

    with Archive(str(tmp_path / "a.sqlite")) as archive:
        for article in [*copies, wire]:
            archive.add_extracted(Extraction(articles=[claims_of(article)]))
        _assert_same_as_scratch(archive)
        with Session(archive.engine) as s:
            origins = dict(s.execute(select(ClaimRow.article_id, ClaimRow.origin)).tuples().all())
            sources = dict(s.execute(select(ClaimRow.article_id, ClaimRow.copied_from)).tuples().all())
        assert origins["copy1"] == origins["copy2"] == origins["wire"]
        # copy2 copies copy1 (same day, same text: the later id is the copy), which copies the wire
        assert sources == {"copy1": "wire", "copy2": "copy1", "wire": None}


def _rule_reply(body: dict[str, Any]) -> Any:
    """A loopback endpoint's answer: every sentence of the target is a claim; pairs are compatible."""
    from recoupe.testing import Reply

    fmt = body.get("response_format") or {}
    name = (fmt.get("json_schema") or {}).get("name")
    if name == "PairAdjudication":
        return Reply.json({"relation": "compatible", "rationale": "rule"})
    last = str(body["messages"][-1]["content"])
    target = last.split("TARGET:\n", 1)[-1]
    drafts = []
    for sentence in re.split(r"(?<=[.!?])\s+", target.strip()):
        if len(sentence) >= 20:
            words = re.findall(r"\b[A-Z][\w-]+", sentence)
            drafts.append({"quote": sentence, "subject": words[0] if words else None})
    return Reply.json({"claims": drafts[:8]})


def test_cli_check_store_then_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from recoupe.cli import main
    from recoupe.testing import FakeOpenAIServer

    store = str(tmp_path / "archive.sqlite")
    with FakeOpenAIServer(default=_rule_reply) as server:
        common = ["--base-url", server.base_url, "--model", "fake", "--cache-dir", str(tmp_path / "cache")]
        seeds = sorted((ROOT / "seeds").glob("*.txt"))
        assert (
            main(["check", "--store", store, *map(str, seeds[:3]), "-q", "--json", str(tmp_path / "a.json"), *common])
            == 0
        )
        first = capsys.readouterr().err
        assert "3 article(s) added" in first and "archive: 3 articles" in first
        assert main(["check", "--store", store, *map(str, seeds), "-q", *common]) == 0
        second = capsys.readouterr().err
        assert "2 article(s) added, 3 already archived" in second and "archive: 5 articles" in second
    assert main(["report", "--store", store, "--html", str(tmp_path / "r.html")]) == 0
    assert "archive: 5 articles" in capsys.readouterr().err
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    with Archive(store) as archive:
        assert all(a in html for a in archive.articles())
        assert archive.stats().claims > 0
    assert main(["report", "--store", str(tmp_path / "missing" / "x.sqlite")]) == 2
    assert "no such folder" in capsys.readouterr().err
    # a back catalogue in one pass, then the same facts as the archive filled in two runs
    bulk = str(tmp_path / "bulk.sqlite")
    with FakeOpenAIServer(default=_rule_reply) as server:
        common = ["--base-url", server.base_url, "--model", "fake", "--cache-dir", str(tmp_path / "cache")]
        assert main(["check", "--store", bulk, "--bulk", *map(str, seeds), "-q", *common]) == 0
        assert "5 article(s) added" in capsys.readouterr().err
        assert main(["check", "--store", bulk, "--bulk", *map(str, seeds), "-q", *common]) == 2
        assert "bulk loading fills an empty archive" in capsys.readouterr().err
        assert main(["check", "--bulk", *map(str, seeds), "-q", *common]) == 2
        assert "give it with --store" in capsys.readouterr().err
    with Archive(store) as one, Archive(bulk) as other:
        assert _dump(other.report().facts) == _dump(one.report().facts)


# -- bulk loading -------------------------------------------------------------------------------


def _state(archive: Archive) -> dict[str, Any]:
    """Every stored row that the cross-check reads or writes, without row ids and times (the
    history is left out: a bulk load starts it afresh)."""
    from recoupe.archive.schema import ClaimKeyRow, CopyRow, FactMemberRow, JudgementRow, ShingleRow

    def rows(table: Any, *columns: str) -> list[tuple[Any, ...]]:
        with Session(archive.engine) as s:
            return sorted(
                (tuple(getattr(r, c) for c in columns) for r in s.scalars(select(table))),
                key=repr,
            )

    return {
        "articles": rows(ArticleRow, "seq", "id", "text_sha256", "doc"),
        "claims": rows(ClaimRow, "seq", "id", "article_seq", "origin", "copied_from", "doc", "embedding"),
        "keys": rows(ClaimKeyRow, "kind", "key", "claim_seq"),
        "candidates": [
            (a, b, score, sorted(reasons), kept, best_a, best_b)
            for a, b, score, reasons, kept, best_a, best_b in rows(
                CandidateRow, "a", "b", "score", "reasons", "kept", "best_a", "best_b"
            )
        ],
        "judgements": rows(JudgementRow, "a", "b", "docs", "links"),
        "copies": rows(CopyRow, "article_seq", "source_seq", "start", "end", "source_start", "source_end", "position"),
        "shingles": rows(ShingleRow, "hash", "article_seq", "sentence_start"),
        "facts": rows(FactRow, "id", "verdict", "rank", "size", "doc"),
        "members": rows(FactMemberRow, "fact_id", "claim_seq", "article_id"),
    }


def _synthetic(n: int, seed: int) -> list[Article]:
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from archive_growth import corpus

    return corpus(n, seed)


@pytest.mark.parametrize("name", ["seeds", "gigafactory", "stade", "synthetic"])
def test_a_bulk_load_stores_what_one_by_one_stores(tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every candidate with its score, reasons and kept mark, every judgement, copy, shingle, key,
    origin and fact: the same rows whichever way the archive was filled."""
    if name == "synthetic":
        # a tiny cap and window: blocks outgrow the window and partners are pushed out, as in a
        # large archive
        monkeypatch.setattr(pairing, "MAX_PARTNERS", 3)
        monkeypatch.setattr(pairing, "BLOCK_WINDOW", 25)
        monkeypatch.setattr(incremental, "BLOCK_WINDOW", 25)
        model = RuleModel()
        articles = _synthetic(45, 3)
        one = Archive(str(tmp_path / "one.sqlite"), model=model)
        for a in articles:
            one.add([a])
        extraction = one.extraction()
        bulk = Archive(str(tmp_path / "bulk.sqlite"), model=RuleModel())
        report = bulk.add_extracted(extraction, bulk=True)
    else:
        extracted = _gold_set(name)
        one = Archive(str(tmp_path / "one.sqlite"), model=RuleModel())
        for ac in extracted:
            one.add_extracted(Extraction(articles=[ac]))
        bulk = Archive(str(tmp_path / "bulk.sqlite"), model=RuleModel())
        report = bulk.add_extracted(Extraction(articles=extracted), bulk=True)
    with one, bulk:
        assert report.added == one.articles() and not report.failures
        want, got = _state(one), _state(bulk)
        for table in want:
            assert got[table] == want[table], table
        assert got["facts"] and got["candidates"]
        assert {c.change for c in report.changes} == {"created"} and len(report.changes) == len(got["facts"])
        fact = bulk.facts().facts[0]
        assert [e.change for e in bulk.history(fact.id)] == ["created"]
        _assert_same_as_scratch(bulk, RuleModel())


def test_articles_added_after_a_bulk_load_give_the_from_scratch_facts(tmp_path: Path) -> None:
    articles = _synthetic(60, 9)
    with Archive(str(tmp_path / "a.sqlite"), model=RuleModel()) as archive:
        first = archive.add(articles[:45], bulk=True)
        assert first.added == [a.id for a in articles[:45]]
        for a in articles[45:]:
            report = archive.add([a])
            assert report.added == [a.id] and report.candidates > 0
        assert archive.articles() == [a.id for a in articles]
        _assert_same_as_scratch(archive, RuleModel())
        again = archive.add(articles[:3])
        assert again.unchanged == [a.id for a in articles[:3]] and not again.added


def test_bulk_load_refuses_a_filled_archive_and_keeps_bad_items(tmp_path: Path) -> None:
    articles = _synthetic(6, 4)
    twin = articles[1].model_copy(update={"text": articles[1].text + " Another ending."})
    with Archive(str(tmp_path / "a.sqlite"), model=RuleModel()) as archive:
        inputs = [*articles[:3], ArticleError("gone.txt", "no such file"), articles[0], twin]
        report = archive.add(inputs, bulk=True)
        assert report.added == [a.id for a in articles[:3]]
        with Archive("sqlite://", model=RuleModel()) as other:
            assert report.failures == other.add(inputs).failures  # as article by article
        assert {f.reason for f in report.failures} == {
            "no such file",
            f"duplicate article id {articles[0].id!r}",
            f"duplicate article id {articles[1].id!r}",
        }
        given = [articles[3], articles[3], twin, articles[1]]
        with Archive("sqlite://") as other:
            got = other.add_extracted(
                Extraction(articles=[ArticleClaims(article=a, claims=[]) for a in given]), bulk=True
            )
            assert got.added == [articles[3].id, twin.id] and got.unchanged == [articles[3].id]
            assert [f.reason for f in got.failures] == [f"article id {twin.id!r} is given twice with different texts"]
        with pytest.raises(ConfigError, match="empty archive"):
            archive.add(articles[3:], bulk=True)
        assert archive.articles() == [a.id for a in articles[:3]]


def test_postgresql_bulk_load_equals_from_scratch(pg_url: str) -> None:  # noqa: F811
    articles = _gold_set("gigafactory")
    with Archive(pg_url, model=RuleModel()) as archive:
        archive.add_extracted(Extraction(articles=articles[:-1]), bulk=True)
        archive.add_extracted(Extraction(articles=articles[-1:]))
        _assert_same_as_scratch(archive, RuleModel())


def test_claims_read_per_new_claim_are_bounded_by_the_windows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """However large the archive, a new claim is compared with at most BLOCK_WINDOW stored claims
    per block it is in: the stored claims read for an article never exceed that, while blocks grow
    far past it (and the facts stay those of a from-scratch check)."""
    from recoupe.crosscheck.features import ClaimFeatures
    from recoupe.crosscheck.pairing import claim_blocks

    monkeypatch.setattr(pairing, "BLOCK_WINDOW", 4)
    monkeypatch.setattr(incremental, "BLOCK_WINDOW", 4)
    articles = _synthetic(60, 21)
    with Archive(str(tmp_path / "a.sqlite"), model=RuleModel()) as archive:
        archive.add(articles[:20], bulk=True)
        read = []
        for a in articles[20:]:
            report = archive.add([a])
            blocks = set().union(*(claim_blocks(ClaimFeatures.of(c)) for c in archive.claims(a.id) or []))
            assert report.candidates <= 4 * len(blocks)
            read.append(report.candidates)
        with Session(archive.engine) as s:
            from recoupe.archive.schema import ClaimKeyRow

            largest = s.scalar(
                select(func.count())
                .select_from(ClaimKeyRow)
                .group_by(ClaimKeyRow.kind, ClaimKeyRow.key)
                .order_by(func.count().desc())
                .limit(1)
            )
        assert largest is not None and largest > 5 * 4  # blocks outgrew their window several times over
        assert max(read) > 0
        _assert_same_as_scratch(archive, RuleModel())


def test_an_article_without_claims_is_stored_alone(tmp_path: Path) -> None:
    extracted = _gold_set("seeds")
    empty = ArticleClaims(article=Article(id="empty", text="Nothing to check here."), claims=[])
    with Archive(str(tmp_path / "a.sqlite")) as archive:
        assert archive.add_extracted(Extraction(articles=[empty])).added == ["empty"]
        for ac in extracted[:2]:
            archive.add_extracted(Extraction(articles=[ac]))
        later = empty.model_copy(update={"article": Article(id="empty-2", text="Still nothing.")})
        report = archive.add_extracted(Extraction(articles=[later]))
        assert report.added == ["empty-2"] and report.candidates == 0 and not report.failures
        assert archive.claims("empty-2") == []
        _assert_same_as_scratch(archive)


def test_adding_an_article_reads_through_indexes_only(tmp_path: Path) -> None:
    """Every query an added article makes is answered by an index (SQLite's query plan says
    SEARCH, never SCAN of a table that grows with the archive)."""
    from sqlalchemy import event

    articles = _synthetic(60, 7)
    with Archive(str(tmp_path / "a.db"), model=RuleModel()) as archive:
        archive.add(articles[:50], bulk=True)
        statements: list[tuple[str, Any]] = []

        def seen(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, executemany: bool) -> None:
            if statement.lstrip().upper().startswith("SELECT") and not executemany:
                statements.append((statement, parameters))

        event.listen(archive.engine, "before_cursor_execute", seen)
        report = archive.add(articles[50:])
        event.remove(archive.engine, "before_cursor_execute", seen)
        assert len(report.added) == 10 and report.candidates > 0
        assert len(statements) > 50
        scans, searched = set(), set()
        with archive.engine.connect() as connection:
            raw = connection.connection.driver_connection
            assert raw is not None
            for statement, parameters in statements:
                for *_, detail in raw.execute("EXPLAIN QUERY PLAN " + statement, parameters).fetchall():
                    if detail.startswith("SCAN") and "CONSTANT ROW" not in detail:
                        scans.add((detail, statement.split("WHERE")[0].strip()))
                    elif detail.startswith("SEARCH"):
                        searched.add(detail.split()[1])
        assert scans == set(), sorted(scans)
        assert {"claims", "claim_keys", "candidates", "judgements", "shingles", "fact_members"} <= searched


# -- model answers outside the write transaction ----------------------------------------------


class _Remote:
    """The rule-based model as a remote one would be (no ``in_process``): while it answers, it
    checks that the archive's write lock is free, by taking it from another connection."""

    name = "remote-rules"
    concurrency = 2

    def __init__(self, url: str, *, fail: bool = False) -> None:
        self.rules = RuleModel()
        self.usage = self.rules.usage
        self.url = url
        self.fail = fail
        self.asked: list[str] = []
        self.lock_free: list[bool] = []

    def _lock_is_free(self) -> bool:
        from sqlalchemy import create_engine, text

        if self.url.startswith("postgresql"):
            import time

            engine = create_engine(self.url.replace("postgresql://", "postgresql+psycopg://", 1))
            free = False
            with engine.connect() as c:
                for _ in range(20):  # another request in flight may be checking it at this moment
                    free = bool(c.execute(text("SELECT pg_try_advisory_xact_lock(7260451)")).scalar())
                    c.rollback()
                    if free:
                        break
                    time.sleep(0.01)
            engine.dispose()
            return free
        import sqlite3

        c = sqlite3.connect(self.url.removeprefix("sqlite:///"), timeout=0.2, isolation_level=None)
        try:
            c.execute("BEGIN IMMEDIATE")
            c.execute("ROLLBACK")
            return True
        except sqlite3.OperationalError:
            return False
        finally:
            c.close()

    def complete(self, **kwargs: Any) -> Any:
        if kwargs["stage"] == "adjudicate":
            self.asked.append(repr(sorted(kwargs["variables"].items())))
            self.lock_free.append(self._lock_is_free())
            if self.fail:
                from recoupe.errors import LLMError

                raise LLMError("the endpoint answered 500")
        return self.rules.complete(**kwargs)


class _Inside(RuleModel):
    """The rule-based model called inside the transaction, noting what it is asked."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    def complete(self, **kwargs: Any) -> Any:
        if kwargs["stage"] == "adjudicate":
            self.asked.append(repr(sorted(kwargs["variables"].items())))
        return super().complete(**kwargs)


@pytest.mark.parametrize("store", ["sqlite", "postgresql"])
def test_a_remote_model_is_asked_with_the_write_lock_released(
    tmp_path: Path, store: str, request: pytest.FixtureRequest
) -> None:
    """Adjudications are fetched between passes, not inside the transaction: the lock is free
    while the model answers, every pair is asked once, and the archive holds what it holds with
    the model called inside (the rule-based model, in the process)."""
    url = f"sqlite:///{tmp_path / 'remote.sqlite'}" if store == "sqlite" else str(request.getfixturevalue("pg_url"))
    articles = _gold_set("gigafactory")
    remote = _Remote(url)
    with Archive(url, model=remote) as archive:
        for ac in articles:
            archive.add_extracted(Extraction(articles=[ac]))
        got = _state(archive)
        asked = len(remote.asked)
        checked = archive.check(Article(id="extra", text="Ardoise investira 300 millions d'euros à Lyon en 2027."))
    assert asked and all(remote.lock_free)
    assert checked.stored is False
    inside = _Inside()
    with Archive(str(tmp_path / "inside.sqlite"), model=inside) as archive:
        for ac in articles:
            archive.add_extracted(Extraction(articles=[ac]))
        expected = _state(archive)
    # what the model is asked inside the transaction, each request once per article (a pair may be
    # asked again by a later article that keeps it again, as inside)
    assert set(remote.asked[:asked]) == set(inside.asked) and asked <= len(inside.asked)
    if store == "postgresql":  # sequence numbers may skip there (a rolled-back pass used some)
        got = {k: v for k, v in got.items() if k in ("facts",)}
        expected = {k: v for k, v in expected.items() if k in ("facts",)}
    assert got == expected


def test_a_failing_remote_model_records_the_pair_as_inside(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'remote.sqlite'}"
    articles = _gold_set("gigafactory")
    remote = _Remote(url, fail=True)
    with Archive(url, model=remote) as archive:
        for ac in articles:
            archive.add_extracted(Extraction(articles=[ac]))
        failed = [j for j in archive.report().judgements if j.rationale.startswith("model adjudication failed")]
    inside = _Inside()
    with Archive(str(tmp_path / "inside.sqlite"), model=inside) as archive:
        for ac in articles:
            archive.add_extracted(Extraction(articles=[ac]))
    assert failed and set(remote.asked) == set(inside.asked)
