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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..articles import load_articles
from ..errors import ConfigError, RecordingMissingError, RecoupeError
from ..extraction import EXTRACT_PROMPT, extract_one
from ..llm import LLM
from ..llm.prompts import load_prompt
from ..models import ArticleClaims, Extraction, Fact, PairingStats, PairJudgement, Report, Usage
from ..settings import Settings
from .baseline import baseline_claims
from .gold import GoldSet, gold_hash, load_gold
from .matching import Match, match_claims, oracle_matches
from .metrics import score_crosscheck, score_extraction
from .recording import cassette
from .scoring import score_extraction_strict, score_facts
from .tables import format_overall, format_table, v2_lines

__all__ = [
    "Dataset",
    "datasets",
    "format_overall",
    "format_table",
    "run_dataset",
    "run_eval",
    "run_eval_cli",
    "score_predictions",
]


def _git_revision(root: Path) -> str | None:
    """The checkout's revision, ``-dirty`` when it has uncommitted changes (a result file written
    before its commit says so, instead of naming the previous commit as its own)."""
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=40"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def _code_hash() -> str:
    """sha256 of the package's source files: which code produced a result, committed or not."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parents[1]
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


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
            stage=exc.stage,
            article_id=exc.article_id,
            chunk_index=exc.chunk_index,
        ) from None


def _matches(predicted: list[ArticleClaims], gold: GoldSet) -> dict[str, list[Match]]:
    """Each article's matches, for :func:`score_extraction`; :func:`_pooled` for the cross-check."""
    gold_claims = gold.to_claims()
    return {ac.article.id: match_claims(ac.claims, gold_claims.get(ac.article.id, [])) for ac in predicted}


def _pooled(matches: dict[str, list[Match]]) -> list[Match]:
    return [m for ms in matches.values() for m in ms]


def _v2(predicted: list[ArticleClaims], facts: list[Fact] | None, gold: GoldSet) -> dict[str, Any]:
    """Eval v2's strict extraction scores and, given the facts, its fact-level scores."""
    strict, matches = score_extraction_strict(predicted, gold)
    out: dict[str, Any] = {"extraction_v2": strict.model_dump(mode="json")}
    if facts is not None:
        out["facts_v2"] = score_facts(facts, gold, _pooled(matches)).model_dump(mode="json")
    return out


def _verify(claims: list[ArticleClaims], llm: LLM | None) -> tuple[list[Fact], list[PairJudgement], PairingStats]:
    from ..crosscheck import crosscheck

    report = crosscheck(Extraction(articles=claims), llm, adjudicate=llm is not None)
    return report.facts, report.judgements, report.pairing


@dataclass(frozen=True)
class Dataset:
    """An annotated set: its articles, its gold (``claims/``, ``facts.json``) and the folder whose
    ``<backend>/`` subfolders hold its recordings."""

    name: str
    articles: Path
    gold: Path
    recordings: Path

    def cassettes(self, backend: str) -> Path:
        """The recordings of ``backend`` for this set."""
        return self.recordings / backend


def datasets(eval_dir: Path, seeds: Path) -> list[Dataset]:
    """The seeds (``eval/gold``, ``eval/cassettes``) and every set under ``eval/sets/<name>/``
    (``articles/``, ``gold/``, ``cassettes/``), in that order."""
    found = [Dataset("seeds", seeds, eval_dir / "gold", eval_dir / "cassettes")]
    sets = eval_dir / "sets"
    for folder in sorted(p for p in sets.iterdir() if p.is_dir()) if sets.is_dir() else []:
        if (folder / "gold").is_dir() and (folder / "articles").is_dir():
            found.append(Dataset(folder.name, folder / "articles", folder / "gold", folder / "cassettes"))
    return found


def run_eval(
    eval_dir: Path,
    seeds: Path,
    settings: Settings,
    *,
    backend: str = "embedded",
    record: bool | str = False,
) -> dict[str, Any]:
    """:func:`run_dataset` on the seeds: ``eval_dir/gold`` against ``seeds``."""
    return run_dataset(datasets(eval_dir, seeds)[0], settings, backend=backend, record=record)


