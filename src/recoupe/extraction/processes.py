"""Extraction in several worker processes (``Settings.processes``), for hosted endpoints at high
concurrency, where one process's own work (sentence splitting, grounding, the code's claims, and
the request path itself) holds one core and sets the pace instead of the endpoint.

The articles are dealt out in turn to ``processes`` workers, each a fresh Python process (``spawn``)
with its own model client and ``concurrency / processes`` requests in flight (a requests-per-minute
cap is split the same way). Each worker runs :func:`~recoupe.extraction.driver.extract_articles` on
its share and sends every article's outcome back as it finishes, so progress (``on_done``) is
reported as in one process. Load errors and duplicate ids are settled here before anything is sent.
The cache folder is shared (it is safe across processes), and the workers' usage is added up.

A worker that dies (killed, out of memory) loses only what it had not finished: those articles are
listed as failures naming the worker's exit code, the others' claims are kept.
"""

from __future__ import annotations

import logging
import multiprocessing
import pickle
import queue
from collections.abc import Iterable
from multiprocessing.process import BaseProcess
from typing import Any

from ..errors import ArticleError, ConfigError, RecoupeError
from ..llm import using_llm
from ..llm.prompts import load_prompt
from ..models import Article, ArticleClaims, Extraction, Failure, Usage
from ..settings import Settings
from .driver import OnDone, admit, extract_articles
from .schema import EXTRACT_PROMPT

__all__ = ["extract_in_processes", "worker_settings"]

log = logging.getLogger(__name__)

#: Seconds between checks that every worker is still alive while waiting for outcomes.
_POLL_S = 0.5


def worker_settings(settings: Settings) -> Settings:
    """One worker's settings: its share of the requests in flight (and of a per-minute cap), in
    one process."""
    processes = settings.processes
    rpm = settings.requests_per_minute
    return settings.replace(
        processes=1,
        concurrency=max(1, settings.concurrency // processes),
        requests_per_minute=None if rpm is None else rpm / processes,
    )


def _sendable(error: RecoupeError) -> RecoupeError:
    """``error`` if it survives pickling, else a plain :class:`RecoupeError` with its message."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:  # noqa: BLE001 - an error class with required constructor arguments
        return RecoupeError(str(error))
    return error


def _work(index: int, settings: Settings, articles: list[Article], outcomes: Any) -> None:
    """A worker process: extract ``articles`` and put every outcome on ``outcomes``, then its usage."""
    try:
        with using_llm(None, settings) as model:

            def done(article: Article | ArticleError, outcome: ArticleClaims | RecoupeError) -> None:
                if isinstance(outcome, ArticleClaims):
                    outcomes.put(("claims", index, outcome))

            result = extract_articles(articles, model, chunk_chars=model.target_chars, on_done=done)
            outcomes.put(("end", index, result.failures, result.usage))
    except BaseException as exc:  # noqa: BLE001 - say why the worker stopped, then stop
        error = exc if isinstance(exc, RecoupeError) else RecoupeError(f"{type(exc).__name__}: {exc}")
        outcomes.put(("error", index, _sendable(error)))


def extract_in_processes(
    items: Iterable[Article | ArticleError],
    settings: Settings,
    *,
    on_done: OnDone | None = None,
) -> Extraction:
    """:func:`~recoupe.extraction.driver.extract_articles` on ``settings.processes`` worker
    processes, each with its own model client from ``settings``; the same result, in input order."""
    if settings.embedded:
        raise ConfigError(
            "processes above 1 need an endpoint (base_url): the embedded server answers one request at a time"
        )
    result = Extraction(model=settings.model)
    prompt = load_prompt(EXTRACT_PROMPT)
    result.prompts[prompt.id] = prompt.sha256
    good = admit(items, result.failures, on_done)
    processes = min(settings.processes, max(1, len(good)))
    shares = [good[i::processes] for i in range(processes)]
    context = multiprocessing.get_context("spawn")  # no fork of a process that runs threads
    outcomes: Any = context.Queue()
    child = worker_settings(settings)
    workers: list[BaseProcess] = [
        context.Process(target=_work, args=(i, child, share, outcomes), name=f"recoupe-extract-{i}", daemon=True)
        for i, share in enumerate(shares)
    ]
    for worker in workers:
        worker.start()
    by_id = {a.id: a for a in good}
    done: dict[str, ArticleClaims] = {}
    open_workers = set(range(processes))
    seen_dead: set[int] = set()
    try:
        while open_workers:
            try:
                message = outcomes.get(timeout=_POLL_S)
            except queue.Empty:
                # A worker found dead twice in a row with nothing left to read died unannounced
                # (the first time, what it sent before exiting may still be on its way).
                for i in sorted(open_workers):
                    if workers[i].is_alive():
                        continue
                    if i in seen_dead:
                        log.error("extraction worker %d ended with exit code %s", i, workers[i].exitcode)
                        reason = f"extraction worker process ended unexpectedly (exit code {workers[i].exitcode})"
                        _fail_rest(shares[i], done, result, on_done, reason)
                        open_workers.discard(i)
                    seen_dead.add(i)
                continue
            kind, i = message[0], message[1]
            if kind == "claims":
                claims: ArticleClaims = message[2]
                done[claims.article.id] = claims
                if on_done:
                    on_done(by_id[claims.article.id], claims)
            elif kind == "end":
                failures: list[Failure] = message[2]
                usage: Usage = message[3]
                result.usage.add(usage)
                result.failures.extend(failures)
                if on_done:
                    for failure in failures:
                        if failure.article_id in by_id:
                            on_done(by_id[failure.article_id], RecoupeError(failure.reason))
                open_workers.discard(i)
            else:  # "error": the worker could not go on (its model could not start, say)
                error: RecoupeError = message[2]
                _fail_rest(shares[i], done, result, on_done, str(error))
                open_workers.discard(i)
    finally:
        for worker in workers:
            worker.join(timeout=5)
            if worker.is_alive():
                worker.terminate()
                worker.join(timeout=5)
        outcomes.close()
    result.articles = [done[a.id] for a in good if a.id in done]
    return result


def _fail_rest(
    share: list[Article],
    done: dict[str, ArticleClaims],
    result: Extraction,
    on_done: OnDone | None,
    reason: str,
) -> None:
    """List every article of ``share`` that has no claims yet as failed for ``reason``."""
    for article in share:
        if article.id in done:
            continue
        result.failures.append(
            Failure(source=article.source or article.id, article_id=article.id, stage="extract", reason=reason)
        )
        if on_done:
            on_done(article, RecoupeError(reason))
