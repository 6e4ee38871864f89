"""Cross-checking on claims grounded in the real seed articles: origins, pairing, rules, model
adjudication (with fake models) and facts. No network, no model."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from recoupe.crosscheck import (
    ADJUDICATE_PROMPT,
    PairAdjudication,
    all_pairs_count,
    article_origin,
    build_facts,
    candidate_pairs,
    claim_facet,
    claim_origin,
    compare,
    crosscheck,
)
from recoupe.errors import LLMError, SchemaError
from recoupe.llm.prompts import Prompt
from recoupe.models import (
    Alignment,
    Article,
    ArticleClaims,
    Claim,
    Extraction,
    Failure,
    PairJudgement,
    Relation,
    Report,
    Span,
    Usage,
    Verdict,
)
from recoupe.normalize import find_location, main_quantity, parse_quantities, parse_time


def verify(
    articles: list[ArticleClaims], llm: Any = None, *, adjudicate: bool = True, model_contradictions: bool = False
) -> tuple[list[Any], list[PairJudgement], Any]:
    """The cross-check's facts, judgements and pairing counts for claims already extracted."""
    report = crosscheck(
        Extraction(articles=articles), llm, adjudicate=adjudicate, model_contradictions=model_contradictions
    )
    return report.facts, report.judgements, report.pairing


SEEDS = Path(__file__).resolve().parents[1] / "seeds"
ARTICLES = {p.stem[:3]: Article(id=p.stem, text=p.read_text(encoding="utf-8")) for p in sorted(SEEDS.glob("*.txt"))}


def grounded(
    key: str, quote: str, text: str | None = None, *, subject: str | None = None, claimant: str | None = None
) -> Claim:
    """A claim whose quote is found verbatim in seed ``key``; quantity, time and place are read by
    the real normalizer, as extraction does."""
    article = ARTICLES[key]
    start = article.text.find(quote)
    assert start >= 0, f"quote not in seed {key}: {quote!r}"
    text = text or quote
    return Claim(
        id=Claim.make_id(article.id, text, quote),
        article_id=article.id,
        text=text,
        quote=quote,
        span=Span(start=start, end=start + len(quote)),
        alignment=Alignment.exact,
        subject=subject,
        claimant=claimant,
        quantity=main_quantity(quote, text),
        time=parse_time(quote, article.published),
        location=find_location(quote),
    )


def bundle(*claims: Claim) -> list[ArticleClaims]:
    """ArticleClaims for the seeds these claims come from, in seed order."""
    out = []
    for article in ARTICLES.values():
        mine = [c for c in claims if c.article_id == article.id]
        if mine:
            out.append(ArticleClaims(article=article, claims=mine))
    return out


def fact_with(facts: list[Any], claim: Claim) -> Any:
    return next(f for f in facts if any(m.claim_id == claim.id for m in f.members))


# -- claims used across tests ----------------------------------------------------------------------
MS_SUNDAY = grounded(
    "000",
    "Dimanche, Microsoft a annoncé un investissement de quatre milliards d’euros (4,3 milliards de dollars)",
    "Dimanche, Microsoft a annoncé un investissement de 4 milliards d'euros en France.",
    subject="Microsoft",
)
MS_MONDAY = grounded(
    "004",
    "en s’engageant lundi à investir 4 milliards d’euros (4,3 milliards de dollars)",
    "Microsoft s'est engagé lundi à investir 4 milliards d'euros en France.",
    subject="Microsoft",
)
MS_BLOOMBERG = grounded(
    "001",
    "Microsoft va désormais investir 4 milliards d'euros supplémentaires dans le développement de "
    "l'infrastructure cloud et IA en France",
    subject="Microsoft",
)
MS_GERMANY = grounded(
    "001",
    "un investissement majeur de 3,2 milliards d'euros pour des projets en Allemagne",
    "Microsoft a annoncé un investissement de 3,2 milliards d'euros en Allemagne.",
    subject="Microsoft",
)
MS_USD_TITLE = grounded("004", "Microsoft promet un investissement de 4,3 milliards de dollars", subject="Microsoft")
MS_EUR_PLAIN = grounded("001", "Microsoft investira 4 milliards d'euros", subject="Microsoft")
AWS_REUTERS = grounded(
    "001",
    "il investit plus de 1,2 milliard d'euros dans ses activités françaises",
    "AWS investit plus de 1,2 milliard d'euros dans ses activités françaises.",
    subject="AWS",
)
AMAZON_AOF = grounded(
    "002", "le second, 1,2 milliard d'euros", "Amazon va investir 1,2 milliard d'euros en France.", subject="Amazon"
)
AMAZON_VIA_REUTERS = grounded(
    "003",
    "Amazon a souligné son intention de renforcer son infrastructure cloud en région parisienne",
    "Amazon renforcera son infrastructure cloud en région parisienne.",
    subject="Amazon",
)
AMAZON_HEADING_USD = grounded("000", "Amazon investit plus d’un milliard de dollars", subject="Amazon")
AWS_EUR_USD = grounded(
    "003",
    "investir plus de 1,2 milliard d’euros (1,3 milliard de dollars)",
    "AWS investira plus de 1,2 milliard d'euros en France.",
    subject="Amazon Web Services",
)
AMAZON_SINCE_2010 = grounded(
    "003",
    "plus de 20 milliards d’euros (21,6 milliards de dollars) d’injections de liquidités depuis 2010",
    "Amazon a injecté plus de 20 milliards d'euros en France depuis 2010.",
    subject="Amazon",
)
AMAZON_JOBS = grounded(
    "000",
    "Cela crée plus de 3 000 opportunités d’emploi",
    "L'investissement d'Amazon crée plus de 3 000 emplois.",
    subject="Amazon",
)


