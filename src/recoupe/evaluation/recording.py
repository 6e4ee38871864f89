"""Recorded model responses (vcrpy cassettes): replay by default, record on request.

Requests are matched on method, path and JSON body (host and port are ignored, so a recording made
against the embedded server on a random port replays anywhere). Credentials never reach a cassette.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import ConfigError

__all__ = ["SECRET_HEADERS", "cassette"]

SECRET_HEADERS = [
    "authorization",
    "api-key",
    "x-api-key",
    "openai-organization",
    "openai-project",
    "cookie",
    "set-cookie",
]


def _json_body(r1: Any, r2: Any) -> None:
    def parsed(request: Any) -> Any:
        body = request.body
        if isinstance(body, bytes):
            body = body.decode("utf-8")
        try:
            return json.loads(body) if body else None
        except (TypeError, ValueError):
            return body

    if parsed(r1) != parsed(r2):
        raise AssertionError("request bodies differ")


def _scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    headers = response.get("headers", {})
    for name in list(headers):
        if name.lower() in SECRET_HEADERS:
            del headers[name]
    return response


def _vcr() -> Any:
    """vcrpy, which only the eval extra installs; a one-line hint when it is missing."""
    try:
        import vcr
    except ImportError:
        raise ConfigError(
            "replaying or recording model answers needs vcrpy, which is not installed: pip install 'recoupe[eval]'"
        ) from None
    return vcr


def _recorder() -> Any:
    recorder = _vcr().VCR(
        match_on=["method", "path", "json_body"],
        filter_headers=[(h, None) for h in SECRET_HEADERS],
        decode_compressed_response=True,
        before_record_response=_scrub_response,
    )
    recorder.register_matcher("json_body", _json_body)
    return recorder


@contextlib.contextmanager
def cassette(path: Path, *, record: bool = False, refresh: bool = False) -> Iterator[Any]:
    """Replay a recording (the default: no network, a request it does not hold fails).

    ``record=True`` replays what a cassette holds and records the requests it does not hold (a new
    cassette is recorded whole); ``refresh=True`` records it afresh.
    """
    path = Path(path)
    if record or refresh:
        path.parent.mkdir(parents=True, exist_ok=True)
    if refresh:
        path.unlink(missing_ok=True)
    mode = "all" if refresh else ("new_episodes" if record else "none")
    with _recorder().use_cassette(str(path), record_mode=mode, allow_playback_repeats=False) as cas:
        yield cas
