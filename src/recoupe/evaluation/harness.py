"""``recoupe eval``: score extraction and cross-checking against the gold, offline, from recordings.

Systems scored side by side by the same matching rule and metrics:

- ``recoupe``: the full pipeline on the backend's recorded answers;
- ``oracle``: the gold claims fed to the verifier, to score cross-checking alone;
- ``baseline``: one claim per sentence with a number or a named entity, no model at all;
- ``langextract``: LangExtract on the same model and endpoint, when its recordings exist and the
  ``langextract`` extra is installed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ..articles import load_articles
from ..errors import RecordingMissingError, RecoupeError
from ..extraction import EXTRACT_PROMPT, extract_one
from ..llm import LLM
from ..llm.prompts import load_prompt
from ..models import ArticleClaims, Extraction, Fact, PairingStats, PairJudgement, Usage
from ..settings import Settings
from .baseline import baseline_claims
from .gold import GoldSet, gold_hash, load_gold
from .matching import Match, match_claims, oracle_matches
from .metrics import score_crosscheck, score_extraction
from .recording import cassette

__all__ = ["format_table", "run_eval", "run_eval_cli"]


def _git_revision(root: Path) -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _dataset_hash(seeds: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(seeds.glob("*")):
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _replayed(path: Path, record: bool | str, fn: Any) -> Any:
    try:
        with cassette(path, record=bool(record), refresh=record == "refresh"):
            return fn()
    except RecordingMissingError as exc:
        raise RecordingMissingError(
            f"{path}: {exc.cause}" if path.exists() else f"{path}: no such recording; run `recoupe eval --record`",
            stage=exc.stage, article_id=exc.article_id, chunk_index=exc.chunk_index,
        ) from None


def _matches(predicted: list[ArticleClaims], gold: GoldSet) -> dict[str, list[Match]]:
    """Each article's matches, for :func:`score_extraction`; :func:`_pooled` for the cross-check."""
    gold_claims = gold.to_claims()
    return {ac.article.id: match_claims(ac.claims, gold_claims.get(ac.article.id, [])) for ac in predicted}


def _pooled(matches: dict[str, list[Match]]) -> list[Match]:
    return [m for ms in matches.values() for m in ms]


def _verify(claims: list[ArticleClaims], llm: LLM | None) -> tuple[list[Fact], list[PairJudgement], PairingStats]:
    from ..crosscheck import crosscheck

    report = crosscheck(Extraction(articles=claims), llm, adjudicate=llm is not None)
    return report.facts, report.judgements, report.pairing


