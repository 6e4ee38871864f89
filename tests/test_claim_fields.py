"""A claim's own fields, on constructed text that is not in the seeds nor in the eval sets: its
subject read from its own words, its quantity's unit and elided currency, the clause a code-made
claim keeps, and the cross-check rules that read them (units across languages, who designs a
thing, subjects named in two languages or by an identifier).

Every article here is constructed for the test."""

from __future__ import annotations

import datetime as dt

from recoupe.chunking import make_chunks, split_sentences
from recoupe.crosscheck import compare
from recoupe.crosscheck.features import ClaimFeatures, same_subject
from recoupe.extraction import span_claim
from recoupe.extraction.coverage import carry_currency, coverage_claims, split_claims
from recoupe.extraction.subjects import Subjects
from recoupe.models import Article, Claim, Relation, Span
from recoupe.normalize import canonical_unit, parse_quantities

FR = Article(
    id="fr",
    published=dt.date(2025, 3, 4),
    language="fr",
    text=(
        "Brest : la salle Harbour Point rouvrira en 2027\n\n"
        "BREST (AFP) - La Métropole de Brest et le groupe Kestrel ont présenté lundi le projet "
        "Harbour Point, du nom de la salle Harbour Point qu'il rénove. La salle comptera 9 000 places. "
        "Selon l'AFP, ce projet coûtera 120 millions d'euros. "
        "Le directeur de Kestrel, Paul Amand, a salué « un lieu ouvert à tous ». "
        "Il créera 300 emplois. "
        "Le budget repose sur 50 millions d'euros d'argent public. "
        "La Région Bretagne en apportera 20 millions, la Ville de Brest 30 millions. "
        "Les travaux débuteront en janvier 2026, avec une réouverture prévue à l'automne 2027. "
        "Construction et exploitation seront confiées à Kestrel."
    ),
)
EN = Article(
    id="en",
    published=dt.date(2025, 3, 4),
    language="en",
    text=(
        "Brest to reopen Harbour Point arena\n\n"
        "BREST, France (Reuters) - Kestrel said on Monday it would rebuild the Harbour Point arena. "
        "The arena will seat 9,500 people and host twelve concerts a year. "
        "Its owner, Kestrel, bought it in 2020."
    ),
)


def _at(article: Article, quote: str) -> Span:
    start = article.text.index(quote)
    return Span(start=start, end=start + len(quote))


def _subject(article: Article, quote: str, proposed: str | None = None) -> str | None:
    subjects = Subjects(article, split_sentences(article.text))
    return subjects.subject_for(_at(article, quote), quote, proposed)


def test_a_name_at_the_head_of_a_claim_is_its_subject() -> None:
    assert _subject(FR, "La Région Bretagne en apportera 20 millions", "Kestrel") == "Région Bretagne"
    # a dateline and the words before the subject are set aside
    assert _subject(EN, "Kestrel said on Monday it would rebuild the Harbour Point arena", "Brest") == "Kestrel"


def test_a_noun_stands_for_the_name_it_was_attached_to() -> None:
    assert _subject(FR, "La salle comptera 9 000 places", "Métropole de Brest") == "Harbour Point"
    assert _subject(FR, "Selon l'AFP, ce projet coûtera 120 millions d'euros", "AFP") == "Harbour Point"
    assert _subject(EN, "The arena will seat 9,500 people", "Kestrel") == "Harbour Point"


def test_a_name_between_commas_after_a_noun_is_the_subject() -> None:
    quote = "Le directeur de Kestrel, Paul Amand, a salué « un lieu ouvert à tous »"
    assert _subject(FR, quote, "Kestrel") == "Paul Amand"


def test_a_relative_clause_or_an_unnamed_head_keeps_the_proposed_subject() -> None:
    assert _subject(FR, "qu'il rénove", "Kestrel") == "Kestrel"
    # a proposed subject the article never names is dropped
    assert _subject(FR, "qu'il rénove", "Globex") is None


TOULON = Article(
    id="toulon",
    published=dt.date(2025, 6, 5),
    language="fr",
    text=(
        "Toulon rénove son stade\n\n"
        "La Ville de Toulon a présenté jeudi la rénovation du stade Pierre Vidal, pour un coût de "
        "30 millions d'euros. "
        "Les travaux commenceront en mars 2026. "
        "Le maire Hubert Dupin a précisé que le stade comptera 12 000 places. "
        "La Ville de Toulon en sera le maître d'ouvrage. "
        "Elle financera 40 % du projet. "
        "L'État apportera 5 millions d'euros."
    ),
)
TOULON_EN = Article(
    id="toulon-en",
    published=dt.date(2025, 6, 5),
    language="en",
    text=(
        "Toulon to rebuild its stadium\n\n"
        "TOULON (Reuters) - The city of Toulon will rebuild the Pierre Vidal stadium. "
        "Construction is due to begin in March 2026. "
        "Mayor Hubert Dupin said the stadium would seat 12,000 people. "
        "The Sud Bank will lend 10 million euros."
    ),
)


