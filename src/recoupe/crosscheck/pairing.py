"""Blocking: which claim pairs of different articles are worth comparing. Never all pairs.

Every test runs inside a block: the claims that share a key of :func:`block_keys` (a named entity,
the subject, a subject it joins). Within a block, a pair is a candidate when (a) it states amounts
of the same kind within a factor :data:`CANDIDATE_FACTOR` (euros and dollars compared at a
plausible rate, stated equivalents included); (b) both are dated (a weekday or a date) and about the
same subject; (c) it states roles or sites of the same subject; (d) its wording is similar enough
(``token_set_ratio`` >= :data:`LEXICAL_THRESHOLD` on folded text); (e) its sentence embeddings are
close. Each claim then keeps its :data:`MAX_PARTNERS` most similar partners.

Because every test is local to a block, the candidates of a new claim are found among the claims
that share one of its keys: an archive retrieves them through an index on the keys, never by
reading every stored claim (:mod:`recoupe.archive`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
from rapidfuzz import fuzz, process

from ..models import Claim, Quantity
from .embeddings import embed
from .features import ClaimFeatures
from .quantities import EUR_USD_MID

__all__ = [
    "CANDIDATE_FACTOR",
    "LEXICAL_THRESHOLD",
    "MAX_LEXICAL_BLOCK",
    "MAX_PARTNERS",
    "BlockSize",
    "all_pairs_count",
    "amounts_of",
    "best_partner_ranks",
    "block_keys",
    "candidate_indexes",
    "candidate_pairs",
    "raw_candidates",
    "semantic_close",
    "subject_block_keys",
]

#: Two amounts of the same kind are candidates when within this factor of each other.
CANDIDATE_FACTOR = 1.5
#: Two claims with this rapidfuzz token_set_ratio (on folded text) are candidates.
LEXICAL_THRESHOLD = 70
#: A word-block larger than this is too common to say anything ("France" in every claim); it is
#: skipped so that lexical pairing stays close to linear in the number of claims.
MAX_LEXICAL_BLOCK = 400
#: Candidate partners kept per claim (the most similar ones): bounds pairs at n * MAX_PARTNERS.
MAX_PARTNERS = 12
#: Two claims whose multilingual sentence embeddings have at least this cosine are candidates.
SEMANTIC_THRESHOLD = 0.80

IntArray = npt.NDArray[np.int64]
_Keep = Callable[[IntArray, IntArray, str], None]
#: The size of a block (kind, key, size among the claims at hand): the claims at hand by default; an
#: archive passes the size of the whole block, of which it hands over a part.
BlockSize = Callable[[str, str, int], int]


def _local(kind: str, key: str, size: int) -> int:
    return size


def block_keys(f: ClaimFeatures) -> frozenset[str]:
    """The keys a claim is blocked under: its named entities and subject, and the subjects it joins
    ("Microsoft et Amazon" -> microsoft, amazon). Claims that share no key are never compared."""
    return f.entities | f.subject_parts


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
            out.append((currency or unit or "", value))
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

    _by_amount(features, keep, _local)
    _by_date(features, keep)
    _by_subject(features, keep, _local)
    folded = [f.folded for f in features]
    _by_wording(features, folded, keep, _local)
    _by_meaning(features, keep, _local, embed([f.claim.text for f in features]))
    pair_codes = np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)
    return _best_partners(pair_codes // n, pair_codes % n, folded)


def raw_candidates(
    features: Sequence[ClaimFeatures],
    involving: Sequence[bool],
    size: BlockSize,
    vectors: npt.NDArray[np.float32] | None,
) -> dict[tuple[int, int], tuple[float, list[str]]]:
    """The candidate pairs before the partner cap that involve a claim marked in ``involving``, each
    with its wording score and the tests that proposed it (``amount:KEY``, ``date``, ``subject:KEY``,
    ``wording:KEY``, ``meaning:KEY``): what an archive stores when it adds claims.

    ``features`` must hold every claim that shares a block with a marked one, ``size`` gives whole
    blocks' sizes and ``vectors`` the claims' embeddings (as :func:`embed` gives them).
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

    _by_amount(features, keep, size)
    _by_date(features, keep)
    _by_subject(features, keep, size)
    _by_wording(features, [f.folded for f in features], keep, size)
    _by_meaning(features, keep, size, vectors)
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


