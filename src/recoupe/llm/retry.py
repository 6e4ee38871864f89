"""Transport faults of an OpenAI-compatible endpoint: which are worth asking again, how long to
wait (``Retry-After`` or exponential backoff), and how to say what went wrong in one line."""

from __future__ import annotations

from json import JSONDecodeError
from typing import Any

import httpx
import openai
import pydantic
import tenacity
from openai.types.chat import ChatCompletion

__all__ = [
    "Backoff",
    "MalformedAnswerError",
    "NoChoicesError",
    "check_completion",
    "content",
    "describe",
    "is_transient",
    "recording_missing",
]


class NoChoicesError(Exception):
    """An answer with an empty ``choices``: the server had a hiccup; asked again like a 5xx."""


class MalformedAnswerError(Exception):
    """A 200 whose body is not a chat completion (not JSON, an HTML page from a proxy, JSON of
    another shape): the transport failed, not the model; asked again like a 5xx."""


def check_completion(completion: Any) -> None:
    """Raise unless ``completion`` has the shape instructor reads: a list of choices whose first
    holds a message with text content. (The openai SDK builds the object without validating it.)"""
    if not isinstance(completion, ChatCompletion):
        size = f" of {len(completion)} characters" if isinstance(completion, str) else ""
        raise MalformedAnswerError(
            f"malformed answer from the endpoint: a {type(completion).__name__}{size}, not a chat completion"
        )
    choices = getattr(completion, "choices", None)
    if not isinstance(choices, list):
        raise MalformedAnswerError("malformed answer from the endpoint: no list of choices")
    if not choices:
        raise NoChoicesError("the endpoint returned no completion choices")
    message = getattr(choices[0], "message", None)
    if not isinstance(getattr(message, "content", None), str):
        raise MalformedAnswerError("malformed answer from the endpoint: the first choice has no message text")


def is_transient(exc: BaseException) -> bool:
    if recording_missing(exc):
        return False
    if isinstance(exc, NoChoicesError | MalformedAnswerError):
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in (408, 409, 429) or exc.status_code >= 500
    return isinstance(exc, openai.APIConnectionError | openai.APITimeoutError | httpx.TransportError)


def recording_missing(exc: BaseException | None) -> bool:
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


class Backoff(tenacity.wait.wait_base):
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


def content(completion: Any) -> str | None:
    try:
        return str(completion.choices[0].message.content)
    except (AttributeError, IndexError, TypeError):
        return None


def describe(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown error"
    if isinstance(exc, NoChoicesError | MalformedAnswerError):
        return str(exc)
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code} from the model endpoint"
    if isinstance(exc, openai.APITimeoutError):
        return "the model endpoint timed out"
    if isinstance(exc, openai.APIConnectionError):
        return "could not connect to the model endpoint"
    if isinstance(exc, pydantic.ValidationError):
        errors = exc.errors()
        msg, loc = (errors[0]["msg"], errors[0]["loc"]) if errors else ("", ())
        return f"invalid answer ({exc.error_count()} error(s), first: {msg} at {loc})"
    if isinstance(exc, JSONDecodeError):
        return f"answer is not valid JSON ({exc.msg})"
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:300]
