import pytest

from conftest import SEEDS
from recoupe.grounding import ground_quote
from recoupe.models import Alignment, Span

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
