import pytest

from conftest import SEEDS
from recoupe.grounding import ground_quote
from recoupe.models import Alignment, Claim, Span

TEXT = (SEEDS / "000_6aa68e9ac400efb7.txt").read_text(encoding="utf-8")


def _check(quote: str, alignment: Alignment, expected: str | None) -> None:
    g = ground_quote(quote, TEXT)
    assert g.alignment is alignment
    if expected is None:
        assert g.span is None
    else:
        assert g.span is not None
        assert TEXT[g.span.start : g.span.end] == expected


def test_exact() -> None:
    _check("Dimanche, Microsoft a annoncé", Alignment.exact, "Dimanche, Microsoft a annoncé")


def test_typographic_apostrophes_and_case_are_normalized() -> None:
    _check("quatre milliards d'euros", Alignment.normalized, "quatre milliards d’euros")


def test_guillemets_and_non_breaking_spaces() -> None:
    g = ground_quote('le sommet "Choose France"', TEXT)
    assert g.alignment is Alignment.normalized
    assert g.span is not None and TEXT[g.span.start : g.span.end].startswith("le sommet «\u00a0Choose France")


def test_accents_dropped_by_the_model_are_found_fuzzily() -> None:
    g = ground_quote("Microsoft a annonce un investisement de quatre milliards deuros", TEXT)
    assert g.alignment is Alignment.fuzzy
    assert g.span is not None
    assert TEXT[g.span.start : g.span.end] == "Microsoft a annoncé un investissement de quatre milliards d’euros"


def test_words_not_in_the_text_are_not_grounded() -> None:
    _check("Brad Smith a dit que Google investit dix milliards à Lyon", Alignment.none, None)
    _check("", Alignment.none, None)


def test_the_target_window_is_searched_first() -> None:
    text = "Amazon investit. Plus loin: Amazon investit."
    g = ground_quote("Amazon investit", text, within=Span(start=17, end=len(text)))
    assert g.span == Span(start=28, end=43)


@pytest.mark.parametrize("quote", ["l", "AWS", "de la"])
def test_tiny_fragments_never_fuzzy_align(quote: str) -> None:
    g = ground_quote(quote + " inventé par le modèle avec des mots absents", TEXT)
    assert g.alignment is Alignment.none


# -- a model's draft becomes a claim: the code writes the wording, finds the claimant and the end --
# Constructed text (not from any article), so that every expected span is known by construction.
DRAFTED = (
    "Le groupe Ardoise a annoncé lundi un investissement de 250 millions d'euros à Brest, "
    "selon l'AFP. Il créera 300 emplois d'ici 2027. "
    "Le chantier du nouveau site de production de batteries pour véhicules électriques et pour le "
    "stockage stationnaire de l'électricité produite par les parcs éoliens en mer de la région doit "
    "commencer au printemps prochain sur un terrain de quarante hectares, a précisé l'entreprise."
)


def _draft_claim(quote: str, subject: str | None) -> Claim:
    from recoupe.chunking import make_chunks, split_sentences
    from recoupe.extraction import ClaimDraft, build_claim
    from recoupe.models import Article

    article = Article(id="constructed", text=DRAFTED, language="fr")
    sentences = split_sentences(DRAFTED, "fr")
    chunk = make_chunks(article, sentences, max_chars=1000)[0]
    return build_claim(article, ClaimDraft(quote=quote, subject=subject), chunk, sentences)


def test_a_claim_is_worded_from_its_quote_with_the_subject_for_a_pronoun() -> None:
    claim = _draft_claim("Il créera 300 emplois d'ici 2027", "Ardoise")
    assert claim.quote == "Il créera 300 emplois d'ici 2027"
    assert claim.text == "Ardoise créera 300 emplois d'ici 2027"
    assert claim.quantity is not None and claim.quantity.value == 300
    assert not claim.flags  # the wording states nothing the quote does not


def test_the_claimant_is_read_from_the_sentence_not_asked_of_the_model() -> None:
    claim = _draft_claim("un investissement de 250 millions d'euros à Brest", "Ardoise")
    assert claim.claimant == "AFP"
    assert _draft_claim("Il créera 300 emplois d'ici 2027", "Ardoise").claimant is None


def test_a_quote_the_decoder_closed_ends_with_its_clause_and_a_whole_one_is_kept() -> None:
    from recoupe.extraction.schema import MAX_QUOTE_CHARS

    whole = "Le groupe Ardoise a annoncé lundi"
    assert _draft_claim(whole, "Ardoise").quote == whole  # the model's own end is kept
    long_sentence = DRAFTED[DRAFTED.index("Le chantier") :]
    assert len(long_sentence) > MAX_QUOTE_CHARS
    cut = long_sentence[:MAX_QUOTE_CHARS]  # what a decoder closing the string at its limit gives
    claim = _draft_claim(cut, "Ardoise")
    assert claim.quote == long_sentence[: long_sentence.index(", a précisé")]
    assert claim.quantity is not None and claim.quantity.value == 40
