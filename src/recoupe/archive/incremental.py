"""Adding one article's claims to an archive: the cross-check run on what the new claims touch,
found through indexes, with the same result as a cross-check of every archived article.

Why the result is the same as from scratch: every candidate test is local to a block of a shared
key (:func:`~recoupe.crosscheck.pairing.block_keys`) and looks back at most
:data:`~recoupe.crosscheck.pairing.BLOCK_WINDOW` claims of the block, so a new claim's candidates
are among the latest stored claims of each of its keys, read newest first from the keys' index.
New claims only ever come after the stored ones, so a stored pair stays in its window for good.
Each claim keeps its best partners (:data:`~recoupe.crosscheck.pairing.MAX_PARTNERS`): the archive
keeps every candidate with its score, so when a new partner pushes an old one out of a claim's
best, that pair is dropped as a from-scratch run would drop it. Copied sentences are found through
an index of sentence shingles, with boilerplate told by whole-archive counts. Facts are rebuilt only
on the claims linked (by agreement or contradiction) to what changed; no fact reaches across those
links.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import TypeAdapter
from sqlalchemy import Table, Text, bindparam, delete, func, or_, select, type_coerce, update
from sqlalchemy.orm import Session

from ..crosscheck.embeddings import embed
from ..crosscheck.facts import build_facts
from ..crosscheck.features import ClaimFeatures
from ..crosscheck.pairing import (
    BLOCK_WINDOW,
    best_partner_ranks,
    claim_blocks,
    raw_candidates,
)
from ..crosscheck.run import claim_origins, judge_pairs
from ..crosscheck.syndication import (
    MAX_SHINGLE_POSTINGS,
    MIN_SHARED_SHINGLES,
    Copied,
    Split,
    comparable_sentences,
    copied_sentences,
    sentence_shingles,
)
from ..llm.model import Model
from ..models import Article, ArticleClaims, Claim, Fact, PairingStats, PairJudgement, Relation, Span, Verdict
from .schema import (
    ArticleRow,
    CandidateRow,
    ClaimKeyRow,
    ClaimRow,
    CopyRow,
    FactAliasRow,
    FactEventRow,
    FactMemberRow,
    FactRow,
    JudgementRow,
    ShingleRow,
)
from .types import FactChange

__all__ = [
    "VERDICT_RANK",
    "Integration",
    "article_sha256",
    "cached_split",
    "copy_rows",
    "fact_rank",
    "fact_values",
    "index_rows",
    "judgement_values",
    "shingle_rows",
]

_JUDGEMENTS = TypeAdapter(list[PairJudgement])
VERDICT_RANK = {Verdict.conflicting.value: 0, Verdict.corroborated.value: 1, Verdict.single_source.value: 2}
_LINKING = {Relation.equivalent.value, Relation.compatible.value, Relation.contradicts.value}
_CHUNK = 500  # bound parameters per IN (...) query


def article_sha256(article: Article) -> str:
    """What makes an article "the same" when it is added again: its text and metadata."""
    return hashlib.sha256(article.model_dump_json(exclude={"source"}).encode()).hexdigest()


def fact_rank(fact: Fact) -> int:
    return VERDICT_RANK[fact.verdict.value]


def fact_values(fact: Fact, now: dt.datetime) -> dict[str, Any]:
    """A fact's row: its verdict, rank and size (what pages of facts are ordered by) and document."""
    return {
        "id": fact.id,
        "verdict": fact.verdict.value,
        "rank": fact_rank(fact),
        "size": len(fact.members),
        "doc": fact.model_dump(mode="json"),
        "updated_at": now,
    }


def judgement_values(a: int, b: int, docs: list[dict[str, Any]]) -> dict[str, Any]:
    """A judgement row: the pair's judgement documents, and whether one links the pair into a fact."""
    return {"a": a, "b": b, "docs": docs, "links": any(d["relation"] in _LINKING for d in docs)}


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _vector(row: ClaimRow) -> npt.NDArray[np.float32] | None:
    if row.embedding is None:
        return None
    return np.frombuffer(row.embedding, dtype=np.float32)