# -- origins ---------------------------------------------------------------------------------------
def test_article_origin_reads_wire_tags():
    assert article_origin(ARTICLES["000"]) == "AFP"  # a line that is only "(AFP)"
    assert article_origin(ARTICLES["002"]) == "AOF"  # "(AOF) -" near the start
    assert article_origin(ARTICLES["004"]) == f"article:{ARTICLES['004'].id}"
    assert article_origin(Article(id="x", text="PARIS (Reuters) - Microsoft said on Monday...")) == "Reuters"


def test_selon_reuters_and_via_reuters_are_one_origin():
    assert claim_origin(AWS_REUTERS, ARTICLES["001"]) == "Reuters"
    assert claim_origin(AMAZON_VIA_REUTERS, ARTICLES["003"]) == "Reuters"


def test_sentence_attribution_beats_the_article_default():
    assert claim_origin(MS_BLOOMBERG, ARTICLES["001"]) == "Bloomberg"  # "écrit Bloomberg"
    elysee = grounded("002", "ce sommet donnera lieu à plus de 15 milliards d’euros", subject="Choose France")
    # "Selon L'Elysée" names a claimant, not a news organisation: the AOF wire stays the origin
    assert claim_origin(elysee, ARTICLES["002"]) == "AOF"
    assert claim_origin(AMAZON_AOF, ARTICLES["002"]) == "AOF"
    no_source = grounded("001", "Microsoft investira 4 milliards d'euros")
    assert claim_origin(no_source, ARTICLES["001"]) == f"article:{ARTICLES['001'].id}"


def test_agency_names_are_normalised():
    smith = grounded("000", "Le président de Microsoft, Brad Smith, a déclaré à l’Agence France-Presse")
    assert claim_origin(smith, ARTICLES["000"]) == "AFP"
    relayed = MS_USD_TITLE.model_copy(update={"claimant": "Agence France-Presse"})
    assert claim_origin(relayed, ARTICLES["004"]) == "AFP"
    not_an_agency = MS_USD_TITLE.model_copy(update={"claimant": "Brad Smith"})
    assert claim_origin(not_an_agency, ARTICLES["004"]) == f"article:{ARTICLES['004'].id}"
    english = Article(id="en", text="Microsoft will invest $4.3 billion, according to Agence France-Presse.")
    claim = Claim(
        id="en:1",
        article_id="en",
        text="Microsoft will invest $4.3 billion.",
        quote="Microsoft will invest $4.3 billion",
        span=Span(start=0, end=34),
        alignment=Alignment.exact,
    )
    assert claim_origin(claim, english) == "AFP"


# -- rules -----------------------------------------------------------------------------------------
def test_same_amount_in_euros_and_dollars_is_compatible():
    judgement = compare(MS_EUR_PLAIN, MS_USD_TITLE)  # 4 bn EUR vs 4.3 bn USD, no stated equivalent
    assert judgement is not None
    assert judgement.relation == Relation.compatible
    assert judgement.decided_by == "rule"
    # with the equivalent stated in the quote: "(4,3 milliards de dollars)"
    assert compare(MS_MONDAY, MS_USD_TITLE).relation == Relation.compatible


def test_bound_and_exact_same_value_are_compatible():
    judgement = compare(AWS_REUTERS, AMAZON_AOF)  # "plus de 1,2 milliard" vs "1,2 milliard"; AWS ~ Amazon
    assert judgement is not None and judgement.relation == Relation.compatible


def test_exact_equal_amounts_are_equivalent():
    assert compare(MS_BLOOMBERG, MS_EUR_PLAIN).relation == Relation.equivalent


