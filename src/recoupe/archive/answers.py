"""Model answers fetched outside the archive's write transaction.

Adding an article holds the archive's one write lock (SQLite's, or a PostgreSQL advisory lock)
from its first row to its commit. The pairs it sends to the model are only known inside, after
the stored claims are read; a remote model takes seconds per pair, and for all that time no job
could be queued and no other writer could go on. So the archive adds an article in passes: a pass
runs with :class:`Answers` in place of the model, which answers what it knows and notes what it
does not; when it noted anything the pass is rolled back, the lock released, the noted requests are
sent to the model (as many in flight as it takes) and the pass is run again, answered from what
came back. The pairs sent depend on the stored claims only, never on the answers, so the second
pass asks nothing new unless another writer added articles in between (then the loop goes round
once more). A model in the process (``in_process = True``, such as the rule-based test model) is
called inside the pass as before: it costs nothing to wait for.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

import pydantic

from ..crosscheck.adjudicate import PairAdjudication
from ..errors import LLMError
from ..llm.concurrency import run_concurrently
from ..llm.model import Model
from ..llm.prompts import Prompt
from ..models import Usage

__all__ = ["Answers"]

T = TypeVar("T", bound=pydantic.BaseModel)
_Key = tuple[str, str, str]


class Answers:
    """Stands for ``model`` inside a pass: answers adjudications it holds, notes the others (with a
    placeholder answer, never stored: the pass is rolled back), or with ``through`` asks the model
    for them at once. Every other request goes to the model."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.known: dict[_Key, pydantic.BaseModel | LLMError] = {}
        self.missing: dict[_Key, dict[str, Any]] = {}
        #: ask the model at once what is not known (the last pass, which must finish)
        self.through = False

    @classmethod
    def standing_for(cls, model: Model | None) -> Answers | None:
        """Answers for ``model``, or None for a model whose answers need not be fetched outside the
        transaction (none, or one in the process)."""
        if model is None or getattr(model, "in_process", False):
            return None
        return cls(model)

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def usage(self) -> Usage:
        return self.model.usage

    @property
    def concurrency(self) -> int:
        return self.model.concurrency

    def complete(
        self,
        *,
        stage: str,
        prompt: Prompt,
        variables: dict[str, Any],
        response_model: type[T],
        **options: Any,
    ) -> T:
        request: dict[str, Any] = {
            "stage": stage,
            "prompt": prompt,
            "variables": variables,
            "response_model": response_model,
        }
        request.update(options)
        if response_model is PairAdjudication:
            key = (stage, f"{prompt.id}:{prompt.sha256}", json.dumps(variables, sort_keys=True, default=str))
            if key in self.known:
                answer = self.known[key]
                if isinstance(answer, LLMError):
                    raise answer  # as the model raised it: the pair is recorded as it would have been
                assert isinstance(answer, response_model)
                return answer
            if not self.through:
                self.missing[key] = request
                return response_model.model_validate({"relation": "unrelated", "rationale": "pending"})
        answered: T = self.model.complete(**request)
        return answered

    def fetch(self) -> None:
        """Ask the model what the last pass noted (outside any transaction)."""
        todo, self.missing = self.missing, {}
        for key, result in run_concurrently(lambda k: self.model.complete(**todo[k]), list(todo), self.concurrency):
            if isinstance(result, BaseException) and not isinstance(result, LLMError):
                raise result  # not a model failure (those are answers): a real fault
            self.known[key] = result