def _by_amount(features: Sequence[ClaimFeatures], keep: _Keep, size: BlockSize) -> None:
    """(a) amounts: for each kind within each block, every pair within the factor, found on the
    sorted values."""
    by_kind: dict[tuple[str, str], list[tuple[float, int]]] = defaultdict(list)
    members: dict[str, int] = defaultdict(int)
    for i, f in enumerate(features):
        for key in block_keys(f):
            members[key] += 1
        if f.claim.quantity is not None:
            for kind, value in amounts_of(f.claim.quantity):
                for key in block_keys(f):
                    by_kind[(kind, key)].append((value, i))
    for (_, key), entries in by_kind.items():
        if size("block", key, members[key]) > MAX_LEXICAL_BLOCK:
            continue
        entries.sort()
        values = np.array([v for v, _ in entries])
        owners = np.array([i for _, i in entries], dtype=np.int64)
        # a slightly wider window, then the exact test below (the same division as the rules' ratio)
        ends = np.searchsorted(values, values * (CANDIDATE_FACTOR * (1 + 1e-9)), side="right")
        starts = np.arange(len(values))
        counts = ends - starts - 1
        left = np.repeat(starts, counts)
        right = left + 1 + (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts))
        close = values[right] / values[left] <= CANDIDATE_FACTOR
        keep(owners[left[close]], owners[right[close]], f"amount:{key}")


def _by_date(features: Sequence[ClaimFeatures], keep: _Keep) -> None:
    """(b) dated claims about the same subject."""
    dated: dict[str, list[int]] = defaultdict(list)
    for i, f in enumerate(features):
        if f.subject and f.dated:
            dated[f.subject].append(i)
    for members in dated.values():
        if len(members) > 1:
            left, right = np.triu_indices(len(members), k=1)
            m = np.array(members, dtype=np.int64)
            keep(m[left], m[right], "date")


def _by_subject(features: Sequence[ClaimFeatures], keep: _Keep, size: BlockSize) -> None:
    """(d) claims about the same subject that state a role or where a site is: the rules compare
    those without numbers or dates."""
    by_subject: dict[str, list[int]] = defaultdict(list)
    for i, f in enumerate(features):
        for key in subject_block_keys(f):
            by_subject[key].append(i)
    for key, members in by_subject.items():
        if len(members) > 1 and size("subject", key, len(members)) <= MAX_LEXICAL_BLOCK:
            left, right = np.triu_indices(len(members), k=1)
            m = np.array(members, dtype=np.int64)
            keep(m[left], m[right], f"subject:{key}")


def subject_block_keys(f: ClaimFeatures) -> frozenset[str]:
    """The keys of a claim that states a role or where a site is (test (c)); none for others."""
    if f.roles or ("site" in f.predicates and f.place_name):
        return f.subject_parts or (frozenset({f.subject}) if f.subject else frozenset())
    return frozenset()


def _by_meaning(
    features: Sequence[ClaimFeatures], keep: _Keep, size: BlockSize, vectors: npt.NDArray[np.float32] | None
) -> None:
    """(e) claims of one block whose sentence embeddings are close (multilingual: a French and an
    English claim of the same fact). Embeddings only propose pairs; the rules and the model decide."""
    if vectors is None:
        return
    blocks: dict[str, list[int]] = defaultdict(list)
    for i, f in enumerate(features):
        for key in block_keys(f):
            blocks[key].append(i)
    for key, members in blocks.items():
        if len(members) < 2 or size("block", key, len(members)) > MAX_LEXICAL_BLOCK:
            continue
        m = np.array(members, dtype=np.int64)
        close = semantic_close(vectors[m], vectors[m])
        left, right = np.nonzero(np.triu(close, k=1))
        keep(m[left], m[right], f"meaning:{key}")


def semantic_close(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> npt.NDArray[np.bool_]:
    """Which rows of ``a`` and ``b`` (unit vectors) are close enough to be candidates."""
    close: npt.NDArray[np.bool_] = (a @ b.T) >= SEMANTIC_THRESHOLD
    return close


def _by_wording(features: Sequence[ClaimFeatures], folded: list[str], keep: _Keep, size: BlockSize) -> None:
    """(d) similar wording within a subject or entity block."""
    blocks: dict[str, list[int]] = defaultdict(list)
    for i, f in enumerate(features):
        for key in f.entities:
            blocks[key].append(i)
    for key, members in blocks.items():
        if len(members) < 2 or size("entity", key, len(members)) > MAX_LEXICAL_BLOCK:
            continue
        texts = [folded[i] for i in members]
        scores = process.cdist(
            texts, texts, scorer=fuzz.token_set_ratio, score_cutoff=LEXICAL_THRESHOLD, dtype=np.float64, workers=-1
        )
        left, right = np.nonzero(np.triu(scores >= LEXICAL_THRESHOLD, k=1))
        m = np.array(members, dtype=np.int64)
        keep(m[left], m[right], f"wording:{key}")


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
