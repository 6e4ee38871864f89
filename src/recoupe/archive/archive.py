""":class:`Archive`: every article a newsroom has read, its claims and the facts they form, kept up
to date one article at a time."""

from __future__ import annotations

import base64
import functools
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Self, TypeVar

from sqlalchemy import Engine, and_, func, or_, select, text
from sqlalchemy.orm import Session

from ..crosscheck.features import ClaimFeatures
from ..crosscheck.syndication import Split
from ..errors import ArticleError, ConfigError, RecoupeError
from ..extraction import extract_articles
from ..llm.model import Model
from ..models import (
    Article,
    ArticleClaims,
    Claim,
    Extraction,
    Fact,
    Failure,
    PairingStats,
    PairJudgement,
    Report,
    Usage,
    Verdict,
)
from ..settings import Settings
from .answers import Answers
from .incremental import VERDICT_RANK, Integration, article_sha256, cached_split
from .schema import ArticleRow, CandidateRow, ClaimRow, FactAliasRow, FactEventRow, FactMemberRow, FactRow, JudgementRow
from .store import open_engine
from .types import AddReport, ArchiveStats, FactDetail, FactEvent, FactPage, MemberDetail

__all__ = ["Archive"]

#: Characters of article text per extraction request when the model does not say.
DEFAULT_CHUNK_CHARS = 350
_MAX_PAGE = 500
#: Stored claims whose features an archive object keeps in memory.
_FEATURES_KEPT = 200_000
#: Passes of one article with a model outside the process: answers are fetched between them.
_PASSES = 3
_T = TypeVar("_T")