def test_consistent_bounds_across_currencies_are_compatible():
    # "plus d'un milliard de dollars" vs "plus de 1,2 milliard d'euros (1,3 milliard de dollars)"
    assert compare(AMAZON_HEADING_USD, AWS_EUR_USD).relation == Relation.compatible


def test_rounded_amount_is_compatible():
    rounded = MS_EUR_PLAIN.model_copy(update={"quantity": MS_EUR_PLAIN.quantity.model_copy(update={"value": 4.25e9})})
    assert compare(MS_EUR_PLAIN, rounded).relation == Relation.compatible


def test_sunday_vs_monday_contradicts_and_makes_a_conflicting_fact():
    judgement = compare(MS_SUNDAY, MS_MONDAY)
    assert judgement is not None
    assert judgement.relation == Relation.contradicts
    assert "different days" in judgement.rationale
    facts, _, _ = verify(bundle(MS_SUNDAY, MS_MONDAY))
    fact = fact_with(facts, MS_SUNDAY)
    assert fact.verdict == Verdict.conflicting
    assert {m.claim_id for m in fact.members} == {MS_SUNDAY.id, MS_MONDAY.id}
    assert facts[0] is fact  # conflicts come first


def test_announcement_day_alone_contradicts_another_day():
    # the wording of the design: "Dimanche, Microsoft a annoncé" vs "s'engageant lundi à investir"
    sunday = grounded("000", "Dimanche, Microsoft a annoncé", subject="Microsoft")
    assert sunday.quantity is None and sunday.time.weekday == 6
    judgement = compare(sunday, MS_MONDAY)
    assert judgement is not None and judgement.relation == Relation.contradicts


def test_a_day_does_not_link_claims_about_different_things():
    jobs_sunday = AMAZON_JOBS.model_copy(update={"time": parse_time("dimanche")})
    amount_monday = AMAZON_AOF.model_copy(update={"time": parse_time("lundi")})
    judgement = compare(jobs_sunday, amount_monday)  # jobs vs euros: unrelated, whatever the days
    assert judgement is not None and judgement.relation == Relation.unrelated


def test_same_weekday_is_equivalent():
    other_sunday = grounded(
        "000",
        "Le bureau du président français Emmanuel Macron a déclaré plus tôt dimanche",
        "Microsoft a annoncé son investissement dimanche.",
        subject="Microsoft",
    )
    judgement = compare(MS_SUNDAY, other_sunday)
    assert judgement is not None and judgement.relation == Relation.equivalent


def test_different_country_is_not_a_contradiction():
    judgement = compare(MS_BLOOMBERG, MS_GERMANY)  # 4 bn in France vs 3,2 bn in Germany
    assert judgement is None or judgement.relation != Relation.contradicts
    assert judgement is not None and judgement.relation == Relation.unrelated


def test_cumulative_amount_since_2010_is_not_a_contradiction():
    for other in (AMAZON_AOF, AWS_REUTERS):
        judgement = compare(AMAZON_SINCE_2010, other)
        assert judgement is None or judgement.relation != Relation.contradicts


def test_clearly_different_amounts_for_the_same_purpose_contradict():
    wrong = grounded("001", "Microsoft investira 4 milliards d'euros")
    wrong = wrong.model_copy(
        update={
            "subject": "Microsoft",
            "quantity": wrong.quantity.model_copy(update={"value": 12e9}),
        }
    )
    judgement = compare(MS_EUR_PLAIN, wrong)
    assert judgement is not None and judgement.relation == Relation.contradicts


def test_different_units_are_unrelated():
    judgement = compare(AMAZON_JOBS, AMAZON_AOF)  # jobs vs euros
    assert judgement is not None and judgement.relation == Relation.unrelated


def test_different_subjects_are_unrelated():
    judgement = compare(MS_EUR_PLAIN, AMAZON_AOF)
    assert judgement is not None and judgement.relation == Relation.unrelated


def test_statements_without_numbers_or_days_are_left_to_the_model():
    a = grounded(
        "001", "Amazon investit également davantage dans ses infrastructures logistiques françaises", subject="Amazon"
    )
    b = grounded(
        "003", "L’investissement permettra également d’étendre ses infrastructures logistiques", subject="Amazon"
    )
    assert compare(a, b) is None


def test_rationale_is_one_sentence():
    for a, b in [(MS_SUNDAY, MS_MONDAY), (AWS_REUTERS, AMAZON_AOF), (AMAZON_JOBS, AMAZON_AOF)]:
        rationale = compare(a, b).rationale
        assert rationale.endswith(".") and len(rationale) < 200


