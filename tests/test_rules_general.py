"""The cross-check's rules on constructed text that is not in the seeds nor in the eval sets:
counts, qualified figures, years of events, towns, roles, days, chains, syndicated copy, language.

Every article here is constructed for the test."""

from __future__ import annotations

import datetime as dt

from recoupe.crosscheck import compare, crosscheck
from recoupe.crosscheck.adjudicate import PairAdjudication
from recoupe.crosscheck.origins import article_origin
from recoupe.extraction import span_claim
from recoupe.extraction.claims import disagreements
from recoupe.models import Article, ArticleClaims, Claim, Extraction, Relation, Span, Usage, Verdict


def claim(article: Article, quote: str, subject: str, text: str | None = None) -> Claim:
    """A code-made claim of ``quote`` (its fields read from it), with the given subject and text."""
    start = article.text.index(quote)
    made = span_claim(article, Span(start=start, end=start + len(quote)), quote, subject=subject)
    return made.model_copy(update={"text": text or quote}) if text else made


class Agreeable:
    """A model that calls every pair it is asked about compatible, and counts the calls."""

    name, concurrency = "agreeable", 1

    def __init__(self) -> None:
        self.usage = Usage()
        self.calls = 0

    def complete(self, **_: object) -> PairAdjudication:
        self.calls += 1
        return PairAdjudication(relation="compatible", rationale="Both are about the same project.")


FR = Article(
    id="fr",
    published=dt.date(2025, 11, 5),
    language="fr",
    text=(
        "La société Brevanne ouvrira son usine à Saint-Nazaire en 2027 et embauchera 800 salariés. "
        "Le projet créera aussi 2 000 emplois indirects. Paul Aubry, ministre du Travail, était présent. "
        "Brevanne a annoncé hier son projet."
    ),
)
EN = Article(
    id="en",
    published=dt.date(2025, 11, 5),
    text=(
        "Brevanne will open its plant in Lorient in 2028 and hire 950 workers. "
        "Labour minister Paul Aubry attended. Brevanne announced the project on Monday."
    ),
)
FR2 = Article(
    id="fr2",
    published=dt.date(2025, 11, 6),
    language="fr",
    text=("Brevanne va recruter 800 salariés. Paul Aubry, ministre de l'Économie, a salué le projet."),
)


def test_an_english_article_without_a_language_reads_english_numbers() -> None:
    article = Article(id="x", text="The carmaker said on Tuesday it would hire 1,500 people at its new plant in Ohio.")
    assert article.lang == "en"
    made = claim(article, "it would hire 1,500 people", "carmaker")
    assert made.quantity is not None and made.quantity.value == 1500


def test_two_exact_counts_of_the_same_thing_conflict() -> None:
    hire_fr = claim(FR, "embauchera 800 salariés", "Brevanne")
    hire_fr2 = claim(FR2, "Brevanne va recruter 800 salariés", "Brevanne")
    assert compare(hire_fr, hire_fr2).relation in (Relation.equivalent, Relation.compatible)
    other = Article(id="o", language="fr", text="Brevanne embauchera 650 salariés sur le site.")
    assert (
        compare(hire_fr, claim(other, "Brevanne embauchera 650 salariés", "Brevanne")).relation == Relation.contradicts
    )


def test_an_indirect_figure_is_not_a_rival_count() -> None:
    indirect = claim(FR, "Le projet créera aussi 2 000 emplois indirects", "Brevanne")
    other = Article(id="o", language="fr", text="Brevanne créera 800 emplois.")
    judged = compare(indirect, claim(other, "Brevanne créera 800 emplois", "Brevanne"))
    assert judged is not None and judged.relation == Relation.unrelated


