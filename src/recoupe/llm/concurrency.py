"""A bounded pool of requests in flight, fed lazily, shared by every stage that asks a model."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, TypeVar

__all__ = ["run_concurrently"]

R = TypeVar("R")


def run_concurrently(fn: Callable[[R], Any], items: Iterable[R], concurrency: int) -> Iterator[tuple[R, Any]]:
    """Apply ``fn`` to ``items`` with at most ``concurrency`` in flight; yields ``(item, result or
    exception)`` in completion order so that progress can be reported as work finishes.

    ``items`` is consumed lazily, a few ahead of the workers: when it is a generator that prepares
    work (splitting an article, comparing a pair), that preparation overlaps the requests in flight
    instead of holding up the first one.
    """
    pending_items = iter(items)
    if concurrency <= 1:
        for item in pending_items:
            try:
                yield item, fn(item)
            except Exception as exc:  # noqa: BLE001
                yield item, exc
        return
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
