"""Blocking: which claim pairs of different articles are worth comparing. Never all pairs.

Every test runs inside a block: the claims that share a key of :func:`block_keys` (a named entity,
the subject, a subject it joins). Within a block, a pair is a candidate when (a) it states amounts
of the same kind within a factor :data:`CANDIDATE_FACTOR` (euros and dollars compared at a
plausible rate, stated equivalents included); (b) both are dated (a weekday or a date) and about the
same subject; (c) it states roles or sites of the same subject; (d) its wording is similar enough
(``token_set_ratio`` >= :data:`LEXICAL_THRESHOLD` on folded text); (e) its sentence embeddings are
close. A claim is compared only with the :data:`BLOCK_WINDOW` claims of each of its blocks that
come just before it (in input order; in an archive, the order articles were added), so a block
that grows without end ("France", a company in the news every day) keeps being compared, at a
bounded cost per claim. Each claim then keeps its :data:`MAX_PARTNERS` most similar partners.

Because every test is local to a block and looks back a fixed number of claims, the candidates of
a new claim are among the latest claims of each of its keys: an archive reads those through an
index on the keys (:mod:`recoupe.archive`), never every stored claim, and the work per new claim
stays the same however large the archive grows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process

from ..models import Claim, Quantity
from ..normalize import canonical_unit
from .embeddings import embed
from .features import ClaimFeatures
from .quantities import EUR_USD_MID

__all__ = [
    "BLOCK_WINDOW",
    "CANDIDATE_FACTOR",
    "LEXICAL_THRESHOLD",
    "MAX_PARTNERS",
    "BlockRank",
    "all_pairs_count",
    "amounts_of",
    "best_partner_ranks",
    "block_keys",
    "candidate_indexes",
    "candidate_pairs",
    "claim_blocks",
    "raw_candidates",
    "semantic_close",
    "subject_block_keys",
]

#: Two amounts of the same kind are candidates when within this factor of each other.
CANDIDATE_FACTOR = 1.5
#: Two claims with this rapidfuzz token_set_ratio (on folded text) are candidates.
LEXICAL_THRESHOLD = 70
#: Within a block, each claim is compared with the claims of that block that come at most this many
#: places before it (about the last 25 articles that share the key): the work per claim is
#: bounded however large a block grows.
BLOCK_WINDOW = 100
#: Candidate partners kept per claim (the most similar ones): bounds pairs at n * MAX_PARTNERS.
MAX_PARTNERS = 12
#: Two claims whose multilingual sentence embeddings have at least this cosine are candidates.
SEMANTIC_THRESHOLD = 0.80

IntArray = npt.NDArray[np.int64]
_Keep = Callable[[IntArray, IntArray, str], None]
#: The place of a claim in a whole block: ``rank(kind, key, i)`` for the claim at index ``i`` of the
#: claims at hand, or ``None`` when it is too far back to be compared in that block. Only
#: differences between places count. By default, places among the claims at hand; an archive or a
#: cluster, which hand over part of a block, give places in the whole block.
BlockRank = Callable[[str, str, int], int | None]


def window_pairs(ranks: npt.NDArray[np.int64]) -> tuple[IntArray, IntArray]:
    """Index pairs ``(i, j)``, ``i < j``, into ``ranks`` (sorted ascending) whose places are at most
    :data:`BLOCK_WINDOW` apart."""
    n = len(ranks)
    if n < 2:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if ranks[-1] - ranks[0] <= BLOCK_WINDOW:
        left, right = np.triu_indices(n, k=1)
        return left.astype(np.int64), right.astype(np.int64)
    ends = np.searchsorted(ranks, ranks + BLOCK_WINDOW, side="right")
    starts = np.arange(n)
    counts = ends - starts - 1
    left = np.repeat(starts, counts)
    right = left + 1 + (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
    return left.astype(np.int64), right.astype(np.int64)


def _placed(kind: str, key: str, members: Sequence[int], rank: BlockRank | None) -> tuple[IntArray, IntArray]:
    """The members of one block that can be compared there, in block order, with their places."""
    if rank is None:
        m = np.asarray(members, dtype=np.int64)
        return m, np.arange(len(m), dtype=np.int64)
    placed = [(r, i) for i in members if (r := rank(kind, key, i)) is not None]
    placed.sort()
    return np.array([i for _, i in placed], dtype=np.int64), np.array([r for r, _ in placed], dtype=np.int64)


def _block_pairs(kind: str, key: str, members: Sequence[int], rank: BlockRank | None) -> tuple[IntArray, IntArray]:
    """The pairs of one block's members (indexes into the claims at hand) within the window."""
    m, ranks = _placed(kind, key, members, rank)
    left, right = window_pairs(ranks)
    return m[left], m[right]


