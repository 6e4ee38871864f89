"""Extraction and cross-check metrics on small hand-computed cases, and the no-LLM baseline."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from recoupe.articles import load_articles
from recoupe.evaluation import (
    GoldClaim,
    GoldFact,
    GoldSet,
    Match,
    baseline_claims,
    bcubed,
    field_scores,
    grounding_scores,
    has_named_entity,
    make_gold,
    oracle_matches,
    pair_relation,
    prf,
    score_crosscheck,
    score_extraction,
)
from recoupe.models import (
    Alignment,
    Article,
    ArticleClaims,
    Bound,
    Claim,
    Fact,
    FactMember,
    Quantity,
    Relation,
    Span,
    TimeRef,
    Verdict,
)

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"


# -- helpers -------------------------------------------------------------------------------------
def gclaim(cid: str, quote: str, kind: str = "other", **fields: object) -> GoldClaim:
    return GoldClaim.model_validate(
        {"id": cid, "kind": kind, "text": fields.pop("text", quote), "quote": quote, **fields}
    )


def build_gold(texts: dict[str, str], claims: dict[str, list[GoldClaim]], facts: list[dict] | None = None) -> GoldSet:
    articles = [Article(id=aid, text=text) for aid, text in texts.items()]
    return make_gold(articles, claims, [GoldFact.model_validate(f) for f in facts or []])


def pred(article: Article, cid: str, quote: str, *, alignment: Alignment = Alignment.exact, **fields: object) -> Claim:
    start = article.text.find(quote)
    assert start >= 0, quote
    return Claim(
        id=cid,
        article_id=article.id,
        text=fields.pop("text", quote),
        quote=quote,
        span=Span(start=start, end=start + len(quote)),
        alignment=alignment,
        **fields,
    )


def fact(fid: str, members: list[tuple[str, str, str]], verdict: str = "corroborated") -> Fact:
    return Fact(
        id=fid,
        facet="statement",
        statement=fid,
        members=[FactMember(claim_id=c, article_id=a, relation=Relation(r), origin=a) for c, a, r in members],
        verdict=Verdict(verdict),
        origins=sorted({a for _, a, _ in members}),
    )


# -- extraction ----------------------------------------------------------------------------------
def test_prf_arithmetic() -> None:
    r = prf(2, 1, 3)
    assert (r.precision, r.recall, r.f1) == pytest.approx((2 / 3, 2 / 5, 0.5))
    zero = prf(0, 0, 0)
    assert (zero.precision, zero.recall, zero.f1) == (0.0, 0.0, 0.0)


A_TEXT = (
    "Microsoft investit quatre milliards d’euros en France. "
    "Amazon créera 3 000 emplois dans la région parisienne. "
    "Le sommet Choose France se tient à Versailles."
)
B_TEXT = "Dimanche, Brad Smith a rencontré Emmanuel Macron à l’Élysée."


def small_case() -> tuple[GoldSet, list[ArticleClaims]]:
    gold = build_gold(
        {"A": A_TEXT, "B": B_TEXT},
        {
            "A": [
                gclaim(
                    "A-1",
                    "Microsoft investit quatre milliards d’euros en France",
                    "amount",
                    quantity={"value": 4e9, "currency": "EUR"},
                    subject="Microsoft",
                ),
                gclaim(
                    "A-2",
                    "Amazon créera 3 000 emplois dans la région parisienne",
                    "count",
                    quantity={"value": 3000, "unit": "emploi", "bound": "exact"},
                    subject="Amazon",
                ),
                gclaim("A-3", "Le sommet Choose France se tient à Versailles", "place", subject="Choose France"),
            ],
            "B": [
                gclaim(
                    "B-1",
                    "Dimanche, Brad Smith a rencontré Emmanuel Macron",
                    "date",
                    time={"text": "Dimanche"},
                    subject="Brad Smith",
                    claimant="AFP",
                ),
            ],
        },
    )
    a, b = gold.articles["A"], gold.articles["B"]
    predicted = [
        ArticleClaims(
            article=a,
            claims=[
                pred(
                    a,
                    "p-a1",
                    "Microsoft investit quatre milliards d’euros en France",
                    quantity=Quantity(value=4.02e9, currency="EUR"),
                    subject="Microsoft France",
                ),
                pred(
                    a,
                    "p-a9",
                    "Le sommet Choose France",
                    text="Le chat dort sur le canapé du salon.",
                    alignment=Alignment.fuzzy,
                ),
            ],
            ungrounded=2,
        ),
        ArticleClaims(
            article=b,
            claims=[
                pred(
                    b,
                    "p-b1",
                    "Dimanche, Brad Smith a rencontré Emmanuel Macron",
                    time=TimeRef(text="dimanche"),
                    subject="Brad Smith",
                    claimant="afp",
                    alignment=Alignment.normalized,
                ),
            ],
        ),
        ArticleClaims(article=Article(id="Z", text="Rien à voir ici."), claims=[]),
    ]
    return gold, predicted


def test_extraction_prf_micro_and_macro() -> None:
    gold, predicted = small_case()
    scores = score_extraction(predicted, gold)
    by_id = {a.article_id: a for a in scores.articles}
    assert [m.gold_id for m in by_id["A"].matches] == ["A-1"]
    assert by_id["A"].missed == ["A-2", "A-3"] and by_id["A"].spurious == ["p-a9"]
    assert (by_id["A"].counts.tp, by_id["A"].counts.fp, by_id["A"].counts.fn) == (1, 1, 2)
    assert (by_id["B"].counts.precision, by_id["B"].counts.recall) == (1.0, 1.0)
    # micro: tp=2, fp=1, fn=2
    assert (scores.micro.tp, scores.micro.fp, scores.micro.fn) == (2, 1, 2)
    assert (scores.micro.precision, scores.micro.recall, scores.micro.f1) == pytest.approx((2 / 3, 1 / 2, 4 / 7))
    # macro: A has P=1/2, R=1/3, F1=0.4; B has 1, 1, 1
    assert (scores.macro.precision, scores.macro.recall, scores.macro.f1) == pytest.approx((0.75, 2 / 3, 0.7))
    assert scores.unscored_articles == ["Z"]
    # recall per gold kind
    assert scores.by_kind["amount"].recall == 1.0
    assert scores.by_kind["count"].recall == 0.0 and scores.by_kind["count"].gold == 1
    assert scores.by_kind["date"].recall == 1.0
    assert scores.by_kind["ranking"].recall is None
    json.dumps(scores.model_dump(mode="json"))  # serialises


def test_grounding_rate_counts_dropped_claims_as_none() -> None:
    gold, predicted = small_case()
    g = score_extraction(predicted, gold).grounding
    # A: exact + fuzzy + 2 dropped; B: normalized; Z has no gold and is not scored
    assert g.total == 5
    assert g.counts == {"exact": 1, "normalized": 1, "fuzzy": 1, "none": 2}
    assert g.shares["none"] == pytest.approx(0.4)
    assert g.grounded == pytest.approx(0.6)
    assert grounding_scores([]).total == 0


def test_field_accuracy_on_matched_pairs() -> None:
    gold, predicted = small_case()
    fields = score_extraction(predicted, gold).fields
    # value 4.02e9 vs 4e9 is within 1 %; currency and bound right; unit None == None.
    assert (fields["quantity_value"].correct, fields["quantity_value"].total) == (1, 1)
    assert fields["unit"].accuracy == fields["currency"].accuracy == fields["bound"].accuracy == 1.0
    # B-1: "dimanche" vs "Dimanche", no dates: folded texts equal.
    assert (fields["time"].correct, fields["time"].total) == (1, 1)
    # claimant: A-1 None == None, B-1 "afp" == "AFP" after folding.
    assert (fields["claimant"].correct, fields["claimant"].total) == (2, 2)
    # subject: "Microsoft France" contains "Microsoft"; "Brad Smith" equal.
    assert (fields["subject"].correct, fields["subject"].total) == (2, 2)


def test_field_accuracy_wrong_values() -> None:
    g = Claim(
        id="g",
        article_id="a",
        text="t",
        quote="t",
        span=None,
        alignment=Alignment.exact,
        quantity=Quantity(value=100, unit="emploi", bound=Bound.more_than),
        time=TimeRef(text="en 2024", start=dt.date(2024, 1, 1), end=dt.date(2024, 12, 31)),
        claimant="Reuters",
        subject="Amazon",
    )
    p = g.model_copy(
        update={
            "id": "p",
            "quantity": Quantity(value=102, unit="emplois", currency="EUR", bound=Bound.exact),
            "time": TimeRef(text="en 2024", start=dt.date(2024, 1, 1)),
            "claimant": None,
            "subject": "Microsoft",
        }
    )
    bare = g.model_copy(update={"id": "q", "quantity": None, "time": None, "subject": None})
    f = field_scores([(p, g), (bare, g)])
    for name in ("quantity_value", "unit", "currency", "bound", "time"):
        assert (f[name].correct, f[name].total) == (0, 2), name
    assert (f["claimant"].correct, f["subject"].correct) == (1, 0)
    # No quantity on either side: the quantity fields are not scored.
    assert field_scores([(bare, bare)])["quantity_value"].accuracy is None


# -- cross-check ---------------------------------------------------------------------------------
def test_pair_relation_rule() -> None:
    assert pair_relation("equivalent", "equivalent") == Relation.equivalent
    assert pair_relation("equivalent", "compatible") == Relation.compatible
    assert pair_relation("compatible", "contradicts") == Relation.contradicts
    assert pair_relation("contradicts", "contradicts") == Relation.contradicts


def test_bcubed_hand_computed() -> None:
    gold = {"a": "G1", "b": "G1", "c": "G1", "d": "G2", "e": "G2"}
    split = bcubed(gold, {"a": "P1", "b": "P1", "c": "P2", "d": "P2", "e": "P2"})
    # precisions 1, 1, 1/3, 2/3, 2/3; recalls 2/3, 2/3, 1/3, 1, 1
    assert (split.precision, split.recall, split.f1) == pytest.approx((11 / 15, 11 / 15, 11 / 15))
    merged = bcubed(gold, dict.fromkeys(gold, "P"))
    assert (merged.precision, merged.recall) == pytest.approx((13 / 25, 1.0))
    assert merged.f1 == pytest.approx(2 * 0.52 / 1.52)
    singletons = bcubed(gold, {k: k for k in gold})
    assert (singletons.precision, singletons.recall) == pytest.approx((1.0, (1 / 3 * 3 + 1 / 2 * 2) / 5))
    with pytest.raises(ValueError, match="cover the same items"):
        bcubed(gold, {"a": "P"})


def crosscheck_case() -> GoldSet:
    texts = {
        "A": "Microsoft investit 4 milliards. Amazon créera 3 000 emplois.",
        "B": "Microsoft met 4 milliards. Amazon promet environ 3 000 emplois.",
        "C": "Lundi, Microsoft a promis 4 milliards. Amazon vise des milliers d’emplois.",
    }
    claims = {
        "A": [gclaim("A1", "Microsoft investit 4 milliards"), gclaim("A2", "Amazon créera 3 000 emplois")],
        "B": [gclaim("B1", "Microsoft met 4 milliards"), gclaim("B2", "Amazon promet environ 3 000 emplois")],
        "C": [
            gclaim("C1", "Lundi, Microsoft a promis 4 milliards"),
            gclaim("C2", "Amazon vise des milliers d’emplois"),
        ],
    }
    facts = [
        {
            "id": "F1",
            "statement": "Microsoft 4 Md",
            "verdict": "conflicting",
            "origins": ["A", "B", "C"],
            "members": [
                {"claim": "A1", "relation": "equivalent"},
                {"claim": "B1", "relation": "equivalent"},
                {"claim": "C1", "relation": "contradicts"},
            ],
        },
        {
            "id": "F2",
            "statement": "Amazon 3 000 emplois",
            "verdict": "corroborated",
            "origins": ["A", "B", "C"],
            "members": [
                {"claim": "A2", "relation": "equivalent"},
                {"claim": "B2", "relation": "compatible"},
                {"claim": "C2", "relation": "compatible"},
            ],
        },
    ]
    return build_gold(texts, claims, facts)


# Predicted claims p-X map to gold X; C2 is not matched (excluded from every cross-check measure).
MATCHES = [
    Match(pred_id=f"p-{g}", gold_id=g, score=1.0, span_iou=1.0, text_sim=1.0) for g in ("A1", "A2", "B1", "B2", "C1")
]


def test_relation_macro_f1_and_contradiction_hand_computed() -> None:
    gold = crosscheck_case()
    facts = [
        fact(
            "P1",
            [("p-A1", "A", "equivalent"), ("p-B1", "B", "equivalent"), ("p-C1", "C", "contradicts")],
            "conflicting",
        ),
        fact("P2", [("p-A2", "A", "equivalent"), ("p-B2", "B", "contradicts")], "conflicting"),
    ]
    s = score_crosscheck(facts, gold, MATCHES)
    # Cross-article pairs of the 5 matched claims: A×B 4, A×C 2, B×C 2.
    assert s.pairs == 8
    # gold:  A1B1 eq, A1C1 contra, B1C1 contra, A2B2 compat, 4 unrelated
    # pred:  A1B1 eq, A1C1 contra, B1C1 contra, A2B2 contra, 4 unrelated
    assert (s.relations["equivalent"].tp, s.relations["equivalent"].f1) == (1, 1.0)
    assert (s.relations["contradicts"].tp, s.relations["contradicts"].fp, s.relations["contradicts"].fn) == (2, 1, 0)
    assert s.relations["compatible"].f1 == 0.0 and s.relations["compatible"].fn == 1
    assert s.relations["unrelated"].f1 == 1.0 and s.relations["unrelated"].tp == 4
    assert s.relation_macro_f1 == pytest.approx((1.0 + 0.8 + 0.0 + 1.0) / 4)
    assert (s.contradiction.precision, s.contradiction.recall) == pytest.approx((2 / 3, 1.0))
    # Clusters agree exactly on the matched claims (C2 unmatched is left out).
    assert (s.bcubed.items, s.bcubed.precision, s.bcubed.recall) == (5, 1.0, 1.0)
    # F1: P1 says conflicting (right); F2: P2 says conflicting, gold corroborated (wrong).
    assert [(c.gold_fact, c.predicted_fact, c.correct) for c in s.verdict.cases] == [
        ("F1", "P1", True),
        ("F2", "P2", False),
    ]
    assert s.verdict.accuracy == 0.5


def test_crosscheck_merged_cluster_missed_contradiction_and_unmatched_fact() -> None:
    gold = crosscheck_case()
    everything = fact("P", [(f"p-{g}", g[0], "equivalent") for g in ("A1", "A2", "B1", "B2", "C1")], "corroborated")
    s = score_crosscheck([everything], gold, MATCHES)
    assert (s.bcubed.precision, s.bcubed.recall) == pytest.approx((13 / 25, 1.0))
    assert (s.contradiction.tp, s.contradiction.fn, s.contradiction.recall) == (0, 2, 0.0)
    assert s.relations["unrelated"].fn == 4  # every unrelated pair was put together
    # F1 conflicting vs corroborated: wrong; F2 corroborated: right (P holds its matched members).
    assert [c.correct for c in s.verdict.cases] == [False, True]
    # No predicted facts at all: every claim alone, every multi-member gold fact wrong.
    none = score_crosscheck([], gold, MATCHES)
    assert none.verdict.accuracy == 0.0 and all(c.predicted_fact is None for c in none.verdict.cases)
    assert (none.bcubed.precision, none.bcubed.recall) == pytest.approx((1.0, (1 / 3 * 3 + 1 / 2 * 2) / 5))
    assert none.relations["unrelated"].precision == pytest.approx(4 / 8)


def test_verdict_uses_the_fact_holding_most_members() -> None:
    gold = crosscheck_case()
    facts = [
        fact("P1", [("p-A1", "A", "equivalent")], "single_source"),
        fact("P2", [("p-B1", "B", "equivalent"), ("p-C1", "C", "contradicts")], "conflicting"),
    ]
    cases = {c.gold_fact: c for c in score_crosscheck(facts, gold, MATCHES).verdict.cases}
    assert (cases["F1"].predicted_fact, cases["F1"].correct) == ("P2", True)


def test_oracle_gold_facts_score_perfectly() -> None:
    gold = crosscheck_case()
    facts = [
        fact(f.id, [(m.claim, gold.claim(m.claim).article_id, m.relation) for m in f.members], f.verdict.value)
        for f in gold.facts
    ]
    matches = [m for claims in gold.to_claims().values() for m in oracle_matches(claims)]
    s = score_crosscheck(facts, gold, matches)
    assert s.pairs == 12
    assert (s.relation_macro_f1, s.bcubed.f1, s.verdict.accuracy) == (1.0, 1.0, 1.0)
    assert (s.contradiction.precision, s.contradiction.recall) == (1.0, 1.0)
    with pytest.raises(ValueError, match="not in the gold set"):
        score_crosscheck(facts, gold, [Match(pred_id="x", gold_id="nope", score=1, span_iou=1, text_sim=1)])


# -- baseline ------------------------------------------------------------------------------------
BOILERPLATE = ("Laisser un commentaire", "Les champs obligatoires", "Votre adresse e-mail", "En savoir plus")


def test_baseline_on_a_crafted_article() -> None:
    text = (
        "Microsoft investit en France\n\n"
        "Dimanche, le groupe a annoncé 4 milliards d’euros d’investissement. "
        "Le soleil brille et il fait beau. "
        "Selon Reuters, le projet est important.\n\n"
        "Laisser un commentaire\n"
        "Les champs obligatoires sont indiqués avec *\n"
    )
    article = Article(id="x", text=text, published=dt.date(2024, 5, 13))
    result = baseline_claims(article)
    quotes = [c.quote for c in result.claims]
    assert quotes == [
        "Dimanche, le groupe a annoncé 4 milliards d’euros d’investissement.",
        "Selon Reuters, le projet est important.",
    ]
    first = result.claims[0]
    assert first.quantity is not None and first.quantity.value == 4e9 and first.quantity.currency == "EUR"
    assert first.time is not None and first.time.start == dt.date(2024, 5, 12)
    for c in result.claims:
        assert text[c.span.start : c.span.end] == c.quote == c.text
        assert c.alignment == Alignment.exact
        assert c.id == Claim.make_id("x", c.text, c.quote)


def test_named_entity_rule() -> None:
    assert has_named_entity("Le projet d’Amazon avance bien.")
    assert has_named_entity("Selon Reuters, le projet avance.")
    assert not has_named_entity("Microsoft avance bien.")  # sentence-initial only
    assert not has_named_entity("Il a dit : « Nous avançons bien ».")  # start of a quotation
    assert not has_named_entity("le soleil brille et il fait beau.")


@pytest.mark.skipif(not SEEDS.is_dir(), reason="seed articles folder seeds/ is absent")
def test_baseline_on_seeds_is_grounded_and_skips_boilerplate() -> None:
    articles = load_articles(SEEDS)
    assert articles
    for article in articles:
        result = baseline_claims(article)
        assert result.claims, article.id
        ids = [c.id for c in result.claims]
        assert len(ids) == len(set(ids))
        for c in result.claims:
            assert article.text[c.span.start : c.span.end] == c.quote
            assert not c.quote.strip().startswith(BOILERPLATE), c.quote
            assert c.quote.strip() not in ("(AFP)", "(AOF)")
        assert result.model_dump_json()
