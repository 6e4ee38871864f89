"""The HTTP service over the claim archive: ``recoupe serve``, or ``create_app(archive)`` in code.

The web framework is imported on first use of :func:`create_app`, not with this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .config import DEFAULT_MAX_BODY

if TYPE_CHECKING:
    from .app import create_app

__all__ = ["DEFAULT_MAX_BODY", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(name)
