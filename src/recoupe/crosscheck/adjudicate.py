"""The model's part of the cross-check: how two claims relate, for pairs the rules left open."""

from __future__ import annotations

import logging
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ..errors import LLMError, RecordingMissingError
from ..llm.model import Model
from ..llm.prompts import load_prompt
from ..models import Claim, PairJudgement, Relation

__all__ = ["ADJUDICATE_PROMPT", "PairAdjudication", "adjudicate_pair"]

log = logging.getLogger(__name__)

#: The prompt file (under ``prompts/``) the model is asked with.
ADJUDICATE_PROMPT = "adjudicate_pair.v1"


class PairAdjudication(BaseModel):
    """What the model answers for one undecided pair. Required, non-nullable fields only."""

    model_config = ConfigDict(extra="forbid")
    #: how claim B relates to claim A
    relation: Literal["equivalent", "compatible", "contradicts", "unrelated"]
    #: one or two sentences saying why, shown to the editor
    rationale: str = Field(max_length=300)


def adjudicate_pair(model: Model, a: Claim, b: Claim, *, trust_contradictions: bool = False) -> PairJudgement:
    """Ask the model how two claims relate. An :class:`LLMError` is not raised: the pair is recorded
    as unrelated with the reason, so that one bad answer does not stop a whole check.

    A model's "contradicts" is recorded as unrelated with its rationale unless
    ``trust_contradictions``: by default a conflict needs a difference the rules can check.
    """
    try:
        answer = model.complete(
            stage="adjudicate",
            prompt=load_prompt(ADJUDICATE_PROMPT),
            variables={"claim_a": a.text, "quote_a": a.quote, "claim_b": b.text, "quote_b": b.quote},
            response_model=PairAdjudication,
            article_id=None,
        )
    except RecordingMissingError:
        raise  # a replay that lacks an answer is a setup problem, not a model failure
    except LLMError as exc:
        log.warning("adjudication of %s / %s failed: %s", a.id, b.id, exc)
        return PairJudgement(
            a=a.id,
            b=b.id,
            relation=Relation.unrelated,
            decided_by="model",
            rationale=f"model adjudication failed: {exc}",
        )
    relation, rationale = Relation(answer.relation), answer.rationale
    if relation is Relation.contradicts and not trust_contradictions:
        # A conflict is a strong claim to put before an editor: by default it needs a difference in
        # numbers or dates that the rules can check, not a model's word alone.
        relation = Relation.unrelated
        rationale = f"The model said they contradict, which is not counted without a checkable difference: {rationale}"
    return PairJudgement(a=a.id, b=b.id, relation=relation, decided_by="model", rationale=rationale)