def run_eval(
    eval_dir: Path,
    seeds: Path,
    settings: Settings,
    *,
    backend: str = "embedded",
    record: bool | str = False,
) -> dict[str, Any]:
    """Run every system and return the result document (also what ``eval/results/`` holds).

    ``record=False`` replays the recordings; ``True`` records the missing ones against the
    configured endpoint; ``"refresh"`` records them all afresh.
    """
    gold = load_gold(eval_dir / "gold", seeds)
    articles = [a for a in load_articles(seeds) if a.id in gold.articles]
    cassettes = eval_dir / "cassettes" / backend
    llm = LLM(settings.replace(use_cache=False), replay_only=not record)
    systems: dict[str, Any] = {}
    try:
        # recoupe: extraction then cross-check, every model answer from the recordings
        started = time.monotonic()
        extracted: list[ArticleClaims] = []
        for article in articles:
            extracted.append(
                _replayed(cassettes / "extract" / f"{article.id}.yaml", record, lambda a=article: extract_one(llm, a, chunk_chars=llm.target_chars))
            )
        extract_usage = llm.usage.model_copy(deep=True)
        matches = _matches(extracted, gold)
        facts, _, pairing = _replayed(cassettes / "verify.yaml", record, lambda: _verify(extracted, llm))
        systems["recoupe"] = {
            "extraction": score_extraction(extracted, gold, matches).model_dump(mode="json"),
            "crosscheck": score_crosscheck(facts, gold, _pooled(matches)).model_dump(mode="json"),
            "pairing": pairing.model_dump(mode="json"),
            "usage": _usage(llm.usage),
            "extract_usage": _usage(extract_usage),
            "seconds": round(time.monotonic() - started, 2) if record else None,
        }
        # what the model alone contributes: the same run without the code's gap-filling claims
        model_only = [
            ac.model_copy(update={"claims": [c for c in ac.claims if c.method == "model"]}) for ac in extracted
        ]
        systems["recoupe-model-only"] = {
            "extraction": score_extraction(model_only, gold, _matches(model_only, gold)).model_dump(mode="json"),
        }
        # oracle: the verifier alone, on the gold claims
        gold_claims = gold.to_claims()
        oracle_input = [ArticleClaims(article=a, claims=gold_claims.get(a.id, [])) for a in articles]
        oracle_llm = LLM(settings.replace(use_cache=False), replay_only=not record)
        try:
            facts, _judgements, pairing = _replayed(
                cassettes / "verify-oracle.yaml", record, lambda: _verify(oracle_input, oracle_llm)
            )
        finally:
            oracle_llm.close()
        all_gold = [c for cs in gold_claims.values() for c in cs]
        systems["oracle"] = {
            "crosscheck": score_crosscheck(facts, gold, oracle_matches(all_gold)).model_dump(mode="json"),
            "pairing": pairing.model_dump(mode="json"),
            "usage": _usage(oracle_llm.usage),
        }
        # no-LLM baseline: extraction, and cross-checking with the rules alone
        base = [baseline_claims(a) for a in articles]
        base_matches = _matches(base, gold)
        facts, _, pairing = _verify(base, None)
        systems["baseline"] = {
            "extraction": score_extraction(base, gold, base_matches).model_dump(mode="json"),
            "crosscheck": score_crosscheck(facts, gold, _pooled(base_matches)).model_dump(mode="json"),
            "pairing": pairing.model_dump(mode="json"),
            "usage": _usage(Usage()),
        }
        langextract = _langextract(articles, gold, cassettes / "langextract", settings, record)
        if langextract is not None:
            systems["langextract"] = langextract
    finally:
        llm.close()
    prompt = load_prompt(EXTRACT_PROMPT)
    prompts = {prompt.id: prompt.sha256}
    try:
        adjudicate = load_prompt("adjudicate_pair.v1")
        prompts[adjudicate.id] = adjudicate.sha256
    except RecoupeError:
        pass
    # Wall times exist only when recording; they stay out of the metrics so that a replay reproduces
    # the reference exactly.
    recording_seconds = {name: system.get("seconds") for name, system in systems.items() if system.get("seconds")}
    systems = _without_seconds(systems)
    return {
        "backend": backend,
        "recording_seconds": recording_seconds or None,
        "model": settings.model,
        "prompts": prompts,
        "gold_hash": gold_hash(eval_dir / "gold"),
        "dataset_hash": _dataset_hash(seeds),
        "git_revision": _git_revision(eval_dir.resolve().parent),
        "settings": {"temperature": settings.temperature, "seed": settings.seed, "max_tokens": settings.max_tokens,
                     "chunk_chars": settings.target_chars},
        "systems": systems,
    }


def _langextract(
    articles: list[Any], gold: GoldSet, folder: Path, settings: Settings, record: bool | str
) -> dict[str, Any] | None:
    try:
        from .langextract_baseline import run_langextract
    except ImportError:
        return None
    if not record and not folder.exists():
        return None
    return run_langextract(articles, gold, folder, settings, bool(record))


def _without_seconds(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_seconds(v) for k, v in value.items() if k != "seconds"}
    if isinstance(value, list):
        return [_without_seconds(v) for v in value]
    return value


def _usage(usage: Usage) -> dict[str, Any]:
    return {
        "calls": usage.calls,
        "cache_hits": usage.cache_hits,
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "stages": {k: v.model_dump(exclude={"seconds"}) for k, v in usage.stages.items()},
    }


def _f(x: Any) -> str:
    return "  -  " if x is None else f"{x:.3f}"


