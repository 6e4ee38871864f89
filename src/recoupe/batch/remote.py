"""The Files and Batches endpoints of an OpenAI-compatible API, through the openai client.

``submit`` uploads a batch input file (``purpose="batch"``) and creates a batch over it (24-hour
window); ``status`` reads a batch; ``collect`` downloads its output and error files into one
results file (the error file's lines have the output file's format). The endpoint and the key
come from :class:`~recoupe.settings.Settings`, as for every other model request.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import openai
from openai.types import Batch

from ..errors import ConfigError, RecoupeError
from ..files import atomic_write_text, check_writable
from ..settings import Settings
from .capture import BATCH_URL
from .results import BatchFileError, read_jsonl

__all__ = [
    "COMPLETION_WINDOW",
    "TERMINAL",
    "BatchServiceError",
    "Collected",
    "check_requests_file",
    "collect",
    "describe_batch",
    "status",
    "submit",
]

COMPLETION_WINDOW: Final = "24h"
_ENDPOINT: Final = "/v1/chat/completions"
#: Batch states that do not change any more.
TERMINAL = frozenset({"completed", "failed", "expired", "cancelled"})


class BatchServiceError(RecoupeError):
    """The Files or Batches endpoint refused or could not be reached."""


def _client(settings: Settings) -> openai.OpenAI:
    if settings.base_url is None:
        raise ConfigError(
            "the Batch API is an endpoint's: set OPENAI_BASE_URL or --base-url (https://api.openai.com/v1 for "
            "OpenAI; for vLLM, run `vllm run-batch` on the file instead)"
        )
    return openai.OpenAI(
        base_url=settings.base_url,
        api_key=settings.api_key or "not-needed",
        timeout=settings.timeout,
        max_retries=settings.max_retries,
    )


@contextmanager
def _service(settings: Settings, doing: str) -> Iterator[openai.OpenAI]:
    """An openai client; its errors become one :class:`BatchServiceError` line saying what failed."""
    client = _client(settings)
    try:
        yield client
    except openai.APIStatusError as exc:
        message = exc.message.splitlines()[0] if exc.message else ""
        raise BatchServiceError(
            f"{doing}: HTTP {exc.status_code} from {settings.base_url}" + (f" ({message[:300]})" if message else "")
        ) from None
    except openai.APITimeoutError:
        raise BatchServiceError(f"{doing}: {settings.base_url} did not answer in {settings.timeout:g} s") from None
    except openai.APIConnectionError:
        raise BatchServiceError(f"{doing}: could not connect to {settings.base_url}") from None
    finally:
        client.close()


def check_requests_file(path: str | Path) -> int:
    """Check a batch input file before it is uploaded; returns its number of requests. A bad line is
    a :class:`BatchFileError` naming it."""
    seen: dict[str, int] = {}
    for number, record in read_jsonl(path):
        if isinstance(record, str):
            raise BatchFileError(path, record, number)
        custom_id = record.get("custom_id")
        if not isinstance(custom_id, str) or not custom_id:
            raise BatchFileError(path, "no custom_id", number)
        if custom_id in seen:
            raise BatchFileError(path, f"custom_id {custom_id!r} is already on line {seen[custom_id]}", number)
        seen[custom_id] = number
        if record.get("method") != "POST" or record.get("url") != BATCH_URL:
            raise BatchFileError(path, f'not a request line: expected "method": "POST", "url": "{BATCH_URL}"', number)
        if not isinstance(record.get("body"), dict):
            raise BatchFileError(path, "the request has no body", number)
    if not seen:
        raise BatchFileError(path, "holds no request: nothing to submit")
    return len(seen)


def submit(path: str | Path, settings: Settings, *, metadata: dict[str, str] | None = None) -> Batch:
    """Upload the batch input file ``path`` and start a batch over it."""
    check_requests_file(path)
    p = Path(path)
    with _service(settings, f"uploading {p}") as client, p.open("rb") as fh:
        uploaded = client.files.create(file=fh, purpose="batch")
    with _service(settings, f"creating a batch over {p}") as client:
        return client.batches.create(
            input_file_id=uploaded.id,
            endpoint=_ENDPOINT,
            completion_window=COMPLETION_WINDOW,
            metadata={"source": "recoupe", "requests_file": p.name[:500], **(metadata or {})},
        )


def status(batch_id: str, settings: Settings) -> Batch:
    with _service(settings, f"reading batch {batch_id}") as client:
        return client.batches.retrieve(batch_id)


def describe_batch(batch: Batch) -> str:
    """One line (and one per error of a batch that failed validation) saying where a batch is."""
    counts = batch.request_counts
    done = f", {counts.completed} of {counts.total} requests done, {counts.failed} failed" if counts else ""
    text = f"batch {batch.id}: {batch.status}{done}"
    errors: Any = getattr(batch.errors, "data", None) or []
    for error in errors:
        line = f" (line {error.line})" if getattr(error, "line", None) else ""
        text += f"\n  {error.code or 'error'}{line}: {error.message or ''}"
    return text


@dataclass
class Collected:
    """A batch's state and, once it is over, the results file written."""

    batch: Batch
    ready: bool
    output_lines: int = 0
    error_lines: int = 0
    size: int = 0


def _download(client: openai.OpenAI, file_id: str, batch_id: str) -> list[str]:
    raw = client.files.content(file_id).content
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BatchServiceError(f"file {file_id} of batch {batch_id} is not UTF-8 text") from None
    return [line for line in text.splitlines() if line.strip()]


def collect(
    batch_id: str,
    out: str | Path,
    settings: Settings,
    *,
    wait: bool = False,
    poll: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
) -> Collected:
    """Write the results of batch ``batch_id`` to ``out``: its output file's lines, then its error
    file's (failed and expired requests), as one JSONL file for ``recoupe batch import``.

    A batch still running writes nothing (``ready`` is False) unless ``wait``, which polls every
    ``poll`` seconds until it ends.
    """
    check_writable(out)
    with _service(settings, f"collecting batch {batch_id}") as client:
        batch = client.batches.retrieve(batch_id)
        while batch.status not in TERMINAL and wait:
            sleep(poll)
            batch = client.batches.retrieve(batch_id)
        if batch.status not in TERMINAL:
            return Collected(batch, ready=False)
        if batch.status == "failed":
            raise BatchServiceError(f"{describe_batch(batch)}\nnothing ran: mend the input file and submit it again")
        output = _download(client, batch.output_file_id, batch_id) if batch.output_file_id else []
        errors = _download(client, batch.error_file_id, batch_id) if batch.error_file_id else []
    text = "".join(line + "\n" for line in output + errors)
    atomic_write_text(out, text)
    return Collected(batch, ready=True, output_lines=len(output), error_lines=len(errors), size=len(text.encode()))
