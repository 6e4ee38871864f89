"""The client of an OpenAI-compatible endpoint, the only code that talks to a model: openai client + instructor (JSON_SCHEMA mode), tenacity
retries for transport faults, validation re-asks kept apart, a disk cache and usage accounting."""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
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
from .cache import ResponseCache, cache_key
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
    ) -> None:
        self.settings = settings
        self._usage = usage if usage is not None else Usage()
        self._lock = threading.Lock()
        self._replay_only = replay_only
        self._http_client = http_client
        self._base_url: str | None = None
        self._openai: openai.OpenAI | None = None
        # Rate limits, shared by every thread: no request leaves before ``_resume_at`` (set by a
        # 429), and requests leave at least ``60 / requests_per_minute`` seconds apart.
        self._resume_at = 0.0
        self._next_slot = 0.0
        self.cache = ResponseCache(settings.resolved_cache_dir) if settings.use_cache else None

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

                        url = embedded_server(parallel=max(1, min(self.settings.concurrency, 4))).base_url
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
        """
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
            )
            cached = self.cache.get(key)
            if cached is not None:
                try:
                    answer = response_model.model_validate(cached["answer"])
                except pydantic.ValidationError:
                    answer = None  # a stale entry: ask again
                if answer is not None:
                    with self._lock:
                        self.usage.stage(stage).cache_hits += 1
                    return answer
        started = time.monotonic()
        try:
            answer = self._call_with_retries(messages, response_model, max_tokens, where)
        finally:
            with self._lock:
                self.usage.stage(stage).seconds += time.monotonic() - started
        if key is not None and self.cache is not None:
            self.cache.set(key, {"answer": answer.model_dump(mode="json"), "model": self.settings.model})
        return answer

    def _call_with_retries(
        self, messages: list[dict[str, str]], response_model: type[T], max_tokens: int, where: dict[str, Any]
    ) -> T:
        """One answer: each HTTP request under bounded transport retries, then instructor's parsing and
        validation, and instructor's re-ask messages when the answer does not fit the schema.

        The request is the one ``instructor`` builds in JSON_SCHEMA mode, prepared once per response
        model rather than on every call, and posted as it is (the openai SDK's per-call typing of the
        parameters is skipped): this path costs about a third of the CPU of the full client stack.
        """
        prepared, response_format = _json_schema_request(response_model)
        body: dict[str, Any] = {
            "model": self.settings.model,
            "messages": messages,
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
            completion, sent = self._post_with_retries(body, where, attempts)
            attempts += sent
            last = completion
            try:
                parsed: T = process_response(
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

    def _post_with_retries(self, body: dict[str, Any], where: dict[str, Any], before: int) -> tuple[Any, int]:
        """POST one chat completion, retrying transport faults (429 with Retry-After, 5xx, timeouts,
        resets, an answer without choices, a body that is not a chat completion) with backoff, at
        most ``max_retries`` times; returns the completion and the requests sent."""
        client = self._client()
        attempts = 0

        def before_sleep(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            with self._lock:
                self.usage.stage(where["stage"]).retries += 1
                if isinstance(exc, openai.RateLimitError) and state.next_action is not None:
                    # the endpoint is over its limit for everyone: every thread holds off, not
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

        transport = tenacity.Retrying(
            retry=tenacity.retry_if_exception(is_transient),
            stop=tenacity.stop_after_attempt(self.settings.max_retries + 1),
            wait=Backoff(self.settings.max_backoff),
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            for attempt in transport:
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    self._wait_for_turn()
                    try:
                        completion = client.post("/chat/completions", body=body, cast_to=ChatCompletion)
                    except (JSONDecodeError, UnicodeDecodeError) as exc:
                        self._count(where["stage"], None)
                        reason = exc.msg if isinstance(exc, JSONDecodeError) else exc.reason
                        raise MalformedAnswerError(
                            f"malformed answer from the endpoint: the body is not JSON ({reason})"
                        ) from exc
                    self._count(where["stage"], completion)
                    check_completion(completion)
                    return completion, attempts
        except Exception as exc:  # noqa: BLE001 - every library error becomes a RecoupeError
            total = before + attempts
            if recording_missing(exc):
                raise RecordingMissingError(
                    "no recorded response matches this request (record it with --record)",
                    attempts=total,
                    **where,
                ) from None
            if is_transient(exc):
                raise TransientLLMError(
                    f"{describe(exc)} (gave up after {attempts} attempt(s))", attempts=total, **where
                ) from None
            raise LLMError(describe(exc), attempts=total, **where) from None
        raise LLMError("no attempt was made", **where)  # pragma: no cover

    def _wait_for_turn(self) -> None:
        """Hold this request while the endpoint said it is rate limited, and space requests to
        ``requests_per_minute`` when that is set."""
        interval = 60.0 / self.settings.requests_per_minute if self.settings.requests_per_minute else 0.0
        with self._lock:
            now = time.monotonic()
            start = max(now, self._resume_at, self._next_slot)
            self._next_slot = start + interval
        if start > now:
            time.sleep(start - now)

    def close(self) -> None:
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


@functools.lru_cache(maxsize=64)
def _json_schema_request(response_model: type[T]) -> tuple[type[T], dict[str, Any]]:
    """instructor's JSON_SCHEMA preparation of ``response_model``: the model it validates answers
    with and the ``response_format`` it sends. It depends on the model only, so it is done once
    (instructor redoes it, schema generation included, on every call). Its schema is also what
    the cache key hashes."""
    prepared, kwargs = handle_response_model(response_model, mode=instructor.Mode.JSON_SCHEMA, messages=[])
    response_format: dict[str, Any] = kwargs["response_format"]
    return prepared, response_format
