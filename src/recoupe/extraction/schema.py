"""What the model is asked for: the response schema of one extraction request, and its prompt."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

__all__ = [
    "EXTRACT_PROMPT",
    "MAX_CLAIMS_PER_CHUNK",
    "MAX_QUOTE_CHARS",
    "MAX_SUBJECT_CHARS",
    "ClaimDraft",
    "ClaimDrafts",
]

#: The prompt file (under ``prompts/``) extraction asks with.
EXTRACT_PROMPT = "extract_claims.v2"
#: Claims per request, in the schema sent (an answer with more is still read): it bounds a
#: repetition loop of a weak model, which otherwise fills the list with the same quote.
MAX_CLAIMS_PER_CHUNK = 6
#: A quote is one clause: a schema-constrained decoder closes the string at this length, so that a
#: copied paragraph ends early; the code grounds what was written and extends it to the end of its
#: clause. (Closed earlier, at 50, the small model goes on copying the same clause as the next
#: claim: more claims, and no fewer tokens.) The limits are in the schema sent, not checked on
#: the answer: a longer quote from an endpoint that does not enforce them is grounded like any
#: other.
MAX_QUOTE_CHARS = 240
#: A name, not a description.
MAX_SUBJECT_CHARS = 60


class ClaimDraft(BaseModel):
    """What the model is asked for: the least it must do, which the code cannot: where a fact is
    stated, and what it is about. Where the quote's clause ends, the claim's wording, its
    claimant, quantity, time and place are the code's. Every field is required (``subject``
    nullable), which OpenAI strict mode and llama.cpp grammars both honour."""

    model_config = ConfigDict(extra="forbid")
    #: the article's words that state the fact, or their start (grounded to a span and extended to
    #: the end of their clause by the code)
    quote: Annotated[str, WithJsonSchema({"type": "string", "maxLength": MAX_QUOTE_CHARS})]
    #: the main entity the claim is about, by name: what the quote alone may not say ("il créera")
    subject: Annotated[str, WithJsonSchema({"type": "string", "maxLength": MAX_SUBJECT_CHARS})] | None


# One answer: the claims of the target sentences. No docstring: pydantic would put it into the JSON
# schema sent to the model, and so into every request and cache key.
class ClaimDrafts(BaseModel):
    model_config = ConfigDict(extra="forbid")
    claims: list[ClaimDraft] = Field(json_schema_extra={"maxItems": MAX_CLAIMS_PER_CHUNK})
