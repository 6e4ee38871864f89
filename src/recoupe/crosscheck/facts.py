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
from collections.abc import Iterable, Mapping, Sequence
from typing import Literal

from ..models import Claim, Fact, FactMember, PairJudgement, Relation, Verdict
from .features import ClaimFeatures, days_agree
from .quantities import compare_quantities

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
    features: Mapping[str, ClaimFeatures] | None = None,
) -> list[Fact]:
    """Group claims into facts (``features``: the claims' features when the caller has them); every claim no judgement links is a fact of its own.

    Agreement (equivalent, compatible) never chains: two groups join only when every pair of
    their members agrees on the facet (no contradiction between them, and their amounts or dates
    agree by rule), so a group never holds 1 200 and 1 500 through a "plus de 1 000" between them.
    A contradiction then joins the groups it separates into one conflicting fact.

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
    # A pair in conflict on one facet (its day) never agrees on another (their statements).
    contradicted = {frozenset((j.a, j.b)) for j in linking if j.relation == Relation.contradicts}
    facets: tuple[Facet, ...] = ("quantity", "time", "statement")
    for facet in facets:
        edges = [j for j in linking if edge_facet(j) == facet]
        nodes = {c.id for c in claims if primary[c.id] == facet}
        nodes.update(x for j in edges for x in (j.a, j.b))
        facts.extend(
            _cluster(facet, [c for c in claims if c.id in nodes], edges, origins, primary, contradicted, features)
        )
    facts.sort(key=lambda f: (_VERDICT_ORDER[f.verdict], -len(f.members), f.id))
    return facts


def _cluster(
    facet: Facet,
    claims: Sequence[Claim],
    edges: Sequence[PairJudgement],
    origins: dict[str, str],
    primary: dict[str, Facet],
    contradicted: set[frozenset[str]],
    features: Mapping[str, ClaimFeatures] | None = None,
) -> list[Fact]:
    """Facts of ``claims`` over ``edges`` (one facet): agreeing groups that agree pairwise, then
    joined by contradictions."""
    by_id = {c.id: c for c in claims}
    parent = {c.id: c.id for c in claims}
    members = {c.id: [c.id] for c in claims}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def join(ra: str, rb: str) -> None:
        # The smaller id becomes the root so that the grouping does not depend on edge order.
        root, other = min(ra, rb), max(ra, rb)
        parent[other] = root
        members[root] += members.pop(other)

    agree = _Agreement(facet, by_id, edges, contradicted, features)
    ordered = sorted(edges, key=lambda j: (_STRENGTH[j.relation], min(j.a, j.b), max(j.a, j.b)))
    disputed = {x for j in edges if j.relation == Relation.contradicts for x in (j.a, j.b)}
    for j in ordered:
        if j.relation == Relation.contradicts:
            continue
        if j.decided_by == "model" and j.relation == Relation.compatible and {j.a, j.b} & disputed:
            # A claim in a conflict joins others only on a firmer word than the model's
            # "compatible", or the conflict takes in every loosely related claim of its subject.
            continue
        ra, rb = find(j.a), find(j.b)
        if ra != rb and all(agree(x, y) for x in members[ra] for y in members[rb]):
            join(ra, rb)
    for j in ordered:
        if j.relation == Relation.contradicts:
            ra, rb = find(j.a), find(j.b)
            if ra != rb:
                join(ra, rb)

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


_STRENGTH = {Relation.equivalent: 0, Relation.compatible: 1, Relation.contradicts: 2}


class _Agreement:
    """Whether two claims may sit in one agreeing group: no contradiction between them, and on the
    quantity or time facet, amounts or dates that agree by rule."""

    def __init__(
        self,
        facet: Facet,
        by_id: dict[str, Claim],
        edges: Sequence[PairJudgement],
        contradicted: set[frozenset[str]],
        features: Mapping[str, ClaimFeatures] | None,
    ) -> None:
        self.contradicted = contradicted
        self.facet, self.by_id = facet, by_id
        self.judged = {frozenset((j.a, j.b)): j for j in edges}
        self.features: dict[str, ClaimFeatures] = dict(features or {})

    def _features(self, cid: str) -> ClaimFeatures:
        if cid not in self.features:
            self.features[cid] = ClaimFeatures.of(self.by_id[cid])
        return self.features[cid]

    def __call__(self, a: str, b: str) -> bool:
        judged = self.judged.get(frozenset((a, b)))
        if judged is not None:  # this facet's own judgement of the pair (Sunday vs Monday, same amount)
            if judged.relation not in (Relation.equivalent, Relation.compatible):
                return False
            # The model's word that two claims agree holds on an amount or a date only where the
            # rules find the amounts or dates agreeing too ("dimanche" is not "d'ici 2030").
            return judged.decided_by == "rule" or self._facet_agrees(a, b, strict=True)
        if frozenset((a, b)) in self.contradicted:  # in conflict on another facet, and nothing says
            return False  # they agree on this one
        return self._facet_agrees(a, b)

    def _facet_agrees(self, a: str, b: str, *, strict: bool = False) -> bool:
        if self.facet == "quantity":
            outcome = compare_quantities(self._features(a), self._features(b))
            if outcome is None:
                return strict  # the rules cannot tell: only a judgement of the pair joins them
            return outcome[0] in (Relation.equivalent, Relation.compatible)
        if self.facet == "time":
            return days_agree(self._features(a), self._features(b), strict=strict)
        return True


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
                    claim_id=cid,
                    article_id=claim.article_id,
                    relation=self.relation(cid, reference),
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
