"""The seam between the stages and a model: what extraction and the cross-check need of one.

A stage never reaches into a client's settings: it asks :class:`Model` for an answer and is given
its options (target size, concurrency) explicitly. :class:`~recoupe.llm.client.LLM` is the
implementation; a test may pass any object with these members.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar, runtime_checkable

import pydantic

from ..models import Usage
from .prompts import Prompt

__all__ = ["Model"]

T = TypeVar("T", bound=pydantic.BaseModel)


@runtime_checkable
class Model(Protocol):
    """A model that answers prompts with validated pydantic objects.

    ``name`` is the model name written into results; ``usage`` counts calls, cache hits and tokens
    per stage; ``concurrency`` is how many requests it takes in flight. A model that answers in the
    process at once may say so with ``in_process = True`` (optional): an archive then calls it
    inside its write transaction instead of fetching its answers between passes.
    """

    @property
    def name(self) -> str:
        """The model name results record."""
        ...

    @property
    def usage(self) -> Usage:
        """Calls, cache hits and tokens per stage, shared by every stage that uses this model."""
        ...

    @property
    def concurrency(self) -> int:
        """Requests this model takes in flight at once."""
        ...

    def complete(
        self,
        *,
        stage: str,
        prompt: Prompt,
        variables: dict[str, Any],
        response_model: type[T],
        article_id: str | None = None,
        chunk_index: int | None = None,
        max_tokens: int | None = None,
    ) -> T:
        """An answer of type ``response_model`` to ``prompt`` rendered with ``variables``."""
        ...
