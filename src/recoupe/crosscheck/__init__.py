"""Cross-checking: who stands behind each claim, which claim pairs to compare, how they relate,
and which facts they form. One entry point, :func:`crosscheck`.

- :mod:`.origins` — the independent origin of a claim (two outlets relaying Reuters are one);
- :mod:`.features` — a frozen per-claim record (subject, predicates, place, period, entities),
  computed once;
- :mod:`.pairing` — blocking: candidate pairs across articles, never all pairs;
- :mod:`.quantities` and :mod:`.rules` — the deterministic comparison;
- :mod:`.adjudicate` — the model, only for pairs the rules leave open;
- :mod:`.facts` — clustering per facet and verdicts;
- :mod:`.run` — :func:`crosscheck`, the whole stage.
"""

from __future__ import annotations

from .adjudicate import ADJUDICATE_PROMPT, PairAdjudication, adjudicate_pair
from .facts import build_facts, claim_facet
from .features import ClaimFeatures
from .origins import article_origin, claim_origin
from .pairing import MAX_PARTNERS, all_pairs_count, candidate_pairs
from .rules import compare
from .run import crosscheck

__all__ = [
    "ADJUDICATE_PROMPT",
    "MAX_PARTNERS",
    "ClaimFeatures",
    "PairAdjudication",
    "adjudicate_pair",
    "all_pairs_count",
    "article_origin",
    "build_facts",
    "candidate_pairs",
    "claim_facet",
    "claim_origin",
    "compare",
    "crosscheck",
]
