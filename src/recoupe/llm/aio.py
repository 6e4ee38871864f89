"""The pieces of the event-loop path: one asyncio loop in a thread of its own, and an in-flight
limit that halves after repeated 429s and grows back slowly (AIMD, as TCP does with its window).

:class:`~recoupe.llm.client.LLM` uses both when ``Settings.use_async`` is on: every request of the
process goes out from the one loop, so that hundreds can be in flight with two threads (the caller's
and the loop's) instead of one thread each.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import threading
from collections import deque
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["AdaptiveLimit", "LoopThread"]

log = logging.getLogger(__name__)
T = TypeVar("T")


class LoopThread:
    """An asyncio event loop running forever in a daemon thread; coroutines are handed to it from
    any thread with :meth:`submit`."""

    def __init__(self, name: str = "recoupe-llm-loop") -> None:
        self.loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._lock = threading.Lock()
        self._incoming: list[tuple[Coroutine[Any, Any, Any], concurrent.futures.Future[Any]]] = []
        self._woken = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        self._started.wait()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._started.set)
        self.loop.run_forever()

    @property
    def is_current(self) -> bool:
        """Whether the calling thread is the loop's own."""
        return threading.current_thread() is self._thread

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Run ``coro`` on the loop; its result (or exception) comes back in the future, and
        cancelling the future cancels the coroutine. Coroutines submitted while the loop is busy
        are started together: one wake-up of the loop for a burst, not one each."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        with self._lock:
            self._incoming.append((coro, future))
            wake, self._woken = not self._woken, True
        if wake:
            self.loop.call_soon_threadsafe(self._start_incoming)
        return future

    def _start_incoming(self) -> None:
        with self._lock:
            incoming, self._incoming = self._incoming, []
            self._woken = False
        for coro, future in incoming:
            if not future.set_running_or_notify_cancel():
                coro.close()  # cancelled before it started
                continue
            task = self.loop.create_task(coro)
            task.add_done_callback(functools.partial(_copy_outcome, future))
            future.add_done_callback(functools.partial(_cancel_task, self.loop, task))

    def close(self, last: Coroutine[Any, Any, Any] | None = None, timeout: float = 10.0) -> None:
        """Run ``last`` (closing clients), cancel what is left, stop the loop and join its thread."""
        if self.loop.is_closed():
            if last is not None:
                last.close()
            return
        if self.is_current:  # pragma: no cover - a close from a callback on the loop itself
            raise RuntimeError("the event loop cannot be closed from its own thread")

        async def finish() -> None:
            if last is not None:
                try:
                    await last
                except Exception:  # closing a client must not fail the caller
                    log.debug("closing the async client failed", exc_info=True)
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            asyncio.run_coroutine_threadsafe(finish(), self.loop).result(timeout)
        except (concurrent.futures.TimeoutError, RuntimeError):  # pragma: no cover
            log.debug("the event loop did not finish in time", exc_info=True)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout)
        if not self._thread.is_alive():
            self.loop.close()


def _copy_outcome(future: concurrent.futures.Future[Any], task: asyncio.Task[Any]) -> None:
    if future.done():  # cancelled from the caller's side meanwhile
        return
    try:
        if task.cancelled():
            future.cancel()
        elif (error := task.exception()) is not None:
            future.set_exception(error)
        else:
            future.set_result(task.result())
    except concurrent.futures.InvalidStateError:  # pragma: no cover - cancelled just now
        pass


def _cancel_task(
    loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any], future: concurrent.futures.Future[Any]
) -> None:
    if future.cancelled() and not loop.is_closed():
        loop.call_soon_threadsafe(task.cancel)


class AdaptiveLimit:
    """At most ``limit`` requests in flight, ``limit`` between 1 and ``maximum``; used from the
    event loop's thread only.

    Multiplicative decrease: after ``strikes`` 429 answers to requests sent since the last change
    of the limit, the limit halves (429s to requests sent before the cut say nothing new: they
    were sent at the old rate). Additive increase: after ``limit`` answers in a row without a 429
    (about one round trip of every request in flight), the limit grows by one, back up to
    ``maximum``. Requests in flight above a new, lower limit are not cancelled; new ones wait.

    >>> limit = AdaptiveLimit(8)
    >>> token = limit.try_acquire()
    >>> limit.rate_limited(token); limit.rate_limited(token); limit.limit
    4
    """

    def __init__(self, maximum: int, *, strikes: int = 2) -> None:
        self.maximum = max(1, maximum)
        self.limit = self.maximum
        self.in_flight = 0
        #: how many times the limit was cut, and the lowest it went
        self.cuts = 0
        self.lowest = self.maximum
        self._strikes_needed = max(1, strikes)
        self._strikes = 0
        self._successes = 0
        self._epoch = 0  # bumped at every change: a 429 counts only if sent in the current epoch
        self._waiters: deque[asyncio.Future[int]] = deque()

    def try_acquire(self) -> int | None:
        """A slot now (its token) or ``None``."""
        if self.in_flight < self.limit and not self._waiters:
            self.in_flight += 1
            return self._epoch
        return None

    async def acquire(self) -> int:
        """Wait for a slot; returns the token to hand back to :meth:`rate_limited`."""
        token = self.try_acquire()
        if token is not None:
            return token
        waiter: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # the slot was given just as the wait was cancelled
            else:
                self._waiters.remove(waiter)
            raise

    def release(self) -> None:
        self.in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self.in_flight < self.limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.in_flight += 1
                waiter.set_result(self._epoch)

    def succeeded(self) -> None:
        """An answer that was not a 429."""
        self._successes += 1
        if self._successes < self.limit:
            return
        self._successes = 0
        self._strikes = 0
        if self.limit < self.maximum:
            self.limit += 1
            self._epoch += 1
            if self.limit == self.maximum:
                log.info("no more rate limiting: back to %d requests in flight", self.limit)
            else:
                log.debug("rate limit easing: %d requests in flight at most", self.limit)
            self._wake()

    def rate_limited(self, token: int) -> None:
        """A 429 to a request sent with ``token``."""
        self._successes = 0
        if token != self._epoch:
            return
        self._strikes += 1
        if self._strikes < self._strikes_needed or self.limit == 1:
            return
        before, self.limit = self.limit, max(1, self.limit // 2)
        self._strikes = 0
        self._epoch += 1
        self.cuts += 1
        self.lowest = min(self.lowest, self.limit)
        log.warning(
            "the endpoint keeps answering 429 (rate limited): at most %d requests in flight now, was %d "
            "(growing back by one per %d answers without a 429)",
            self.limit,
            before,
            self.limit,
        )
