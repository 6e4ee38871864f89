"""The only module that talks to a model: openai client + instructor (JSON_SCHEMA mode), tenacity
retries for transport faults, validation re-asks kept apart, a disk cache and usage accounting."""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from json import JSONDecodeError
from typing import Any, TypeVar

import httpx
import instructor
import openai
import pydantic
import tenacity
from instructor.core.exceptions import IncompleteOutputException, InstructorRetryException

from .cache import ResponseCache, cache_key
from .errors import (
    LLMError,
    RecordingMissingError,
    SchemaError,
    TransientLLMError,
    TruncatedOutputError,
)
from .models import Usage
from .prompting import Prompt
from .settings import Settings

__all__ = ["LLM", "run_concurrently", "REPLAY_BASE_URL"]

log = logging.getLogger(__name__)
T = TypeVar("T", bound=pydantic.BaseModel)
R = TypeVar("R")

#: Where requests go when they must be answered from recordings (never contacted).
REPLAY_BASE_URL = "http://127.0.0.1:9/v1"


def _is_transient(exc: BaseException) -> bool:
    if _recording_missing(exc):
        return False
    if isinstance(exc, ValueError) and "no completion choices" in str(exc).lower():
        return True  # an answer with empty "choices": the server had a hiccup, ask again
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in (408, 409, 429) or exc.status_code >= 500
    return isinstance(exc, openai.APIConnectionError | openai.APITimeoutError | httpx.TransportError)


def _recording_missing(exc: BaseException | None) -> bool:
    while exc is not None:
        if type(exc).__name__ == "CannotOverwriteExistingCassetteException":
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    if response is None:
        return None
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class _Backoff(tenacity.wait.wait_base):
    """Honour Retry-After when the server sends one; otherwise exponential backoff with jitter."""

    def __init__(self, max_backoff: float) -> None:
        self.max_backoff = max_backoff
        self.exponential = tenacity.wait_random_exponential(multiplier=0.5, max=max_backoff)

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        hinted = _retry_after(exc) if exc is not None else None
        if hinted is not None:
            return min(hinted, self.max_backoff)
        return float(self.exponential(retry_state))


def _last_output(exc: BaseException) -> str | None:
    completion = getattr(exc, "last_completion", None)
    try:
        return str(completion.choices[0].message.content)  # type: ignore[union-attr]
    except Exception:
        return None