# -- pairing ---------------------------------------------------------------------------------------
def test_pairing_on_three_articles_blocks_most_pairs():
    claims = [
        MS_SUNDAY,
        AMAZON_HEADING_USD,
        AMAZON_JOBS,
        grounded("000", "Un nouveau centre de données sera construit dans l’est de la France", subject="Microsoft"),
        grounded(
            "000",
            "Amazon Web Services, filiale d’Amazon, a généré 25 milliards de dollars dans le monde",
            subject="Amazon Web Services",
        ),
        grounded("000", "plusieurs laboratoires pharmaceutiques, dont le groupe américain Pfizer", subject="Pfizer"),
        MS_BLOOMBERG,
        MS_GERMANY,
        AWS_REUTERS,
        MS_EUR_PLAIN,
        grounded(
            "001", "L'entreprise dispose aujourd'hui de 35 centres logistiques partout en France", subject="Amazon"
        ),
        grounded(
            "001",
            "le géant de la technologie a investi 15 millions d’euros dans le développeur d’IA",
            subject="Microsoft",
        ),
        MS_MONDAY,
        MS_USD_TITLE,
        grounded("004", "a réuni 180 PDG et dirigeants d’entreprises internationaux", subject="Choose France"),
        grounded(
            "004",
            "Il a mis en évidence des investissements étrangers totalisant 15 milliards d’euros",
            subject="Choose France",
        ),
    ]
    pairs = candidate_pairs(claims)
    ids = {(a.id, b.id) for a, b in pairs}
    total = all_pairs_count(claims)
    assert total == 16 * 15 // 2 - (6 * 5 + 6 * 5 + 4 * 3) // 2
    assert 0 < len(pairs) < total
    assert all(a.article_id != b.article_id for a, b in pairs)
    assert len(ids) == len(pairs)  # no duplicates
    assert (MS_SUNDAY.id, MS_MONDAY.id) in ids  # same amount, and dated claims of one subject
    assert (MS_BLOOMBERG.id, MS_USD_TITLE.id) in ids  # euros and dollars
    assert (AMAZON_JOBS.id, MS_EUR_PLAIN.id) not in ids  # jobs vs euros share no block

    facts, judgements, stats = verify(bundle(*claims))
    assert stats.claims == 16 and stats.all_pairs == total and stats.candidate_pairs == len(pairs)
    assert stats.decided_by_rule == len({(j.a, j.b) for j in judgements}) and stats.sent_to_model == 0
    # every claim is the primary member of exactly one fact; a day may put it in a second one
    assert sorted(m.claim_id for f in facts for m in f.members if m.primary) == sorted(c.id for c in claims)


def test_pairing_stays_sparse_on_many_unrelated_claims():
    article_ids = ["a", "b", "c", "d"]
    claims = []
    for n in range(200):
        article = article_ids[n % 4]
        text = f"Company{n} hired {100 + 37 * n} engineers."
        claims.append(
            Claim(
                id=f"{article}:{n}",
                article_id=article,
                text=text,
                quote=text,
                span=None,
                alignment=Alignment.none,
                subject=f"Company{n}",
                quantity=main_quantity(text, language="en"),
            )
        )
    pairs = candidate_pairs(claims)
    assert len(pairs) < all_pairs_count(claims) / 10


def test_similar_wording_about_one_subject_is_a_candidate():
    a = grounded(
        "001",
        "Amazon investit également davantage dans ses infrastructures logistiques françaises",
        "Amazon étend son infrastructure logistique en Auvergne-Rhône-Alpes.",
        subject="Amazon",
    )
    b = grounded(
        "003",
        "L’investissement permettra également d’étendre ses infrastructures logistiques",
        "Amazon étendra son infrastructure logistique en Auvergne-Rhône-Alpes.",
        subject="Amazon",
    )
    assert [(x.id, y.id) for x, y in candidate_pairs([a, b])] == [(a.id, b.id)]


# -- model adjudication ----------------------------------------------------------------------------
LOGISTICS_001 = grounded(
    "001",
    "Amazon investit également davantage dans ses infrastructures logistiques françaises",
    "Amazon étend son infrastructure logistique en Auvergne-Rhône-Alpes.",
    subject="Amazon",
)
LOGISTICS_003 = grounded(
    "003",
    "L’investissement permettra également d’étendre ses infrastructures logistiques",
    "Amazon agrandira son réseau logistique en Auvergne-Rhône-Alpes.",
    subject="Amazon",
)
CLOUD_002 = grounded(
    "002",
    "développement de l'infrastructure cloud d'Amazon Web Services (AWS) en région parisienne",
    "Amazon renforcera son infrastructure cloud en région parisienne.",
    subject="Amazon",
)