def cached_split(cache: dict[tuple[str, str], Split], article: Article) -> Split:
    """An article's :func:`comparable_sentences`, kept in ``cache`` (by id and text)."""
    key = (article.id, hashlib.sha256(article.text.encode()).hexdigest())
    if key not in cache:
        cache[key] = comparable_sentences(article)
    return cache[key]


def index_rows(seq: int, f: ClaimFeatures) -> list[dict[str, Any]]:
    """The key rows of stored claim ``seq``: what its candidates are found through."""
    return [{"kind": kind, "key": key, "claim_seq": seq} for kind, key in sorted(claim_blocks(f))]


def shingle_rows(seq: int, article: Article, split: Callable[[Article], Split]) -> list[dict[str, Any]]:
    """The sentence-shingle index rows of stored article ``seq``."""
    seen: set[tuple[int, int]] = set()
    rows = []
    for start, hashes in sentence_shingles(article, split):
        for h in sorted(hashes):
            if (h, start) not in seen:
                seen.add((h, start))
                rows.append({"hash": h, "article_seq": seq, "sentence_start": start})
    return rows


def copy_rows(found: Iterable[Copied], seq_of: Mapping[str, int]) -> list[dict[str, Any]]:
    """The copy rows of ``found`` (copied sentences, in a from-scratch run's order): each keeps its
    place among the copies between its two articles."""
    position: Counter[tuple[int, int]] = Counter()
    rows = []
    for c in found:
        a, b = seq_of[c.article], seq_of[c.source]
        pair = (min(a, b), max(a, b))
        rows.append(
            {
                "article_seq": a,
                "source_seq": b,
                "start": c.span.start,
                "end": c.span.end,
                "source_start": c.source_span.start,
                "source_end": c.source_span.end,
                "lo": pair[0],
                "hi": pair[1],
                "position": position[pair],
            }
        )
        position[pair] += 1
    return rows


@dataclass
class _Claims:
    """Stored claims read so far: their rows, claims and features, by sequence number."""

    session: Session
    cache: dict[tuple[int, str], tuple[Claim, ClaimFeatures]] | None = None
    rows: dict[int, ClaimRow] = field(default_factory=dict)
    claims: dict[int, Claim] = field(default_factory=dict)
    features: dict[int, ClaimFeatures] = field(default_factory=dict)

    def add(self, row: ClaimRow, claim: Claim | None = None) -> None:
        """Read a stored claim (its features are computed once per archive: claims never change)."""
        self.rows[row.seq] = row
        key = (row.seq, row.id)
        hit = self.cache.get(key) if self.cache is not None and claim is None else None
        if hit is None:
            c = claim if claim is not None else Claim.model_validate(row.doc)
            hit = (c, ClaimFeatures.of(c))
        self.claims[row.seq], self.features[row.seq] = hit

    def load(self, seqs: Iterable[int]) -> None:
        missing = sorted(set(seqs) - self.rows.keys())
        for part in _chunks(missing):
            for row in self.session.scalars(select(ClaimRow).where(ClaimRow.seq.in_(part))):
                self.add(row)


class _Articles(Mapping[str, Article]):
    """The archived articles by id, read as they are asked for."""

    def __init__(self, step: Integration) -> None:
        self.step = step
        self.seqs: dict[str, int | None] = {}

    def _seq(self, article_id: str) -> int | None:
        if article_id not in self.seqs:
            self.seqs[article_id] = self.step.session.scalar(select(ArticleRow.seq).where(ArticleRow.id == article_id))
        return self.seqs[article_id]

    def __getitem__(self, article_id: str) -> Article:
        seq = self._seq(article_id)
        if seq is None:
            raise KeyError(article_id)
        return self.step._texts({seq})[seq]

    def __contains__(self, article_id: object) -> bool:
        return isinstance(article_id, str) and self._seq(article_id) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self.step.session.scalars(select(ArticleRow.id).order_by(ArticleRow.seq)).all())

    def __len__(self) -> int:
        return self.step.session.scalar(select(func.count()).select_from(ArticleRow)) or 0


