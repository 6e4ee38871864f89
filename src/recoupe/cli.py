"""Command line: ``recoupe extract``, ``recoupe check``, ``recoupe eval``, ``recoupe cache``.

Library errors become one clean line on stderr here, at the edge; no traceback reaches a user.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from .errors import ArticleError, RecoupeError
from .models import Extraction, Report
from .settings import Settings

__all__ = ["main"]


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        model=getattr(args, "model", None),
        base_url=getattr(args, "base_url", None),
        cache_dir=Path(args.cache_dir) if getattr(args, "cache_dir", None) else None,
        concurrency=getattr(args, "concurrency", None),
        use_cache=False if getattr(args, "no_cache", False) else None,
        timeout=getattr(args, "timeout", None),
        max_retries=getattr(args, "max_retries", None),
        chunk_chars=getattr(args, "chunk_chars", None),
        requests_per_minute=getattr(args, "rpm", None),
    )


def _add_model_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="model name (env RECOUPE_MODEL; default: the embedded model)")
    p.add_argument("--base-url", help="OpenAI-compatible endpoint (env OPENAI_BASE_URL; default: embedded server)")
    p.add_argument("--cache-dir", help="response cache folder (env RECOUPE_CACHE_DIR)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the response cache")
    p.add_argument("--concurrency", type=int, help="requests in flight (env RECOUPE_CONCURRENCY)")
    p.add_argument("--timeout", type=float, help="seconds to wait for one model answer (default 300)")
    p.add_argument("--max-retries", type=int, help="transport retries per call (default 4)")
    p.add_argument("--rpm", type=float, help="send at most this many requests per minute (env RECOUPE_RPM)")
    p.add_argument("--chunk-chars", type=int,
                   help="characters of text per extraction request (env RECOUPE_CHUNK_CHARS; "
                        "default 350 on the embedded model, 1000 on an endpoint)")


class _Progress:
    """A progress bar on stderr, and one line for each article that fails."""

    def __init__(self, total: int, quiet: bool) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, unit="article", file=sys.stderr, disable=quiet or total == 0, leave=False)

    def __call__(self, item: Any, outcome: Any) -> None:
        if isinstance(outcome, RecoupeError):
            name = item.source if isinstance(item, ArticleError) else (item.source or item.id)
            reason = outcome.reason if isinstance(outcome, ArticleError) else str(outcome)
            self.bar.write(f"FAILED {name}: {reason}", file=sys.stderr)
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


def _write(text: str, out: str | None) -> None:
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text + "\n")


def _summary(result: Extraction | Report, seconds: float) -> str:
    claims = result.claims()
    kinds = Counter(c.alignment.value for c in claims)
    dropped = sum(a.ungrounded for a in result.articles)
    usage = result.usage
    line = (
        f"{len(result.articles)} article(s), {len(claims)} grounded claims "
        f"(exact {kinds.get('exact', 0)}, normalized {kinds.get('normalized', 0)}, fuzzy {kinds.get('fuzzy', 0)}; "
        f"{dropped} ungrounded dropped), {len(result.failures)} failed, in {seconds:.1f} s; "
        f"{usage.summary()}"
    )
    if usage.calls == 0 and usage.cache_hits:
        line += " - everything came from the cache, no model call was made"
    return line


def cmd_extract(args: argparse.Namespace) -> int:
    from .api import extract
    from .articles import iter_articles

    settings = _settings(args)
    items = list(iter_articles(args.paths))  # read once; the bar counts articles, not files
    progress = _Progress(len(items), args.quiet)
    started = time.monotonic()
    try:
        result = extract(items, settings, on_done=progress)
    finally:
        progress.close()
    _write(result.model_dump_json(indent=2), args.out)
    print(_summary(result, time.monotonic() - started), file=sys.stderr)
    return 1 if result.failures else 0


def cmd_check(args: argparse.Namespace) -> int:
    from .api import check
    from .articles import iter_articles
    from .report import facts_line, pairs_line, to_html, to_json, to_markdown

    settings = _settings(args)
    items = list(iter_articles(args.paths))
    progress = _Progress(len(items), args.quiet)
    started = time.monotonic()
    try:
        report = check(items, settings, adjudicate=not args.no_adjudicate,
                       model_contradictions=args.model_contradictions, on_done=progress)
    finally:
        progress.close()
    if args.json:
        _write(to_json(report), args.json)
    if args.markdown:
        _write(to_markdown(report), args.markdown)
    if args.html:
        _write(to_html(report), args.html)
    if not (args.json or args.markdown or args.html):
        _write(to_markdown(report), None)
    print(_summary(report, time.monotonic() - started), file=sys.stderr)
    print(f"{facts_line(report)}; {pairs_line(report)}", file=sys.stderr)
    return 1 if report.failures else 0


def cmd_eval(args: argparse.Namespace) -> int:
    from .evaluation.harness import run_eval_cli

    return run_eval_cli(args)


def cmd_cache(args: argparse.Namespace) -> int:
    from .llm.cache import ResponseCache

    settings = _settings(args)
    directory = settings.resolved_cache_dir
    cache = ResponseCache(directory)
    try:
        if args.action == "info":
            print(f"{directory}: {len(cache)} cached answers, {cache.volume() / 1e6:.1f} MB")
        else:
            removed = cache.clear()
            print(f"{directory}: removed {removed} cached answers")
    finally:
        cache.close()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="recoupe", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log retries and warnings")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("extract", help="extract grounded claims from articles (JSON)")
    p.add_argument("paths", nargs="+", help="article files or folders (.txt .md .json .jsonl)")
    p.add_argument("--out", help="write the JSON here instead of stdout")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _add_model_options(p)
    p.set_defaults(func=cmd_extract)

    p = sub.add_parser("check", help="extract and cross-check claims into facts with verdicts")
    p.add_argument("paths", nargs="+", help="article files or folders")
    p.add_argument("--json", help="write the full report as JSON")
    p.add_argument("--markdown", help="write a Markdown summary")
    p.add_argument("--html", help="write a self-contained HTML viewer")
    p.add_argument("--no-adjudicate", action="store_true", help="rules only: send no pair to the model")
    p.add_argument("--model-contradictions", action="store_true",
                   help="accept the model's word for a conflict (use with a strong model)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _add_model_options(p)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("eval", help="score extraction and cross-checking against the gold annotations")
    p.add_argument("--backend", default="embedded", help="cassette folder under eval/cassettes/ (default: embedded)")
    p.add_argument("--record", action="store_true", help="record the missing answers against the configured endpoint")
    p.add_argument("--refresh", action="store_true", help="record every answer afresh")
    p.add_argument("--eval-dir", default="eval", help="folder holding gold/, cassettes/ and results/")
    p.add_argument("--seeds", default="seeds", help="folder of the seed articles")
    p.add_argument("--no-save", action="store_true", help="do not write a result file")
    _add_model_options(p)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("cache", help="inspect or clear the response cache")
    p.add_argument("action", choices=["info", "clear"])
    p.add_argument("--cache-dir", help="response cache folder (env RECOUPE_CACHE_DIR)")
    p.set_defaults(func=cmd_cache)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.ERROR,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return int(args.func(args))
    except RecoupeError as exc:
        print(f"recoupe: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("recoupe: interrupted; finished model answers are cached and will not be asked again", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