class FakeLLM:
    """Answers every adjudication with one fixed relation and records what it was asked."""

    name = "fake"
    concurrency = 1

    def __init__(self, relation: str = "compatible") -> None:
        self.answer = PairAdjudication(relation=relation, rationale="Both describe the same expansion.")
        self.calls: list[dict[str, Any]] = []
        self.usage = Usage()

    def complete(
        self,
        *,
        stage: str,
        prompt: Prompt,
        variables: dict[str, Any],
        response_model: type,
        article_id: str | None = None,
        chunk_index: int | None = None,
        **_: Any,
    ) -> Any:
        prompt.render(**variables)  # the real template renders with exactly these variables
        self.calls.append(
            {
                "stage": stage,
                "prompt": prompt.id,
                "variables": variables,
                "response_model": response_model,
                "article_id": article_id,
            }
        )
        return self.answer


class FailingLLM(FakeLLM):
    """Fails on pairs whose claim A mentions ``poison``; answers the others."""

    def __init__(self, poison: str = "") -> None:
        super().__init__("equivalent")
        self.poison = poison

    def complete(self, **kwargs: Any) -> Any:
        answer = super().complete(**kwargs)
        variables = kwargs["variables"]
        if self.poison in variables["claim_a"] or self.poison in variables["claim_b"]:
            raise SchemaError("the answer did not fit the schema after 2 attempt(s)", stage="adjudicate", attempts=2)
        return answer


def test_undecided_pairs_go_to_the_model():
    llm = FakeLLM("compatible")
    facts, judgements, stats = verify(bundle(LOGISTICS_001, LOGISTICS_003), llm)
    assert stats.sent_to_model == 1 and stats.decided_by_rule == 0
    [call] = llm.calls
    assert call["stage"] == "adjudicate" and call["prompt"] == ADJUDICATE_PROMPT
    assert call["response_model"] is PairAdjudication and call["article_id"] is None
    assert set(call["variables"]) == {"claim_a", "quote_a", "claim_b", "quote_b"}
    [judgement] = judgements
    assert judgement.decided_by == "model" and judgement.relation == Relation.compatible
    fact = fact_with(facts, LOGISTICS_001)
    assert {m.claim_id for m in fact.members} == {LOGISTICS_001.id, LOGISTICS_003.id}
    assert fact.verdict == Verdict.corroborated


def test_rules_first_then_model_only_for_the_rest():
    llm = FakeLLM()
    _, judgements, stats = verify(bundle(MS_SUNDAY, MS_MONDAY, LOGISTICS_001, LOGISTICS_003), llm)
    assert stats.decided_by_rule >= 1 and stats.sent_to_model == len(llm.calls) == 1
    assert {j.decided_by for j in judgements} == {"rule", "model"}


def test_no_adjudication_when_disabled_or_without_model():
    llm = FakeLLM()
    _, judgements, stats = verify(bundle(LOGISTICS_001, LOGISTICS_003), llm, adjudicate=False)
    assert llm.calls == [] and judgements == [] and stats.sent_to_model == 0
    facts, _, _ = verify(bundle(LOGISTICS_001, LOGISTICS_003))
    assert len(facts) == 2 and all(f.verdict == Verdict.single_source for f in facts)


def test_model_failure_is_recorded_and_verification_goes_on(caplog):
    llm = FailingLLM(poison="Auvergne")
    # reworded, so that no rule decides the pair and it goes to the model
    cloud = CLOUD_002.model_copy(update={"text": "Amazon développera son cloud AWS en région parisienne."})
    claims = bundle(LOGISTICS_001, LOGISTICS_003, cloud, AMAZON_VIA_REUTERS)
    with caplog.at_level("WARNING", logger="recoupe.crosscheck.adjudicate"):
        facts, judgements, stats = verify(claims, llm)
    failed = [j for j in judgements if j.rationale.startswith("model adjudication failed")]
    answered = [j for j in judgements if j.decided_by == "model" and j not in failed]
    assert failed and answered  # one failure did not stop the other pairs
    assert all(j.relation == Relation.unrelated and j.decided_by == "model" for j in failed)
    assert stats.sent_to_model == len(llm.calls)
    assert "adjudication" in caplog.text
    # the pair the model did answer still makes a fact: AOF and Reuters are two origins
    fact = fact_with(facts, CLOUD_002)
    assert AMAZON_VIA_REUTERS.id in {m.claim_id for m in fact.members}
    assert fact.origins == ["AOF", "Reuters"] and fact.verdict == Verdict.corroborated


def test_every_failure_kind_is_tolerated():
    class AlwaysFails(FakeLLM):
        def complete(self, **_: Any) -> Any:
            raise LLMError("could not connect to the model endpoint", stage="adjudicate")

    facts, judgements, _ = verify(bundle(LOGISTICS_001, LOGISTICS_003), AlwaysFails())  # type: ignore[arg-type]
    [judgement] = judgements
    assert judgement.relation == Relation.unrelated
    assert "could not connect" in judgement.rationale
    assert len(facts) == 2


