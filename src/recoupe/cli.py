"""Command line: ``recoupe extract``, ``recoupe check``, ``recoupe eval``, ``recoupe cache``.

Library errors become one clean line on stderr here, at the edge (``recoupe: <file>: <problem>``);
no traceback reaches a user. Outputs are checked before the first model call and written
atomically; control characters from file names and article text never reach the terminal.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import time
from collections import Counter
from typing import Any

from .errors import ArticleError, ConfigError, RecoupeError
from .files import OutputError, atomic_write_text, check_writable
from .models import Extraction, Report
from .settings import add_model_options, settings_from_args

__all__ = ["main"]

log = logging.getLogger("recoupe.cli")

#: C0 and C1 control characters but newline and tab, and DEL: what a terminal could obey
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _clean(text: str) -> str:
    """``text`` made safe for a terminal: each control character (an escape sequence, a carriage
    return, a bell) is shown as its ``\\xNN`` code instead of acted on."""
    return _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _clean_json(text: str) -> str:
    """JSON made safe for a terminal and still the same JSON: the serializer escapes C0 controls
    already; DEL and C1 controls, which may only appear inside strings, become ``\\u00NN``."""
    return re.sub(r"[\x7f-\x9f]", lambda m: f"\\u{ord(m.group()):04x}", text)


class _CleanFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return _clean(super().format(record))


_settings = settings_from_args
_add_model_options = add_model_options


class _Progress:
    """A progress bar on stderr, and one line for each article that fails."""

    def __init__(self, total: int, quiet: bool) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=total, unit="article", file=sys.stderr, disable=quiet or total == 0, leave=False)

    def __call__(self, item: Any, outcome: Any) -> None:
        if isinstance(outcome, RecoupeError):
            name = item.source if isinstance(item, ArticleError) else (item.source or item.id)
            reason = outcome.reason if isinstance(outcome, ArticleError) else str(outcome)
            self.bar.write(_clean(f"FAILED {name}: {reason}"), file=sys.stderr)
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()


def _write(text: str, out: str | None, *, is_json: bool = False) -> None:
    """``text`` to the file ``out``, atomically (see :mod:`recoupe.files`), or to stdout, made
    safe for a terminal."""
    if out:
        atomic_write_text(out, text)
    else:
        sys.stdout.write((_clean_json(text) if is_json else _clean(text)) + "\n")


def _check_outputs(*outs: str | None) -> None:
    """Every output can be written: checked before the first model call, not after the batch."""
    for out in outs:
        if out:
            check_writable(out)


def _write_outputs(outputs: list[tuple[str, str, bool]]) -> bool:
    """Write each ``(text, path, is_json)``; a failure is one line, the others are still written.
    Returns whether every output was written."""
    ok = True
    for text, out, is_json in outputs:
        try:
            _write(text, out, is_json=is_json)
        except OutputError as exc:
            print(_clean(f"recoupe: {exc}"), file=sys.stderr)
            ok = False
    return ok


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
    _check_outputs(args.out)
    items = list(iter_articles(args.paths))  # read once; the bar counts articles, not files
    progress = _Progress(len(items), args.quiet)
    started = time.monotonic()
    try:
        result = extract(items, settings, on_done=progress)
    finally:
        progress.close()
    written = _write_outputs([(result.model_dump_json(indent=2), args.out, True)])
    print(_summary(result, time.monotonic() - started), file=sys.stderr)
    if not written:
        return 2
    return 1 if result.failures else 0


def _render(report: Report, args: argparse.Namespace) -> bool:
    from .report import to_html, to_json, to_markdown

    outputs: list[tuple[str, Any, bool]] = []
    if args.json:
        outputs.append((to_json(report), args.json, True))
    if args.markdown:
        outputs.append((to_markdown(report), args.markdown, False))
    if args.html:
        outputs.append((to_html(report), args.html, False))
    if not outputs:
        outputs.append((to_markdown(report), None, False))
    return _write_outputs(outputs)


def _archive_line(archive: Any) -> str:
    stats = archive.stats()
    facts = ", ".join(f"{n} {v.replace('_', '-')}" for v, n in stats.facts.items())
    return f"archive: {stats.articles} articles, {stats.claims} claims; facts: {facts}"


def cmd_check_store(args: argparse.Namespace) -> int:
    """`recoupe check --store URL`: add the articles to the archive, then render all it holds."""
    from .archive import Archive
    from .articles import iter_articles

    settings = _settings(args)
    _check_outputs(args.json, args.markdown, args.html)
    items = list(iter_articles(args.paths))
    started = time.monotonic()
    with Archive.from_settings(
        args.store, settings, adjudicate=not args.no_adjudicate, model_contradictions=args.model_contradictions
    ) as archive:
        added = archive.add(items, bulk=args.bulk)
        written = _render(archive.report(), args)
        changed = Counter(c.verdict_after for c in added.changes)
        print(
            f"{len(added.added)} article(s) added, {len(added.unchanged)} already archived, "
            f"{len(added.failures)} failed, in {time.monotonic() - started:.1f} s; facts changed: "
            + (", ".join(f"{n} now {v.replace('_', '-')}" for v, n in sorted(changed.items())) or "none")
            + f"; {added.usage.summary()}",
            file=sys.stderr,
        )
        for failure in added.failures:
            print(_clean(f"recoupe: {failure.source}: {failure.reason}"), file=sys.stderr)
        print(_archive_line(archive), file=sys.stderr)
    if not written:
        return 2
    return 1 if added.failures else 0


def cmd_report(args: argparse.Namespace) -> int:
    """`recoupe report --store URL`: render what an archive holds."""
    from .archive import Archive

    _check_outputs(args.json, args.markdown, args.html)
    with Archive(args.store) as archive:
        written = _render(archive.report(), args)
        print(_archive_line(archive), file=sys.stderr)
    return 0 if written else 2


def cmd_check(args: argparse.Namespace) -> int:
    from .api import check
    from .articles import iter_articles
    from .report import facts_line, pairs_line

    if args.store:
        return cmd_check_store(args)
    if args.bulk:
        raise ConfigError("--bulk fills an archive: give it with --store URL")
    settings = _settings(args)
    _check_outputs(args.json, args.markdown, args.html)
    items = list(iter_articles(args.paths))
    progress = _Progress(len(items), args.quiet)
    started = time.monotonic()
    try:
        report = check(
            items,
            settings,
            adjudicate=not args.no_adjudicate,
            model_contradictions=args.model_contradictions,
            on_done=progress,
        )
    finally:
        progress.close()
    written = _render(report, args)
    print(_summary(report, time.monotonic() - started), file=sys.stderr)
    print(f"{facts_line(report)}; {pairs_line(report)}", file=sys.stderr)
    if not written:
        return 2
    return 1 if report.failures else 0


def cmd_eval(args: argparse.Namespace) -> int:
    from .evaluation.harness import run_eval_cli

    return run_eval_cli(args)


def cmd_cache(args: argparse.Namespace) -> int:
    from .llm.cache import ResponseCache

    settings = _settings(args)
    directory = settings.resolved_cache_dir
    cache = ResponseCache(directory, warn=False)  # damage is said here, once
    try:
        if args.action == "info":
            count, volume = len(cache), cache.volume()
            if cache.damage_message:
                print(_clean(f"recoupe: {cache.damage_message}"), file=sys.stderr)
                return 1
            print(_clean(f"{directory}: {count} cached answers, {volume / 1e6:.1f} MB"))
        elif cache.damage is not None:
            cache.recover()
            print(_clean(f"{directory}: the damaged cache was removed and a new, empty one made"))
        else:
            removed = cache.clear()
            print(_clean(f"{directory}: removed {removed} cached answers"))
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
    p.add_argument(
        "--model-contradictions",
        action="store_true",
        help="accept the model's word for a conflict (use with a strong model)",
    )
    p.add_argument(
        "--store",
        metavar="URL",
        help="add the articles to this archive (a file, sqlite:///FILE or postgresql://HOST/DB) and report all it holds",
    )
    p.add_argument(
        "--bulk",
        action="store_true",
        help="with --store: fill an empty archive in one pass (one cross-check of all the articles)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _add_model_options(p)
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("report", help="render what an archive holds (facts, conflicts first)")
    p.add_argument("--store", metavar="URL", help="the archive (env RECOUPE_STORE; default recoupe-archive.sqlite)")
    p.add_argument("--json", help="write the full report as JSON")
    p.add_argument("--markdown", help="write a Markdown summary")
    p.add_argument("--html", help="write a self-contained HTML viewer")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("eval", help="score extraction and cross-checking against the gold annotations")
    p.add_argument("--backend", default="embedded", help="cassette folder under eval/cassettes/ (default: embedded)")
    p.add_argument("--record", action="store_true", help="record the missing answers against the configured endpoint")
    p.add_argument("--refresh", action="store_true", help="record every answer afresh")
    p.add_argument("--eval-dir", default="eval", help="folder holding gold/, cassettes/ and results/")
    p.add_argument("--seeds", default="seeds", help="folder of the seed articles")
    p.add_argument("--no-save", action="store_true", help="do not write a result file")
    p.add_argument(
        "--set",
        action="append",
        dest="sets",
        metavar="NAME",
        help="only this set (seeds, or a folder under eval/sets/); repeatable",
    )
    p.add_argument("--gold", help="score another annotated set: its gold folder (claims/, facts.json)")
    p.add_argument("--articles", help="with --gold: the folder of that set's articles")
    p.add_argument(
        "--predictions",
        metavar="FILE",
        help="score the JSON of `recoupe extract` or `recoupe check` (any system that writes it)",
    )
    _add_model_options(p)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("cache", help="inspect or clear the response cache")
    p.add_argument("action", choices=["info", "clear"])
    p.add_argument("--cache-dir", help="response cache folder (env RECOUPE_CACHE_DIR)")
    p.set_defaults(func=cmd_cache)

    from .batch.cli import add_batch_parser
    from .service.cli import add_serve_parser

    add_batch_parser(sub)
    add_serve_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_CleanFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO if args.verbose else logging.ERROR, handlers=[handler])
    # a cache that cannot keep answers is said even without -v: the next run would pay again
    logging.getLogger("recoupe.llm.cache").setLevel(logging.NOTSET if args.verbose else logging.WARNING)
    try:
        return int(args.func(args))
    except RecoupeError as exc:
        print(_clean(f"recoupe: {exc}"), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("recoupe: interrupted; finished model answers are cached and will not be asked again", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `recoupe ... | head`: the reader left; say nothing more
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        print(_clean(f"recoupe: {where}{exc.strerror or exc}"), file=sys.stderr)
        return 2
    except Exception as exc:  # a bug: one line for the user, the traceback with -v
        log.info("internal error", exc_info=exc)
        print(
            _clean(f"recoupe: internal error: {type(exc).__name__}: {exc} (run with -v for the traceback)"),
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