def test_years_towns_and_roles() -> None:
    open_fr = claim(
        FR,
        "La société Brevanne ouvrira son usine à Saint-Nazaire en 2027",
        "Brevanne",
        "Brevanne ouvrira son usine en 2027.",
    )
    open_en = claim(
        EN, "Brevanne will open its plant in Lorient in 2028", "Brevanne", "Brevanne will open its plant in 2028."
    )
    assert compare(open_fr, open_en).relation == Relation.contradicts  # 2027 vs 2028
    site_fr = claim(FR, "ouvrira son usine à Saint-Nazaire", "Brevanne", "L'usine de Brevanne sera à Saint-Nazaire.")
    site_en = claim(EN, "open its plant in Lorient", "Brevanne", "Brevanne's plant will be in Lorient.")
    assert compare(site_fr, site_en).relation == Relation.contradicts  # two towns
    region = Article(id="r", language="fr", text="Brevanne construira son usine dans la région Pays de la Loire.")
    site_region = claim(region, "Brevanne construira son usine dans la région Pays de la Loire", "Brevanne")
    judged = compare(site_fr, site_region)
    assert judged is None or judged.relation != Relation.contradicts  # a town inside a region: not a conflict
    role_1 = claim(FR, "Paul Aubry, ministre du Travail, était présent", "Paul Aubry")
    role_2 = claim(FR2, "Paul Aubry, ministre de l'Économie, a salué le projet", "Paul Aubry")
    assert compare(role_1, role_2).relation == Relation.contradicts


def test_days_are_compared_as_dates_and_hier_is_resolved() -> None:
    yesterday = claim(FR, "Brevanne a annoncé hier son projet", "Brevanne")
    assert yesterday.time is not None and yesterday.time.start == dt.date(2025, 11, 4)  # a Tuesday
    monday = claim(EN, "Brevanne announced the project on Monday", "Brevanne")
    assert compare(yesterday, monday).relation == Relation.contradicts


def test_agreement_never_chains_a_conflict_into_a_corroboration() -> None:
    """1 200 and 1 500 with a "plus de 1 000" between them: never one corroborated fact."""
    texts = {
        "a": "Norvel créera 1 200 emplois à Tarbes.",
        "b": "Norvel créera plus de 1 000 emplois à Tarbes.",
        "c": "Norvel créera 1 500 emplois à Tarbes.",
    }
    articles = [Article(id=k, language="fr", text=v) for k, v in texts.items()]
    bundle = [ArticleClaims(article=a, claims=[claim(a, a.text.rstrip("."), "Norvel")]) for a in articles]
    report = crosscheck(Extraction(articles=bundle))
    by_id = {c.id: c for c in report.claims()}
    for fact in report.facts:
        values = {by_id[m.claim_id].quantity.value for m in fact.members}  # type: ignore[union-attr]
        if {1200.0, 1500.0} <= values:
            assert fact.verdict == Verdict.conflicting
    assert any(f.verdict == Verdict.conflicting for f in report.facts)
    assert not any(f.verdict == Verdict.corroborated and len(f.members) == 3 for f in report.facts)


def test_syndicated_copy_shares_the_origin_of_what_it_copies() -> None:
    body = (
        "Le groupe Hestia va construire un entrepôt géant près de Reims, a indiqué mardi sa direction. "
        "Le chantier doit commencer au printemps et mobiliser trois cents ouvriers pendant deux ans. "
    )
    source = Article(id="s", published=dt.date(2025, 4, 1), language="fr", text=body + "Fin de la dépêche.")
    copy = Article(
        id="c",
        published=dt.date(2025, 4, 2),
        language="fr",
        text="Notre région gagne un entrepôt. " + body + "Les élus se réjouissent de la nouvelle.",
    )
    quote = "Le chantier doit commencer au printemps"
    bundle = [ArticleClaims(article=a, claims=[claim(a, quote, "Hestia")]) for a in (source, copy)]
    report = crosscheck(Extraction(articles=bundle))
    [fact] = [f for f in report.facts if len(f.members) == 2]
    assert fact.origins == ["article:s"] and fact.verdict == Verdict.single_source


def test_credit_lines_name_the_origin_of_a_whole_article() -> None:
    relay = Article(id="relay", text="The port will expand.\n\nThis article is based on a Reuters report.")
    assert article_origin(relay) == "Reuters"
    assert article_origin(Article(id="x", text="Le port va s'agrandir. (avec AFP)")) == "AFP"


def test_a_claim_is_flagged_where_its_wording_disagrees_with_its_quote() -> None:
    assert disagreements("Le port investit 90 millions d'euros.", "le port investit 60 millions d'euros", "fr")
    assert disagreements("Le maire a confirmé le projet.", "le maire n'a pas confirmé le projet", "fr")
    assert disagreements("Le port investit 60 millions d'euros.", "le port investit 60 millions d'euros", "fr") == []