# -- facts -----------------------------------------------------------------------------------------
def test_two_outlets_relaying_reuters_are_one_origin_in_a_fact():
    llm = FakeLLM("equivalent")  # no number or day on one side: the model links them
    facts, _, _ = verify(
        bundle(
            AWS_REUTERS,
            AMAZON_VIA_REUTERS.model_copy(
                update={"text": "AWS investit plus de 1,2 milliard d'euros dans ses activités françaises."}
            ),
        ),
        llm,
    )
    fact = fact_with(facts, AWS_REUTERS)
    assert len(fact.members) == 2
    assert fact.origins == ["Reuters"]
    assert fact.verdict == Verdict.single_source


def test_afp_and_bloomberg_corroborate():
    facts, _, _ = verify(bundle(MS_SUNDAY, MS_BLOOMBERG))
    fact = fact_with(facts, MS_SUNDAY)
    assert {m.claim_id for m in fact.members} == {MS_SUNDAY.id, MS_BLOOMBERG.id}
    assert fact.origins == ["AFP", "Bloomberg"]
    assert fact.verdict == Verdict.corroborated
    assert fact.facet == "quantity"


def test_a_wrong_day_makes_its_own_conflict_and_leaves_the_amount_corroborated():
    facts, judgements, _ = verify(bundle(MS_SUNDAY, MS_MONDAY, MS_BLOOMBERG, MS_EUR_PLAIN))
    amount = next(f for f in facts if f.facet == "quantity" and any(m.claim_id == MS_SUNDAY.id for m in f.members))
    assert amount.verdict == Verdict.corroborated
    assert {m.claim_id for m in amount.members} == {MS_SUNDAY.id, MS_MONDAY.id, MS_BLOOMBERG.id, MS_EUR_PLAIN.id}
    assert all(m.primary for m in amount.members)
    assert amount.members[0].relation == Relation.equivalent
    day = next(f for f in facts if f.facet == "time")
    assert day.verdict == Verdict.conflicting
    assert {m.claim_id for m in day.members} == {MS_SUNDAY.id, MS_MONDAY.id}
    assert sorted(m.relation.value for m in day.members) == ["contradicts", "equivalent"]  # vs the reference
    assert not any(m.primary for m in day.members)  # both are amount claims first
    assert facts[0] is day  # conflicts come first
    report_fact = Report(articles=[], facts=facts).fact_of(MS_MONDAY.id)
    assert report_fact is amount
    assert any(j.relation == Relation.contradicts and j.facet == "time" for j in judgements)


def test_fact_ids_are_stable_and_order_independent():
    judgement = PairJudgement(
        a=MS_SUNDAY.id, b=MS_BLOOMBERG.id, relation=Relation.equivalent, decided_by="rule", rationale="Same amount."
    )
    origins = {MS_SUNDAY.id: "AFP", MS_BLOOMBERG.id: "Bloomberg", AMAZON_JOBS.id: "AFP"}
    one = build_facts([MS_SUNDAY, MS_BLOOMBERG, AMAZON_JOBS], [judgement], origins)
    two = build_facts([AMAZON_JOBS, MS_BLOOMBERG, MS_SUNDAY], [judgement], origins)
    assert [f.model_dump() for f in one] == [f.model_dump() for f in two]
    assert all(f.id.startswith("F") and len(f.id) == 11 for f in one)
    assert [f.verdict for f in one] == [Verdict.corroborated, Verdict.single_source]


def test_facts_sorted_conflicts_first():
    claims = [MS_SUNDAY, MS_MONDAY, MS_BLOOMBERG, AMAZON_AOF, AWS_REUTERS, AMAZON_JOBS]
    facts, _, _ = verify(bundle(*claims))
    order = {Verdict.conflicting: 0, Verdict.corroborated: 1, Verdict.single_source: 2}
    ranks = [order[f.verdict] for f in facts]
    assert ranks == sorted(ranks) and ranks[0] == 0
    assert sorted(m.claim_id for f in facts for m in f.members if m.primary) == sorted(c.id for c in claims)


def test_claim_facet():
    assert claim_facet(MS_EUR_PLAIN) == "quantity"
    sunday = grounded("000", "Le bureau du président français Emmanuel Macron a déclaré plus tôt dimanche")
    assert claim_facet(sunday) == "time"
    assert claim_facet(AMAZON_VIA_REUTERS) == "statement"


