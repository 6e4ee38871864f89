"""The requests a batch can carry, and the ``custom_id`` that names each one.

A ``custom_id`` says where a request comes from and which cache entry its answer fills, so that a
results file can be imported on its own (no side file), in any order, merged or split::

    extract/<article id>/<chunk index>/<cache key>
    adjudicate/<claim id A>/<claim id B>/<cache key>

The cache key is the full sha256 the client looks the request up by
(:func:`recoupe.llm.cache.cache_key`); the middle parts are for people reading a listing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel

from ..crosscheck.adjudicate import PairAdjudication
from ..extraction.schema import ClaimDrafts

__all__ = ["STAGES", "RequestId", "extract_id", "pair_id", "parse_custom_id"]

#: The stages whose requests go into a batch: the response model their answers are validated with.
STAGES: dict[str, type[BaseModel]] = {"extract": ClaimDrafts, "adjudicate": PairAdjudication}

_KEY = re.compile(r"[0-9a-f]{64}")
#: what may not appear in the readable parts: the separator, spaces and control characters
_UNSAFE = re.compile(r"[/\s\x00-\x1f\x7f-\x9f]")
_MAX_PART = 80


def _part(text: str) -> str:
    cleaned = _UNSAFE.sub("_", text)
    return cleaned if len(cleaned) <= _MAX_PART else cleaned[: _MAX_PART - 1] + "~"


def extract_id(article_id: str | None, chunk_index: int | None, key: str) -> str:
    article = _part(article_id) if article_id else "-"
    chunk = str(chunk_index) if chunk_index is not None else "-"
    return f"extract/{article}/{chunk}/{key}"


def pair_id(claim_a: str | None, claim_b: str | None, key: str) -> str:
    return f"adjudicate/{_part(claim_a or '-')}/{_part(claim_b or '-')}/{key}"


@dataclass(frozen=True)
class RequestId:
    """A parsed ``custom_id``: the stage, the cache key, and where the request comes from."""

    custom_id: str
    stage: str
    key: str
    where: str

    @property
    def response_model(self) -> type[BaseModel]:
        return STAGES[self.stage]


def parse_custom_id(custom_id: str) -> RequestId | None:
    """The parts of a ``custom_id`` recoupe wrote, or ``None`` when it is not one."""
    parts = custom_id.split("/")
    if len(parts) != 4 or parts[0] not in STAGES or not _KEY.fullmatch(parts[3]):
        return None
    stage, first, second, key = parts
    where = f"article {first}, chunk {second}" if stage == "extract" else f"claims {first} and {second}"
    return RequestId(custom_id=custom_id, stage=stage, key=key, where=where)
