"""The client of an OpenAI-compatible endpoint, the only code that talks to a model: openai client + instructor (JSON_SCHEMA mode), tenacity
retries for transport faults, validation re-asks kept apart, a disk cache and usage accounting.

Requests go out either from the calling threads (one blocked thread per request in flight) or,
with ``Settings.use_async``, from one asyncio event loop through ``openai.AsyncOpenAI``. Both paths
share everything but the HTTP call itself: the request (the same JSON body, so the same cache key
and the same recording), the re-ask loop (:meth:`LLM._exchange`, a generator that hands out the
bodies to post), the retry policy, the rate-limit pause and the usage counters.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import threading
import time
from collections.abc import Callable, Coroutine, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from json import JSONDecodeError
from typing import Any, TypeVar

import httpx
import instructor
import openai
import pydantic
import tenacity
from instructor.core.exceptions import IncompleteOutputException
from instructor.core.exceptions import ValidationError as InstructorValidationError
from instructor.processing.response import (
    handle_reask_kwargs,
    handle_response_model,
    process_response,
)
from openai.types.chat import ChatCompletion

from ..errors import (
    LLMError,
    RecordingMissingError,
    SchemaError,
    TransientLLMError,
    TruncatedOutputError,
)
from ..models import Usage
from ..settings import Settings
from .aio import AdaptiveLimit, LoopThread
from .cache import ResponseCache, cache_key
from .concurrency import cooperative, current_replay
from .prompts import Prompt
from .retry import (
    Backoff,
    MalformedAnswerError,
    check_completion,
    content,
    describe,
    is_transient,
    recording_missing,
)

__all__ = ["LLM", "REPLAY_BASE_URL", "using_llm"]

log = logging.getLogger(__name__)
T = TypeVar("T", bound=pydantic.BaseModel)

#: Where requests go when they must be answered from recordings (never contacted).
REPLAY_BASE_URL = "http://127.0.0.1:9/v1"

#: Kept-alive connections per AsyncOpenAI client on the event loop (requests are spread over
#: ``concurrency / CONNECTIONS_PER_CLIENT`` clients).
CONNECTIONS_PER_CLIENT = 8

#: What the re-ask loop hands out (a body to post, the attempts made so far) and is given back (the
#: completion, the requests sent for it).
_Post = tuple[dict[str, Any], int]
_Posted = tuple[Any, int]


@dataclass(frozen=True)
class _Call:
    """One model call, prepared: what is asked, of which stage, and its cache key."""

    stage: str
    messages: list[dict[str, str]]
    response_model: type[pydantic.BaseModel]
    max_tokens: int
    where: dict[str, Any]
    key: str | None


class LLM:
    """A model endpoint with cache, retries and usage counters.

    >>> llm = LLM(Settings(model="gpt-4o-mini", base_url="https://api.openai.com/v1", api_key="sk-..."))
    >>> llm.name, llm.concurrency
    ('gpt-4o-mini', 1)
    >>> answer = llm.complete(stage="extract", prompt=prompt, variables={...}, response_model=Claims)  # doctest: +SKIP
    """

    def __init__(
        self,
        settings: Settings,
        *,
        usage: Usage | None = None,
        replay_only: bool = False,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.settings = settings
        self._usage = usage if usage is not None else Usage()
        self._lock = threading.Lock()
        self._replay_only = replay_only
        self._http_client = http_client
        self._base_url: str | None = None
        self._prefix_slot: Any = None  # the embedded server's PrefixSlot, with reuse_prefix
        self._openai: openai.OpenAI | None = None
        # Rate limits, shared by every thread: no request leaves before ``_resume_at`` (set by a
        # 429), and requests leave at least ``60 / requests_per_minute`` seconds apart.
        self._resume_at = 0.0
        self._next_slot = 0.0
        self.cache = ResponseCache(settings.resolved_cache_dir) if settings.use_cache else None
        # The event-loop path, made on first need: the loop, its client and the in-flight limit.
        self._async_http_client = async_http_client
        self._loop: LoopThread | None = None
        self._aopenai: list[openai.AsyncOpenAI] = []
        self._shard_load: list[int] = []
        self._limit: AdaptiveLimit | None = None
        self._closed = False
        if self.async_requests:
            cooperative(self)

    @property
    def name(self) -> str:
        """The model name results record."""
        return self.settings.model

    @property
    def usage(self) -> Usage:
        """Calls, cache hits and tokens per stage (shared by every stage using this client)."""
        return self._usage

    @property
    def concurrency(self) -> int:
        """Requests in flight at once (``Settings.concurrency``, at least 1)."""
        return max(1, self.settings.concurrency)

    @property
    def async_requests(self) -> bool:
        """Whether requests go out from the event loop (``Settings.use_async``)."""
        return self.settings.use_async

    @property
    def in_flight_limit(self) -> int:
        """Requests allowed in flight now: ``concurrency``, less after repeated 429s on the event
        loop (it halves, then grows back by one per round of answers without a 429)."""
        return self._limit.limit if self._limit is not None else self.concurrency

    @property
    def target_chars(self) -> int:
        """Characters of article text per extraction request (``Settings.target_chars``)."""
        return self.settings.target_chars

    @property
    def base_url(self) -> str:
        """The endpoint; the embedded server is started here, on first need, not before: a run
        answered entirely from the cache never loads the model."""
        if self._base_url is None:
            with self._lock:
                if self._base_url is None:
                    if self._replay_only:
                        url = self.settings.base_url or REPLAY_BASE_URL
                    elif self.settings.base_url is None:
                        from .embedded import embedded_server

                        server = embedded_server(parallel=max(1, min(self.settings.concurrency, 4)))
                        url = server.base_url
                        if self.settings.reuses_prefix:
                            self._prefix_slot = server.prefix_slot
                    else:
                        url = self.settings.base_url
                    self._base_url = url
        return self._base_url

    def _client(self) -> openai.OpenAI:
        if self._openai is None:
            base_url = self.base_url
            with self._lock:
                if self._openai is None:
                    self._openai = openai.OpenAI(
                        base_url=base_url,
                        api_key=self.settings.api_key or "not-needed",
                        timeout=self.settings.timeout,
                        max_retries=0,  # tenacity owns transport retries
                        http_client=self._http_client,
                    )
        return self._openai

    def _count(self, stage: str, completion: Any) -> None:
        usage = getattr(completion, "usage", None)
        with self._lock:
            s = self.usage.stage(stage)
            s.calls += 1
            if usage is not None:
                s.prompt_tokens += int(getattr(usage, "prompt_tokens", 0) or 0)
                s.completion_tokens += int(getattr(usage, "completion_tokens", 0) or 0)

    # -- calls -----------------------------------------------------------------------------------
    def complete(
        self,
        *,
        stage: str,
        prompt: Prompt,
        variables: dict[str, Any],
        response_model: type[T],
        article_id: str | None = None,
        chunk_index: int | None = None,
        max_tokens: int | None = None,
    ) -> T:
        """Ask the model for a ``response_model`` answer to ``prompt`` rendered with ``variables``.

        Served from the cache when the same request was answered before. Raises a subclass of
        :class:`LLMError` naming the stage, article and chunk when it fails for good.

        With ``Settings.use_async`` the request leaves from this client's event loop: inside
        :func:`~recoupe.llm.concurrency.run_concurrently` the call suspends its item instead of
        blocking a thread; elsewhere it waits for the answer. The request, the answer and every
        counter are the same as on the threaded path.
        """
        args = (stage, prompt, variables, response_model, article_id, chunk_index, max_tokens)
        if self.async_requests:
            replay = current_replay()
            if replay is not None:  # inside run_concurrently: suspend rather than block
                suspended: T = replay.call(lambda gate: self._submit(self._acall(self._prepare(*args), gate)))
                return suspended
            waited: T = self._submit(self._acall(self._prepare(*args), None)).result()
            return waited
        call = self._prepare(*args)
        cached: T | None = self._cached(call)
        if cached is not None:
            return cached
        started = time.monotonic()
        try:
            steps = self._exchange(call)
            post = next(steps)
            while True:
                post = steps.send(self._post_with_retries(post[0], call.where, post[1]))
        except StopIteration as stop:
            answer: T = stop.value
        finally:
            with self._lock:
                self.usage.stage(stage).seconds += time.monotonic() - started
        self._store(call, answer)
        return answer

    async def acomplete(
        self,
        *,
        stage: str,
        prompt: Prompt,
        variables: dict[str, Any],
        response_model: type[T],
        article_id: str | None = None,
        chunk_index: int | None = None,
        max_tokens: int | None = None,
    ) -> T:
        """:meth:`complete` as a coroutine, from any event loop: the request goes out from this
        client's own loop (whatever ``Settings.use_async`` says), with the same cache, retries,
        re-asks, rate-limit pause and in-flight limit."""
        loop = self._event_loop()
        call = self._prepare(stage, prompt, variables, response_model, article_id, chunk_index, max_tokens)
        coro: Coroutine[Any, Any, T] = self._acall(call, None)
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:  # pragma: no cover - a coroutine is awaited in a running loop
            running = None
        if running is loop.loop:
            return await coro
        return await asyncio.wrap_future(loop.submit(coro))

    # -- the parts shared by both paths ----------------------------------------------------------
    def _prepare(
        self,
        stage: str,
        prompt: Prompt,
        variables: dict[str, Any],
        response_model: type[pydantic.BaseModel],
        article_id: str | None,
        chunk_index: int | None,
        max_tokens: int | None,
    ) -> _Call:
        messages = prompt.render(**variables)
        max_tokens = max_tokens or self.settings.max_tokens
        where = {"stage": stage, "article_id": article_id, "chunk_index": chunk_index}
        key = None
        if self.cache is not None:
            # the key (canonical JSON and a hash of the whole request) is built only when cached
            key = cache_key(
                model=self.settings.model,
                messages=messages,
                schema=_json_schema_request(response_model)[1]["json_schema"]["schema"],
                temperature=self.settings.temperature,
                seed=self.settings.seed,
                prompt_id=prompt.id,
                prompt_sha256=prompt.sha256,
                max_tokens=max_tokens,
                variant="reuse-prefix" if self.settings.reuses_prefix else None,
            )
        return _Call(stage, messages, response_model, max_tokens, where, key)

    def _cached(self, call: _Call) -> Any:
        """The cached answer to ``call`` (counted as a hit), or ``None``."""
        if call.key is None or self.cache is None:
            return None
        cached = self.cache.get(call.key)
        if cached is None:
            return None
        try:
            answer = call.response_model.model_validate(cached["answer"])
        except pydantic.ValidationError:
            return None  # a stale entry: ask again
        with self._lock:
            self.usage.stage(call.stage).cache_hits += 1
        return answer

    def _store(self, call: _Call, answer: pydantic.BaseModel) -> None:
        if call.key is not None and self.cache is not None:
            self.cache.set(call.key, {"answer": answer.model_dump(mode="json"), "model": self.settings.model})

    def _exchange(self, call: _Call) -> Generator[_Post, _Posted, Any]:
        """One answer: each body to post is handed out with the attempts made so far, and the
        completion is given back with the requests it took (the caller posts it under bounded
        transport retries, from a thread or from the event loop); then instructor's parsing and
        validation, and instructor's re-ask messages when the answer does not fit the schema.

        The request is the one ``instructor`` builds in JSON_SCHEMA mode, prepared once per response
        model rather than on every call, and posted as it is (the openai SDK's per-call typing of the
        parameters is skipped): this path costs about a third of the CPU of the full client stack.
        """
        max_tokens, where = call.max_tokens, call.where
        prepared, response_format = _json_schema_request(call.response_model)
        body: dict[str, Any] = {
            "model": self.settings.model,
            "messages": call.messages,
            "response_format": response_format,
            "temperature": self.settings.temperature,
            "seed": self.settings.seed,
            "max_tokens": max_tokens,
            **(self.settings.request_extra_body() or {}),
        }
        attempts = 0
        failed: list[Any] = []
        last: Any = None
        for reask in range(self.settings.max_reasks + 1):
            completion, sent = yield body, attempts
            attempts += sent
            last = completion
            try:
                parsed = process_response(
                    completion, response_model=prepared, stream=False, mode=instructor.Mode.JSON_SCHEMA
                )
                return parsed
            except IncompleteOutputException:
                raise TruncatedOutputError(
                    f"the answer hit the {max_tokens}-token limit before it was complete",
                    attempts=attempts,
                    last_output=content(completion),
                    **where,
                ) from None
            except (ValueError, InstructorValidationError) as exc:  # pydantic's and JSON errors are ValueErrors
                with self._lock:
                    self.usage.stage(where["stage"]).reasks += 1
                failed.append(exc)
                if reask == self.settings.max_reasks:
                    break
                log.warning("%s: answer did not fit the schema (%s); re-asking", where["stage"], type(exc).__name__)
                body = handle_reask_kwargs(
                    kwargs=body,
                    mode=instructor.Mode.JSON_SCHEMA,
                    response=completion,
                    exception=exc,
                    failed_attempts=None,
                )
        raise SchemaError(
            f"the answer did not fit the schema after {len(failed)} attempt(s): {describe(failed[-1])}",
            attempts=len(failed),
            last_output=content(last),
            **where,
        )

    def _retry_policy(self) -> dict[str, Any]:
        """tenacity's arguments, the same for both paths."""
        return {
            "retry": tenacity.retry_if_exception(is_transient),
            "stop": tenacity.stop_after_attempt(self.settings.max_retries + 1),
            "wait": Backoff(self.settings.max_backoff),
            "reraise": True,
        }

    def _before_sleep(self, where: dict[str, Any]) -> Any:
        def before_sleep(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            with self._lock:
                self.usage.stage(where["stage"]).retries += 1
                if isinstance(exc, openai.RateLimitError) and state.next_action is not None:
                    # the endpoint is over its limit for everyone: every request holds off, not
                    # only the one that was told
                    self._resume_at = max(self._resume_at, time.monotonic() + state.next_action.sleep)
            log.warning(
                "%s (article %s, chunk %s): %s; retry %d of %d",
                where["stage"],
                where["article_id"],
                where["chunk_index"],
                describe(exc),
                state.attempt_number,
                self.settings.max_retries,
            )

        return before_sleep

    def _received(self, where: dict[str, Any], post: Callable[[], Any]) -> Any:
        """The completion of one HTTP request, counted and checked; ``post`` makes the request, or
        gives back its result or its error when it was made on the event loop."""
        try:
            completion = post()
        except (JSONDecodeError, UnicodeDecodeError) as exc:
            self._count(where["stage"], None)
            reason = exc.msg if isinstance(exc, JSONDecodeError) else exc.reason
            raise MalformedAnswerError(f"malformed answer from the endpoint: the body is not JSON ({reason})") from exc
        self._count(where["stage"], completion)
        check_completion(completion)
        return completion

    def _failure(self, exc: Exception, attempts: int, before: int, where: dict[str, Any]) -> LLMError:
        """The :class:`LLMError` a transport failure becomes (every library error becomes one)."""
        total = before + attempts
        if recording_missing(exc):
            return RecordingMissingError(
                "no recorded response matches this request (record it with --record)", attempts=total, **where
            )
        if is_transient(exc):
            return TransientLLMError(f"{describe(exc)} (gave up after {attempts} attempt(s))", attempts=total, **where)
        return LLMError(describe(exc), attempts=total, **where)

    def _post_with_retries(self, body: dict[str, Any], where: dict[str, Any], before: int) -> tuple[Any, int]:
        """POST one chat completion, retrying transport faults (429 with Retry-After, 5xx, timeouts,
        resets, an answer without choices, a body that is not a chat completion) with backoff, at
        most ``max_retries`` times; returns the completion and the requests sent."""
        client = self._client()
        attempts = 0
        transport = tenacity.Retrying(before_sleep=self._before_sleep(where), **self._retry_policy())
        try:
            for attempt in transport:
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    self._wait_for_turn()
                    completion = self._received(where, lambda: self._post_once(client, body))
                    return completion, attempts
        except Exception as exc:  # noqa: BLE001 - every library error becomes a RecoupeError
            raise self._failure(exc, attempts, before, where) from None
        raise LLMError("no attempt was made", **where)  # pragma: no cover

    def _post_once(self, client: openai.OpenAI, body: dict[str, Any]) -> Any:
        slot = self._prefix_slot
        if slot is None:
            return client.post("/chat/completions", body=body, cast_to=ChatCompletion)
        with slot.lock:  # the slot's state is set for this request and used by it alone
            slot.prepare(body["messages"])
            return client.post("/chat/completions", body=body, cast_to=ChatCompletion)

    # -- the event-loop path ---------------------------------------------------------------------
    def _event_loop(self) -> LoopThread:
        if self._loop is None:
            with self._lock:
                if self._closed:
                    raise LLMError("this model client is closed")
                if self._loop is None:
                    self._loop = LoopThread()
        return self._loop

    def _submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        try:
            loop = self._event_loop()
        except LLMError:
            coro.close()
            raise
        if loop.is_current:  # pragma: no cover - a blocking call on the loop would wait forever
            coro.close()
            raise RuntimeError("LLM.complete was called on its own event loop; await LLM.acomplete there")
        return loop.submit(coro)

    def _async_client(self) -> AdaptiveLimit:
        """The AsyncOpenAI clients and the in-flight limit; made on the loop, on first need.

        Requests are spread over several clients of at most ``CONNECTIONS_PER_CLIENT`` kept-alive
        connections each: httpcore's pool looks at every one of its connections for every request,
        so one pool of 128 connections costs about 18 ms of CPU per request where 16 pools of 8
        cost 2 ms (benchmarks/README.md)."""
        if self._limit is None:
            if self._async_http_client is not None:
                http_clients = [self._async_http_client]
            else:
                shards = -(-self.concurrency // CONNECTIONS_PER_CLIENT)
                ssl_context = httpx.create_ssl_context()  # loaded once, not once per client
                http_clients = [
                    openai.DefaultAsyncHttpxClient(
                        verify=ssl_context,
                        limits=httpx.Limits(max_connections=None, max_keepalive_connections=2 * CONNECTIONS_PER_CLIENT),
                    )
                    for _ in range(shards)
                ]
            self._aopenai = [
                openai.AsyncOpenAI(
                    base_url=self.base_url,
                    api_key=self.settings.api_key or "not-needed",
                    timeout=self.settings.timeout,
                    max_retries=0,  # tenacity owns transport retries
                    http_client=http_client,
                )
                for http_client in http_clients
            ]
            self._shard_load = [0] * len(self._aopenai)
            self._limit = AdaptiveLimit(self.concurrency)
        return self._limit

    async def _apost(self, body: dict[str, Any]) -> Any:
        """One POST from the least busy client."""
        load = self._shard_load
        shard = load.index(min(load)) if len(load) > 1 else 0
        load[shard] += 1
        try:
            return await self._aopenai[shard].post("/chat/completions", body=body, cast_to=ChatCompletion)
        finally:
            load[shard] -= 1

    async def _acall(self, call: _Call, gate: asyncio.Semaphore | None) -> Any:
        """:meth:`complete` on the event loop, held by ``gate`` (a run's own bound) if given."""
        if gate is None:
            return await self._acall_held(call)
        async with gate:
            return await self._acall_held(call)

    async def _acall_held(self, call: _Call) -> Any:
        cached = self._cached(call)
        if cached is not None:
            return cached
        started = time.monotonic()
        try:
            steps = self._exchange(call)
            post = next(steps)
            while True:
                post = steps.send(await self._apost_with_retries(post[0], call.where, post[1]))
        except StopIteration as stop:
            answer = stop.value
        finally:
            with self._lock:
                self.usage.stage(call.stage).seconds += time.monotonic() - started
        self._store(call, answer)
        return answer

    async def _apost_with_retries(self, body: dict[str, Any], where: dict[str, Any], before: int) -> tuple[Any, int]:
        """:meth:`_post_with_retries` on the event loop; each attempt also takes a slot of the
        in-flight limit, which 429s make smaller (:class:`~recoupe.llm.aio.AdaptiveLimit`)."""
        attempts = 0
        transport = tenacity.AsyncRetrying(before_sleep=self._before_sleep(where), **self._retry_policy())
        try:
            limit = self._async_client()
            async for attempt in transport:
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    token = await limit.acquire()
                    try:
                        await self._await_turn()
                        try:
                            posted = _returner(await self._apost(body))
                        except openai.RateLimitError:
                            limit.rate_limited(token)
                            raise
                        except (JSONDecodeError, UnicodeDecodeError) as exc:
                            posted = _raiser(exc)
                        completion = self._received(where, posted)
                        limit.succeeded()
                    finally:
                        limit.release()
                    return completion, attempts
        except Exception as exc:  # noqa: BLE001 - every library error becomes a RecoupeError
            raise self._failure(exc, attempts, before, where) from None
        raise LLMError("no attempt was made", **where)  # pragma: no cover

    async def _await_turn(self) -> None:
        """:meth:`_wait_for_turn` without blocking the loop."""
        delay = self._turn()
        if delay > 0:
            await asyncio.sleep(delay)

    def _wait_for_turn(self) -> None:
        """Hold this request while the endpoint said it is rate limited, and space requests to
        ``requests_per_minute`` when that is set."""
        delay = self._turn()
        if delay > 0:
            time.sleep(delay)

    def _turn(self) -> float:
        """Seconds until this request may leave (shared by every thread and the event loop)."""
        interval = 60.0 / self.settings.requests_per_minute if self.settings.requests_per_minute else 0.0
        with self._lock:
            now = time.monotonic()
            start = max(now, self._resume_at, self._next_slot)
            self._next_slot = start + interval
        return start - now

    def close(self) -> None:
        with self._lock:
            self._closed = True
            loop, self._loop = self._loop, None
        cooperative(self, on=False)
        if loop is not None:
            clients, self._aopenai = self._aopenai, []
            loop.close(_close_all(clients))
        if self.cache is not None:
            self.cache.close()
        if self._openai is not None:
            self._openai.close()


@contextmanager
def using_llm(llm: LLM | None, settings: Settings | None = None) -> Iterator[LLM]:
    """``llm`` when one is given (the caller keeps it open), else a new :class:`LLM` from
    ``settings`` (or the environment), closed on the way out."""
    if llm is not None:
        yield llm
        return
    own = LLM(settings or Settings.from_env())
    try:
        yield own
    finally:
        own.close()


async def _close_all(clients: list[openai.AsyncOpenAI]) -> None:
    for client in clients:
        await client.close()


def _raiser(exc: BaseException) -> Callable[[], Any]:
    def raise_it() -> Any:
        raise exc

    return raise_it


def _returner(value: Any) -> Callable[[], Any]:
    return lambda: value


@functools.lru_cache(maxsize=64)
def _json_schema_request(response_model: type[T]) -> tuple[type[T], dict[str, Any]]:
    """instructor's JSON_SCHEMA preparation of ``response_model``: the model it validates answers
    with and the ``response_format`` it sends. It depends on the model only, so it is done once
    (instructor redoes it, schema generation included, on every call). Its schema is also what
    the cache key hashes."""
    prepared, kwargs = handle_response_model(response_model, mode=instructor.Mode.JSON_SCHEMA, messages=[])
    response_format: dict[str, Any] = kwargs["response_format"]
    return prepared, response_format