def test_crosscheck_builds_a_report():
    llm = FakeLLM()
    report = crosscheck(Extraction(articles=bundle(MS_SUNDAY, MS_MONDAY, LOGISTICS_001, LOGISTICS_003)), llm)
    assert report.model == "fake"
    assert ADJUDICATE_PROMPT in report.prompts and len(report.prompts[ADJUDICATE_PROMPT]) == 64
    assert report.pairing.sent_to_model == 1
    assert report.facts[0].verdict == Verdict.conflicting
    assert report.fact_of(MS_SUNDAY.id).verdict == Verdict.corroborated  # its amount; its day conflicts
    assert any(m.claim_id == MS_SUNDAY.id for m in report.facts[0].members)
    rules_only = crosscheck(Extraction(articles=bundle(MS_SUNDAY, MS_MONDAY)))
    assert rules_only.prompts == {} and rules_only.usage.calls == 0


@pytest.mark.parametrize(("a", "b"), list(itertools.permutations([MS_SUNDAY, MS_MONDAY, AWS_REUTERS, AMAZON_AOF], 2)))
def test_compare_is_symmetric(a: Claim, b: Claim):
    ab, ba = compare(a, b), compare(b, a)
    assert (ab is None) == (ba is None)
    if ab is not None:
        assert ab.relation == ba.relation


def test_crosscheck_keeps_the_extraction_context():
    usage = Usage()
    usage.stage("extract").calls = 5
    extraction = Extraction(
        articles=bundle(MS_SUNDAY, MS_MONDAY),
        usage=usage,
        model="some-model",
        prompts={"extract_claims.v1": "0" * 64},
        failures=[Failure(source="bad.txt", stage="load", reason="empty file")],
    )
    report = crosscheck(extraction)
    assert report.usage.calls == 5 and report.model == "some-model"
    assert report.prompts == {"extract_claims.v1": "0" * 64}
    assert [f.source for f in report.failures] == ["bad.txt"]
    assert report.facts[0].verdict == Verdict.conflicting


def test_verdicts_do_not_depend_on_article_order():
    claims = [
        MS_SUNDAY,
        MS_MONDAY,
        MS_BLOOMBERG,
        MS_GERMANY,
        AMAZON_AOF,
        AWS_REUTERS,
        AMAZON_JOBS,
        AMAZON_HEADING_USD,
        AWS_EUR_USD,
        AMAZON_SINCE_2010,
    ]
    forward, _, _ = verify(bundle(*claims))
    backward, _, _ = verify(list(reversed(bundle(*claims))))
    assert [(f.id, f.verdict, f.statement, f.origins) for f in forward] == [
        (f.id, f.verdict, f.statement, f.origins) for f in backward
    ]


def test_candidates_stay_linear_when_one_subject_fills_the_batch():
    from recoupe.crosscheck import MAX_PARTNERS
    from recoupe.models import Claim

    claims = []
    for i in range(300):
        text = f"Microsoft investit {i + 1},5 milliards d'euros en France."
        claims.append(
            Claim(
                id=f"a{i}:x",
                article_id=f"a{i}",
                text=text,
                quote=text,
                span=None,
                alignment="none",
                subject="Microsoft",
                quantity=parse_quantities(text)[0],
            )
        )
    pairs = candidate_pairs(claims)
    assert 0 < len(pairs) <= len(claims) * MAX_PARTNERS
    assert all(a.article_id != b.article_id for a, b in pairs)


def test_a_model_contradiction_needs_a_checkable_difference_unless_trusted():
    facts, judgements, _ = verify(bundle(LOGISTICS_001, LOGISTICS_003), FakeLLM("contradicts"))  # type: ignore[arg-type]
    [judgement] = judgements
    assert judgement.decided_by == "model" and judgement.relation == Relation.unrelated
    assert "not counted" in judgement.rationale
    assert all(f.verdict != Verdict.conflicting for f in facts)
    facts, judgements, _ = verify(
        bundle(LOGISTICS_001, LOGISTICS_003),
        FakeLLM("contradicts"),
        model_contradictions=True,  # type: ignore[arg-type]
    )
    assert judgements[0].relation == Relation.contradicts
    assert any(f.verdict == Verdict.conflicting for f in facts)


def test_amounts_that_count_different_things_are_unrelated():
    revenue = grounded(
        "000", "Amazon Web Services, filiale d’Amazon, a généré 25 milliards de dollars", subject="Amazon"
    )
    invested = grounded(
        "003", "plus de 20 milliards d’euros (21,6 milliards de dollars) d’injections de liquidités", subject="Amazon"
    )
    judgement = compare(revenue, invested)
    assert judgement is not None and judgement.relation == Relation.unrelated


