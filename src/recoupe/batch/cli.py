"""``recoupe batch prepare | submit | status | collect | import``: a check through a Batch API.

``add_batch_parser(subparsers)`` adds the ``batch`` command to the top-level parser; each
subcommand's handler takes the parsed arguments and returns the exit code. Library errors are
raised as :class:`~recoupe.errors.RecoupeError` and turned into one line by the top-level CLI.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from typing import Any

from ..errors import ConfigError
from ..files import check_writable
from ..settings import settings_from_args

__all__ = ["add_batch_parser", "cmd_collect", "cmd_import", "cmd_prepare", "cmd_status", "cmd_submit"]

_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

_ROUNDS = {"extract": "round 1, extraction", "adjudicate": "round 2, adjudication"}


def _say(text: str, stream: Any = None) -> None:
    """A line for the terminal, its control characters shown as codes rather than obeyed."""
    cleaned = _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    print(cleaned, file=stream or sys.stderr)


_settings = settings_from_args


def _size(n: int) -> str:
    return f"{n} bytes" if n < 10_000 else f"{n / 1000:.0f} kB" if n < 10_000_000 else f"{n / 1e6:.1f} MB"


def cmd_prepare(args: argparse.Namespace) -> int:
    from .capture import prepare

    settings = _settings(args)
    check_writable(args.out)
    started = time.monotonic()
    prepared = prepare(args.paths, settings, adjudicate=not args.no_adjudicate)
    size = prepared.write(args.out)
    for failure in prepared.failures:
        _say(f"FAILED {failure.source}: {failure.reason}")
    seconds = time.monotonic() - started
    if prepared.stage is None:
        _say(
            f"{prepared.articles} article(s): the cache answers every request, nothing to ask "
            f"({args.out} is empty); run `recoupe check` with the same settings"
        )
    else:
        answered = f" ({prepared.answered} already answered in the cache)" if prepared.answered else ""
        then = (
            "import its results, then prepare again for the adjudication round"
            if prepared.stage == "extract"
            else "import its results, then run `recoupe check` with the same settings"
        )
        _say(
            f"{_ROUNDS[prepared.stage]}: {len(prepared.requests)} request(s) for {prepared.articles} article(s)"
            f"{answered} written to {args.out} ({_size(size)}) in {seconds:.1f} s; {then}"
        )
    return 1 if prepared.failures else 0


def cmd_submit(args: argparse.Namespace) -> int:
    from .remote import check_requests_file, describe_batch, submit

    settings = _settings(args)
    count = check_requests_file(args.requests)
    batch = submit(args.requests, settings)
    _say(f"{describe_batch(batch)}; {count} request(s) from {args.requests}")
    _say(batch.id, sys.stdout)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from .remote import describe_batch, status

    _say(describe_batch(status(args.batch_id, _settings(args))), sys.stdout)
    return 0


def cmd_collect(args: argparse.Namespace) -> int:
    from .remote import collect, describe_batch

    if args.poll < 0:
        raise ConfigError(f"--poll must be a number of seconds of at least 0, got {args.poll:g}")
    collected = collect(args.batch_id, args.out, _settings(args), wait=args.wait, poll=args.poll)
    _say(describe_batch(collected.batch))
    if not collected.ready:
        _say("not over yet: run collect again later, or with --wait")
        return 1
    _say(
        f"{collected.output_lines} result(s) and {collected.error_lines} error line(s) written to {args.out} "
        f"({_size(collected.size)}); load them with `recoupe batch import {args.out}`"
    )
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from .results import import_results

    settings = _settings(args)
    outcome = import_results(args.results, settings, requests=args.requests)
    stages = ", ".join(f"{n} {stage}" for stage, n in sorted(outcome.imported.items())) or "none"
    _say(f"imported {outcome.total} answer(s) ({stages}) into {settings.resolved_cache_dir}")
    if outcome.problems:
        _say(
            f"{len(outcome.problems)} request(s) without a usable answer (file, line: custom_id -> request -> reason):"
        )
        for problem in outcome.problems:
            _say(f"  {problem}")
        _say(
            "`recoupe batch prepare` with the same paths and settings writes just the requests still unanswered "
            "(or `recoupe check` asks them directly)"
        )
        return 1
    return 0


def _endpoint_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--base-url", help="OpenAI-compatible endpoint (env OPENAI_BASE_URL; key: OPENAI_API_KEY)")
    p.add_argument("--timeout", type=float, help="seconds to wait for one answer of the endpoint (default 300)")
    p.add_argument("--max-retries", type=int, help="retries of a failed request to the endpoint (default 4)")


def add_batch_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``batch`` and its subcommands to ``subparsers`` (from ``add_subparsers``); returns the
    ``batch`` parser. Every subcommand sets ``func`` to its handler."""
    batch: argparse.ArgumentParser = subparsers.add_parser(
        "batch",
        help="check through a Batch API: prepare, submit, status, collect, import",
        description="Run a check's model requests as a batch (OpenAI Batch API, or the same files "
        "offline with `vllm run-batch`): prepare -> submit -> collect -> import, twice (extraction, then "
        "adjudication), then `recoupe check` answers from the cache.",
    )
    sub = batch.add_subparsers(dest="batch_command", required=True)

    p = sub.add_parser("prepare", help="write the next round's unanswered requests as a batch input file")
    p.add_argument("paths", nargs="+", help="article files or folders, as for `recoupe check`")
    p.add_argument("--out", required=True, help="the batch input file to write (JSONL)")
    p.add_argument("--no-adjudicate", action="store_true", help="the check will run with --no-adjudicate")
    p.add_argument("--model", help="model name (env RECOUPE_MODEL), as for the check")
    p.add_argument("--base-url", help="endpoint of the check (env OPENAI_BASE_URL; not contacted)")
    p.add_argument("--cache-dir", help="response cache folder (env RECOUPE_CACHE_DIR)")
    p.add_argument(
        "--chunk-chars", type=int, help="characters of text per extraction request (env RECOUPE_CHUNK_CHARS)"
    )
    p.set_defaults(func=cmd_prepare)

    p = sub.add_parser("submit", help="upload a batch input file and start a batch (24 h window)")
    p.add_argument("requests", help="the file `recoupe batch prepare` wrote")
    _endpoint_options(p)
    p.set_defaults(func=cmd_submit)

    p = sub.add_parser("status", help="say where a batch is")
    p.add_argument("batch_id")
    _endpoint_options(p)
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("collect", help="download a finished batch's results and errors into one file")
    p.add_argument("batch_id")
    p.add_argument("--out", required=True, help="the results file to write (JSONL)")
    p.add_argument("--wait", action="store_true", help="wait until the batch is over")
    p.add_argument("--poll", type=float, default=30.0, help="with --wait: seconds between reads (default 30)")
    _endpoint_options(p)
    p.set_defaults(func=cmd_collect)

    p = sub.add_parser("import", help="load a results file's answers into the response cache")
    p.add_argument("results", nargs="+", help="results files (from collect, or `vllm run-batch -o`)")
    p.add_argument("--requests", help="the input file: also list its requests that have no result")
    p.add_argument("--cache-dir", help="response cache folder (env RECOUPE_CACHE_DIR)")
    p.set_defaults(func=cmd_import)
    return batch