def test_a_side_of_a_project_is_about_the_facility_named_before() -> None:
    """(Constructed articles.) "Les travaux", "the construction", "un coût" name no thing of their
    own: they are about the last facility the article named."""
    assert _subject(TOULON, "Les travaux commenceront en mars 2026", "Ville de Toulon") == "Pierre Vidal"
    assert _subject(TOULON, "pour un coût de 30 millions d'euros", "Ville de Toulon") == "Pierre Vidal"
    assert _subject(TOULON_EN, "Construction is due to begin in March 2026", "Toulon") == "Pierre Vidal"
    # "Construction" is capitalised only because it opens the sentence: not a name, a side of the
    # "salle Harbour Point"
    assert _subject(FR, "Construction et exploitation seront confiées à Kestrel", "Kestrel") == "Harbour Point"
    # before any facility is named, the proposed subject stays
    plain = Article(
        id="plain", language="fr", text="Le groupe Kestrel lève des fonds. Le budget atteindra 50 millions."
    )
    assert _subject(plain, "Le budget atteindra 50 millions", "Kestrel") == "Kestrel"


def test_what_was_said_is_about_its_own_subject() -> None:
    """(Constructed articles.) "X a précisé que le stade ..." is about the stadium, not about X."""
    quote = "Le maire Hubert Dupin a précisé que le stade comptera 12 000 places"
    assert _subject(TOULON, quote, "Hubert Dupin") == "Pierre Vidal"
    quote = "Mayor Hubert Dupin said the stadium would seat 12,000 people"
    assert _subject(TOULON_EN, quote, "Hubert Dupin") == "Pierre Vidal"


def test_a_pronoun_opening_a_sentence_stands_for_the_previous_sentences_subject() -> None:
    """(Constructed articles.) "Elle financera 40 %" after "La Ville de Toulon en sera ..."."""
    assert _subject(TOULON, "Elle financera 40 % du projet", "Pierre Vidal") == "Ville de Toulon"
    assert _subject(FR, "Il créera 300 emplois", "Kestrel") == "Paul Amand"


def test_a_capital_after_an_elided_article_is_a_name() -> None:
    """(Constructed article.) "L'État" opens its sentence, but French writes a common noun after
    "l'" in lower case, so "État" is a name."""
    assert _subject(TOULON, "L'État apportera 5 millions d'euros", "Ville de Toulon") == "État"


def test_units_are_read_from_the_noun_after_a_number_in_either_language() -> None:
    (fr,) = parse_quantities("La salle accueillera 9 000 places", "fr")
    (en,) = parse_quantities("The arena will have 9,000 seats", "en")
    assert fr.unit == en.unit == "place"
    (concerts,) = parse_quantities("host twelve concerts a year", "en")
    assert (concerts.value, concerts.unit) == (12.0, "concert")
    assert canonical_unit("days") == canonical_unit("jours") == "jour"


def test_a_year_a_day_of_a_date_and_per_cent_are_read_as_such() -> None:
    assert parse_quantities("Les travaux débuteront en janvier 2026 pour une livraison", "fr") == []
    assert parse_quantities("le mardi 16 juin 2026 à Brest", "fr") == []
    assert parse_quantities("on March 19, 2026", "en") == []
    (share,) = parse_quantities("10 pour cent des emplois", "fr")
    assert (share.value, share.unit) == (10.0, "%")
    # an ordinal is a rank, not a count of "ème"
    (rank,) = parse_quantities("c'est le cinquième projet de la région", "fr")
    assert (rank.value, rank.unit) == (5.0, "rang")


def _claim(article: Article, quote: str, subject: str) -> Claim:
    return span_claim(article, _at(article, quote), quote, subject=subject)


def test_counts_in_two_languages_are_compared_through_their_unit() -> None:
    fr = _claim(FR, "La salle comptera 9 000 places", "Harbour Point")
    en = _claim(EN, "The arena will seat 9,500 people", "Harbour Point")
    en = en.model_copy(update={"quantity": parse_quantities("9,500 seats", "en")[0]})
    judgement = compare(fr, en)
    assert judgement is not None and judgement.relation == Relation.contradicts


def test_units_the_lexicon_does_not_know_are_left_to_the_model() -> None:
    a = _claim(EN, "host twelve concerts a year", "Harbour Point")
    b = a.model_copy(update={"id": "other:1", "article_id": "other"})
    b = b.model_copy(update={"quantity": parse_quantities("twelve shows", "en")[0]})
    assert a.quantity is not None and b.quantity is not None and a.quantity.unit != b.quantity.unit
    assert compare(a, b) is None  # "concert" and "show" may count the same thing: the rules cannot tell


