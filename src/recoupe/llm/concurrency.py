"""A bounded pool of requests in flight, fed lazily, shared by every stage that asks a model.

Two ways to keep ``concurrency`` requests in flight, with the same results:

* threads: ``fn`` runs in a pool of ``concurrency`` threads, each blocked on its request;
* the event loop, when the model sends its requests from one (``Settings.use_async``): ``fn``
  runs in the calling thread, and a model call that has to wait for the endpoint *suspends* it
  (:class:`Suspended`) instead of blocking; once the answer is in, ``fn`` runs again from the start
  and its model calls are answered, in order, from the answers already received, until it
  finishes or suspends on its next call. So hundreds of requests can be in flight from two
  threads. ``fn`` must therefore do the same model calls in the same order when it runs again (a
  stage's function of one item does: its calls depend only on the item and on the answers), and
  code with side effects between its calls can ask :func:`first_pass` whether it ran before.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from queue import SimpleQueue
from typing import Any, TypeVar

__all__ = ["Replay", "Suspended", "cooperative", "current_replay", "first_pass", "run_concurrently"]

R = TypeVar("R")
T = TypeVar("T")

#: Models that can suspend a call (their ``Settings.use_async`` is on), while they are open.
_cooperative: weakref.WeakSet[Any] = weakref.WeakSet()
_local = threading.local()


def cooperative(model: Any, on: bool = True) -> None:
    """Say that ``model`` suspends its calls inside :func:`run_concurrently` (or no longer does)."""
    if on:
        _cooperative.add(model)
    else:
        _cooperative.discard(model)


class Suspended(BaseException):
    """Raised by a model call inside a cooperative run: the request is sent and ``future`` will
    hold its answer. A ``BaseException``, so that a stage's ``except Exception`` lets it through."""

    def __init__(self, future: concurrent.futures.Future[Any]) -> None:
        super().__init__()
        self.future = future


class Replay:
    """The model calls of one item in a cooperative run: their outcomes so far, and where the
    current run of ``fn`` has got to."""

    __slots__ = ("gate", "outcomes", "position", "touched")

    def __init__(self, gate: asyncio.Semaphore | None = None) -> None:
        self.outcomes: list[tuple[bool, Any]] = []
        self.position = 0
        self.touched = False
        #: the run's own bound on requests in flight, held on the event loop around each call
        self.gate = gate

    def call(self, start: Callable[[asyncio.Semaphore | None], concurrent.futures.Future[T]]) -> T:
        """The answer of the next model call: from an earlier run, or sent now by ``start``
        (given the run's gate), which suspends ``fn``."""
        self.touched = True
        i = self.position
        self.position += 1
        if i < len(self.outcomes):
            ok, value = self.outcomes[i]
            if ok:
                result: T = value
                return result
            raise value.with_traceback(None)
        raise Suspended(start(self.gate))

    def add(self, future: concurrent.futures.Future[Any]) -> None:
        error = future.exception()
        self.outcomes.append((False, error) if error is not None else (True, future.result()))


def current_replay() -> Replay | None:
    """The cooperative run of the calling thread's item, or ``None`` (the call may block)."""
    replay: Replay | None = getattr(_local, "replay", None)
    return replay


def first_pass() -> bool:
    """False while ``fn`` is running again through model calls it made before (skip a warning it
    already logged); True otherwise, and always outside a cooperative run."""
    replay = current_replay()
    return replay is None or replay.position >= len(replay.outcomes)


def _attempt(fn: Callable[[R], Any], item: R, replay: Replay) -> tuple[bool, Any]:
    """Run ``fn(item)`` once: ``(True, result or exception)``, or ``(False, future)`` when it
    suspended on a model call."""
    outer = getattr(_local, "replay", None)
    _local.replay = replay
    replay.position = 0
    try:
        return True, fn(item)
    except Suspended as suspended:
        return False, suspended.future
    except Exception as exc:  # noqa: BLE001 - handed back as the item's result, as the threads do
        return True, exc
    finally:
        _local.replay = outer


