"""Reading batch files, and importing a results file into the response cache.

A results line is the OpenAI Batch output format, which ``vllm run-batch`` writes too::

    {"id": ..., "custom_id": ..., "response": {"status_code": 200, "request_id": ..., "body": {chat completion}},
     "error": null}

Each answer is parsed and validated the way the client does it (instructor, JSON_SCHEMA mode) and
stored under the key its ``custom_id`` carries, in the form the client stores, so that the normal
path finds it. A line that cannot be used (an error, an expired request, a status other than 200,
an answer that does not fit the schema, a ``custom_id`` recoupe did not write) is listed with its
file and line, the request it was and why; the others are imported.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from json import JSONDecodeError
from pathlib import Path
from typing import Any

import instructor
import pydantic
from instructor.core.exceptions import IncompleteOutputException
from instructor.core.exceptions import ValidationError as InstructorValidationError
from instructor.processing.response import handle_response_model, process_response
from openai.types.chat import ChatCompletion

from ..errors import ConfigError, RecoupeError
from ..llm.cache import ResponseCache
from ..llm.retry import MalformedAnswerError, NoChoicesError, check_completion, describe
from ..settings import Settings
from .ids import RequestId, parse_custom_id

__all__ = ["BatchFileError", "Imported", "Problem", "import_results", "read_jsonl"]


class BatchFileError(RecoupeError):
    """A batch file cannot be used: ``path`` names it, ``line`` the line (when one is at fault)."""

    def __init__(self, path: str | Path, reason: str, line: int | None = None) -> None:
        self.path = str(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}, line {line}" if line is not None else self.path
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True)
class Problem:
    """A request without a usable answer: where it is listed, which request, and why."""

    source: str
    custom_id: str
    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.custom_id or '(no custom_id)'} -> {self.where or '?'} -> {self.reason}"


@dataclass
class Imported:
    """What an import did: answers stored per stage, and the requests left without one."""

    imported: Counter[str] = field(default_factory=Counter)
    problems: list[Problem] = field(default_factory=list)
    lines: int = 0

    @property
    def total(self) -> int:
        return sum(self.imported.values())


def read_jsonl(path: str | Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """``(line number, object)`` for each non-blank line of ``path``, or ``(line number, reason)``
    for a line that is not a JSON object. A file that cannot be read is a :class:`BatchFileError`."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise BatchFileError(p, "no such file") from None
    except IsADirectoryError:
        raise BatchFileError(p, "is a folder, not a JSONL file") from None
    except OSError as exc:
        raise BatchFileError(p, f"cannot be read: {exc.strerror or type(exc).__name__}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise BatchFileError(p, "not UTF-8 text", line) from None
    for number, content in enumerate(text.splitlines(), 1):
        if not content.strip():
            continue
        try:
            value = json.loads(content)
        except JSONDecodeError as exc:
            yield number, f"not JSON ({exc.msg} at column {exc.colno})"
            continue
        yield number, value if isinstance(value, dict) else f"a JSON {type(value).__name__}, not an object"


@functools.lru_cache(maxsize=8)
def _prepared(response_model: type[pydantic.BaseModel]) -> Any:
    """The model instructor validates JSON_SCHEMA answers with (what the client parses with)."""
    prepared, _ = handle_response_model(response_model, mode=instructor.Mode.JSON_SCHEMA, messages=[])
    return prepared


def _answer(body: Any, request: RequestId) -> dict[str, Any]:
    """The cache value of one answer, parsed and validated as the client does; raises ValueError
    with the reason when it cannot be used."""
    if not isinstance(body, dict):
        raise ValueError("the response has no chat completion body")
    completion = ChatCompletion.construct(**body)
    try:
        check_completion(completion)
    except (MalformedAnswerError, NoChoicesError) as exc:
        raise ValueError(str(exc)) from None
    try:
        parsed = process_response(
            completion, response_model=_prepared(request.response_model), stream=False, mode=instructor.Mode.JSON_SCHEMA
        )
    except IncompleteOutputException:
        raise ValueError(
            "the answer hit the max_tokens limit before it was complete (`recoupe check` asks again, "
            "sentence by sentence)"
        ) from None
    except (ValueError, InstructorValidationError) as exc:
        raise ValueError(f"the answer does not fit the schema: {describe(exc)}") from None
    if not isinstance(parsed, pydantic.BaseModel):  # pragma: no cover - JSON_SCHEMA answers are models
        raise ValueError("the answer could not be read")
    model = body.get("model")
    return {"answer": parsed.model_dump(mode="json"), "model": model if isinstance(model, str) else "unknown"}


def _error_text(error: Any) -> str:
    if isinstance(error, dict):
        code, message = error.get("code"), error.get("message")
        if code == "batch_expired":
            return "expired: the batch's completion window ended before it ran"
        return ": ".join(str(x) for x in (code, message) if x) or json.dumps(error)[:300]
    return str(error)[:300]


def _failure(record: dict[str, Any]) -> str | None:
    """Why a results line carries no answer, or ``None`` when it does."""
    error = record.get("error")
    response = record.get("response")
    if error:
        status = response.get("status_code") if isinstance(response, dict) else None
        text = _error_text(error)
        return f"HTTP {status}: {text}" if status not in (None, 200) else text
    if not isinstance(response, dict):
        return "no response"
    status = response.get("status_code")
    if status != 200:
        body = response.get("body")
        detail = body.get("error") if isinstance(body, dict) else None
        message = _error_text(detail) if detail else ""
        return f"HTTP {status}" + (f": {message}" if message else "")
    return None


def _requests_of(path: Path) -> dict[str, int]:
    """custom_id -> line number of a batch input file."""
    ids: dict[str, int] = {}
    for number, record in read_jsonl(path):
        if isinstance(record, str):
            raise BatchFileError(path, record, number)
        custom_id = record.get("custom_id")
        if not isinstance(custom_id, str):
            raise BatchFileError(path, "no custom_id", number)
        ids.setdefault(custom_id, number)
    return ids


def import_results(
    results: list[str | Path] | str | Path,
    settings: Settings,
    *,
    requests: str | Path | None = None,
) -> Imported:
    """Load the answers of batch results files into the response cache of ``settings``.

    With ``requests`` (the input file), a request of it with no line in the results is listed as
    missing, and a result whose ``custom_id`` it does not hold is listed as unknown.
    """
    if not settings.use_cache:
        raise ConfigError("a batch's answers go into the response cache: run without --no-cache")
    paths = [Path(results)] if isinstance(results, str | Path) else [Path(p) for p in results]
    asked = _requests_of(Path(requests)) if requests is not None else None
    outcome = Imported()
    seen: set[str] = set()
    answered: set[str] = set()
    cache = ResponseCache(settings.resolved_cache_dir)
    try:
        for path in paths:
            for number, record in read_jsonl(path):
                outcome.lines += 1
                source = f"{path}, line {number}"
                if isinstance(record, str):
                    outcome.problems.append(Problem(source, "", "", record))
                    continue
                custom_id = record.get("custom_id")
                if not isinstance(custom_id, str):
                    outcome.problems.append(Problem(source, "", "", "no custom_id"))
                    continue
                if "response" not in record and "body" in record:
                    raise BatchFileError(
                        path,
                        "this is a request line, not a result: import the file `recoupe batch collect` "
                        "or `vllm run-batch -o` wrote",
                        number,
                    )
                request = parse_custom_id(custom_id)
                if request is None:
                    outcome.problems.append(Problem(source, custom_id, "", "unknown custom_id: not one recoupe wrote"))
                    continue
                if asked is not None and custom_id not in asked:
                    outcome.problems.append(
                        Problem(source, custom_id, request.where, f"unknown custom_id: not in {requests}")
                    )
                    continue
                seen.add(custom_id)
                reason = _failure(record)
                if reason is None:
                    try:
                        value = _answer(record["response"].get("body"), request)
                    except ValueError as exc:
                        reason = str(exc)
                    else:
                        cache.set(request.key, value)
                        if cache.get(request.key) is None:
                            reason = f"could not be written to the cache at {cache.directory}"
                        else:
                            outcome.imported[request.stage] += 1
                            answered.add(custom_id)
                            continue
                outcome.problems.append(Problem(source, custom_id, request.where, reason))
        if asked is not None:
            for custom_id, number in asked.items():
                if custom_id not in seen:
                    request = parse_custom_id(custom_id)
                    where = request.where if request else ""
                    outcome.problems.append(
                        Problem(f"{requests}, line {number}", custom_id, where, "no result: missing from the results")
                    )
        if cache.damage_message:
            raise ConfigError(cache.damage_message)
        # a request that failed in one file and was answered in another (a retry) is answered
        outcome.problems = [p for p in outcome.problems if p.custom_id not in answered]
    finally:
        cache.close()
    return outcome