def test_a_pair_in_conflict_on_its_year_is_never_corroborated_by_the_model() -> None:
    """The model calls two statements compatible, the rules find their years differ: they never
    sit together in a corroborated fact."""
    a = Article(id="a", language="fr", text="Le groupe Brevanne lancera la production de son usine en 2027.")
    b = Article(id="b", language="fr", text="Brevanne démarrera la production de la nouvelle usine en 2028.")
    c = Article(id="c", language="fr", text="Brevanne a confirmé le lancement de la production de son usine.")
    bundle = [ArticleClaims(article=x, claims=[claim(x, x.text.rstrip("."), "Brevanne")]) for x in (a, b, c)]
    report = crosscheck(Extraction(articles=bundle), Agreeable())
    years = {bundle[0].claims[0].id, bundle[1].claims[0].id}
    for fact in report.facts:
        if years <= {m.claim_id for m in fact.members}:
            assert fact.verdict == Verdict.conflicting


def test_the_models_word_does_not_put_a_dated_plan_into_a_dispute_about_a_day() -> None:
    """The model calls "by 2030" compatible with "on Sunday": the claim about 2030 stays out of the
    conflict between Sunday and Monday."""
    published = dt.date(2025, 11, 4)  # a Tuesday
    sunday = Article(id="a", published=published, language="fr", text="Brevanne a annoncé dimanche son projet.")
    monday = Article(id="b", published=published, language="fr", text="Brevanne a annoncé lundi son projet.")
    plan = Article(id="c", published=published, language="fr", text="Brevanne vise la neutralité carbone d'ici 2030.")
    bundle = [
        ArticleClaims(article=x, claims=[claim(x, x.text.rstrip("."), "Brevanne")]) for x in (sunday, monday, plan)
    ]
    report = crosscheck(Extraction(articles=bundle), Agreeable())
    plan_id = bundle[2].claims[0].id
    [conflict] = [f for f in report.facts if f.verdict == Verdict.conflicting]
    assert {m.article_id for m in conflict.members} == {"a", "b"}
    assert all(f.verdict == Verdict.single_source for f in report.facts if plan_id in {m.claim_id for m in f.members})


def test_a_copy_that_splits_a_sentence_in_two_is_still_a_copy() -> None:
    from recoupe.crosscheck.syndication import copied_sentences

    source = Article(
        id="s",
        published=dt.date(2025, 4, 1),
        language="fr",
        text=(
            "Le financement repose sur 200 millions d'euros d'argent public : le département en apportera "
            "120 millions et la commune 80 millions. "
            "Le chantier doit commencer au printemps et mobiliser trois cents ouvriers pendant deux ans."
        ),
    )
    copy = Article(
        id="c",
        published=dt.date(2025, 4, 2),
        language="fr",
        text=(
            "Notre région gagne un équipement. Le financement repose sur 200 millions d'euros d'argent public. "
            "Le département en apportera 120 millions et la commune 80 millions. "
            "Le chantier doit commencer au printemps et mobiliser trois cents ouvriers pendant deux ans."
        ),
    )
    found = copied_sentences([source, copy])
    spans = sorted((c.span.start, c.span.end) for c in found if c.article == "c")
    assert all(c.source == "s" for c in found)
    split_start = copy.text.index("Le financement")
    split_end = copy.text.index("80 millions.") + len("80 millions.")
    assert (split_start, split_end) in spans  # the two sentences, as one copy of the source's one
    assert len(spans) == 2


def test_one_shared_sentence_and_its_neighbour_are_not_two_copied_sentences() -> None:
    from recoupe.crosscheck.syndication import copied_sentences

    shared = "Le chantier doit commencer au printemps et mobiliser trois cents ouvriers pendant deux ans."
    a = Article(id="a", language="fr", text=shared + " Ouf.")
    b = Article(id="b", language="fr", text=shared + " La mairie se félicite de cette annonce très attendue par tous.")
    assert copied_sentences([a, b]) == []


