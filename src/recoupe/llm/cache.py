"""The response cache: one diskcache entry per model call, keyed by everything that shapes the answer."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import diskcache

__all__ = ["CACHE_VERSION", "ResponseCache", "cache_key"]

#: Bump when the meaning of a cached value changes.
CACHE_VERSION = 1


def cache_key(
    *,
    model: str,
    messages: list[dict[str, str]],
    schema: dict[str, Any],
    temperature: float,
    seed: int,
    prompt_id: str,
    prompt_sha256: str,
    max_tokens: int,
) -> str:
    """sha256 of the canonical JSON of everything that shapes the answer. The endpoint and the API
    key are not part of it: the key never leaves the client, and the model name says what answers."""
    payload = {
        "model": model,
        "messages": messages,
        "schema": schema,
        "temperature": temperature,
        "seed": seed,
        "prompt": {"id": prompt_id, "sha256": prompt_sha256},
        "max_tokens": max_tokens,
        "cache_version": CACHE_VERSION,
    }
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class ResponseCache:
    """A folder of validated model answers. Each write is one SQLite transaction, so an
    interrupted run keeps every answer it finished and never a half-written one."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._cache = diskcache.Cache(str(self.directory))

    def get(self, key: str) -> dict[str, Any] | None:
        value = self._cache.get(key)
        return value if isinstance(value, dict) else None

    def set(self, key: str, value: dict[str, Any]) -> None:
        self._cache.set(key, value)

    def __len__(self) -> int:
        return len(self._cache)

    def volume(self) -> int:
        return int(self._cache.volume())

    def clear(self) -> int:
        return int(self._cache.clear())

    def close(self) -> None:
        self._cache.close()