@dataclass
class Integration:
    """Add one extracted article to the archive inside ``session`` (the caller's transaction)."""

    session: Session
    model: Model | None
    adjudicate: bool = True
    model_contradictions: bool = False
    stats: PairingStats = field(default_factory=PairingStats)
    candidates_read: int = 0
    features_cache: dict[tuple[int, str], tuple[Claim, ClaimFeatures]] | None = None
    windows: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    posting_counts: dict[int, int] = field(default_factory=dict)
    texts: dict[int, Article] = field(default_factory=dict)
    sentences_cache: dict[tuple[str, str], Split] | None = None
    copies_cache: dict[str, list[Copied]] = field(default_factory=dict)
    known: _Claims | None = None
    #: asked once the pairs are judged (every model call is made by then): when it answers True,
    #: :meth:`run` stops there, and the caller rolls the transaction back
    stop_when_judged: Callable[[], bool] | None = None

    def run(self, extracted: ArticleClaims) -> list[FactChange]:
        s = self.session
        article = extracted.article
        row = ArticleRow(
            id=article.id,
            text_sha256=article_sha256(article),
            outlet=article.outlet,
            published=article.published,
            doc=extracted.model_copy(update={"claims": []}).model_dump(mode="json"),
        )
        s.add(row)
        s.flush()
        known = _Claims(s, self.features_cache)
        self.known = known
        new = self._store_claims(row, extracted.claims, known)
        self._store_shingles(row, article)
        s.flush()
        pool = self._retrieve(new, known)
        touched, fresh = self._candidates(new, pool, known)
        changed_pairs = self._keep_best(touched, fresh, known)
        if self.stop_when_judged is not None and self.stop_when_judged():
            return []
        changed = self._origins(row, known)
        seeds = set(new) | {x for pair in changed_pairs for x in pair} | changed
        return self._facts(seeds, known, article.id)

    # -- storing -------------------------------------------------------------------------------

    def _store_claims(self, article: ArticleRow, claims: list[Claim], known: _Claims) -> list[int]:
        s = self.session
        vectors = embed([c.text for c in claims]) if claims else None
        rows = []
        for n, claim in enumerate(claims):
            vector = vectors[n] if vectors is not None else None
            r = ClaimRow(
                id=claim.id,
                article_seq=article.seq,
                article_id=claim.article_id,
                origin="",
                doc=claim.model_dump(mode="json"),
                embedding=vector.astype(np.float32).tobytes() if vector is not None else None,
            )
            s.add(r)
            rows.append((r, claim))
        s.flush()
        for r, claim in rows:
            known.add(r, claim)
            s.add_all(ClaimKeyRow(**k) for k in index_rows(r.seq, known.features[r.seq]))
        return [r.seq for r, _ in rows]

    def _store_shingles(self, article: ArticleRow, text: Article) -> None:
        self.session.add_all(ShingleRow(**r) for r in shingle_rows(article.seq, text, self._split))

    # -- candidates ----------------------------------------------------------------------------

    def _retrieve(self, new: list[int], known: _Claims) -> list[int]:
        """The stored claims a new one can be compared with: for each of its keys, the last
        :data:`BLOCK_WINDOW` stored claims under it, read newest first from the keys' index
        (never a scan, and never more than the window however large the block)."""
        s = self.session
        self.windows = {}
        if not new:
            return []  # an article with no claim has nothing to compare
        keys: set[tuple[str, str]] = set()
        for seq in new:
            keys |= claim_blocks(known.features[seq])
        first = min(new)
        found: set[int] = set()
        for kind, key in sorted(keys):
            latest = s.scalars(
                select(ClaimKeyRow.claim_seq)
                .where(ClaimKeyRow.kind == kind, ClaimKeyRow.key == key, ClaimKeyRow.claim_seq < first)
                .order_by(ClaimKeyRow.claim_seq.desc())
                .limit(BLOCK_WINDOW)
            ).all()
            self.windows[(kind, key)] = sorted(latest)
            found.update(latest)
        pool = sorted(found)
        known.load(pool)
        self.candidates_read += len(pool)
        return pool

    def _candidates(
        self, new: list[int], pool: list[int], known: _Claims
    ) -> tuple[set[int], list[tuple[int, int, float]]]:
        """Store the candidate pairs of the new claims; the claims whose candidates changed, and
        the new pairs with their scores."""
        order = sorted(set(new) | set(pool))
        if len(order) < 2:
            return set(new), []
        features = [known.features[q] for q in order]
        is_new = set(new)
        vectors = [_vector(known.rows[q]) for q in order]
        stacked = None if any(v is None for v in vectors) else np.stack([v for v in vectors if v is not None])
        # places in each block: the stored window, then the new claims that have the key
        places: dict[tuple[str, str], dict[int, int]] = {
            k: {q: n for n, q in enumerate(window)} for k, window in self.windows.items()
        }
        for q in sorted(new):
            for k in claim_blocks(known.features[q]):
                block = places.setdefault(k, {})
                block[q] = len(block)

        def rank(kind: str, key: str, i: int) -> int | None:
            return places.get((kind, key), {}).get(order[i])

        raw = raw_candidates(features, [q in is_new for q in order], rank, stacked)
        touched = set(new)
        fresh = []
        for (i, j), (score, reasons) in raw.items():
            a, b = order[i], order[j]
            self.session.add(CandidateRow(a=a, b=b, score=score, reasons=reasons, kept=False))
            touched.update((a, b))
            fresh.append((a, b, score))
        self.session.flush()
        return touched, fresh

    def _best_of(self, seqs: set[int]) -> dict[int, list[tuple[int, int, float, bool, bool]]]:
        """The stored candidate pairs of each claim in ``seqs`` that are among its best partners,
        as (a, b, score, best_a, best_b). Candidates are never removed and the ranking is a total
        order, so a claim's best partners after new candidates come are the best of its best
        before and of the new ones: the others need not be read."""
        out: dict[int, list[tuple[int, int, float, bool, bool]]] = {q: [] for q in seqs}
        columns = (CandidateRow.a, CandidateRow.b, CandidateRow.score, CandidateRow.best_a, CandidateRow.best_b)
        for part in _chunks(sorted(seqs)):
            for side, flag in ((CandidateRow.a, CandidateRow.best_a), (CandidateRow.b, CandidateRow.best_b)):
                query = select(*columns).where(side.in_(part), flag)  # as the partial indexes say
                for a, b, score, best_a, best_b in self.session.execute(query).tuples():
                    row = (a, b, score, bool(best_a), bool(best_b))
                    out[a if side is CandidateRow.a else b].append(row)
        return out

    def _keep_best(
        self, touched: set[int], fresh: list[tuple[int, int, float]], known: _Claims
    ) -> set[tuple[int, int]]:
        """Re-rank the candidates of the claims whose candidates changed (only theirs: a claim
        with no new candidate keeps its best partners, stored on each pair) over their best
        partners so far and their ``fresh`` candidates; judge the pairs that come into a claim's
        best partners and drop the judgements of those that leave. Returns the pairs whose
        judgements changed."""
        self.session.flush()
        of = self._best_of(touched)
        for a, b, score in fresh:
            for q in (a, b):
                if q in of:
                    of[q].append((a, b, score, False, False))
        rows = {(r[0], r[1]): r for q in of for r in of[q]}
        tops: dict[int, set[tuple[int, int]]] = {}
        for q, mine in of.items():
            triples = [(r[0], r[1], r[2]) for r in mine]
            tops[q] = {(triples[k][0], triples[k][1]) for k in best_partner_ranks(triples, q)}
        now_kept: list[tuple[int, int]] = []
        dropped: list[tuple[int, int]] = []
        changed: list[dict[str, Any]] = []
        for (a, b), (_, _, _, was_a, was_b) in sorted(rows.items()):
            best_a = (a, b) in tops[a] if a in tops else was_a
            best_b = (a, b) in tops[b] if b in tops else was_b
            if (best_a, best_b) == (was_a, was_b):
                continue
            changed.append({"a": a, "b": b, "best_a": best_a, "best_b": best_b, "kept": best_a or best_b})
            if (best_a or best_b) and not (was_a or was_b):
                now_kept.append((a, b))
            elif (was_a or was_b) and not (best_a or best_b):
                dropped.append((a, b))
        if changed:
            self.session.execute(update(CandidateRow), changed)  # by primary key, one row each
        if dropped:
            table = JudgementRow.__table__
            assert isinstance(table, Table)
            self.session.connection().execute(
                delete(table).where(table.c.a == bindparam("da"), table.c.b == bindparam("db")),
                [{"da": a, "db": b} for a, b in dropped],
            )
        if now_kept:
            known.load({x for pair in now_kept for x in pair})
            order = sorted({x for pair in now_kept for x in pair})
            at = {seq: n for n, seq in enumerate(order)}
            judgements = judge_pairs(
                [known.features[q] for q in order],
                [(at[a], at[b]) for a, b in now_kept],
                self.stats,
                self.model if self.adjudicate else None,
                self.model_contradictions,
            )
            seq_of = {known.claims[q].id: q for q in order}
            grouped: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
            for j in judgements:
                a, b = seq_of[j.a], seq_of[j.b]
                grouped[(min(a, b), max(a, b))].append(j.model_dump(mode="json"))
            for (a, b), docs in grouped.items():
                self.session.add(JudgementRow(**judgement_values(a, b, docs)))
        self.stats.candidate_pairs += len(now_kept) - len(dropped)
        self.session.flush()
        return set(now_kept) | set(dropped)

    # -- origins -------------------------------------------------------------------------------

    def _neighbours(self, seq: int) -> tuple[set[int], dict[int, int]]:
        """The articles that share at least :data:`MIN_SHARED_SHINGLES` non-boilerplate shingles
        with article ``seq`` (only they can hold a sentence copied from it or copy one of its), and
        the whole-archive counts of ``seq``'s own shingles."""
        s = self.session
        hashes = set(s.scalars(select(ShingleRow.hash).where(ShingleRow.article_seq == seq)).all())
        counts = self._postings(hashes)
        useful = sorted(h for h in hashes if counts.get(h, 0) <= MAX_SHINGLE_POSTINGS)
        shared: set[tuple[int, int]] = set()
        for part in _chunks(useful):
            query = select(ShingleRow.hash, ShingleRow.article_seq).where(ShingleRow.hash.in_(part))
            shared.update(s.execute(query).tuples().all())
        per_article = Counter(a for _, a in shared)
        return {a for a, n in per_article.items() if n >= MIN_SHARED_SHINGLES and a != seq}, counts

    def _postings(self, hashes: set[int]) -> dict[int, int]:
        for part in _chunks(sorted(hashes - self.posting_counts.keys())):
            query = select(ShingleRow.hash, func.count()).where(ShingleRow.hash.in_(part)).group_by(ShingleRow.hash)
            self.posting_counts.update(self.session.execute(query).tuples().all())
        return {h: self.posting_counts.get(h, 0) for h in hashes}

    def _texts(self, seqs: set[int]) -> dict[int, Article]:
        missing = sorted(seqs - self.texts.keys())
        for part in _chunks(missing):
            for r in self.session.scalars(select(ArticleRow).where(ArticleRow.seq.in_(part))):
                self.texts[r.seq] = ArticleClaims.model_validate(r.doc).article
        return {q: self.texts[q] for q in sorted(seqs)}

    def _split(self, article: Article) -> Split:
        return cached_split(self.sentences_cache if self.sentences_cache is not None else {}, article)

    def _set_origins(
        self,
        seq: int,
        article_of: Mapping[str, Article],
        found: list[Copied] | Callable[[str], list[Copied]],
        known: _Claims,
    ) -> set[int]:
        """Set the origins of article ``seq``'s claims from ``found``; the claims whose origin changed."""
        rows = list(self.session.scalars(select(ClaimRow).where(ClaimRow.article_seq == seq).order_by(ClaimRow.seq)))
        for r in rows:
            if r.seq not in known.rows:
                known.add(r)
        sources: dict[str, str] = {}
        origins = claim_origins([known.claims[r.seq] for r in rows], article_of, found, sources)
        changed = set()
        for r in rows:
            cid = known.claims[r.seq].id
            if r.origin != origins[cid]:
                if r.origin:  # a new claim's first origin is no change
                    changed.add(r.seq)
                r.origin = origins[cid]
            r.copied_from = sources.get(cid)
        return changed

    def _find_copies(self, seq: int) -> None:
        """Find the copies from or into article ``seq`` among the articles that share enough
        shingles with it (with whole-archive shingle counts), and store them in place of those
        stored before."""
        s = self.session
        s.execute(delete(CopyRow).where(or_(CopyRow.article_seq == seq, CopyRow.source_seq == seq)))
        near, counts = self._neighbours(seq)
        if not near:
            return
        texts = self._texts(near | {seq})
        order = sorted(texts)
        # Only copies from or into ``seq`` are looked for, so only the shingles of ``seq`` need
        # their whole-archive counts: another shingle makes no pair with ``seq``.
        found = copied_sentences(
            [texts[q] for q in order], lambda h, n: counts.get(h, n), only=order.index(seq), split=self._split
        )
        s.add_all(CopyRow(**r) for r in copy_rows(found, {texts[q].id: q for q in order}))
        s.flush()

    def _copies_into(self, article_id: str) -> list[Copied]:
        """The stored copies into one article, in a from-scratch run's order (read once)."""
        if article_id not in self.copies_cache:
            seq = self.session.scalar(select(ArticleRow.seq).where(ArticleRow.id == article_id))
            rows = (
                list(
                    self.session.scalars(
                        select(CopyRow)
                        .where(CopyRow.article_seq == seq)
                        .order_by(CopyRow.lo, CopyRow.hi, CopyRow.position)
                    )
                )
                if seq is not None
                else []
            )
            texts = self._texts({r.source_seq for r in rows} | ({seq} if seq is not None else set()))
            self.copies_cache[article_id] = [
                Copied(
                    texts[r.article_seq].id,
                    Span(start=r.start, end=r.end),
                    texts[r.source_seq].id,
                    Span(start=r.source_start, end=r.source_end),
                )
                for r in rows
            ]
        return self.copies_cache[article_id]

    def _origins(self, article: ArticleRow, known: _Claims) -> set[int]:
        """Find and store the new article's copies, and set its claims' origins. A shingle this
        article makes boilerplate (found in more than :data:`MAX_SHINGLE_POSTINGS` sentences) no
        longer counts as evidence of copying: the copies of the articles holding it are found
        again. Then every article whose copies changed, and every article that copies one whose
        origins changed, down the chains, has its claims' origins set again. Returns the claims
        whose origin changed."""
        s = self.session
        own = Counter(s.scalars(select(ShingleRow.hash).where(ShingleRow.article_seq == article.seq)).all())
        counts = self._postings(set(own))
        crossed = sorted(h for h, n in own.items() if counts[h] - n <= MAX_SHINGLE_POSTINGS < counts[h])
        again: set[int] = set()
        for part in _chunks(crossed):
            again.update(s.scalars(select(ShingleRow.article_seq).where(ShingleRow.hash.in_(part))).all())
        again.discard(article.seq)
        self._find_copies(article.seq)
        for q in sorted(again):
            self._find_copies(q)
        self.copies_cache.clear()
        touched = {article.seq} | again
        touched.update(s.scalars(select(CopyRow.article_seq).where(CopyRow.source_seq == article.seq)).all())
        changed: set[int] = set()
        done: set[int] = set()
        todo = touched
        articles = _Articles(self)
        while todo:
            moved: set[int] = set()
            for q in sorted(todo - done):
                got = self._set_origins(q, articles, self._copies_into, known)
                changed |= got
                if got or q == article.seq:
                    moved.add(q)
            done |= todo
            s.flush()
            todo = set()
            for part in _chunks(sorted(moved)):
                todo.update(s.scalars(select(CopyRow.article_seq).where(CopyRow.source_seq.in_(part))).all())
            todo -= done
        return changed

    # -- facts ---------------------------------------------------------------------------------

    def _linked(self, seeds: set[int]) -> tuple[set[int], dict[tuple[int, int], Any]]:
        """Every claim linked to ``seeds`` by agreement or contradiction, and the members of the
        facts they are in (a fact whose link was just dropped is rebuilt whole); and the stored
        documents of the linking pairs among them, found by the flag and not decoded yet."""
        s = self.session
        region: set[int] = set()
        pairs: dict[tuple[int, int], Any] = {}
        frontier = set(seeds)
        while frontier:
            region |= frontier
            nxt: set[int] = set()
            for part in _chunks(sorted(frontier)):
                query = select(JudgementRow.a, JudgementRow.b, type_coerce(JudgementRow.docs, Text)).where(
                    JudgementRow.links, or_(JudgementRow.a.in_(part), JudgementRow.b.in_(part))
                )
                for a, b, docs in s.execute(query).tuples():
                    pairs[(a, b)] = docs
                    nxt.update((a, b))
                facts = select(FactMemberRow.fact_id).where(FactMemberRow.claim_seq.in_(part))
                nxt.update(s.scalars(select(FactMemberRow.claim_seq).where(FactMemberRow.fact_id.in_(facts))))
            frontier = nxt - region
        return region, pairs

    @staticmethod
    def _linking_judgements(pairs: dict[tuple[int, int], Any]) -> list[PairJudgement]:
        """The judgements of the linking ``pairs``, in pair order, parsed from their stored JSON in
        one step (PostgreSQL's driver hands JSON over decoded already)."""
        return [
            j
            for pair in sorted(pairs)
            for j in (
                _JUDGEMENTS.validate_json(pairs[pair])
                if isinstance(pairs[pair], str | bytes)
                else _JUDGEMENTS.validate_python(pairs[pair])
            )
        ]

    def _facts(self, seeds: set[int], known: _Claims, article_id: str) -> list[FactChange]:
        s = self.session
        linked, pairs = self._linked(seeds)
        region = sorted(linked)
        known.load(region)
        claims = [known.claims[q] for q in region]
        origins = {known.claims[q].id: known.rows[q].origin for q in region}
        facts = build_facts(
            claims,
            self._linking_judgements(pairs),
            origins,
            {known.claims[q].id: known.features[q] for q in region},
        )
        seq_of = {known.claims[q].id: q for q in region}
        old_ids: set[str] = set()
        for part in _chunks(region):
            old_ids.update(s.scalars(select(FactMemberRow.fact_id).where(FactMemberRow.claim_seq.in_(part))))
        old = {f.id: f for f in s.scalars(select(FactRow).where(FactRow.id.in_(sorted(old_ids))))}
        old_members: dict[str, set[int]] = defaultdict(set)
        for part in _chunks(sorted(old)):
            for fid, seq in s.execute(
                select(FactMemberRow.fact_id, FactMemberRow.claim_seq).where(FactMemberRow.fact_id.in_(part))
            ):
                old_members[fid].add(seq)
        changes: list[FactChange] = []
        kept_ids = set()
        now = dt.datetime.now(dt.UTC)
        for fact in facts:
            members = {seq_of[m.claim_id] for m in fact.members}
            doc = fact.model_dump(mode="json")
            previous = sorted(fid for fid, ms in old_members.items() if ms & members)
            same = old.get(fact.id)
            if same is not None and same.doc == doc:
                kept_ids.add(fact.id)
                continue
            change, before = self._change(fact, members, previous, old, old_members)
            if same is not None:
                kept_ids.add(fact.id)
                same.doc, same.verdict, same.rank, same.size, same.updated_at = (
                    doc,
                    fact.verdict.value,
                    fact_rank(fact),
                    len(fact.members),
                    now,
                )
            else:
                s.add(FactRow(**fact_values(fact, now)))
                s.flush()
                s.add_all(
                    FactMemberRow(fact_id=fact.id, claim_seq=q, article_id=known.claims[q].article_id)
                    for q in sorted(members)
                )
                self._carry_history(fact.id, [p for p in previous if p != fact.id])
            reason = _reason(change, fact, article_id, before)
            s.add(
                FactEventRow(
                    fact_id=fact.id,
                    at=now,
                    article_id=article_id,
                    change=change,
                    verdict_before=before,
                    verdict_after=fact.verdict.value,
                    previous=[p for p in previous if p != fact.id],
                    reason=reason,
                )
            )
            changes.append(
                FactChange(
                    fact_id=fact.id,
                    change=change,
                    verdict_before=before,
                    verdict_after=fact.verdict.value,
                    article_id=article_id,
                    previous=[p for p in previous if p != fact.id],
                )
            )
        gone = sorted(set(old) - kept_ids)
        members_of = {f.id: {seq_of[m.claim_id] for m in f.members} for f in facts}
        for fid in gone:
            successors = [f.id for f in facts if members_of[f.id] & old_members[fid]]
            # what pointed at the fact now points at its successors
            earlier = s.scalars(select(FactAliasRow.old_id).where(FactAliasRow.new_id == fid)).all()
            s.execute(delete(FactAliasRow).where(FactAliasRow.new_id == fid))
            for old_id in {fid, *earlier}:
                for successor in successors:
                    s.merge(FactAliasRow(old_id=old_id, new_id=successor))
        for part in _chunks(gone):
            s.execute(delete(FactMemberRow).where(FactMemberRow.fact_id.in_(part)))
            s.execute(delete(FactRow).where(FactRow.id.in_(part)))
        s.flush()
        return changes

    def _change(
        self,
        fact: Fact,
        members: set[int],
        previous: list[str],
        old: dict[str, FactRow],
        old_members: dict[str, set[int]],
    ) -> tuple[str, str | None]:
        if not previous:
            return "created", None
        verdicts = sorted({old[p].verdict for p in previous}, key=lambda v: VERDICT_RANK[v])
        before = verdicts[0]
        if len(previous) > 1:
            return "merged", before
        was = old_members[previous[0]]
        if members == was:
            return ("verdict" if before != fact.verdict.value else "updated"), before
        if members > was:
            return "grew", before
        if members < was:
            return "split", before
        return "updated", before

    def _carry_history(self, fact_id: str, previous: list[str]) -> None:
        """A fact that replaces others takes their history, oldest first."""
        if not previous:
            return
        rows = self.session.scalars(
            select(FactEventRow).where(FactEventRow.fact_id.in_(previous)).order_by(FactEventRow.id)
        ).all()
        seen: set[tuple[Any, ...]] = set()
        for r in rows:
            key = (r.at, r.article_id, r.change, r.verdict_before, r.verdict_after, r.reason)
            if key in seen:
                continue
            seen.add(key)
            self.session.add(
                FactEventRow(
                    fact_id=fact_id,
                    at=r.at,
                    article_id=r.article_id,
                    change=r.change,
                    verdict_before=r.verdict_before,
                    verdict_after=r.verdict_after,
                    previous=r.previous,
                    reason=r.reason,
                )
            )


def _reason(change: str, fact: Fact, article_id: str, before: str | None) -> str:
    arts = sorted({m.article_id for m in fact.members})
    verdict = fact.verdict.value.replace("_", " ")
    if change == "created":
        return f"new fact from {article_id}: {verdict} ({len(arts)} article{'s' if len(arts) != 1 else ''})"
    moved = f"{before.replace('_', ' ')} -> {verdict}" if before and before != fact.verdict.value else verdict
    return f"{change} with {article_id}: {moved}; {len(fact.members)} claims from {len(arts)} articles"
