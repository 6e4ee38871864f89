"""Throughput of the embedded model: generated tokens per second and seconds per seed article,
with one and with two parallel server slots (each configuration in its own process).

    python benchmarks/embedded.py [--articles 002_07311eeb4e11dce0 003_5f810845ea3596d9]

Prints a table and writes benchmarks/results/embedded.json. Takes several minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_one(parallel: int, article_ids: list[str]) -> dict[str, object]:
    from recoupe import Settings, load_articles
    from recoupe.extraction import extract_articles
    from recoupe.llm import LLM

    articles = [a for a in load_articles(ROOT / "seeds") if a.id in article_ids]
    llm = LLM(Settings(concurrency=parallel, use_cache=False))
    _ = llm.base_url  # start the server before timing
    started = time.monotonic()
    result = extract_articles(articles, llm, chunk_chars=llm.target_chars)
    wall = time.monotonic() - started
    usage = result.usage
    return {
        "parallel_slots": parallel,
        "articles": len(articles),
        "article_ids": [a.id for a in articles],
        "failed": len(result.failures),
        "wall_s": round(wall, 1),
        "s_per_article": round(wall / max(1, len(articles)), 1),
        "calls": usage.calls,
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "generated_tokens_per_s": round(usage.completion_tokens / wall, 1),
        "all_tokens_per_s": round((usage.prompt_tokens + usage.completion_tokens) / wall, 1),
        "claims": sum(len(a.claims) for a in result.articles),
        "s_per_call": round(wall / max(1, usage.calls), 1),
    }


def _model_name() -> str:
    from recoupe import Settings

    return Settings().model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", nargs="+", default=["002_07311eeb4e11dce0", "003_5f810845ea3596d9"])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "embedded.json"))
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.articles)))
        return
    rows = []
    for parallel in (1, 2):
        out = subprocess.run(
            [sys.executable, __file__, "--one", str(parallel), "--articles", *args.articles],
            capture_output=True,
            text=True,
            check=True,
        )
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    meta = {"cpu_count": os.cpu_count(), "python": platform.python_version(), "model": _model_name()}
    Path(args.out).write_text(json.dumps({"meta": meta, "runs": rows}, indent=2) + "\n")
    print(f"{'slots':>5} {'wall s':>8} {'s/article':>10} {'gen tok/s':>10} {'all tok/s':>10} {'calls':>6}")
    for r in rows:
        print(
            f"{r['parallel_slots']:>5} {r['wall_s']:>8} {r['s_per_article']:>10} {r['generated_tokens_per_s']:>10} "
            f"{r['all_tokens_per_s']:>10} {r['calls']:>6}"
        )


if __name__ == "__main__":
    main()