def _pairing_by_definition(claims: list[Claim]) -> list[tuple[str, str]]:
    """candidate_pairs as its docstring defines it, pair by pair over all pairs: the reference the
    vectorised implementation must reproduce exactly (each test within a shared block key, between
    claims at most BLOCK_WINDOW places apart in that block)."""
    from rapidfuzz import fuzz

    from recoupe.crosscheck import pairing
    from recoupe.crosscheck.features import ClaimFeatures
    from recoupe.crosscheck.pairing import (
        CANDIDATE_FACTOR,
        LEXICAL_THRESHOLD,
        MAX_PARTNERS,
        amounts_of,
        block_keys,
    )

    window = pairing.BLOCK_WINDOW
    from recoupe.lexicon import fold

    def _entities(c: Claim) -> frozenset[str]:
        return ClaimFeatures.of(c).entities

    def _has_date(c: Claim) -> bool:
        return ClaimFeatures.of(c).dated

    def _subject_key(name: str | None) -> str | None:
        from recoupe.crosscheck.features import subject_key

        return subject_key(name)

    def _keys(c: Claim) -> frozenset[str]:
        return block_keys(ClaimFeatures.of(c))

    folded = [fold(c.text) for c in claims]
    # each claim's place in every block it is in, in input order
    place: dict[tuple[str, str], dict[int, int]] = {}
    for n, c in enumerate(claims):
        kinds = [("entity", k) for k in _entities(c)] + [("block", k) for k in _keys(c)]
        if _subject_key(c.subject) and _has_date(c):
            kinds.append(("dated", _subject_key(c.subject)))
        for kind in kinds:
            block = place.setdefault(kind, {})
            block[n] = len(block)

    def near(kind: str, key: str | None, i: int, j: int) -> bool:
        return abs(place[(kind, key)][i] - place[(kind, key)][j]) <= window

    found = []
    for i, j in itertools.combinations(range(len(claims)), 2):
        a, b = claims[i], claims[j]
        if a.article_id == b.article_id:
            continue
        amounts = any(near("block", k, i, j) for k in _keys(a) & _keys(b)) and any(
            ka == kb and max(va, vb) / min(va, vb) <= CANDIDATE_FACTOR
            for ka, va in (amounts_of(a.quantity) if a.quantity else [])
            for kb, vb in (amounts_of(b.quantity) if b.quantity else [])
        )
        dated = (
            bool(_subject_key(a.subject))
            and _subject_key(a.subject) == _subject_key(b.subject)
            and _has_date(a)
            and _has_date(b)
            and near("dated", _subject_key(a.subject), i, j)
        )
        lexical = (
            any(near("entity", k, i, j) for k in _entities(a) & _entities(b))
            and fuzz.token_set_ratio(folded[i], folded[j]) >= LEXICAL_THRESHOLD
        )
        if amounts or dated or lexical:
            found.append((fuzz.token_set_ratio(folded[i], folded[j]), i, j))
    kept = set()
    for k in range(len(claims)):
        mine = sorted((t for t in found if k in t[1:]), key=lambda t: (-t[0], t[1], t[2]))
        kept.update((i, j) for _, i, j in mine[:MAX_PARTNERS])
    return [(claims[i].id, claims[j].id) for i, j in sorted(kept)]


@pytest.mark.parametrize("window", [100, 12])
def test_vectorised_pairing_matches_its_definition_when_blocks_and_the_cap_bind(
    window: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import random

    from recoupe.crosscheck import pairing

    monkeypatch.setattr(pairing, "BLOCK_WINDOW", window)  # 12: far fewer than a company's claims

    rng = random.Random(7)
    companies = ["Microsoft", "Amazon", "Orange", "Pfizer", "EDF"]
    days = ["lundi", "mardi", "dimanche", ""]
    claims = []
    for n in range(70):
        article = f"art{n:03d}"
        for k in range(4):
            company = rng.choice(companies)
            amount = rng.choice(
                [
                    "1,2 milliard d'euros",
                    "4 milliards d'euros",
                    "4,3 milliards de dollars",
                    "500 millions d'euros",
                    "3 000 emplois",
                    "1 500 emplois",
                    "",
                ]
            )
            day = rng.choice(days)
            text = f"{company} a annoncé {day} un investissement de {amount} à {rng.choice(['Paris', 'Lyon'])}."
            text = " ".join(text.split())
            claims.append(
                Claim(
                    id=f"{article}:{k}",
                    article_id=article,
                    text=text,
                    quote=text,
                    span=None,
                    alignment="none",
                    subject=company,
                    quantity=main_quantity(text, text),
                    time=parse_time(text, None),
                )
            )
    pairs = [(a.id, b.id) for a, b in candidate_pairs(claims)]
    assert pairs == _pairing_by_definition(claims)
    assert len(pairs) < all_pairs_count(claims) / 4  # the cap binds: far fewer than all pairs
