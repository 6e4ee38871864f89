"""Loading many articles into an empty archive at once: one cross-check of them all, from scratch,
written in one transaction with every index an article-by-article fill would have written.

Adding articles one by one re-ranks candidates and rebuilds facts after each; to fill an archive
with a back catalogue that is wasted work. Here the candidates, judgements, copies, origins and
facts are computed once over the whole batch (as :func:`~recoupe.crosscheck.crosscheck` computes
them) and stored as the incremental path stores them: raw candidates with their scores and
reasons, the best partners marked kept, claim keys and sentence shingles. Articles added
afterwards, one at a time, find the same state they would have found had the archive been filled
one article at a time. Only the history differs: each fact starts with one ``created`` event that
names no article.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import insert
from sqlalchemy.orm import Session

from ..crosscheck.embeddings import embed
from ..crosscheck.facts import build_facts
from ..crosscheck.features import ClaimFeatures
from ..crosscheck.pairing import best_partner_ranks, raw_candidates
from ..crosscheck.run import claim_origins, judge_pairs
from ..crosscheck.syndication import Split, copied_sentences
from ..llm.model import Model
from ..models import Article, ArticleClaims, Claim, PairingStats
from .incremental import article_sha256, copy_rows, fact_values, index_rows, judgement_values, shingle_rows
from .schema import (
    ArticleRow,
    CandidateRow,
    ClaimKeyRow,
    ClaimRow,
    CopyRow,
    FactEventRow,
    FactMemberRow,
    FactRow,
    JudgementRow,
    ShingleRow,
)
from .types import FactChange

__all__ = ["bulk_load"]

_ROWS = 5_000  # rows per INSERT ... VALUES batch


def _insert(session: Session, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    for start in range(0, len(rows), _ROWS):
        session.execute(insert(table), list(rows[start : start + _ROWS]))


def best_of_each(
    raw: dict[tuple[int, int], tuple[float, list[str]]], n: int
) -> dict[tuple[int, int], tuple[bool, bool]]:
    """For each raw candidate (i, j): whether it is among the best partners of i, and of j."""
    of: list[list[tuple[int, int, float]]] = [[] for _ in range(n)]
    for (i, j), (score, _) in raw.items():
        of[i].append((i, j, score))
        of[j].append((i, j, score))
    best: dict[int, set[tuple[int, int]]] = {
        q: {(rows[k][0], rows[k][1]) for k in best_partner_ranks(rows, q)} for q, rows in enumerate(of)
    }
    return {(i, j): ((i, j) in best[i], (i, j) in best[j]) for i, j in raw}


def bulk_load(
    session: Session,
    extracted: list[ArticleClaims],
    model: Model | None,
    *,
    adjudicate: bool,
    model_contradictions: bool,
    split: Callable[[Article], Split],  # an article's comparable sentences (kept: asked twice)
    features_cache: dict[tuple[int, str], tuple[Claim, ClaimFeatures]] | None = None,
) -> tuple[list[FactChange], int, PairingStats]:
    """Store ``extracted`` (articles new to an empty archive) with their cross-check, inside
    ``session`` (the caller's transaction); returns the facts created, the candidate pairs stored
    and the pairing counts."""
    articles = [
        ArticleRow(
            id=ac.article.id,
            text_sha256=article_sha256(ac.article),
            outlet=ac.article.outlet,
            published=ac.article.published,
            doc=ac.model_copy(update={"claims": []}).model_dump(mode="json"),
        )
        for ac in extracted
    ]
    session.add_all(articles)
    session.flush()
    texts = [ac.article for ac in extracted]
    claims = [c for ac in extracted for c in ac.claims]

    # copies and origins, over all the batch (boilerplate told by the batch's counts)
    found_copies = copied_sentences(texts, split=split)
    _insert(session, CopyRow, copy_rows(found_copies, {row.id: row.seq for row in articles}))
    sources: dict[str, str] = {}
    origins = claim_origins(claims, {a.id: a for a in texts}, found_copies, sources)
    _insert(
        session,
        ShingleRow,
        [r for row, a in zip(articles, texts, strict=True) for r in shingle_rows(row.seq, a, split)],
    )

    rows: list[ClaimRow] = []
    vectors: list[npt.NDArray[np.float32]] = []
    for row, ac in zip(articles, extracted, strict=True):
        # one article at a time, as the incremental path embeds them (the stored vectors are equal)
        found = embed([c.text for c in ac.claims]) if ac.claims else None
        for n, claim in enumerate(ac.claims):
            vector = found[n].astype(np.float32) if found is not None else None
            rows.append(
                ClaimRow(
                    id=claim.id,
                    article_seq=row.seq,
                    article_id=claim.article_id,
                    origin=origins[claim.id],
                    copied_from=sources.get(claim.id),
                    doc=claim.model_dump(mode="json"),
                    embedding=vector.tobytes() if vector is not None else None,
                )
            )
            if vector is not None:
                vectors.append(vector)
    session.add_all(rows)
    session.flush()
    seqs = [r.seq for r in rows]
    features = [ClaimFeatures.of(c) for c in claims]
    if features_cache is not None:  # what the next articles' candidates are read with
        features_cache.update(((q, c.id), (c, f)) for q, c, f in zip(seqs, claims, features, strict=True))
    _insert(session, ClaimKeyRow, [k for seq, f in zip(seqs, features, strict=True) for k in index_rows(seq, f)])

    # candidates: every raw pair with its score and reasons, the best partners kept and judged
    stacked = np.stack(vectors) if vectors and len(vectors) == len(claims) else None
    raw = raw_candidates(features, [True] * len(claims), None, stacked) if len(claims) > 1 else {}
    best = best_of_each(raw, len(claims))
    kept = {pair for pair, (of_a, of_b) in best.items() if of_a or of_b}
    _insert(
        session,
        CandidateRow,
        [
            {
                "a": seqs[i],
                "b": seqs[j],
                "score": score,
                "reasons": reasons,
                "kept": (i, j) in kept,
                "best_a": best[(i, j)][0],
                "best_b": best[(i, j)][1],
            }
            for (i, j), (score, reasons) in sorted(raw.items())
        ],
    )
    stats = PairingStats()
    pairs = sorted(kept)
    judgements = judge_pairs(features, pairs, stats, model if adjudicate else None, model_contradictions)
    stats.candidate_pairs = len(pairs)
    index_of = {c.id: n for n, c in enumerate(claims)}
    grouped: dict[tuple[int, int], list[dict[str, Any]]] = defaultdict(list)
    for j in judgements:
        a, b = seqs[index_of[j.a]], seqs[index_of[j.b]]
        grouped[(min(a, b), max(a, b))].append(j.model_dump(mode="json"))
    _insert(session, JudgementRow, [judgement_values(a, b, docs) for (a, b), docs in sorted(grouped.items())])

    # facts, each with its first event
    facts = build_facts(claims, judgements, origins, {c.id: f for c, f in zip(claims, features, strict=True)})
    now = dt.datetime.now(dt.UTC)
    seq_of = dict(zip((c.id for c in claims), seqs, strict=True))
    _insert(session, FactRow, [fact_values(f, now) for f in facts])
    _insert(
        session,
        FactMemberRow,
        [
            {"fact_id": f.id, "claim_seq": seq_of[m.claim_id], "article_id": m.article_id}
            for f in facts
            for m in sorted(f.members, key=lambda m: seq_of[m.claim_id])
        ],
    )
    _insert(
        session,
        FactEventRow,
        [
            {
                "fact_id": f.id,
                "at": now,
                "article_id": None,
                "change": "created",
                "verdict_before": None,
                "verdict_after": f.verdict.value,
                "previous": [],
                "reason": _reason(f.verdict.value, {m.article_id for m in f.members}),
            }
            for f in facts
        ],
    )
    session.flush()
    changes = [
        FactChange(fact_id=f.id, change="created", verdict_before=None, verdict_after=f.verdict.value, article_id=None)
        for f in facts
    ]
    return changes, len(raw), stats


def _reason(verdict: str, articles: Iterable[str]) -> str:
    n = len(set(articles))
    return f"loaded in bulk: {verdict.replace('_', ' ')} ({n} article{'s' if n != 1 else ''})"
