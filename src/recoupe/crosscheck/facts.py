"""Facts: claims of different articles grouped by what they state, each with a verdict.

One clustering per facet (an amount, a day or date, a statement): a claim that gives an amount and
a day is a member of the fact about the amount and, through its day, of the fact about the day,
so that a wrong day does not make the amount look disputed. Verdict: ``conflicting`` if a
contradiction lies inside, else ``corroborated`` with two or more independent origins, else
``single_source``.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Literal

from ..models import Claim, Fact, FactMember, PairJudgement, Relation, Verdict

__all__ = ["build_facts", "claim_facet"]

Facet = Literal["quantity", "time", "statement"]

def claim_facet(claim: Claim) -> Facet:
    """``quantity`` if the claim states an amount, else ``time`` if it names a day or a date, else
    ``statement``."""
    if claim.quantity is not None:
        return "quantity"
    t = claim.time
    if t is not None and (t.weekday is not None or t.start is not None or t.end is not None):
        return "time"
    return "statement"


_LINKING = (Relation.equivalent, Relation.compatible, Relation.contradicts)
_VERDICT_ORDER = {Verdict.conflicting: 0, Verdict.corroborated: 1, Verdict.single_source: 2}


def _fact_id(claim_ids: Iterable[str], facet: str = "") -> str:
    key = "\n".join(sorted(claim_ids)) + ("\n#" + facet if facet else "")
    return "F" + hashlib.sha256(key.encode()).hexdigest()[:10]


def build_facts(
    claims: Sequence[Claim],
    judgements: Sequence[PairJudgement],
    origins: dict[str, str],
) -> list[Fact]:
    """Group claims into facts: connected components over equivalent, compatible and contradicts
    judgements; every other claim is a fact of its own.

    The reference member is an undisputed one (touched by no contradiction) when there is one, with
    the most equivalent/compatible edges (ties: smallest claim id); it gives the fact its statement and facet; another member's relation is ``contradicts``
    if a contradiction touches it, else its judgement with the reference, else ``compatible``
    (linked through other members). Verdict: ``conflicting`` if any contradiction
    lies inside, else ``corroborated`` with two or more distinct origins, else ``single_source``.
    Facts come conflicting first, then corroborated, then single-source; larger first, then by id.
    """
    by_id = {c.id: c for c in claims}
    primary = {c.id: claim_facet(c) for c in claims}

    def edge_facet(j: PairJudgement) -> str:
        if j.facet is not None:
            return j.facet
        fa, fb = primary.get(j.a), primary.get(j.b)
        return fa if fa == fb and fa is not None else "statement"

    linking = [j for j in judgements if j.relation in _LINKING and j.a in by_id and j.b in by_id and j.a != j.b]
    facts: list[Fact] = []
    # One clustering per facet: a claim that gives an amount and a day is a member of the fact
    # about the amount and, through its day, of the fact about the day, so that a wrong day does
    # not make the amount look disputed.
    facets: tuple[Facet, ...] = ("quantity", "time", "statement")
    for facet in facets:
        edges = [j for j in linking if edge_facet(j) == facet]
        nodes = {c.id for c in claims if primary[c.id] == facet}
        nodes.update(x for j in edges for x in (j.a, j.b))
        facts.extend(_cluster(facet, [c for c in claims if c.id in nodes], edges, origins, primary))
    facts.sort(key=lambda f: (_VERDICT_ORDER[f.verdict], -len(f.members), f.id))
    return facts


def _cluster(
    facet: Facet,
    claims: Sequence[Claim],
    edges: Sequence[PairJudgement],
    origins: dict[str, str],
    primary: dict[str, Facet],
) -> list[Fact]:
    """Connected components of ``claims`` over ``edges`` (one facet), as facts."""
    by_id = {c.id: c for c in claims}
    parent = {c.id: c.id for c in claims}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for j in edges:
        ra, rb = find(j.a), find(j.b)
        if ra != rb:
            # The smaller id becomes the root so that the grouping does not depend on edge order.
            parent[max(ra, rb)] = min(ra, rb)

    groups: dict[str, list[str]] = defaultdict(list)
    for c in claims:
        groups[find(c.id)].append(c.id)
    edges_of: dict[str, list[PairJudgement]] = defaultdict(list)
    inner_of: dict[str, list[PairJudgement]] = defaultdict(list)  # an edge lies inside one group
    for j in edges:
        edges_of[j.a].append(j)
        edges_of[j.b].append(j)
        inner_of[find(j.a)].append(j)
    group = _Group(facet, by_id, edges_of, origins, primary)
    return [group.fact(ids, inner_of[root]) for root, ids in groups.items()]


class _Group:
    """Turns one connected group of claim ids into a :class:`Fact`."""

    def __init__(
        self,
        facet: Facet,
        by_id: dict[str, Claim],
        edges_of: dict[str, list[PairJudgement]],
        origins: dict[str, str],
        primary: dict[str, Facet],
    ) -> None:
        self.facet, self.by_id, self.edges_of = facet, by_id, edges_of
        self.origins, self.primary = origins, primary

    def disputed(self, cid: str) -> bool:
        return any(j.relation == Relation.contradicts for j in self.edges_of[cid])

    def agreeing(self, cid: str) -> int:
        return sum(1 for j in self.edges_of[cid] if j.relation != Relation.contradicts)

    def relation(self, cid: str, reference: str) -> Relation:
        if cid == reference:
            return Relation.equivalent
        if self.disputed(cid):
            # A conflict must show on the members that take part in it, even when each of
            # them agrees with the reference (Sunday vs Monday, both "4 milliards").
            return Relation.contradicts
        direct = next((j for j in self.edges_of[cid] if {j.a, j.b} == {cid, reference}), None)
        return direct.relation if direct is not None else Relation.compatible

    def fact(self, ids: list[str], inner: list[PairJudgement]) -> Fact:
        # An undisputed member states the fact best; among those, the best connected one.
        reference = min(ids, key=lambda cid: (self.disputed(cid), -self.agreeing(cid), cid))
        members: list[FactMember] = []
        for cid in ids:
            claim = self.by_id[cid]
            members.append(
                FactMember(
                    claim_id=cid, article_id=claim.article_id, relation=self.relation(cid, reference),
                    origin=self.origins.get(cid, f"article:{claim.article_id}"),
                    primary=self.primary[cid] == self.facet,
                )
            )
        members.sort(key=lambda m: (m.claim_id != reference, m.article_id, m.claim_id))
        fact_origins = sorted({m.origin for m in members})
        if any(j.relation == Relation.contradicts for j in inner):
            verdict = Verdict.conflicting
        elif len(fact_origins) >= 2:
            verdict = Verdict.corroborated
        else:
            verdict = Verdict.single_source
        return Fact(
            id=_fact_id(ids, self.facet),
            facet=self.facet,
            statement=self.by_id[reference].text,
            members=members,
            verdict=verdict,
            origins=fact_origins,
        )
