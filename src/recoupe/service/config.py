"""The service's settings read from the environment at the edge (no web framework imported here,
so that ``recoupe --help`` stays quick)."""

from __future__ import annotations

import os

__all__ = ["DEFAULT_MAX_BODY", "api_keys_from_env"]

#: The largest request body taken, in bytes (``--max-body``, env ``RECOUPE_MAX_BODY``).
DEFAULT_MAX_BODY = 10_000_000


def api_keys_from_env() -> list[str]:
    """The keys of ``RECOUPE_API_KEYS`` (comma-separated; blanks ignored)."""
    return [k.strip() for k in os.environ.get("RECOUPE_API_KEYS", "").split(",") if k.strip()]