def run_dataset(
    dataset: Dataset,
    settings: Settings,
    *,
    backend: str = "embedded",
    record: bool | str = False,
) -> dict[str, Any]:
    """Run every system on ``dataset`` and return the result document (what ``eval/results/``
    holds).

    ``record=False`` replays the recordings; ``True`` records the missing ones against the
    configured endpoint; ``"refresh"`` records them all afresh.
    """
    gold = load_gold(dataset.gold, dataset.articles)
    articles = [a for a in load_articles(dataset.articles) if a.id in gold.articles]
    cassettes = dataset.cassettes(backend)
    llm = LLM(settings.replace(use_cache=False), replay_only=not record)
    systems: dict[str, Any] = {}
    try:
        # recoupe: extraction then cross-check, every model answer from the recordings
        started = time.monotonic()
        extracted: list[ArticleClaims] = []
        for article in articles:
            extracted.append(
                _replayed(
                    cassettes / "extract" / f"{article.id}.yaml",
                    record,
                    lambda a=article: extract_one(llm, a, chunk_chars=llm.target_chars),
                )
            )
        extract_usage = llm.usage.model_copy(deep=True)
        matches = _matches(extracted, gold)
        facts, _, pairing = _replayed(cassettes / "verify.yaml", record, lambda: _verify(extracted, llm))
        systems["recoupe"] = {
            "extraction": score_extraction(extracted, gold, matches).model_dump(mode="json"),
            "crosscheck": score_crosscheck(facts, gold, _pooled(matches)).model_dump(mode="json"),
            **_v2(extracted, facts, gold),
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
            **_v2(model_only, None, gold),
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
            "facts_v2": score_facts(facts, gold, oracle_matches(all_gold)).model_dump(mode="json"),
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
            **_v2(base, facts, gold),
            "pairing": pairing.model_dump(mode="json"),
            "usage": _usage(Usage()),
        }
        langextract = _langextract(articles, gold, cassettes / "langextract", settings, record)
        if langextract is not None:
            systems["langextract"] = langextract
        # LangExtract at recoupe's own target size, where it was recorded (never recorded by default)
        size = settings.target_chars
        at_size = _langextract(articles, gold, cassettes / f"langextract-{size}", settings, False, size)
        if at_size is not None:
            systems[f"langextract-{size}"] = at_size
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
        "set": dataset.name,
        "backend": backend,
        "recording_seconds": recording_seconds or None,
        "model": settings.model,
        "prompts": prompts,
        "gold_hash": gold_hash(dataset.gold),
        "dataset_hash": _dataset_hash(dataset.articles),
        "git_revision": _git_revision(dataset.gold.resolve().parent),
        "code_hash": _code_hash(),
        "settings": {
            "temperature": settings.temperature,
            "seed": settings.seed,
            "max_tokens": settings.max_tokens,
            "chunk_chars": settings.target_chars,
        },
        "systems": systems,
    }


def _langextract(
    articles: list[Any], gold: GoldSet, folder: Path, settings: Settings, record: bool | str, max_char_buffer: int = 0
) -> dict[str, Any] | None:
    try:
        from .langextract_baseline import run_langextract
    except ImportError:
        return None
    if not record and not folder.exists():
        return None
    if max_char_buffer:
        return run_langextract(articles, gold, folder, settings, bool(record), max_char_buffer)
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


def _selected(args: argparse.Namespace) -> list[Dataset]:
    eval_dir = Path(args.eval_dir)
    if getattr(args, "gold", None):
        if not getattr(args, "articles", None):
            raise ConfigError("--gold needs --articles, the folder of that set's articles")
        gold = Path(args.gold)
        return [Dataset(gold.parent.name or "custom", Path(args.articles), gold, gold.parent / "cassettes")]
    found = datasets(eval_dir, Path(args.seeds))
    wanted = getattr(args, "sets", None)
    if wanted:
        unknown = sorted(set(wanted) - {d.name for d in found})
        if unknown:
            have = ", ".join(d.name for d in found)
            raise ConfigError(f"--set: no annotated set named {', '.join(unknown)} (have: {have})")
        found = [d for d in found if d.name in wanted]
    return found