def run_concurrently(fn: Callable[[R], Any], items: Iterable[R], concurrency: int) -> Iterator[tuple[R, Any]]:
    """Apply ``fn`` to ``items`` with at most ``concurrency`` in flight; yields ``(item, result or
    exception)`` in completion order so that progress can be reported as work finishes.

    ``items`` is consumed lazily, a few ahead of the workers: when it is a generator that prepares
    work (splitting an article, comparing a pair), that preparation overlaps the requests in flight
    instead of holding up the first one.

    When a model on the event loop is open, the first item is tried in the calling thread: if its
    model calls suspend, every item runs that way (see the module's notes), else in threads.
    """
    pending_items = iter(items)
    if concurrency <= 1:
        for item in pending_items:
            try:
                yield item, fn(item)
            except Exception as exc:  # noqa: BLE001
                yield item, exc
        return
    if _cooperative:
        for item in pending_items:
            replay = Replay(asyncio.Semaphore(concurrency))
            finished, outcome = _attempt(fn, item, replay)
            if not replay.touched:  # not a suspending model: threads for the rest
                yield item, outcome
                break
            yield from _run_cooperatively(fn, pending_items, concurrency, (item, replay, finished, outcome))
            return
    yield from _run_in_threads(fn, pending_items, concurrency)


def _run_cooperatively(
    fn: Callable[[R], Any],
    pending_items: Iterator[R],
    concurrency: int,
    first: tuple[R, Replay, bool, Any],
) -> Iterator[tuple[R, Any]]:
    gate = first[1].gate
    answered: SimpleQueue[tuple[R, Replay, concurrent.futures.Future[Any]]] = SimpleQueue()
    ahead = 2 * concurrency  # items waiting on the endpoint: the loop always has the next request
    waiting: set[concurrent.futures.Future[Any]] = set()

    def wait_for(item: R, replay: Replay, future: concurrent.futures.Future[Any]) -> None:
        waiting.add(future)
        future.add_done_callback(lambda f: answered.put((item, replay, f)))

    try:
        yield from _cooperative_loop(fn, pending_items, gate, answered, waiting, wait_for, first, ahead)
    finally:
        for future in waiting:  # the caller stopped early: the requests still waiting are dropped
            future.cancel()


def _cooperative_loop(
    fn: Callable[[R], Any],
    pending_items: Iterator[R],
    gate: asyncio.Semaphore | None,
    answered: SimpleQueue[tuple[R, Replay, concurrent.futures.Future[Any]]],
    waiting: set[concurrent.futures.Future[Any]],
    wait_for: Callable[[R, Replay, concurrent.futures.Future[Any]], None],
    first: tuple[R, Replay, bool, Any],
    ahead: int,
) -> Iterator[tuple[R, Any]]:

    item, replay, finished, outcome = first
    if finished:
        yield item, outcome
    else:
        wait_for(item, replay, outcome)
    exhausted = False
    while True:
        while not exhausted and len(waiting) < ahead:
            try:
                item = next(pending_items)
            except StopIteration:
                exhausted = True
                break
            replay = Replay(gate)
            finished, outcome = _attempt(fn, item, replay)
            if finished:
                yield item, outcome
            else:
                wait_for(item, replay, outcome)
        if not waiting:
            return
        item, replay, future = answered.get()
        waiting.discard(future)
        replay.add(future)
        finished, outcome = _attempt(fn, item, replay)
        if finished:
            yield item, outcome
        else:
            wait_for(item, replay, outcome)


def _run_in_threads(fn: Callable[[R], Any], pending_items: Iterator[R], concurrency: int) -> Iterator[tuple[R, Any]]:
    ahead = 2 * concurrency  # submitted but not finished: the workers never wait for the next item
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        running: dict[Future[Any], R] = {}

        def top_up() -> None:
            while len(running) < ahead:
                try:
                    item = next(pending_items)
                except StopIteration:
                    return
                running[pool.submit(fn, item)] = item

        top_up()
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            done = [(running.pop(future), future) for future in finished]
            top_up()  # before handing results back, so that the pool stays busy meanwhile
            for item, future in done:
                failure = future.exception()
                yield item, (failure if failure is not None else future.result())
