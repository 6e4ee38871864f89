"""The response cache: one diskcache entry per model call, keyed by everything that shapes the answer."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import shutil
import sqlite3
import threading
from pathlib import Path
from typing import Any

import diskcache

from ..errors import ConfigError
from ..files import OutputError, check_writable_folder

__all__ = ["CACHE_VERSION", "ResponseCache", "cache_key"]

log = logging.getLogger(__name__)

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
    variant: str | None = None,
) -> str:
    """sha256 of the canonical JSON of everything that shapes the answer. The endpoint and the API
    key are not part of it: the key never leaves the client, and the model name says what answers.
    ``variant`` names a way of serving that gives other answers (the embedded server's prefix
    reuse); without one the key is what it always was."""
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
    if variant is not None:
        payload["variant"] = variant
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class ResponseCache:
    """A folder of validated model answers. Each write is one SQLite transaction, so an
    interrupted run keeps every answer it finished and never a half-written one, and two
    processes sharing the folder cannot corrupt it (the later of two writes of one key wins).

    The cache never costs an answer: a write that fails (a full disk) is one logged warning and
    the answer is still used; a cache that cannot be opened or read (a damaged file) is reported
    once, ``cache at X is damaged: ...; run `recoupe cache clear```, and every read is a miss.
    A folder that cannot hold a cache at all (a file, no permission) is a :class:`ConfigError`
    when the cache is made, before any model call.
    """

    def __init__(self, directory: Path, *, warn: bool = True) -> None:
        self.directory = Path(directory)
        #: why the cache cannot be used (``None``: it works)
        self.damage: str | None = None
        self._warn = warn
        self._lock = threading.Lock()
        self._write_failed = False
        self._cache: Any = None
        try:
            check_writable_folder(self.directory)
        except OutputError as exc:
            raise ConfigError(
                f"cache at {self.directory} cannot be used: {exc.reason} "
                "(choose another with --cache-dir or RECOUPE_CACHE_DIR, or run with --no-cache)"
            ) from None
        self._open()

    def _open(self) -> None:
        try:
            self._cache = diskcache.Cache(str(self.directory))
        except Exception as exc:  # noqa: BLE001 - sqlite3, pickle and OS errors alike: the cache is unusable
            self._damaged(exc)

    @property
    def damage_message(self) -> str | None:
        if self.damage is None:
            return None
        return f"cache at {self.directory} is damaged: {self.damage}; run `recoupe cache clear`"

    def _damaged(self, exc: BaseException) -> None:
        with self._lock:
            if self.damage is not None:
                return
            self.damage = _describe(exc)
            cache, self._cache = self._cache, None
        if cache is not None:
            with contextlib.suppress(Exception):
                cache.close()
        if self._warn:
            log.warning("%s (answers are not cached meanwhile)", self.damage_message)

    def get(self, key: str) -> dict[str, Any] | None:
        cache = self._cache
        if cache is None:
            return None
        try:
            value = cache.get(key)
        except (sqlite3.OperationalError, diskcache.Timeout) as exc:  # locked or busy: a miss, not damage
            log.warning("cache at %s could not be read (%s); asking the model", self.directory, _describe(exc))
            return None
        except Exception as exc:  # noqa: BLE001 - a damaged file: every read is a miss from now on
            self._damaged(exc)
            return None
        return value if isinstance(value, dict) else None

    def set(self, key: str, value: dict[str, Any]) -> None:
        cache = self._cache
        if cache is None:
            return
        try:
            cache.set(key, value)
        except Exception as exc:  # noqa: BLE001 - the answer is paid for and used; only its copy is lost
            if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
                self._damaged(exc)
                return
            with self._lock:
                first, self._write_failed = not self._write_failed, True
            if first:
                log.warning(
                    "cache at %s: an answer could not be written (%s); it is used but not cached "
                    "(further write failures are not reported)",
                    self.directory,
                    _describe(exc),
                )

    def __len__(self) -> int:
        cache = self._cache
        if cache is None:
            return 0
        try:
            return len(cache)
        except Exception as exc:  # noqa: BLE001
            self._damaged(exc)
            return 0

    def volume(self) -> int:
        cache = self._cache
        if cache is None:
            return 0
        try:
            return int(cache.volume())
        except Exception as exc:  # noqa: BLE001
            self._damaged(exc)
            return 0

    def clear(self) -> int:
        """Remove every cached answer; returns how many. A damaged cache is removed and made anew
        (see :meth:`recover`); then the count is 0."""
        cache = self._cache
        if cache is not None:
            try:
                return int(cache.clear())
            except Exception as exc:  # noqa: BLE001
                self._damaged(exc)
        self.recover()
        return 0

    def recover(self) -> None:
        """Remove the cache's own files (``cache.db`` and its journal, its value folders) and make a
        new, empty cache in the folder; other files in the folder are left alone."""
        self.close()
        for name in _DB_FILES:
            path = self.directory / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        for sub in self.directory.iterdir():
            if _VALUE_FOLDER.fullmatch(sub.name) and sub.is_dir() and not sub.is_symlink():
                shutil.rmtree(sub)
        self.damage = None
        self._open()
        if self.damage is not None:
            raise ConfigError(f"cache at {self.directory} is still damaged after clearing it: {self.damage}")

    def close(self) -> None:
        cache, self._cache = self._cache, None
        if cache is not None:
            with contextlib.suppress(Exception):
                cache.close()


#: diskcache's own files in a cache folder: the SQLite database and its journal, and the folders
#: of values too large for the database (two hex digits).
_DB_FILES = ("cache.db", "cache.db-wal", "cache.db-shm", "cache.db-journal")
_VALUE_FOLDER = re.compile(r"[0-9a-f]{2}")


def _describe(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return text or type(exc).__name__
