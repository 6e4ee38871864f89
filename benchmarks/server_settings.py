"""The embedded server's thread count and attention kernel, measured on this machine: prompt and
generation tokens per second on recoupe's own extraction requests, each setting in a fresh
process with its own server.

    python benchmarks/server_settings.py --out benchmarks/results/server_settings.json

Every setting answers the same requests (the first chunks of one seed article, prompts evaluated
whole, no response cache), so their speeds compare. Each setting's answers are also compared
with those of the default setting: flash attention changes the arithmetic, so it is chosen before
any recording is made and kept.
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

SETTINGS: dict[str, dict[str, Any]] = {
    "1 thread, flash attention": {"threads": 1, "flash_attention": True},
    "2 threads, no flash attention": {"threads": 2, "flash_attention": False},
    "2 threads, flash attention (default)": {"threads": 2, "flash_attention": True},
}


def run_one(name: str, article_id: str, chunks: int) -> dict[str, Any]:
    import httpx

    from recoupe import Settings, load_articles
    from recoupe.chunking import make_chunks, split_sentences
    from recoupe.extraction.driver import _chunk_variables
    from recoupe.extraction.schema import EXTRACT_PROMPT, ClaimDrafts
    from recoupe.llm.client import _json_schema_request
    from recoupe.llm.embedded import EmbeddedServer
    from recoupe.llm.prompts import load_prompt

    server = EmbeddedServer(**SETTINGS[name])
    try:
        article = next(a for a in load_articles(ROOT / "seeds") if a.id == article_id)
        settings = Settings(reuse_prefix=False)
        prompt = load_prompt(EXTRACT_PROMPT)
        _, response_format = _json_schema_request(ClaimDrafts)
        totals = {"prompt_tokens": 0, "prompt_s": 0.0, "completion_tokens": 0, "completion_s": 0.0}
        answers = []
        started = time.monotonic()
        sentences = split_sentences(article.text, article.lang)
        for chunk in make_chunks(article, sentences, max_chars=settings.target_chars)[:chunks]:
            body = {
                "model": settings.model,
                "messages": prompt.render(**_chunk_variables(article, chunk)),
                "temperature": 0.0,
                "seed": settings.seed,
                "max_tokens": settings.max_tokens,
                "response_format": response_format,
                **(settings.request_extra_body() or {}),
            }
            answer = httpx.post(server.base_url + "/chat/completions", json=body, timeout=600).json()
            timings = answer["timings"]
            totals["prompt_tokens"] += timings["prompt_n"]
            totals["prompt_s"] += timings["prompt_ms"] / 1000
            totals["completion_tokens"] += timings["predicted_n"]
            totals["completion_s"] += timings["predicted_ms"] / 1000
            answers.append(answer["choices"][0]["message"]["content"])
        wall = time.monotonic() - started
    finally:
        server.stop()
    return {
        "setting": name,
        **SETTINGS[name],
        "requests": len(answers),
        "wall_s": round(wall, 1),
        "prompt_tokens_per_s": round(totals["prompt_tokens"] / totals["prompt_s"], 1),
        "generated_tokens_per_s": round(totals["completion_tokens"] / totals["completion_s"], 1),
        **{k: round(v, 1) if isinstance(v, float) else v for k, v in totals.items()},
        "answers": answers,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--article", default="001_5dc92b07ccc625f8")
    parser.add_argument("--chunks", type=int, default=4)
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--out", help="write the result JSON here")
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.article, args.chunks)))
        return 0
    runs = []
    for name in SETTINGS:
        done = subprocess.run(
            [sys.executable, __file__, "--one", name, "--article", args.article, "--chunks", str(args.chunks)],
            check=True,
            capture_output=True,
            text=True,
        )
        run = json.loads(done.stdout.strip().splitlines()[-1])
        runs.append(run)
        print(json.dumps({k: v for k, v in run.items() if k != "answers"}), flush=True)
    default = runs[-1]["answers"]
    for run in runs:
        run["same_answers_as_default"] = run.pop("answers") == default
    result = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "processor": platform.processor()},
        "article": args.article,
        "runs": runs,
    }
    print(json.dumps(result, indent=2))
    save_result(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