def format_table(result: dict[str, Any]) -> str:
    """A terminal table: P/R/F1 per seed and overall, grounding, cross-check scores, per system."""
    lines = [f"backend {result['backend']}  model {result['model']}  gold {result['gold_hash'][:12]}"]
    systems = result["systems"]
    extraction_systems = [s for s in ("recoupe", "recoupe-model-only", "baseline", "langextract") if s in systems]
    lines.append("")
    lines.append("Extraction (precision / recall / F1)")
    header = f"{'article':<24}" + "".join(f"{s[:22]:>24}" for s in extraction_systems)
    lines.append(header)
    first = systems[extraction_systems[0]]["extraction"]
    for art in first["articles"]:
        aid = art["article_id"]
        row = f"{aid:<24}"
        for s in extraction_systems:
            a = next(x for x in systems[s]["extraction"]["articles"] if x["article_id"] == aid)
            row += f"{_f(a['counts']['precision']):>8}{_f(a['counts']['recall']):>8}{_f(a['counts']['f1']):>8}"
        lines.append(row)
    for label, key in (("micro", "micro"), ("macro", "macro")):
        row = f"{'overall (' + label + ')':<24}"
        for s in extraction_systems:
            m = systems[s]["extraction"][key]
            row += f"{_f(m['precision']):>8}{_f(m['recall']):>8}{_f(m['f1']):>8}"
        lines.append(row)
    lines.append("")
    lines.append("Grounding (share of predicted claims: exact / normalized / fuzzy / none)")
    for s in extraction_systems:
        g = systems[s]["extraction"]["grounding"]
        sh = g["shares"]
        lines.append(
            f"  {s:<19} {g['total']:>4} claims  exact {_f(sh.get('exact'))}  normalized {_f(sh.get('normalized'))}  "
            f"fuzzy {_f(sh.get('fuzzy'))}  none {_f(sh.get('none'))}"
        )
    lines.append("")
    lines.append("Cross-check (relation macro-F1, contradiction P/R, B-cubed F1, verdict accuracy)")
    for s in ("recoupe", "oracle", "baseline", "langextract"):
        if s in systems and "crosscheck" in systems[s]:
            c = systems[s]["crosscheck"]
            lines.append(
                f"  {s:<12} relation {_f(c['relation_macro_f1'])}  contradiction P {_f(c['contradiction']['precision'])} "
                f"R {_f(c['contradiction']['recall'])}  B3 {_f(c['bcubed']['f1'])}  verdict {_f(c['verdict']['accuracy'])}"
            )
    lines.append("")
    for s in systems:
        u = systems[s].get("usage")
        p = systems[s].get("pairing")
        if u:
            extra = f"; pairs {p['candidate_pairs']}/{p['all_pairs']}, to model {p['sent_to_model']}" if p else ""
            lines.append(f"  {s:<12} model calls {u['calls']}, tokens {u['prompt_tokens']} + {u['completion_tokens']}{extra}")
    return "\n".join(lines)


def run_eval_cli(args: argparse.Namespace) -> int:
    eval_dir = Path(args.eval_dir)
    overrides = {"model": args.model, "base_url": args.base_url}
    record: bool | str = "refresh" if args.refresh else bool(args.record)
    recorded = _recorded_backend(eval_dir, args.backend)
    settings = Settings.from_env(**overrides) if record else Settings(
        model=args.model or recorded["model"], base_url=args.base_url, chunk_chars=recorded.get("chunk_chars")
    )
    started = time.monotonic()
    result = run_eval(eval_dir, Path(args.seeds), settings, backend=args.backend, record=record)
    if record:
        meta = eval_dir / "cassettes" / args.backend / "backend.json"
        backend = {"model": settings.model, "chunk_chars": settings.target_chars}
        meta.write_text(json.dumps(backend, indent=2) + "\n", encoding="utf-8")
    print(format_table(result))
    print(f"\n{'recorded' if args.record else 'replayed'} in {time.monotonic() - started:.1f} s", file=sys.stderr)
    if not args.no_save:
        out = eval_dir / "results" / f"{args.backend}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        if not record and out.is_file():
            # a replay has no wall times of its own; keep the ones measured when recording
            result["recording_seconds"] = json.loads(out.read_text(encoding="utf-8")).get("recording_seconds")
        out.write_text(json.dumps(result, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
        print(f"result written to {out}", file=sys.stderr)
    return 0


def _recorded_backend(eval_dir: Path, backend: str) -> dict[str, Any]:
    """What a backend's recordings were made with (kept beside them): the model and the extraction
    target size, which shapes every request. Without that file, the embedded model's."""
    meta = eval_dir / "cassettes" / backend / "backend.json"
    if meta.is_file():
        return dict(json.loads(meta.read_text()))
    return {"model": Settings().model, "chunk_chars": Settings().target_chars}
