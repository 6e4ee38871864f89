"""What the model is asked for: the response schema of one extraction request, and its prompt."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["EXTRACT_PROMPT", "MAX_CLAIMS_PER_CHUNK", "ClaimDraft", "ClaimDrafts"]

#: The prompt file (under ``prompts/``) extraction asks with.
EXTRACT_PROMPT = "extract_claims.v1"
#: Claims per request: also bounds a repetition loop of a weak model.
MAX_CLAIMS_PER_CHUNK = 10


class ClaimDraft(BaseModel):
    """What the model is asked for: the least it must do. Every field is required but nullable,
    which OpenAI strict mode and llama.cpp grammars both honour; the code computes the rest."""

    model_config = ConfigDict(extra="forbid")
    #: the claim, atomic and self-contained, in the article's language
    claim: str = Field(max_length=400)
    #: the article's words that support it (grounded to a span by the code)
    quote: str = Field(max_length=400)
    #: the main entity the claim is about
    subject: str | None = Field(max_length=80)
    #: who asserts it, when the article attributes it
    claimant: str | None = Field(max_length=80)


# One answer: the claims of the target sentences. No docstring: pydantic would put it into the JSON
# schema sent to the model, and so into every request and cache key.
class ClaimDrafts(BaseModel):
    model_config = ConfigDict(extra="forbid")
    claims: list[ClaimDraft] = Field(max_length=MAX_CLAIMS_PER_CHUNK)
