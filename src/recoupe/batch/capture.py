"""Writing a batch: run the normal pipeline with a client that keeps each request instead of sending it.

The pipeline is recoupe's own (:func:`~recoupe.extraction.extract_articles`, then
:func:`~recoupe.crosscheck.crosscheck`), and so is the client (:class:`~recoupe.llm.LLM`): the
capturing client differs only in its HTTP transport, which records the body the client posts and
answers 400 without a byte leaving the process, and in its cache, which records the key the
client looks the request up by. A batch line therefore holds exactly the body the normal path
would send, and its ``custom_id`` the exact key the normal path will look its answer up by.

A request the cache answers is not written: the pipeline goes on with the cached answer. That
makes the rounds: the first file holds every extraction request; once their answers are imported,
the extraction runs from the cache and the second file holds every adjudication request of the
cross-check (which pairs go to the model depends on the claims only, never on other
adjudications). Preparing again after an import writes just the requests still unanswered.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pydantic

from ..articles import iter_articles
from ..crosscheck.adjudicate import PairAdjudication
from ..errors import ArticleError, ConfigError, LLMError
from ..extraction import extract_articles
from ..extraction.schema import ClaimDrafts
from ..files import atomic_write_text
from ..llm import LLM
from ..llm.cache import ResponseCache
from ..llm.prompts import Prompt
from ..models import Article, Extraction, Failure
from ..settings import Settings
from .ids import STAGES, extract_id, pair_id

__all__ = ["BATCH_URL", "BatchRequest", "Prepared", "prepare"]

T = TypeVar("T", bound=pydantic.BaseModel)

#: The endpoint every line asks (the only one recoupe uses).
BATCH_URL = "/v1/chat/completions"

#: What the pipeline is given for a request that went into the file: never reported anywhere, it
#: only lets the pipeline go on to the next request.
_PLACEHOLDERS: dict[str, pydantic.BaseModel] = {
    "extract": ClaimDrafts(claims=[]),
    "adjudicate": PairAdjudication(relation="unrelated", rationale="held for a batch"),
}


@dataclass(frozen=True)
class BatchRequest:
    """One line of a batch input file."""

    custom_id: str
    stage: str
    #: the cache key the normal path looks this request's answer up by
    key: str
    #: the chat completion request, exactly as the client would post it
    body: dict[str, Any]
    #: where it comes from, for people: "article X, chunk N" or "claims A and B"
    where: str

    def line(self) -> str:
        record = {"custom_id": self.custom_id, "method": "POST", "url": BATCH_URL, "body": self.body}
        return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


@dataclass
class Prepared:
    """The requests of the next round: ``stage`` is ``extract``, ``adjudicate``, or ``None`` when the
    cache answers every request of the check (then ``requests`` is empty)."""

    stage: str | None
    requests: list[BatchRequest] = field(default_factory=list)
    #: articles loaded; inputs that could not be (listed, the others are prepared)
    articles: int = 0
    failures: list[Failure] = field(default_factory=list)
    #: requests of this round the cache already answered (not written)
    answered: int = 0

    def text(self) -> str:
        return "".join(r.line() + "\n" for r in self.requests)

    def write(self, path: str | Path) -> int:
        """Write the JSONL file atomically; returns its size in bytes."""
        text = self.text()
        atomic_write_text(path, text)
        return len(text.encode())


class _State(threading.local):
    body: dict[str, Any] | None = None
    key: str | None = None


class _CaptureTransport(httpx.BaseTransport):
    """Keeps the body of each request and answers 400: nothing is sent anywhere."""

    def __init__(self, state: _State) -> None:
        self._state = state

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self._state.body = json.loads(request.read() or b"{}")
        return httpx.Response(400, json={"error": {"message": "held for a batch file, not sent"}})


class _KeyRecordingCache(ResponseCache):
    """The response cache, which also notes the key each lookup asks for (per thread)."""

    def __init__(self, directory: Path, state: _State) -> None:
        super().__init__(directory)
        self._state = state

    def get(self, key: str) -> dict[str, Any] | None:
        self._state.key = key
        return super().get(key)


class CapturingLLM(LLM):
    """:class:`~recoupe.llm.LLM` whose cache misses become batch lines instead of model calls.

    A cached answer is returned as usual; a request the cache cannot answer is recorded (its body,
    its cache key, where it comes from) and the pipeline gets a neutral placeholder answer.
    """

    def __init__(self, settings: Settings) -> None:
        self._state = _State()
        client = httpx.Client(transport=_CaptureTransport(self._state))
        # No retries, no pacing, one request at a time (a deterministic order); the cache is the
        # key-recording one. None of these settings shapes a request body or a cache key.
        quiet = settings.replace(use_cache=False, max_retries=0, requests_per_minute=None, concurrency=1)
        super().__init__(quiet, http_client=client)
        self._http = client
        self.cache = _KeyRecordingCache(settings.resolved_cache_dir, self._state)
        self._lock_records = threading.Lock()
        self.requests: dict[str, BatchRequest] = {}
        self.answered: dict[str, int] = {}
        #: (claim text, quote) -> claim id, to name adjudication requests by their claims
        self.claim_ids: dict[tuple[str, str], str] = {}

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
        state = self._state
        state.body = state.key = None
        try:
            answer = super().complete(
                stage=stage,
                prompt=prompt,
                variables=variables,
                response_model=response_model,
                article_id=article_id,
                chunk_index=chunk_index,
                max_tokens=max_tokens,
            )
        except LLMError:
            body, key = state.body, state.key
            if body is None:
                raise
            if key is None:
                raise ConfigError(
                    "the client asked the endpoint without looking the request up in the cache: "
                    "a batch answer could not be found again, so none is prepared"
                ) from None
            if STAGES.get(stage) is not response_model:
                raise ConfigError(
                    f"stage {stage!r} asks for {response_model.__name__}, which a batch cannot carry"
                ) from None
            self._record(stage, key, body, variables, article_id, chunk_index)
            placeholder = _PLACEHOLDERS[stage]
            assert isinstance(placeholder, response_model)
            return placeholder
        with self._lock_records:
            self.answered[stage] = self.answered.get(stage, 0) + 1
        return answer

    def _record(
        self,
        stage: str,
        key: str,
        body: dict[str, Any],
        variables: dict[str, Any],
        article_id: str | None,
        chunk_index: int | None,
    ) -> None:
        if stage == "extract":
            custom_id = extract_id(article_id, chunk_index, key)
            where = f"article {article_id}, chunk {chunk_index}"
        else:
            a = self.claim_ids.get((str(variables.get("claim_a")), str(variables.get("quote_a"))))
            b = self.claim_ids.get((str(variables.get("claim_b")), str(variables.get("quote_b"))))
            custom_id = pair_id(a, b, key)
            where = f"claims {a} and {b}"
        with self._lock_records:
            # the same request twice (two identical chunks) is asked once: one answer fills one key
            self.requests.setdefault(key, BatchRequest(custom_id, stage, key, body, where))

    def of_stage(self, stage: str) -> list[BatchRequest]:
        return [r for r in self.requests.values() if r.stage == stage]

    def close(self) -> None:
        super().close()
        self._http.close()


def _items(inputs: str | Path | Iterable[Article | ArticleError | str | Path]) -> list[Article | ArticleError]:
    if isinstance(inputs, str | Path):
        return list(iter_articles([inputs]))
    items: list[Article | ArticleError] = []
    paths: list[str | Path] = []
    for item in inputs:
        if isinstance(item, Article | ArticleError):
            items.append(item)
        else:
            paths.append(item)
    items.extend(iter_articles(paths))
    return items


def check_batch_settings(settings: Settings) -> None:
    """A batch needs an endpoint's settings (the embedded server takes no batch) and the cache
    (where the answers are imported to)."""
    if settings.base_url is None:
        raise ConfigError(
            "a batch is prepared for an endpoint: set OPENAI_BASE_URL or --base-url (and the model), the "
            "same as for the `recoupe check` that follows (prepare contacts no one; for vLLM run-batch "
            "give the URL the check will use, e.g. http://localhost:8000/v1)"
        )
    if not settings.use_cache:
        raise ConfigError("a batch's answers go into the response cache: run without --no-cache")


def prepare(
    inputs: str | Path | Iterable[Article | ArticleError | str | Path],
    settings: Settings,
    *,
    adjudicate: bool = True,
) -> Prepared:
    """The requests of the next round of a batch check of ``inputs`` with ``settings``: every
    extraction request the cache cannot answer; when it answers them all, every adjudication
    request of the cross-check it cannot answer (none with ``adjudicate=False``).

    Nothing is sent anywhere. ``settings`` must be those of the check that follows (model,
    endpoint, chunk size, cache folder): they shape the requests and the cache keys.
    """
    check_batch_settings(settings)
    items = _items(inputs)
    llm = CapturingLLM(settings)
    try:
        extraction: Extraction = extract_articles(items, llm, chunk_chars=llm.target_chars)
        failures = [f for f in extraction.failures if f.stage == "load"]
        loaded = sum(isinstance(item, Article) for item in items)
        pending = llm.of_stage("extract")
        if pending or extraction.failures != failures:
            # an article that failed for another reason than a held request is shown with its reason
            return Prepared("extract", pending, loaded, list(extraction.failures), llm.answered.get("extract", 0))
        if not adjudicate:
            return Prepared(None, [], loaded, failures, 0)
        from ..crosscheck import crosscheck  # numpy and the encoder load only for this round

        llm.claim_ids = {(c.text, c.quote): c.id for c in extraction.claims()}
        crosscheck(extraction, llm, adjudicate=True)
        pending = llm.of_stage("adjudicate")
        stage = "adjudicate" if pending else None
        return Prepared(stage, pending, loaded, failures, llm.answered.get("adjudicate", 0))
    finally:
        llm.close()