def score_predictions(path: Path, dataset: Dataset) -> dict[str, Any]:
    """Scores of a saved ``recoupe extract`` (Extraction) or ``recoupe check`` (Report) JSON file."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read predictions ({exc})") from None
    try:
        predicted: Extraction | Report = (
            Report.model_validate(raw) if isinstance(raw, dict) and "facts" in raw else Extraction.model_validate(raw)
        )
    except (ValueError, TypeError) as exc:
        first = str(exc).splitlines()[0]
        raise ConfigError(f"{path}: not the JSON of `recoupe extract` or `recoupe check` ({first})") from None
    gold = load_gold(dataset.gold, dataset.articles)
    facts = predicted.facts if isinstance(predicted, Report) else None
    return {"set": dataset.name, "predictions": str(path), **_v2(predicted.articles, facts, gold)}


def run_eval_cli(args: argparse.Namespace) -> int:
    """``recoupe eval``: every annotated set (or the ones asked for), one table each and one overall;
    with ``--predictions``, the scores of a saved output instead."""
    eval_dir = Path(args.eval_dir)
    selected = _selected(args)
    if getattr(args, "predictions", None):
        scores = score_predictions(Path(args.predictions), selected[0])
        print(
            "\n".join(
                [f"set {scores['set']}  predictions {scores['predictions']}", "", *v2_lines({"predictions": scores})]
            )
        )
        return 0
    record: bool | str = "refresh" if args.refresh else bool(args.record)
    started = time.monotonic()
    results = []
    for dataset in selected:
        if not record and not dataset.cassettes(args.backend).is_dir():
            print(
                f"recoupe: set {dataset.name}: no recordings for backend {args.backend}; skipped "
                f"(record them with `recoupe eval --record --set {dataset.name}`)",
                file=sys.stderr,
            )
            continue
        recorded = _recorded_backend(dataset.cassettes(args.backend))
        settings = (
            Settings.from_env(model=args.model, base_url=args.base_url)
            if record
            else Settings(
                model=args.model or recorded["model"], base_url=args.base_url, chunk_chars=recorded.get("chunk_chars")
            )
        )
        result = run_dataset(dataset, settings, backend=args.backend, record=record)
        if record:
            meta = dataset.cassettes(args.backend) / "backend.json"
            meta.parent.mkdir(parents=True, exist_ok=True)
            backend = {"model": settings.model, "chunk_chars": settings.target_chars}
            meta.write_text(json.dumps(backend, indent=2) + "\n", encoding="utf-8")
        print(format_table(result) + "\n")
        results.append(result)
        if not args.no_save:
            _save(eval_dir, dataset, args.backend, result, record)
    if len(results) > 1:
        print(format_overall(results))
    print(f"\n{'recorded' if record else 'replayed'} in {time.monotonic() - started:.1f} s", file=sys.stderr)
    return 0


def _save(eval_dir: Path, dataset: Dataset, backend: str, result: dict[str, Any], record: bool | str) -> None:
    name = backend if dataset.name == "seeds" else f"{backend}-{dataset.name}"
    out = eval_dir / "results" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    if not record and out.is_file():
        # a replay has no wall times of its own; keep the ones measured when recording
        result["recording_seconds"] = json.loads(out.read_text(encoding="utf-8")).get("recording_seconds")
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
    print(f"result written to {out}", file=sys.stderr)


def _recorded_backend(cassettes: Path) -> dict[str, Any]:
    """What a backend's recordings were made with (kept beside them): the model and the extraction
    target size, which shapes every request. Without that file, the embedded model's."""
    meta = cassettes / "backend.json"
    if meta.is_file():
        return dict(json.loads(meta.read_text()))
    return {"model": Settings().model, "chunk_chars": Settings().target_chars}
