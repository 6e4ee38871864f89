"""recoupe against LangExtract on the five seeds, in one run, on the same embedded server, with no
response cache: wall time, calls, prompt and completion tokens and strict extraction F1 (eval v2)
of each; then recoupe once more, to show that two fresh runs give identical claims; then
``recoupe check seeds/`` as a user runs it, timed from the command to its exit.

    python benchmarks/versus_langextract.py --out benchmarks/results/versus_langextract.json

Takes about 20 minutes on 2 cores. Needs the ``local`` and ``eval`` extras and the
``langextract`` package.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))
from output import save_result  # noqa: E402


def _strict(predicted: list[Any]) -> dict[str, Any]:
    from recoupe.evaluation.gold import load_gold
    from recoupe.evaluation.scoring import score_extraction_strict

    gold = load_gold(ROOT / "eval" / "gold", ROOT / "seeds")
    strict, _ = score_extraction_strict(predicted, gold)
    return {**strict.micro.model_dump(mode="json"), "predicted": strict.predicted, "ungrounded": strict.ungrounded}


def run_recoupe(label: str) -> tuple[dict[str, Any], dict[str, Any]]:
    from recoupe import Settings, load_articles
    from recoupe.extraction import extract_articles
    from recoupe.llm import LLM
    from recoupe.llm.embedded import embedded_server

    articles = load_articles(ROOT / "seeds")
    llm = LLM(Settings(use_cache=False))
    _ = llm.base_url  # the server is up before the clock starts (it is shared by every run)
    slot = embedded_server().prefix_slot
    reused_before = slot.reused_tokens
    started = time.monotonic()
    result = extract_articles(articles, llm, chunk_chars=llm.target_chars)
    wall = time.monotonic() - started
    llm.close()
    claims = {ac.article.id: ac.model_dump(mode="json", exclude={"article"}) for ac in result.articles}
    return {
        "system": "recoupe",
        "run": label,
        "wall_s": round(wall, 1),
        "calls": result.usage.calls,
        "prompt_tokens": result.usage.prompt_tokens,
        "prompt_tokens_not_evaluated": slot.reused_tokens - reused_before,
        "completion_tokens": result.usage.completion_tokens,
        "failed": len(result.failures),
        "claims": sum(len(ac.claims) for ac in result.articles),
        "strict": _strict(result.articles),
    }, claims


def run_langextract() -> dict[str, Any]:
    from recoupe import Settings, load_articles
    from recoupe.evaluation.gold import load_gold
    from recoupe.evaluation.langextract_baseline import run_langextract as run

    articles = load_articles(ROOT / "seeds")
    gold = load_gold(ROOT / "eval" / "gold", ROOT / "seeds")
    with tempfile.TemporaryDirectory() as folder:  # a fresh recording: every request is sent
        started = time.monotonic()
        result = run(articles, gold, Path(folder), Settings(use_cache=False), True)
        wall = time.monotonic() - started
    usage = result["usage"]
    micro = result["extraction_v2"]["micro"]
    return {
        "system": "langextract",
        "version": result["langextract"]["version"],
        "max_char_buffer": result["langextract"]["params"]["max_char_buffer"],
        "wall_s": round(wall, 1),
        "calls": usage["calls"],
        "prompt_tokens": usage["prompt_tokens"],
        "completion_tokens": usage["completion_tokens"],
        "failed": len(result["failures"]),
        "claims": sum(a["claims"] for a in result["articles"]),
        "strict": {
            **micro,
            "predicted": result["extraction_v2"]["predicted"],
            "ungrounded": result["extraction_v2"]["ungrounded"],
        },
    }


def run_check() -> dict[str, Any]:
    """``recoupe check seeds/`` in a process of its own: model load, extraction, cross-check, the
    report; no response cache."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "report.json"
        started = time.monotonic()
        done = subprocess.run(
            [
                str(Path(sys.executable).parent / "recoupe"),
                "check",
                str(ROOT / "seeds"),
                "--no-cache",
                "--json",
                str(out),
            ],
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        wall = time.monotonic() - started
        report = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    stages = (report.get("usage") or {}).get("stages") or {}
    return {
        "system": "recoupe check",
        "exit_code": done.returncode,
        "stderr_tail": done.stderr.strip().splitlines()[-3:],
        "wall_s": round(wall, 1),
        **{
            name: sum(int(stage.get(name) or 0) for stage in stages.values())
            for name in ("calls", "prompt_tokens", "completion_tokens")
        },
        "stages": {
            k: {n: v.get(n) for n in ("calls", "prompt_tokens", "completion_tokens")} for k, v in stages.items()
        },
        "facts": len(report.get("facts") or []),
        "verdicts": dict(sorted(Counter(f["verdict"] for f in report.get("facts") or []).items())),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", help="write the result JSON here")
    parser.add_argument("--no-check", action="store_true", help="leave out the `recoupe check` run")
    parser.add_argument("--check-only", action="store_true", help="only the `recoupe check` run, added to --out")
    args = parser.parse_args()
    if args.check_only:
        check = run_check()
        print(json.dumps(check), flush=True)
        if args.out:
            result = json.loads(Path(args.out).read_text(encoding="utf-8"))
            result["check"] = check
            save_result(result, args.out)
        return 0
    runs: list[dict[str, Any]] = []
    first, first_claims = run_recoupe("first")
    runs.append(first)
    print(json.dumps(first), flush=True)
    lx = run_langextract()
    runs.append(lx)
    print(json.dumps(lx), flush=True)
    second, second_claims = run_recoupe("second")
    runs.append(second)
    print(json.dumps(second), flush=True)
    result: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "runs": runs,
        "recoupe_runs_identical": first_claims == second_claims,
        "wall_ratio_recoupe_to_langextract": round(first["wall_s"] / lx["wall_s"], 3),
    }
    if not args.no_check:
        from recoupe.llm import embedded

        embedded._stop()  # the check starts a server of its own, as a user's would
        result["check"] = run_check()
        print(json.dumps(result["check"]), flush=True)
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=2))
    save_result(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
