"""One frozen Settings object, passed explicitly. Environment variables are read only by
:meth:`Settings.from_env`, called at the edge (CLI, top-level API defaults)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

__all__ = ["EMBEDDED_MODEL", "ENDPOINT_TARGET_CHARS", "EMBEDDED_TARGET_CHARS", "Settings", "default_cache_root"]

#: The model name the embedded server answers as (Qwen2.5-Coder-1.5B-Instruct, Q4_K_M).
EMBEDDED_MODEL = "qwen2.5-coder-1.5b-instruct-q4_k_m"


def default_cache_root() -> Path:
    """``$XDG_CACHE_HOME/recoupe`` (default ``~/.cache/recoupe``): the assembled model, the
    response cache and the embedded server's log live under it."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "recoupe"

#: Extraction target size on the embedded model and on an OpenAI-compatible endpoint.
EMBEDDED_TARGET_CHARS = 350
ENDPOINT_TARGET_CHARS = 1000


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
    #: comes on top). ``None``: 350 on the embedded model, 1000 on an endpoint; see
    #: :attr:`target_chars`
    chunk_chars: int | None = None

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{k}={('***' if k == 'api_key' and v else v)!r}" for k, v in self.__dict__.items()
        )
        return f"Settings({shown})"

    @property
    def embedded(self) -> bool:
        return self.base_url is None

    @property
    def target_chars(self) -> int:
        """Characters per extraction target. The small embedded model extracts more of a short
        target than of a long one, so it gets short ones; an endpoint (a larger model, and requests
        that cost money or rate limit) gets about one per news article, LangExtract's default too."""
        if self.chunk_chars is not None:
            return self.chunk_chars
        return EMBEDDED_TARGET_CHARS if self.embedded else ENDPOINT_TARGET_CHARS

    @property
    def resolved_cache_dir(self) -> Path:
        return self.cache_dir or (default_cache_root() / "llm")

    def request_extra_body(self) -> dict[str, Any] | None:
        if self.extra_body is not None:
            return self.extra_body
        if self.embedded:
            # Byte-identical answers at temperature 0 need the server's prompt cache off.
            return {"cache_prompt": False}
        return None

    def replace(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **overrides: Any) -> Settings:
        """Settings from ``OPENAI_API_KEY``, ``OPENAI_BASE_URL``, ``RECOUPE_MODEL``,
        ``RECOUPE_CACHE_DIR``, ``RECOUPE_CONCURRENCY``, ``RECOUPE_RPM`` and ``RECOUPE_CHUNK_CHARS``;
        explicit ``overrides`` win (``None`` values are ignored)."""
        env = dict(os.environ if env is None else env)
        values: dict[str, Any] = {}
        if env.get("OPENAI_BASE_URL"):
            values["base_url"] = env["OPENAI_BASE_URL"]
        if env.get("OPENAI_API_KEY"):
            values["api_key"] = env["OPENAI_API_KEY"]
        if env.get("RECOUPE_MODEL"):
            values["model"] = env["RECOUPE_MODEL"]
        if env.get("RECOUPE_CACHE_DIR"):
            values["cache_dir"] = Path(env["RECOUPE_CACHE_DIR"])
        if env.get("RECOUPE_CONCURRENCY"):
            values["concurrency"] = int(env["RECOUPE_CONCURRENCY"])
        if env.get("RECOUPE_RPM"):
            values["requests_per_minute"] = float(env["RECOUPE_RPM"])
        if env.get("RECOUPE_CHUNK_CHARS"):
            values["chunk_chars"] = int(env["RECOUPE_CHUNK_CHARS"])
        values.update({k: v for k, v in overrides.items() if v is not None})
        if values.get("base_url") and "concurrency" not in values:
            values["concurrency"] = 8  # hosted endpoints take parallel requests well
        return cls(**values)