def block_keys(f: ClaimFeatures) -> frozenset[str]:
    """The keys a claim is blocked under: its named entities and subject, and the subjects it joins
    ("Microsoft et Amazon" -> microsoft, amazon). Claims that share no key are never compared."""
    return f.entities | f.subject_parts | ({f.subject_bag} if f.subject_bag else set())


def claim_blocks(f: ClaimFeatures) -> set[tuple[str, str]]:
    """Every block a claim is in, as (kind, key): ``block`` (:func:`block_keys`: amounts and
    meaning), ``entity`` (wording), ``subject`` (:func:`subject_block_keys`: roles and sites) and
    ``dated`` (its subject, when it is dated). Places in these blocks are what windows count."""
    keys = {("entity", k) for k in f.entities} | {("block", k) for k in block_keys(f)}
    keys |= {("subject", k) for k in subject_block_keys(f)}
    if f.subject and f.dated:
        keys.add(("dated", f.subject))
    return keys


def all_pairs_count(claims: Sequence[Claim]) -> int:
    """Pairs of claims from different articles: n-choose-2 minus same-article pairs."""
    per_article: dict[str, int] = defaultdict(int)
    for c in claims:
        per_article[c.article_id] += 1
    n = len(claims)
    return n * (n - 1) // 2 - sum(k * (k - 1) // 2 for k in per_article.values())


def amounts_of(q: Quantity) -> list[tuple[str, float]]:
    """(kind, value) pairs for blocking; euros and dollars share one kind at a mid rate, and stated
    equivalents count too."""
    out: list[tuple[str, float]] = []
    for currency, unit, value in [(q.currency, q.unit, q.value)] + [
        (e.currency, e.unit, e.value) for e in q.equivalents
    ]:
        if value <= 0:
            continue
        if currency in ("EUR", "USD"):
            out.append(("money", value / EUR_USD_MID if currency == "USD" else value))
        elif currency or unit:
            out.append((currency or canonical_unit(unit) or "", value))
    return out


def candidate_pairs(claims: Sequence[Claim]) -> list[tuple[Claim, Claim]]:
    """Claim pairs from different articles worth comparing, in input order, ``(earlier, later)``.

    Claims are indexed by key and the pair arithmetic and string scoring run vectorised (numpy,
    rapidfuzz's C scorers), so 3,500 claims pair in well under a second.
    """
    features = [ClaimFeatures.of(c) for c in claims]
    return [(claims[i], claims[j]) for i, j in candidate_indexes(features)]