def test_a_place_counts_as_where_a_site_is_only_after_a_site_word() -> None:
    """A town named for something else in the claim ("an agency from Lyon") never makes two sites
    conflict; "the plant will be in X" against "built in Y" does."""
    a = Article(
        id="a",
        language="fr",
        text="Le stade Mistral se trouve à Bron. Le projet du stade Mistral a été confié à l'agence Orsay de Vienne.",
    )
    b = Article(
        id="b",
        language="en",
        text="The Mistral stadium will be built in Meyzieu. The design went to Orsay, based in Vienne.",
    )
    site_a = claim(a, "Le stade Mistral se trouve à Bron", "stade Mistral")
    site_b = claim(b, "The Mistral stadium will be built in Meyzieu", "stade Mistral")
    design_a = claim(a, "Le projet du stade Mistral a été confié à l'agence Orsay de Vienne", "stade Mistral")
    design_a = design_a.model_copy(update={"location": "Vienne"})  # where the agency is
    assert compare(site_a, site_b).relation == Relation.contradicts  # two towns for one site
    judged = compare(site_a, design_a)
    assert judged is None or judged.relation != Relation.contradicts
    shown = Article(id="s", language="fr", text="Le projet du stade Mistral a été présenté à la Maison Rouge.")
    judged = compare(site_a, claim(shown, shown.text.rstrip("."), "stade Mistral"))
    assert judged is None or judged.relation != Relation.contradicts  # where it was shown, not where it is
    wide = Article(id="w", language="en", text="The company will invest in a new stadium in northern Italy.")
    judged = compare(claim(wide, wide.text.rstrip("."), "stade Mistral"), site_a)
    assert judged is None or judged.relation != Relation.contradicts


def test_the_start_of_an_event_and_the_event_are_not_compared_by_year() -> None:
    a = Article(id="a", language="fr", text="La production de l'usine Kessel doit démarrer en 2027.")
    b = Article(id="b", language="fr", text="En 2030, l'usine Kessel produira 20 GWh de batteries.")
    c = Article(id="c", language="en", text="Production at the Kessel plant is due to start in 2028.")
    start_a, full_b, start_c = (claim(x, x.text.rstrip("."), "Kessel") for x in (a, b, c))
    judged = compare(start_a, full_b)
    assert judged is None or judged.relation != Relation.contradicts
    assert compare(start_a, start_c).relation == Relation.contradicts  # 2027 vs 2028


def test_a_deadline_is_not_the_year_something_happens() -> None:
    from recoupe.normalize import parse_time

    deadline = parse_time("Le stade sera livré à temps pour les Jeux de 2030.")
    assert deadline is not None and deadline.start is None and deadline.end == dt.date(2030, 12, 31)
    assert parse_time("avant de commencer en 2027").start == dt.date(2027, 1, 1)  # "avant de": no deadline
    a = Article(id="a", language="fr", text="Le stade Mistral sera livré à temps pour les Jeux de 2030.")
    b = Article(id="b", language="fr", text="La livraison du stade Mistral est prévue en 2029.")
    judged = compare(claim(a, a.text.rstrip("."), "stade Mistral"), claim(b, b.text.rstrip("."), "stade Mistral"))
    assert judged is None or judged.relation != Relation.contradicts


def test_a_town_and_the_region_around_it_do_not_keep_two_amounts_apart() -> None:
    town = Article(id="t", language="fr", text="Kessel investira 2 milliards d'euros à Brive.")
    region = Article(id="r", language="fr", text="Kessel investira 3 milliards d'euros en Nouvelle-Aquitaine.")
    other_town = Article(id="o", language="fr", text="Kessel investira 3 milliards d'euros à Tulle.")
    in_town, in_region, in_other = (claim(x, x.text.rstrip("."), "Kessel") for x in (town, region, other_town))
    assert compare(in_town, in_region).relation == Relation.contradicts  # Brive may lie in the region
    assert compare(in_town, in_other).relation == Relation.unrelated  # two towns: two projects


def test_a_conflict_does_not_take_in_claims_the_model_only_calls_compatible() -> None:
    """Two towns for one stadium conflict; a third article's claim about the stadium's roof, which
    the model calls compatible with both, stays a fact of its own."""
    texts = {
        "a": "Le stade Mistral se trouve à Bron, a rappelé le club.",
        "b": "Le stade Mistral est situé à Genas, a rappelé le club.",
        "c": "Le stade Mistral se trouve désormais entièrement couvert, a rappelé le club.",
    }
    articles = [Article(id=k, language="fr", text=v) for k, v in texts.items()]
    bundle = [ArticleClaims(article=x, claims=[claim(x, x.text.split(",")[0], "stade Mistral")]) for x in articles]
    model = Agreeable()
    report = crosscheck(Extraction(articles=bundle), model)
    assert model.calls > 0  # the roof was put to the model
    [conflict] = [f for f in report.facts if f.verdict == Verdict.conflicting]
    assert {m.article_id for m in conflict.members} == {"a", "b"}
