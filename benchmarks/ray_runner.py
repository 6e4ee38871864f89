"""The Ray runner against one process: the same synthetic corpus and stub model, extraction and
cross-check, wall time, model calls, what Ray adds per article, and whether the facts are equal.

    python benchmarks/ray_runner.py --articles 10000 --workers 2 \\
        --out benchmarks/results/ray_runner.json

The model is the in-process rule-based stub of ``archive_growth.py`` (every sentence of a chunk
becomes a claim; adjudication answers from a hash of the pair), so what is timed is recoupe and
Ray, not a model. Ray runs as a local cluster of ``--workers`` CPUs on loopback, started here, or
the cluster at ``--address``. The projection to N nodes divides the measured cluster steps by N
and keeps the driver steps (reading results, copies, origins, facts) as measured: a projection
from one node's rate, not a measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from archive_growth import StubModel, corpus
from output import save_result
from recoupe.crosscheck import crosscheck
from recoupe.extraction import extract_articles


class CountingStub(StubModel):
    """The stub, counting its calls per stage in ``usage`` as a real client does."""

    def complete(self, *, stage: str, **kwargs: Any) -> Any:
        self.usage.stage(stage).calls += 1
        return super().complete(stage=stage, **kwargs)


def _dump(items: list[Any]) -> list[dict[str, Any]]:
    return [x.model_dump(mode="json") for x in items]


def run(n: int, workers: int, seed: int, address: str | None, nodes: list[int]) -> dict[str, Any]:
    if not address:
        os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # a one-machine cluster on loopback
    import ray

    import recoupe.distributed as distributed

    articles = corpus(n, seed)

    model = CountingStub()
    t = time.monotonic()
    extraction = extract_articles(articles, model, chunk_chars=model.target_chars)
    single_extract = time.monotonic() - t
    t = time.monotonic()
    single = crosscheck(extraction, model)
    single_check = time.monotonic() - t

    if address:
        ray.init(address=address, log_to_driver=False)
    else:
        here = str(Path(__file__).resolve().parent)
        ray.init(
            num_cpus=workers,
            include_dashboard=False,
            _node_ip_address="127.0.0.1",
            log_to_driver=False,
            runtime_env={"env_vars": {"PYTHONPATH": here}},
        )
    ray.data.DataContext.get_current().enable_progress_bars = False
    t = time.monotonic()
    ray_extraction = distributed.extract(articles, CountingStub, workers=workers, batch_size=25)
    ray_extract = time.monotonic() - t
    timings: dict[str, float] = {}
    t = time.monotonic()
    report = distributed.crosscheck(ray_extraction, CountingStub, workers=workers, timings=timings)
    ray_check = time.monotonic() - t
    ray.shutdown()

    single_wall = single_extract + single_check
    ray_wall = ray_extract + ray_check
    cluster = ray_extract + sum(v for k, v in timings.items() if k != "driver")
    driver = timings.get("driver", 0.0)
    claims = sum(len(ac.claims) for ac in extraction.articles)
    return {
        "articles": n,
        "claims": claims,
        "workers": workers,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "single_process": {
            "extract_seconds": round(single_extract, 2),
            "crosscheck_seconds": round(single_check, 2),
            "wall_seconds": round(single_wall, 2),
            "calls": model.usage.calls,
            "calls_by_stage": {k: v.calls for k, v in model.usage.stages.items()},
        },
        "ray": {
            "extract_seconds": round(ray_extract, 2),
            "crosscheck_seconds": round(ray_check, 2),
            "crosscheck_steps_seconds": timings,
            "wall_seconds": round(ray_wall, 2),
            "calls": report.usage.calls,
            "calls_by_stage": {k: v.calls for k, v in report.usage.stages.items()},
        },
        "same_facts": _dump(report.facts) == _dump(single.facts),
        "same_judgements": _dump(report.judgements) == _dump(single.judgements),
        "facts": len(report.facts),
        "candidate_pairs": report.pairing.candidate_pairs,
        "overhead_per_article_ms": {
            "wall": round(1000 * (ray_wall - single_wall) / n, 2),
            "cpu": round(1000 * (ray_wall * workers - single_wall) / n, 2),
            "note": "wall: Ray wall minus one-process wall, per article; cpu: Ray wall times its "
            "workers minus one-process wall, per article (the work Ray adds)",
        },
        "per_node_rate_articles_per_second": round(n / cluster, 2),
        "projection": {
            "note": "projected, not measured: cluster steps divided by N nodes of this machine's "
            f"{workers} workers, driver steps ({driver:.1f} s here) kept as measured",
            "wall_seconds_by_nodes": {str(k): round(cluster / k + driver, 1) for k in nodes},
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=10000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20250301)
    parser.add_argument("--address", help="an existing Ray cluster (default: a local one on loopback)")
    parser.add_argument("--nodes", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument("--out", help="write the result JSON here")
    args = parser.parse_args()
    result = run(args.articles, args.workers, args.seed, args.address, args.nodes)
    print(json.dumps(result, indent=2))
    save_result(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