class LLM:
    """A model endpoint with cache, retries and usage counters.

    >>> llm = LLM(Settings(model="gpt-4o-mini", base_url="https://api.openai.com/v1", api_key="sk-..."))
    >>> answer = llm.complete(stage="extract", prompt=prompt, variables={...}, response_model=Claims)
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
        self.usage = usage if usage is not None else Usage()
        self._lock = threading.Lock()
        self._local = threading.local()
        self._replay_only = replay_only
        self._http_client = http_client
        self._base_url: str | None = None
        self._openai: openai.OpenAI | None = None
        self._instructor: instructor.Instructor | None = None
        self.cache = ResponseCache(settings.resolved_cache_dir) if settings.use_cache else None

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

    def _client(self) -> instructor.Instructor:
        if self._instructor is None:
            base_url = self.base_url
            with self._lock:
                if self._instructor is None:
                    self._openai = openai.OpenAI(
                        base_url=base_url,
                        api_key=self.settings.api_key or "not-needed",
                        timeout=self.settings.timeout,
                        max_retries=0,  # tenacity owns transport retries
                        http_client=self._http_client,
                    )
                    client = instructor.from_openai(self._openai, mode=instructor.Mode.JSON_SCHEMA)
                    client.on("completion:response", self._on_response)
                    client.on("parse:error", self._on_parse_error)
                    self._instructor = client
        return self._instructor

    # -- hooks -----------------------------------------------------------------------------------
    def _on_response(self, response: Any) -> None:
        stage = getattr(self._local, "stage", "other")
        usage = getattr(response, "usage", None)
        with self._lock:
            s = self.usage.stage(stage)
            s.calls += 1
            if usage is not None:
                s.prompt_tokens += int(getattr(usage, "prompt_tokens", 0) or 0)
                s.completion_tokens += int(getattr(usage, "completion_tokens", 0) or 0)

    def _on_parse_error(self, error: Exception) -> None:
        stage = getattr(self._local, "stage", "other")
        with self._lock:
            self.usage.stage(stage).reasks += 1
        log.warning("%s: answer did not fit the schema (%s); re-asking", stage, type(error).__name__)

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
                schema=_schema(response_model),
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
        self._local.stage = stage
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
        attempts = 0

        def before_sleep(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            with self._lock:
                self.usage.stage(where["stage"]).retries += 1
            log.warning(
                "%s (article %s, chunk %s): %s; retry %d of %d",
                where["stage"], where["article_id"], where["chunk_index"],
                _describe(exc), state.attempt_number, self.settings.max_retries,
            )

        transport = tenacity.Retrying(
            retry=tenacity.retry_if_exception(_is_transient),
            stop=tenacity.stop_after_attempt(self.settings.max_retries + 1),
            wait=_Backoff(self.settings.max_backoff),
            before_sleep=before_sleep,
            reraise=True,
        )
        reasks = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(
                (pydantic.ValidationError, JSONDecodeError, instructor.core.exceptions.ValidationError)
            ),
            stop=tenacity.stop_after_attempt(self.settings.max_reasks + 1),
        )
        client = self._client()
        extra: dict[str, Any] = {}
        body = self.settings.request_extra_body()
        if body:
            extra["extra_body"] = body
        try:
            for attempt in transport:
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    return client.chat.completions.create(
                        model=self.settings.model,
                        messages=messages,  # type: ignore[arg-type]
                        response_model=response_model,
                        max_retries=reasks,
                        temperature=self.settings.temperature,
                        seed=self.settings.seed,
                        max_tokens=max_tokens,
                        **extra,
                    )
        except IncompleteOutputException as exc:
            raise TruncatedOutputError(
                f"the answer hit the {max_tokens}-token limit before it was complete",
                attempts=attempts, last_output=_last_output(exc), **where,
            ) from None
        except InstructorRetryException as exc:
            cause = exc.__cause__ or (exc.args[0] if exc.args else None)
            if isinstance(cause, tenacity.RetryError) and cause.last_attempt.failed:
                cause = cause.last_attempt.exception()
            if isinstance(cause, IncompleteOutputException) or "IncompleteOutput" in repr(cause):
                raise TruncatedOutputError(
                    f"the answer hit the {max_tokens}-token limit before it was complete",
                    attempts=attempts, last_output=_last_output(exc), **where,
                ) from None
            if cause is not None and _is_transient(cause if isinstance(cause, BaseException) else Exception()):
                raise TransientLLMError(_describe(cause), attempts=attempts, **where) from None
            raise SchemaError(
                f"the answer did not fit the schema after {exc.n_attempts} attempt(s): {_describe(cause)}",
                attempts=exc.n_attempts, last_output=_last_output(exc), **where,
            ) from None
        except Exception as exc:  # noqa: BLE001 - every library error becomes a RecoupeError
            if _recording_missing(exc):
                raise RecordingMissingError(
                    "no recorded response matches this request (record it with --record)",
                    attempts=attempts, **where,
                ) from None
            if _is_transient(exc):
                raise TransientLLMError(
                    f"{_describe(exc)} (gave up after {attempts} attempt(s))", attempts=attempts, **where
                ) from None
            raise LLMError(_describe(exc), attempts=attempts, **where) from None
        raise LLMError("no attempt was made", **where)  # pragma: no cover

    def close(self) -> None:
        if self.cache is not None:
            self.cache.close()
        if self._openai is not None:
            self._openai.close()


@functools.lru_cache(maxsize=64)
def _schema(response_model: type[pydantic.BaseModel]) -> dict[str, Any]:
    """The response model's JSON schema, built once per model (it costs ~1 ms each time)."""
    return response_model.model_json_schema()


def _describe(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown error"
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code} from the model endpoint"
    if isinstance(exc, openai.APITimeoutError):
        return "the model endpoint timed out"
    if isinstance(exc, openai.APIConnectionError):
        return "could not connect to the model endpoint"
    if isinstance(exc, pydantic.ValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        return f"invalid answer ({exc.error_count()} error(s), first: {first.get('msg', '')} at {first.get('loc', '')})"
    if isinstance(exc, JSONDecodeError):
        return f"answer is not valid JSON ({exc.msg})"
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:300]


def run_concurrently(fn: Callable[[R], Any], items: Iterable[R], concurrency: int) -> Iterator[tuple[R, Any]]:
    """Apply ``fn`` to ``items`` with at most ``concurrency`` in flight; yields ``(item, result or
    exception)`` in completion order so that progress can be reported as work finishes."""
    items = list(items)
    if concurrency <= 1:
        for item in items:
            try:
                yield item, fn(item)
            except Exception as exc:  # noqa: BLE001
                yield item, exc
        return
    from concurrent.futures import as_completed

    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        futures = {pool.submit(fn, item): item for item in items}
        for future in as_completed(futures):
            exc = future.exception()
            yield futures[future], (exc if exc is not None else future.result())
