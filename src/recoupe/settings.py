"""One frozen Settings object, passed explicitly. Environment variables are read only by
:meth:`Settings.from_env`, called at the edge (CLI, top-level API defaults)."""

from __future__ import annotations

import argparse
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .errors import ConfigError

__all__ = [
    "ASYNC_CONCURRENCY",
    "EMBEDDED_MODEL",
    "EMBEDDED_TARGET_CHARS",
    "ENDPOINT_TARGET_CHARS",
    "Settings",
    "default_cache_root",
]

#: The model name the embedded server answers as (Qwen2.5-Coder-1.5B-Instruct, Q4_K_M).
EMBEDDED_MODEL = "qwen2.5-coder-1.5b-instruct-q4_k_m"


def default_cache_root() -> Path:
    """``$XDG_CACHE_HOME/recoupe`` (default ``~/.cache/recoupe``): the assembled model, the
    response cache and the embedded server's log live under it."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "recoupe"


#: Extraction target size on the embedded model and on an OpenAI-compatible endpoint: about one
#: request per news article. Chosen on eval v2 for the embedded model (eval/README.md): at 1000
#: characters it asks 18 requests of the seeds where 350 asks 45, in half the model time, at the
#: same strict F1 on the seeds and a higher one over the three sets.
EMBEDDED_TARGET_CHARS = 1000
ENDPOINT_TARGET_CHARS = 1000

#: Above this many requests in flight, an endpoint is asked from one event loop rather than from
#: one thread per request, unless ``Settings.async_requests`` says otherwise.
ASYNC_CONCURRENCY = 32


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _finite(value: Any) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)) and math.isfinite(value)


def _boolean(raw: str) -> bool:
    """``1``/``true``/``yes``/``on`` or ``0``/``false``/``no``/``off`` (any case)."""
    word = raw.strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


def _url(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


#: What each setting must be: a test and the words that say it.
_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "model": (lambda v: isinstance(v, str) and bool(v.strip()), "a non-empty model name"),
    "base_url": (lambda v: v is None or _url(v), "None or an http:// or https:// URL"),
    "api_key": (lambda v: v is None or isinstance(v, str), "None or a string"),
    "temperature": (lambda v: _finite(v) and v >= 0, "a number of at least 0"),
    "seed": (_integer, "an integer"),
    "timeout": (lambda v: _finite(v) and v > 0, "a number of seconds above 0"),
    "max_retries": (lambda v: _integer(v) and v >= 0, "an integer of at least 0"),
    "max_reasks": (lambda v: _integer(v) and v >= 0, "an integer of at least 0"),
    "max_tokens": (lambda v: _integer(v) and v >= 1, "an integer of at least 1"),
    "concurrency": (lambda v: _integer(v) and v >= 1, "an integer of at least 1"),
    "cache_dir": (lambda v: v is None or isinstance(v, str | os.PathLike), "None or a folder path"),
    "use_cache": (lambda v: isinstance(v, bool), "True or False"),
    "extra_body": (lambda v: v is None or isinstance(v, dict), "None or a dict"),
    "max_backoff": (lambda v: _finite(v) and v >= 0, "a number of seconds of at least 0"),
    "requests_per_minute": (lambda v: v is None or (_finite(v) and v > 0), "None or a number above 0"),
    "chunk_chars": (lambda v: v is None or (_integer(v) and v >= 1), "None or an integer of at least 1"),
    "async_requests": (lambda v: v is None or isinstance(v, bool), "None, True or False"),
    "reuse_prefix": (lambda v: v is None or isinstance(v, bool), "None, True or False"),
    "processes": (lambda v: _integer(v) and v >= 1, "an integer of at least 1"),
}

#: The environment variables :meth:`Settings.from_env` reads: the setting each sets, and its parser.
_ENV: dict[str, tuple[str, Callable[[str], Any]]] = {
    "OPENAI_BASE_URL": ("base_url", str),
    "OPENAI_API_KEY": ("api_key", str),
    "RECOUPE_MODEL": ("model", str),
    "RECOUPE_CACHE_DIR": ("cache_dir", Path),
    "RECOUPE_CONCURRENCY": ("concurrency", int),
    "RECOUPE_REUSE_PREFIX": ("reuse_prefix", _boolean),
    "RECOUPE_RPM": ("requests_per_minute", float),
    "RECOUPE_CHUNK_CHARS": ("chunk_chars", int),
    "RECOUPE_ASYNC": ("async_requests", _boolean),
    "RECOUPE_PROCESSES": ("processes", int),
}


def _problem(name: str, value: Any) -> str | None:
    """What is wrong with ``value`` for the setting ``name``, or ``None``."""
    ok, what = _RULES[name]
    if not ok(value):
        return f"{name} must be {what}"
    if name == "cache_dir" and value is not None and Path(value).exists() and not Path(value).is_dir():
        return f"cache_dir {value} is a file, not a folder"
    return None


def _shown(name: str, value: Any) -> str:
    if name == "api_key":
        return type(value).__name__  # never the key itself
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


@dataclass(frozen=True)
class Settings:
    """How recoupe talks to a model.

    With ``base_url=None`` recoupe starts the embedded llama.cpp server; any OpenAI-compatible
    endpoint (OpenAI, vLLM, Ollama, a llama.cpp server) is one ``base_url`` away.

    >>> settings = Settings(model="gpt-4o-mini", base_url="https://api.openai.com/v1", api_key="sk-...")
    >>> settings.embedded, "sk-..." in repr(settings)
    (False, False)
    """

    model: str = EMBEDDED_MODEL
    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    temperature: float = 0.0
    seed: int = 1234
    timeout: float = 300.0
    #: transport retries (429, 5xx, timeouts, connection errors), apart from validation re-asks
    max_retries: int = 4
    #: re-asks when the answer does not fit the schema
    max_reasks: int = 1
    max_tokens: int = 1024
    concurrency: int = 1
    cache_dir: Path | None = None
    use_cache: bool = True
    #: extra JSON sent with every request; the embedded server gets ``cache_prompt: false``
    extra_body: dict[str, Any] | None = None
    #: maximum backoff between transport retries, seconds
    max_backoff: float = 30.0
    #: client-side cap on requests sent per minute (an API tier's limit); ``None``: no cap, a 429
    #: from the endpoint still pauses every request for its ``Retry-After``
    requests_per_minute: float | None = None
    #: most characters of article text one extraction request asks about (the TARGET; context
    #: comes on top). ``None``: 1000 on the embedded model and on an endpoint; see
    #: :attr:`target_chars`
    chunk_chars: int | None = None
    #: send requests from one asyncio event loop (an ``openai.AsyncOpenAI`` client) instead of one
    #: thread per request in flight, with the same retries, re-asks, rate-limit pauses and cache,
    #: and an in-flight limit that halves after repeated 429s and grows back slowly. ``None``
    #: (the default): on when more than ``ASYNC_CONCURRENCY`` (32) requests are in flight on an
    #: endpoint; see :attr:`use_async`
    async_requests: bool | None = None
    #: on the embedded server: evaluate each system prompt once, keep its KV state, and restore it
    #: before every request, so that only the variable part is evaluated. Answers stay identical
    #: run after run and in any order (the prefix is always evaluated alone, the rest always from
    #: the same state), but they are not the answers of a server that evaluates every prompt whole
    #: (``False``): recordings and cached answers of the two modes are kept apart. ``None`` (the
    #: default): on for the embedded server on the threaded path; see :attr:`reuses_prefix`. An
    #: endpoint ignores it.
    reuse_prefix: bool | None = None
    #: extraction in this many worker processes, the articles dealt out in turn, each process with
    #: ``concurrency / processes`` requests in flight: for a hosted endpoint at a concurrency where
    #: one process's own work (splitting, grounding, parsing answers) fills a core. 1 (the
    #: default): in the calling process. Needs an endpoint; see :mod:`recoupe.extraction.processes`
    processes: int = 1

    def __post_init__(self) -> None:
        """Refuse a setting that cannot work, naming it: a :class:`ConfigError` here, at the edge,
        rather than a crash or a silent misbehaviour mid-batch."""
        for name in _RULES:
            value = getattr(self, name)
            problem = _problem(name, value)
            if problem:
                got = "" if name == "cache_dir" and _RULES[name][0](value) else f", got {_shown(name, value)}"
                raise ConfigError(problem + got)
        if self.cache_dir is not None:
            object.__setattr__(self, "cache_dir", Path(self.cache_dir))
        if self.processes > 1 and self.embedded:
            raise ConfigError(
                "processes above 1 need an endpoint (base_url): the embedded server answers one request at a time"
            )
        if self.processes > self.concurrency:
            raise ConfigError(
                f"processes ({self.processes}) must not exceed concurrency ({self.concurrency}): "
                "each process keeps at least one request in flight"
            )
        if self.embedded and self.reuse_prefix is True and self.use_async:
            raise ConfigError(
                "reuse_prefix works on the threaded path: leave async_requests off with it, or set reuse_prefix=False"
            )

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={('***' if k == 'api_key' and v else v)!r}" for k, v in self.__dict__.items())
        return f"Settings({shown})"

    @property
    def embedded(self) -> bool:
        return self.base_url is None

    @property
    def target_chars(self) -> int:
        """Characters per extraction target: about one request per news article on the embedded
        model (measured on eval v2) and on an endpoint (requests that cost money or rate limit),
        LangExtract's default too."""
        if self.chunk_chars is not None:
            return self.chunk_chars
        return EMBEDDED_TARGET_CHARS if self.embedded else ENDPOINT_TARGET_CHARS

    @property
    def reuses_prefix(self) -> bool:
        """Whether the embedded server's prefix state is restored before each request:
        ``reuse_prefix`` when set, else on for the embedded server on the threaded path."""
        if not self.embedded:
            return False
        if self.reuse_prefix is not None:
            return self.reuse_prefix
        return not self.use_async

    @property
    def use_async(self) -> bool:
        """Whether requests go through the event loop: ``async_requests`` when set, else on for an
        endpoint (not the embedded server) with a concurrency above ``ASYNC_CONCURRENCY``."""
        if self.async_requests is not None:
            return self.async_requests
        return not self.embedded and self.concurrency > ASYNC_CONCURRENCY

    @property
    def resolved_cache_dir(self) -> Path:
        return self.cache_dir or (default_cache_root() / "llm")

    def request_extra_body(self) -> dict[str, Any] | None:
        if self.extra_body is not None:
            return self.extra_body
        if self.reuses_prefix:
            # The prefix's state is restored into slot 0 before each request (llm.embedded).
            return {"cache_prompt": True, "id_slot": 0}
        if self.embedded:
            # Byte-identical answers at temperature 0 need the server's prompt cache off.
            return {"cache_prompt": False}
        return None

    def replace(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``OPENAI_API_KEY``, ``OPENAI_BASE_URL``, ``RECOUPE_MODEL``,
        ``RECOUPE_CACHE_DIR``, ``RECOUPE_CONCURRENCY``, ``RECOUPE_RPM``, ``RECOUPE_CHUNK_CHARS`` and
        ``RECOUPE_ASYNC`` (``1``/``true``/``yes``/``on`` or ``0``/``false``/``no``/``off``; unset:
        decided by the concurrency, see :attr:`use_async`);
        explicit ``overrides`` win (``None`` values are ignored). A variable that cannot be read
        raises :class:`ConfigError` naming it (an overridden one is not read)."""
        env = dict(os.environ if env is None else env)
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(unknown)}")
        explicit = {k: v for k, v in overrides.items() if v is not None}
        values: dict[str, Any] = {}
        for variable, (name, parse) in _ENV.items():
            raw = env.get(variable)
            if not raw or name in explicit:
                continue
            shown = "***" if name == "api_key" else repr(raw)
            try:
                value = parse(raw.strip()) if parse in (int, float) else parse(raw)
            except ValueError:
                value = None
            what = "1, true, yes, on, 0, false, no or off" if parse is _boolean else _RULES[name][1]
            problem = f"{name} must be {what}" if value is None else _problem(name, value)
            if problem:
                raise ConfigError(f"{variable}={shown}: {problem}")
            values[name] = value
        values.update(explicit)
        if values.get("base_url") and "concurrency" not in values:
            values["concurrency"] = 8  # hosted endpoints take parallel requests well
        return cls(**values)


def add_model_options(p: argparse.ArgumentParser) -> None:
    """The model and batch options every command that asks a model takes (``recoupe extract``,
    ``check``, ``serve``); :func:`settings_from_args` reads them."""
    p.add_argument("--model", help="model name (env RECOUPE_MODEL; default: the embedded model)")
    p.add_argument("--base-url", help="OpenAI-compatible endpoint (env OPENAI_BASE_URL; default: embedded server)")
    p.add_argument("--cache-dir", help="response cache folder (env RECOUPE_CACHE_DIR)")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the response cache")
    p.add_argument("--concurrency", type=int, help="requests in flight (env RECOUPE_CONCURRENCY)")
    p.add_argument("--timeout", type=float, help="seconds to wait for one model answer (default 300)")
    p.add_argument("--max-retries", type=int, help="transport retries per call (default 4)")
    p.add_argument("--rpm", type=float, help="send at most this many requests per minute (env RECOUPE_RPM)")
    p.add_argument(
        "--chunk-chars",
        type=int,
        help="characters of text per extraction request (env RECOUPE_CHUNK_CHARS; default 1000)",
    )
    p.add_argument(
        "--async-requests",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="send requests from one asyncio loop instead of threads (env RECOUPE_ASYNC; "
        "default: on for a hosted endpoint at a concurrency above 32)",
    )
    p.add_argument(
        "--processes",
        type=int,
        help="extract in this many worker processes, the requests in flight shared among them "
        "(env RECOUPE_PROCESSES; default 1; needs --base-url)",
    )
    p.add_argument(
        "--reuse-prefix",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="embedded model: evaluate each system prompt once and restore its state before every "
        "request (env RECOUPE_REUSE_PREFIX; default: on; answers identical run after run; "
        "--no-reuse-prefix evaluates every prompt whole)",
    )


def settings_from_args(args: argparse.Namespace) -> Settings:
    """:class:`Settings` from the environment, overridden by the options of :func:`add_model_options`
    that were given (an option a command lacks counts as not given)."""
    return Settings.from_env(
        model=getattr(args, "model", None),
        base_url=getattr(args, "base_url", None),
        cache_dir=Path(args.cache_dir) if getattr(args, "cache_dir", None) else None,
        concurrency=getattr(args, "concurrency", None),
        use_cache=False if getattr(args, "no_cache", False) else None,
        timeout=getattr(args, "timeout", None),
        max_retries=getattr(args, "max_retries", None),
        chunk_chars=getattr(args, "chunk_chars", None),
        requests_per_minute=getattr(args, "rpm", None),
        async_requests=getattr(args, "async_requests", None),
        reuse_prefix=getattr(args, "reuse_prefix", None),
        processes=getattr(args, "processes", None),
    )
