"""The embedded server's prefix reuse (``Settings.reuse_prefix``): time saved, and whether answers
stay identical run after run and in any order.

    python benchmarks/prefix_reuse.py --out benchmarks/results/prefix_reuse.json

Three fresh processes, each with its own embedded server and no response cache, extract the
claims of the same articles (the five seeds by default): prompts evaluated whole (today's
default), prefix reuse in the given order, and prefix reuse in the reverse order. The two reuse
runs must give byte-identical claims for every article; the whole-prompt run shows how far the
answers move. On the seeds, each run's strict extraction F1 (eval v2) is reported too.
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
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
from output import save_result  # noqa: E402


def run_one(mode: str, article_ids: list[str]) -> dict[str, Any]:
    from recoupe import Settings, load_articles
    from recoupe.extraction import extract_articles
    from recoupe.llm import LLM
    from recoupe.llm.embedded import embedded_server

    by_id = {a.id: a for a in load_articles(ROOT / "seeds")}
    order = article_ids[::-1] if mode == "reuse-reversed" else article_ids
    articles = [by_id[i] for i in order]
    llm = LLM(Settings(use_cache=False, reuse_prefix=mode != "whole"))
    _ = llm.base_url  # the server starts before the clock
    started = time.monotonic()
    result = extract_articles(articles, llm, chunk_chars=llm.target_chars)
    wall = time.monotonic() - started
    slot = embedded_server().prefix_slot
    return {
        "mode": mode,
        "order": order,
        "wall_s": round(wall, 1),
        "calls": result.usage.calls,
        "prompt_tokens": result.usage.prompt_tokens,
        "prompt_tokens_not_evaluated": slot.reused_tokens,
        "completion_tokens": result.usage.completion_tokens,
        "failed": len(result.failures),
        "claims": {ac.article.id: ac.model_dump(mode="json", exclude={"article"}) for ac in result.articles},
    }


def _strict(claims: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    from recoupe import load_articles
    from recoupe.evaluation.gold import load_gold
    from recoupe.evaluation.scoring import score_extraction_strict
    from recoupe.models import ArticleClaims

    gold = load_gold(ROOT / "eval" / "gold", ROOT / "seeds")
    if set(claims) != set(gold.articles):
        return None
    articles = {a.id: a for a in load_articles(ROOT / "seeds")}
    predicted = [ArticleClaims.model_validate({**claims[i], "article": articles[i]}) for i in sorted(claims)]
    strict, _ = score_extraction_strict(predicted, gold)
    return {**strict.micro.model_dump(mode="json"), "predicted": strict.predicted, "ungrounded": strict.ungrounded}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", nargs="+", help="seed ids (default: all five)")
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    parser.add_argument("--out", help="write the result JSON here")
    args = parser.parse_args()
    ids = args.articles or sorted(p.stem for p in (ROOT / "seeds").glob("*.txt"))
    if args.mode:
        print(json.dumps(run_one(args.mode, ids)))
        return 0
    runs = []
    for mode in ("whole", "reuse", "reuse-reversed"):
        out = subprocess.run(
            [sys.executable, __file__, "--mode", mode, "--articles", *ids],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
        run = json.loads(out.stdout.strip().splitlines()[-1])
        run["strict"] = _strict(run["claims"])
        runs.append(run)
        print(json.dumps({k: v for k, v in run.items() if k != "claims"}), flush=True)
    whole, reuse, reverse = runs
    result = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "articles": ids,
        "runs": [{k: v for k, v in r.items() if k != "claims"} for r in runs],
        "reuse_runs_identical": reuse["claims"] == reverse["claims"],
        "articles_whose_claims_differ_from_whole_prompts": sorted(
            i for i in ids if reuse["claims"].get(i) != whole["claims"].get(i)
        ),
        "wall_ratio_reuse_to_whole": round(reuse["wall_s"] / whole["wall_s"], 3),
    }
    print(json.dumps(result, indent=2))
    save_result(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