class Archive:
    """Articles, claims, facts, verdicts and each fact's history, in SQLite (the default: a file,
    no server) or PostgreSQL.

    ``url``: a file path, ``sqlite:///FILE`` or ``postgresql://USER@HOST/DB``; by default
    ``RECOUPE_STORE`` or ``recoupe-archive.sqlite``. The schema is migrated on open. ``model``
    extracts claims and adjudicates the pairs rules leave open (any :class:`~recoupe.llm.Model`);
    :meth:`from_settings` builds one from :class:`~recoupe.Settings`.

    Adding an article stores it with its claims, compares them with the stored claims they share
    a subject or entity with (found by index) and rebuilds the facts they touch, all in one
    transaction: a crash leaves the article wholly in or wholly out. The facts are those a
    :func:`~recoupe.crosscheck.crosscheck` of every archived article gives.

    >>> from recoupe.models import ArticleClaims, Article, Extraction
    >>> with Archive("sqlite://") as archive:
    ...     report = archive.add_extracted(Extraction(articles=[ArticleClaims(article=Article(id="a", text="Hi."), claims=[])]))
    ...     report.added, archive.stats().articles
    (['a'], 1)
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        model: Model | None = None,
        chunk_chars: int | None = None,
        adjudicate: bool = True,
        model_contradictions: bool = False,
    ) -> None:
        self.engine: Engine = open_engine(url)
        self.model = model
        self.chunk_chars = chunk_chars or getattr(model, "target_chars", None) or DEFAULT_CHUNK_CHARS
        self.adjudicate = adjudicate
        self.model_contradictions = model_contradictions
        self._writer = threading.Lock()
        self._owned: Any = None
        # claims never change once stored: their features are computed once per archive object
        self._features: dict[tuple[int, str], tuple[Claim, ClaimFeatures]] = {}
        self._sentences: dict[tuple[str, str], Split] = {}

    @classmethod
    def from_settings(cls, url: str | None, settings: Settings, **options: Any) -> Archive:
        """An archive whose model is the client ``settings`` describe (the embedded model by default)."""
        from ..llm import LLM

        llm = LLM(settings)
        archive = cls(url, model=llm, chunk_chars=llm.target_chars, **options)
        archive._owned = llm
        return archive

    def close(self) -> None:
        if self._owned is not None:
            self._owned.close()
            self._owned = None
        self.engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -------------------------------------------------------------------------------

    def add(self, articles: Iterable[Article | ArticleError], *, bulk: bool = False) -> AddReport:
        """Extract, cross-check and store ``articles`` (load errors are reported as failures).

        An article already archived with the same text and metadata is left as it is
        (``unchanged``); one whose id is archived with another text is a failure. A failing
        article never stops the others.

        ``bulk=True`` fills an empty archive with a back catalogue: one cross-check of the whole
        batch, stored in one transaction, much faster than article by article; the facts are the
        same, and each starts its history with one ``created`` event. Into an archive that holds
        articles already it is refused: add them one by one.
        """
        return self._add(list(articles), store=True, bulk=bulk)

    def add_extracted(self, extraction: Extraction, *, bulk: bool = False) -> AddReport:
        """Store articles whose claims are already extracted (no extraction call); ``bulk`` as in
        :meth:`add`."""
        return self._add([], store=True, extracted=extraction, bulk=bulk)

    def check(self, article: Article) -> AddReport:
        """What adding ``article`` would change, without storing anything."""
        return self._add([article], store=False)

    def _add(
        self,
        items: list[Article | ArticleError],
        *,
        store: bool,
        extracted: Extraction | None = None,
        bulk: bool = False,
    ) -> AddReport:
        started = time.monotonic()
        report = AddReport(stored=store)
        if bulk and self.stats().articles:
            raise ConfigError(
                "bulk loading fills an empty archive; this one holds articles already: add the new ones without bulk"
            )
        before = self.model.usage.model_copy(deep=True) if self.model is not None else Usage()
        todo: list[Article | ArticleError] = []
        for item in items:
            if isinstance(item, ArticleError):
                report.failures.append(Failure(source=item.source, stage="load", reason=item.reason))
            elif self._known(item, report):
                continue
            else:
                todo.append(item)
        done: list[ArticleClaims] = []
        if extracted is not None:
            report.failures.extend(extracted.failures)
            for ac in extracted.articles:
                if not self._known(ac.article, report):
                    done.append(ac)
        if todo:
            if self.model is None:
                raise ConfigError("this archive has no model to extract claims with: Archive(url, model=...)")
            extraction = extract_articles(todo, self.model, chunk_chars=self.chunk_chars)
            report.failures.extend(extraction.failures)
            done.extend(extraction.articles)
        if bulk:
            self._bulk(done, report)
            done = []
        for ac in done:
            try:
                changes, candidates = self._integrate(ac, store=store)
            except RecoupeError as exc:
                report.failures.append(
                    Failure(
                        source=ac.article.source or ac.article.id,
                        article_id=ac.article.id,
                        stage="archive",
                        reason=str(exc),
                    )
                )
                continue
            if store:
                report.added.append(ac.article.id)
            report.changes.extend(changes)
            report.candidates += candidates
        if self.model is not None:
            report.usage = self.model.usage.since(before)
        report.seconds = round(time.monotonic() - started, 3)
        return report

    def _known(self, article: Article, report: AddReport) -> bool:
        """Whether ``article`` is archived already: recorded in ``report`` (unchanged or a failure)."""
        with Session(self.engine) as s:
            sha = s.scalar(select(ArticleRow.text_sha256).where(ArticleRow.id == article.id))
        if sha is None:
            return False
        if sha == article_sha256(article):
            report.unchanged.append(article.id)
        else:
            report.failures.append(
                Failure(
                    source=article.source or article.id,
                    article_id=article.id,
                    stage="archive",
                    reason=f"article id {article.id!r} is archived already with another text; give the new version another id",
                )
            )
        return True

    def _in_passes(self, attempt: Callable[[Session, Model | None], tuple[_T, bool]]) -> _T:
        """Run ``attempt(session, model)`` in a write transaction, committed when it says so (else
        rolled back). With a model outside the process, in passes whose model answers are fetched
        between them, with the write lock released (see :mod:`~recoupe.archive.answers`): a pass
        that lacked answers is rolled back whatever it says."""
        answers = Answers.standing_for(self.model)
        for n in range(_PASSES):
            if answers is not None:
                answers.through = n == _PASSES - 1  # the last pass asks what it lacks itself
            with self._writer, self._transaction() as s:
                done, keep = attempt(s, answers if answers is not None else self.model)
                if answers is None or not answers.missing:
                    if keep:
                        s.commit()
                    else:
                        s.rollback()
                    return done
                s.rollback()  # nothing of this pass is kept: its answers were placeholders
            answers.fetch()
        raise AssertionError("the last pass asks the model itself, so it lacks nothing")

    def _integrate(self, extracted: ArticleClaims, *, store: bool) -> tuple[list[Any], int]:
        """Add one article in one transaction (``store=False``: rolled back)."""

        def attempt(s: Session, model: Model | None) -> tuple[tuple[list[Any], Integration | None], bool]:
            if s.scalar(select(ArticleRow.seq).where(ArticleRow.id == extracted.article.id)) is not None:
                return ([], None), False  # added meanwhile by another writer
            if len(self._sentences) > _FEATURES_KEPT // 4:
                self._sentences.clear()
            step = Integration(
                s,
                model,
                self.adjudicate,
                self.model_contradictions,
                features_cache=self._features,
                sentences_cache=self._sentences,
                stop_when_judged=(lambda: bool(model.missing)) if isinstance(model, Answers) else None,
            )
            return (step.run(extracted), step), store

        changes, step = self._in_passes(attempt)
        if step is None:
            return [], 0
        if store and step.known is not None:
            if len(self._features) > _FEATURES_KEPT:
                self._features.clear()
            for seq, claim in step.known.claims.items():
                self._features[(seq, claim.id)] = (claim, step.known.features[seq])
        return changes, step.candidates_read

    def _bulk(self, done: list[ArticleClaims], report: AddReport) -> None:
        """Store ``done`` into the empty archive in one transaction (an id given twice: the first
        is stored, a second with the same text is ``unchanged``, one with another text fails)."""
        from .bulk import bulk_load

        batch: list[ArticleClaims] = []
        first: dict[str, str] = {}
        for ac in done:
            sha = article_sha256(ac.article)
            if ac.article.id not in first:
                first[ac.article.id] = sha
                batch.append(ac)
            elif first[ac.article.id] == sha:
                report.unchanged.append(ac.article.id)
            else:
                report.failures.append(
                    Failure(
                        source=ac.article.source or ac.article.id,
                        article_id=ac.article.id,
                        stage="archive",
                        reason=f"article id {ac.article.id!r} is given twice with different texts",
                    )
                )
        if not batch:
            return

        def attempt(s: Session, model: Model | None) -> tuple[tuple[list[Any], int], bool]:
            if s.scalar(select(func.count()).select_from(ArticleRow)):
                raise ConfigError("bulk loading fills an empty archive; another writer added articles meanwhile")
            # a pass rolled back leaves entries keyed by sequence numbers it used in the features
            # cache; they are keyed by claim id too (unique), so no other claim ever reads them
            changes, candidates, _ = bulk_load(
                s,
                batch,
                model,
                adjudicate=self.adjudicate,
                model_contradictions=self.model_contradictions,
                split=functools.partial(cached_split, self._sentences),
                features_cache=self._features if len(self._features) < _FEATURES_KEPT else None,
            )
            return (changes, candidates), True

        changes, candidates = self._in_passes(attempt)
        report.added.extend(ac.article.id for ac in batch)
        report.changes.extend(changes)
        report.candidates += candidates

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        with Session(self.engine) as s:
            try:
                if self.engine.dialect.name == "postgresql":
                    # one writer at a time across processes, released with the transaction
                    s.execute(text("SELECT pg_advisory_xact_lock(7260451)"))
                else:
                    # take SQLite's write lock first (waiting for another writer, up to the busy
                    # timeout): a transaction that read first and then wrote after another
                    # writer's commit would fail at once
                    s.execute(text("UPDATE articles SET seq = seq WHERE 0"))
                yield s
                if s.in_transaction():
                    s.commit()
            except BaseException:
                s.rollback()
                raise

    # -- reading -------------------------------------------------------------------------------

    def article(self, article_id: str) -> Article | None:
        with Session(self.engine) as s:
            row = s.scalar(select(ArticleRow).where(ArticleRow.id == article_id))
            return ArticleClaims.model_validate(row.doc).article if row is not None else None

    def claims(self, article_id: str) -> list[Claim] | None:
        """The claims of an archived article, in their order; None when it is not archived."""
        with Session(self.engine) as s:
            seq = s.scalar(select(ArticleRow.seq).where(ArticleRow.id == article_id))
            if seq is None:
                return None
            rows = s.scalars(select(ClaimRow).where(ClaimRow.article_seq == seq).order_by(ClaimRow.seq))
            return [Claim.model_validate(r.doc) for r in rows]

    def articles(self) -> list[str]:
        """The archived article ids, in the order they were added."""
        with Session(self.engine) as s:
            return list(s.scalars(select(ArticleRow.id).order_by(ArticleRow.seq)))

    def facts(
        self,
        *,
        verdict: Verdict | str | None = None,
        article: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> FactPage:
        """A page of facts, conflicts first, then corroborated, then single-source (larger first,
        then by id); ``next_cursor`` continues it."""
        limit = max(1, min(int(limit), _MAX_PAGE))
        query = select(FactRow)
        if verdict is not None:
            value = verdict.value if isinstance(verdict, Verdict) else str(verdict)
            if value not in VERDICT_RANK:
                raise ConfigError(f"verdict: expected one of {', '.join(VERDICT_RANK)}, got {value!r}")
            query = query.where(FactRow.verdict == value)
        if article is not None:
            query = query.where(
                FactRow.id.in_(select(FactMemberRow.fact_id).where(FactMemberRow.article_id == article))
            )
        if cursor:
            rank, size, last = _decode_cursor(cursor)
            query = query.where(
                or_(
                    FactRow.rank > rank,
                    and_(FactRow.rank == rank, FactRow.size < size),
                    and_(FactRow.rank == rank, FactRow.size == size, FactRow.id > last),
                )
            )
        query = query.order_by(FactRow.rank, FactRow.size.desc(), FactRow.id).limit(limit + 1)
        with Session(self.engine) as s:
            rows = list(s.scalars(query))
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = _encode_cursor(rows[-1].rank, rows[-1].size, rows[-1].id) if more and rows else None
        return FactPage(facts=[Fact.model_validate(r.doc) for r in rows], next_cursor=next_cursor)

    def _resolve(self, s: Session, fact_id: str) -> FactRow | None:
        row = s.get(FactRow, fact_id)
        if row is None:
            successor = s.scalar(
                select(FactAliasRow.new_id).where(FactAliasRow.old_id == fact_id).order_by(FactAliasRow.new_id)
            )
            row = s.get(FactRow, successor) if successor is not None else None
        return row

    def fact(self, fact_id: str) -> FactDetail | None:
        """A fact with its members (each claim with its quote and span, its article's outlet, its
        origin) and its history; an id that a later fact replaced leads to that fact."""
        with Session(self.engine) as s:
            row = self._resolve(s, fact_id)
            if row is None:
                return None
            fact = Fact.model_validate(row.doc)
            claim_rows = {
                r.id: r for r in s.scalars(select(ClaimRow).where(ClaimRow.id.in_([m.claim_id for m in fact.members])))
            }
            outlets = dict(
                s.execute(
                    select(ArticleRow.id, ArticleRow.outlet).where(
                        ArticleRow.id.in_({m.article_id for m in fact.members})
                    )
                )
                .tuples()
                .all()
            )
            members = [
                MemberDetail(
                    claim=Claim.model_validate(claim_rows[m.claim_id].doc),
                    article_id=m.article_id,
                    outlet=outlets.get(m.article_id),
                    relation=m.relation.value,
                    origin=m.origin,
                )
                for m in fact.members
                if m.claim_id in claim_rows
            ]
            return FactDetail(fact=fact, members=members, history=self._history(s, row.id))

    def history(self, fact_id: str) -> list[FactEvent]:
        """When the fact's verdict or members changed, which article changed them, and why."""
        with Session(self.engine) as s:
            row = self._resolve(s, fact_id)
            return self._history(s, row.id) if row is not None else []

    def _history(self, s: Session, fact_id: str) -> list[FactEvent]:
        rows = s.scalars(
            select(FactEventRow).where(FactEventRow.fact_id == fact_id).order_by(FactEventRow.at, FactEventRow.id)
        )
        return [
            FactEvent(
                at=r.at,
                article_id=r.article_id,
                change=r.change,
                verdict_before=r.verdict_before,
                verdict_after=r.verdict_after,
                previous=list(r.previous),
                reason=r.reason,
            )
            for r in rows
        ]

    def stats(self) -> ArchiveStats:
        with Session(self.engine) as s:
            by_verdict = dict(s.execute(select(FactRow.verdict, func.count()).group_by(FactRow.verdict)).tuples().all())
            return ArchiveStats(
                articles=s.scalar(select(func.count()).select_from(ArticleRow)) or 0,
                claims=s.scalar(select(func.count()).select_from(ClaimRow)) or 0,
                facts={v: by_verdict.get(v, 0) for v in VERDICT_RANK},
            )

    def extraction(self) -> Extraction:
        """Every archived article with its claims, in archive order: what a from-scratch
        cross-check of the archive reads."""
        with Session(self.engine) as s:
            claims: dict[int, list[Claim]] = {}
            for r in s.scalars(select(ClaimRow).order_by(ClaimRow.seq)):
                claims.setdefault(r.article_seq, []).append(Claim.model_validate(r.doc))
            articles = []
            for row in s.scalars(select(ArticleRow).order_by(ArticleRow.seq)):
                ac = ArticleClaims.model_validate(row.doc)
                articles.append(ac.model_copy(update={"claims": claims.get(row.seq, [])}))
        return Extraction(articles=articles, model=self.model.name if self.model is not None else None)

    def report(self) -> Report:
        """The whole archive as a :class:`~recoupe.models.Report` (for the JSON, Markdown and HTML
        renderers)."""
        extraction = self.extraction()
        with Session(self.engine) as s:
            facts = [
                Fact.model_validate(r.doc)
                for r in s.scalars(select(FactRow).order_by(FactRow.rank, FactRow.size.desc(), FactRow.id))
            ]
            judgements = [
                PairJudgement.model_validate(d)
                for r in s.scalars(select(JudgementRow).order_by(JudgementRow.a, JudgementRow.b))
                for d in r.docs
            ]
            kept = s.scalar(select(func.count()).select_from(CandidateRow).where(CandidateRow.kept.is_(True))) or 0
        n = sum(len(ac.claims) for ac in extraction.articles)
        from ..crosscheck import all_pairs_count

        stats = PairingStats(
            claims=n,
            all_pairs=all_pairs_count([c for ac in extraction.articles for c in ac.claims]),
            candidate_pairs=kept,
            decided_by_rule=sum(1 for j in judgements if j.decided_by == "rule"),
            sent_to_model=sum(1 for j in judgements if j.decided_by == "model"),
        )
        return Report(
            articles=extraction.articles, facts=facts, judgements=judgements, pairing=stats, model=extraction.model
        )


def _encode_cursor(rank: int, size: int, fact_id: str) -> str:
    return base64.urlsafe_b64encode(f"{rank}:{size}:{fact_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[int, int, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        rank, size, fact_id = raw.split(":", 2)
        return int(rank), int(size), fact_id
    except (ValueError, UnicodeDecodeError):
        raise ConfigError(f"cursor: not a cursor this archive gave: {cursor!r}") from None
