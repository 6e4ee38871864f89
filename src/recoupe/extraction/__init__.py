"""Extraction: chunk an article, ask the model for claims, ground and complete them in code.

- :mod:`.schema` — what the model is asked for (the response schema) and the prompt id;
- :mod:`.claims` — a draft or a span becomes a grounded :class:`~recoupe.models.Claim`, its fields
  read by the code (the LangExtract adapter uses the same :func:`fill_claim`);
- :mod:`.coverage` — code-made claims for the numbers and dates the model left out;
- :mod:`.driver` — one driver over a batch (:func:`extract_articles`) and its single-article form
  (:func:`extract_one`).
"""

from __future__ import annotations

from .claims import (
    build_claim,
    claimant_in,
    fill_claim,
    infer_subject,
    named_in,
    span_claim,
)
from .coverage import coverage_claims
from .driver import OnDone, extract_articles, extract_one
from .schema import EXTRACT_PROMPT, MAX_CLAIMS_PER_CHUNK, ClaimDraft, ClaimDrafts

__all__ = [
    "EXTRACT_PROMPT",
    "MAX_CLAIMS_PER_CHUNK",
    "ClaimDraft",
    "ClaimDrafts",
    "OnDone",
    "build_claim",
    "claimant_in",
    "coverage_claims",
    "extract_articles",
    "extract_one",
    "fill_claim",
    "infer_subject",
    "named_in",
    "span_claim",
]
