"""Recorded model responses (vcrpy cassettes): replay by default, record on request.

Requests are matched on method, path and JSON body (host and port are ignored, so a recording made
against the embedded server on a random port replays anywhere). Credentials never reach a cassette.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError

if TYPE_CHECKING:
    from ..llm import LLM
    from ..settings import Settings

__all__ = ["SECRET_HEADERS", "Replaying", "cassette", "replaying_all"]

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


def _only_completions(request: Any) -> Any:
    """What a cassette records: chat completions only. The embedded server's slot, template and
    tokenizer calls (prefix reuse) reach the server and are not recorded."""
    return request if request.path.endswith("/chat/completions") else None


def _recorder() -> Any:
    recorder = _vcr().VCR(
        before_record_request=_only_completions,
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


class _ManyCassettes:
    """A read-only vcrpy persister whose "path" names several recordings, joined by
    :data:`os.pathsep`: their interactions are played as one cassette."""

    @classmethod
    def load_cassette(cls, cassette_path: str, serializer: Any) -> tuple[list[Any], list[Any]]:
        from vcr.persisters.filesystem import FilesystemPersister

        requests: list[Any] = []
        responses: list[Any] = []
        for one in str(cassette_path).split(os.pathsep):
            got, answers = FilesystemPersister.load_cassette(one, serializer)
            requests.extend(got)
            responses.extend(answers)
        return requests, responses

    @staticmethod
    def save_cassette(cassette_path: str, cassette_dict: Any, serializer: Any) -> None:
        raise ConfigError("recordings opened together are replayed, never written")


def _recordings(paths: Iterable[Path | str]) -> list[Path]:
    """Every cassette in ``paths`` (a file, or a folder's ``*.yaml`` files, sorted)."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found.extend(sorted(path.rglob("*.yaml")))
        elif path.is_file():
            found.append(path)
        else:
            raise ConfigError(f"{path}: no such recording")
    if not found:
        raise ConfigError("no recordings to replay")
    return found


@contextlib.contextmanager
def replaying_all(paths: Iterable[Path | str]) -> Iterator[Any]:
    """Replay several recordings as one (files, or folders of them), never recording: a request
    none of them holds fails as it does in :func:`cassette`. Each recorded answer plays once."""
    recorder = _recorder()
    recorder.register_persister(_ManyCassettes)
    joined = os.pathsep.join(str(p) for p in _recordings(paths))
    with recorder.use_cassette(joined, record_mode="none", allow_playback_repeats=False) as cas:
        yield cas


class Replaying:
    """A picklable model factory for workers in other processes (a
    :mod:`recoupe.distributed` ``model``): called once in a worker, it opens ``recordings``
    there for the rest of the process and returns a client of ``settings`` that only replays them
    (no network, no response cache), so a cluster runs on answers recorded from a real model.

    >>> from recoupe import Settings
    >>> factory = Replaying(Settings(model="qwen2.5-coder-1.5b-instruct-q4_k_m"), ["eval/cassettes/embedded/extract"])
    >>> llm = factory()  # doctest: +SKIP
    """

    def __init__(self, settings: Settings, recordings: Iterable[Path | str]) -> None:
        self.settings = settings
        self.recordings = [str(p) for p in recordings]

    def __call__(self) -> LLM:
        from ..llm import LLM

        opened = replaying_all(self.recordings)
        _open.append(opened)
        opened.__enter__()
        return LLM(self.settings.replace(use_cache=False), replay_only=True)


#: The recordings :class:`Replaying` opened in this process (they stay open while it lives).
_open: list[Any] = []