def test_a_sum_takes_the_currency_its_sentence_leaves_unsaid() -> None:
    sentences = split_sentences(FR.text)
    quote = "La Région Bretagne en apportera 20 millions"
    region = _claim(FR, quote, "Région Bretagne")
    assert region.quantity is not None and region.quantity.currency is None
    (carried,) = carry_currency(FR, sentences, [region])
    assert carried.quantity is not None
    assert (carried.quantity.value, carried.quantity.currency) == (20_000_000.0, "EUR")
    jobs = _claim(FR, "Il créera 300 emplois", "Kestrel")
    assert carry_currency(FR, sentences, [jobs]) == [jobs]  # a count takes no currency


def test_code_made_claims_keep_one_amount_or_one_date_each() -> None:
    sentences = split_sentences(FR.text)
    chunks = make_chunks(FR, sentences, max_chars=2000)
    made = coverage_claims(FR, sentences, chunks, [])
    quotes = [c.quote for c in made]
    assert "la Ville de Brest 30 millions" in quotes
    assert any(q.startswith("La Région Bretagne en apportera 20 millions") for q in quotes)
    assert "Les travaux débuteront en janvier 2026" in quotes
    assert any("réouverture prévue à l'automne 2027" in q and "2026" not in q for q in quotes)


def test_two_designers_of_one_thing_conflict() -> None:
    article = Article(
        id="d",
        language="fr",
        text="La salle Harbour Point a été conçue par l'agence brestoise Atelier Morvan. "
        "The Harbour Point arena was designed by Lind Partners. "
        "La nouvelle salle Harbour Point est dessinée par l'Atelier Morvan.",
    )
    fr = _claim(article, "La salle Harbour Point a été conçue par l'agence brestoise Atelier Morvan", "Harbour Point")
    en = _claim(article, "The Harbour Point arena was designed by Lind Partners", "Harbour Point")
    same = _claim(article, "La nouvelle salle Harbour Point est dessinée par l'Atelier Morvan", "Harbour Point")
    conflict, agreement = compare(fr, en), compare(fr, same)
    assert conflict is not None and conflict.relation == Relation.contradicts
    assert agreement is not None and agreement.relation == Relation.equivalent


def test_a_subject_named_in_two_languages_or_by_an_identifier_is_one_subject() -> None:
    def features(subject: str) -> ClaimFeatures:
        return ClaimFeatures.of(_claim(FR, "Il créera 300 emplois", subject))

    assert same_subject(features("stade de la Marina"), features("Marina stadium"))
    assert same_subject(features("ligne de bus B12"), features("B12 bus line"))
    assert not same_subject(features("Ville de Brest"), features("Métropole de Brest"))


def test_long_runs_of_capitalised_words_are_read_in_bounded_time() -> None:
    # "A-A-A-...-A!" and "conçu par A-A-...": a run of names splits one way only (these took
    # seconds at 25 parts and doubled with each part when a hyphen could split a name two ways)
    hyphens = "A-" * 60 + "!"
    article = Article(id="h", language="fr", text=f"Le projet avance. {hyphens} Le Grand " + "Grand " * 40 + "!")
    subjects = Subjects(article, split_sentences(article.text))
    quote = "Le Grand " + "Grand " * 40
    name = subjects.subject_for(_at(article, quote), quote, None)
    assert name is not None and len(name.split()) <= 8  # a name is at most eight words
    designed = _claim(
        Article(id="d", language="fr", text=f"Le stade est conçu par {hyphens}"), f"conçu par {hyphens}", "stade"
    )
    ((role, holder),) = ClaimFeatures.of(designed).agents
    assert role == "design" and holder.startswith("a-a-a")


def test_a_model_claim_of_two_amounts_in_two_clauses_becomes_two_claims() -> None:
    article = Article(
        id="m",
        language="fr",
        text="Le groupe Kestrel investira 120 millions d'euros dans la salle Harbour Point, et créera 300 emplois.",
    )
    sentences = split_sentences(article.text)
    whole = _claim(article, article.text.rstrip("."), "Kestrel").model_copy(update={"method": "model"})
    parts = split_claims(article, sentences, [whole], Subjects(article, sentences))
    assert [(p.quantity.value if p.quantity else None, p.method) for p in parts] == [
        (120_000_000.0, "model"),
        (300.0, "model"),
    ]
    assert [p.quote for p in parts] == [
        "Le groupe Kestrel investira 120 millions d'euros dans la salle Harbour Point",
        "et créera 300 emplois",
    ]
    assert all(p.subject == "Kestrel" for p in parts)
    # one amount, or two in the same clause ("de 48 000 à 62 000 places"), stays one claim
    range_article = Article(id="r", language="fr", text="La salle passera de 8 000 à 9 000 places.")
    one = _claim(range_article, "La salle passera de 8 000 à 9 000 places", "Harbour Point")
    one = one.model_copy(update={"method": "model"})
    range_sentences = split_sentences(range_article.text)
    assert split_claims(range_article, range_sentences, [one], Subjects(range_article, range_sentences)) == [one]