def candidate_indexes(features: Sequence[ClaimFeatures]) -> list[tuple[int, int]]:
    """:func:`candidate_pairs` as index pairs into ``features``, sorted."""
    n = len(features)
    if n < 2:
        return []
    codes: dict[str, int] = {}
    article = np.array([codes.setdefault(f.claim.article_id, len(codes)) for f in features], dtype=np.int64)
    found: list[IntArray] = []  # pair codes i * n + j, i < j

    def keep(i: IntArray, j: IntArray, reason: str) -> None:
        lo, hi = np.minimum(i, j), np.maximum(i, j)
        ok = (lo != hi) & (article[lo] != article[hi])
        found.append(lo[ok] * n + hi[ok])

    _by_amount(features, keep, None)
    _by_date(features, keep, None)
    _by_subject(features, keep, None)
    folded = [f.folded for f in features]
    _by_wording(features, folded, keep, None)
    _by_meaning(features, keep, None, embed([f.claim.text for f in features]))
    pair_codes = np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)
    return _best_partners(pair_codes // n, pair_codes % n, folded)


def raw_candidates(
    features: Sequence[ClaimFeatures],
    involving: Sequence[bool],
    rank: BlockRank | None,
    vectors: npt.NDArray[np.float32] | None,
) -> dict[tuple[int, int], tuple[float, list[str]]]:
    """The candidate pairs before the partner cap that involve a claim marked in ``involving``, each
    with its wording score and the tests that proposed it (``amount:KEY``, ``date``, ``subject:KEY``,
    ``wording:KEY``, ``meaning:KEY``): what an archive stores when it adds claims.

    ``features`` must hold every claim a marked one can be compared with (the ones before it in
    the window of each of its blocks), ``rank`` gives places in whole blocks (``None``: the claims
    at hand are the whole input) and ``vectors`` the claims' embeddings (as :func:`embed` gives
    them).
    """
    n = len(features)
    codes: dict[str, int] = {}
    article = np.array([codes.setdefault(f.claim.article_id, len(codes)) for f in features], dtype=np.int64)
    marked = np.array(involving, dtype=bool)
    reasons: dict[int, list[str]] = defaultdict(list)

    def keep(i: IntArray, j: IntArray, reason: str) -> None:
        lo, hi = np.minimum(i, j), np.maximum(i, j)
        ok = (lo != hi) & (article[lo] != article[hi]) & (marked[lo] | marked[hi])
        for code in np.unique(lo[ok] * n + hi[ok]).tolist():
            if reason not in reasons[code]:
                reasons[code].append(reason)

    _by_amount(features, keep, rank)
    _by_date(features, keep, rank)
    _by_subject(features, keep, rank)
    _by_wording(features, [f.folded for f in features], keep, rank)
    _by_meaning(features, keep, rank, vectors)
    found = [divmod(code, n) for code in sorted(reasons)]
    scores = process.cpdist(
        [features[i].folded for i, _ in found],
        [features[j].folded for _, j in found],
        scorer=fuzz.token_set_ratio,
        dtype=np.float64,
        workers=-1,
    )
    return {
        (i, j): (float(score), sorted(reasons[i * n + j])) for (i, j), score in zip(found, scores.tolist(), strict=True)
    }


def best_partner_ranks(pairs: Sequence[tuple[int, int, float]], owner: int) -> list[int]:
    """The positions in ``pairs`` (each ``(a, b, score)`` of ``owner``'s candidates) of its
    :data:`MAX_PARTNERS` best partners: best score first, then the earlier pair, as
    :func:`candidate_indexes` ranks them."""
    del owner  # every pair given is one of the owner's
    order = sorted(range(len(pairs)), key=lambda k: (-pairs[k][2], pairs[k][0], pairs[k][1]))
    return order[:MAX_PARTNERS]


def _blocks(
    features: Sequence[ClaimFeatures], keys_of: Callable[[ClaimFeatures], Iterable[str]]
) -> dict[str, list[int]]:
    blocks: dict[str, list[int]] = defaultdict(list)
    for i, f in enumerate(features):
        for key in keys_of(f):
            blocks[key].append(i)
    return blocks


def _by_amount(features: Sequence[ClaimFeatures], keep: _Keep, rank: BlockRank | None) -> None:
    """(a) amounts: within each block, pairs in the window that state amounts of one kind within
    the factor."""
    amounts = [amounts_of(f.claim.quantity) if f.claim.quantity is not None else [] for f in features]
    for key, members in _blocks(features, block_keys).items():
        with_amounts = [i for i in members if amounts[i]]
        if len(with_amounts) < 2:
            continue
        m, ranks = _placed("block", key, members, rank)
        place = dict(zip(m.tolist(), ranks.tolist(), strict=True))
        entries = sorted((place[i], i, kind, value) for i in with_amounts if i in place for kind, value in amounts[i])
        by_kind: dict[str, list[tuple[int, int, float]]] = defaultdict(list)
        for r, i, kind, value in entries:
            by_kind[kind].append((r, i, value))
        for rows in by_kind.values():
            if len(rows) < 2:
                continue
            left, right = window_pairs(np.array([r for r, _, _ in rows], dtype=np.int64))
            owners = np.array([i for _, i, _ in rows], dtype=np.int64)
            values = np.array([v for _, _, v in rows])
            lo = np.minimum(values[left], values[right])
            hi = np.maximum(values[left], values[right])
            close = hi / lo <= CANDIDATE_FACTOR
            keep(owners[left[close]], owners[right[close]], f"amount:{key}")


def _by_date(features: Sequence[ClaimFeatures], keep: _Keep, rank: BlockRank | None) -> None:
    """(b) dated claims about the same subject."""
    for key, members in _blocks(features, lambda f: (f.subject,) if f.subject and f.dated else ()).items():
        if len(members) > 1:
            left, right = _block_pairs("dated", key, members, rank)
            keep(left, right, "date")


def _by_subject(features: Sequence[ClaimFeatures], keep: _Keep, rank: BlockRank | None) -> None:
    """(d) claims about the same subject that state a role or where a site is: the rules compare
    those without numbers or dates."""
    for key, members in _blocks(features, subject_block_keys).items():
        if len(members) > 1:
            left, right = _block_pairs("subject", key, members, rank)
            keep(left, right, f"subject:{key}")


def subject_block_keys(f: ClaimFeatures) -> frozenset[str]:
    """The keys of a claim that states a role, who holds one, or where a site is (test (c)); none
    for others."""
    if f.roles or f.place_name or f.agents:
        keys = f.subject_parts or (frozenset({f.subject}) if f.subject else frozenset())
        return keys | ({f.subject_bag} if f.subject_bag else frozenset())
    return frozenset()


def _by_meaning(
    features: Sequence[ClaimFeatures], keep: _Keep, rank: BlockRank | None, vectors: npt.NDArray[np.float32] | None
) -> None:
    """(e) claims of one block whose sentence embeddings are close (multilingual: a French and an
    English claim of the same fact). Embeddings only propose pairs; the rules and the model decide."""
    if vectors is None:
        return
    for key, members in _blocks(features, block_keys).items():
        if len(members) < 2:
            continue
        left, right = _block_pairs("block", key, members, rank)
        close = semantic_close(vectors[left], vectors[right])
        keep(left[close], right[close], f"meaning:{key}")


def semantic_close(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> npt.NDArray[np.bool_]:
    """Which pairs of rows of ``a`` and ``b`` (unit vectors, row by row) are close enough to be
    candidates (each cosine computed on its own, so the same pair scores the same in any batch)."""
    cosine = np.einsum("ij,ij->i", a.astype(np.float64), b.astype(np.float64))
    close: npt.NDArray[np.bool_] = cosine >= SEMANTIC_THRESHOLD
    return close


def _by_wording(features: Sequence[ClaimFeatures], folded: list[str], keep: _Keep, rank: BlockRank | None) -> None:
    """(d) similar wording within a subject or entity block."""
    for key, members in _blocks(features, lambda f: f.entities).items():
        if len(members) < 2:
            continue
        left, right = _block_pairs("entity", key, members, rank)
        if len(left) == 0:
            continue
        scores = process.cpdist(
            [folded[i] for i in left],
            [folded[j] for j in right],
            scorer=fuzz.token_set_ratio,
            dtype=np.float64,
            workers=-1,
        )
        close = scores >= LEXICAL_THRESHOLD
        keep(left[close], right[close], f"wording:{key}")


def _best_partners(left: IntArray, right: IntArray, folded: list[str]) -> list[tuple[int, int]]:
    """Keep a pair only if it is among the :data:`MAX_PARTNERS` most similar partners of one of its
    two claims (ties: the earlier pair). Blocks can grow with the batch (many claims about one
    company); this cap keeps the candidates, and so the adjudications, at most linear in the number
    of claims. Returns the kept pairs sorted."""
    if len(left) == 0:
        return []
    scores = process.cpdist(
        [folded[i] for i in left], [folded[j] for j in right], scorer=fuzz.token_set_ratio, dtype=np.float64, workers=-1
    )
    pair = np.arange(len(left))
    owner = np.concatenate([left, right])
    both = np.concatenate([pair, pair])
    # by owner, then best score first, then the earlier pair (pairs are sorted by (i, j) already)
    order = np.lexsort((both, -np.concatenate([scores, scores]), owner))
    owner, both = owner[order], both[order]
    first = np.searchsorted(owner, owner, side="left")
    rank = np.arange(len(owner)) - first
    chosen = np.unique(both[rank < MAX_PARTNERS])
    return list(zip(left[chosen].tolist(), right[chosen].tolist(), strict=True))
