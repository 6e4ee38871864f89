from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import SEEDS
from recoupe.chunking import make_chunks, split_sentences
from recoupe.models import Article


def test_french_sentences_keep_decimals_thousands_and_guillemets() -> None:
    text = (
        "Microsoft investit 4,3 milliards de dollars. Amazon crée plus de 3 000 emplois, selon M. Dupont. "
        "« Nous allons développer la capacité ici », a déclaré Smith. L’entreprise l’a confirmé."
    )
    sentences = split_sentences(text)
    assert [s.text for s in sentences] == [
        "Microsoft investit 4,3 milliards de dollars.",
        "Amazon crée plus de 3 000 emplois, selon M. Dupont.",
        "« Nous allons développer la capacité ici », a déclaré Smith.",
        "L’entreprise l’a confirmé.",
    ]


def test_headings_and_site_furniture_are_not_extracted_from() -> None:
    text = (SEEDS / "000_6aa68e9ac400efb7.txt").read_text(encoding="utf-8")
    sentences = split_sentences(text)
    kinds = {s.text: s.kind for s in sentences}
    assert kinds["Amazon investit plus d’un milliard de dollars"] == "heading"
    assert kinds["Laisser un commentaire"] == "boilerplate"
    assert kinds["(AFP)"] == "boilerplate"
    assert kinds["Félix Germain"] == "boilerplate"  # the byline after the wire tag
    assert kinds["Votre adresse e-mail ne sera pas publiée."] == "boilerplate"


def test_chunks_cover_body_sentences_once_with_preceding_context() -> None:
    for path in sorted(SEEDS.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        article = Article(id=path.stem, text=text)
        sentences = split_sentences(text)
        chunks = make_chunks(article, sentences)
        covered = [i for c in chunks for i in c.sentence_indexes]
        assert covered == [s.index for s in sentences if s.kind == "body"]
        for c in chunks:
            if c.context is not None:
                assert c.context.end == c.target.start
            assert text[c.target.start : c.target.end].strip() == text[c.target.start : c.target.end]


_alphabet = st.sampled_from([*list("abcdéèà ÉA.,;!?«»’'\"\n0123456789 "), "M. ", "4,3", "3 000", "\xa0"])


@settings(max_examples=200, deadline=None)
@given(st.lists(_alphabet, min_size=1, max_size=80).map("".join))
def test_every_sentence_and_chunk_span_slices_back_to_its_text(text: str) -> None:
    sentences = split_sentences(text)
    for s in sentences:
        assert text[s.span.start : s.span.end] == s.text
        assert s.text.strip() == s.text and s.text
    starts = [s.span.start for s in sentences]
    assert starts == sorted(starts)
    article = Article(id="x", text=text)
    for c in make_chunks(article, sentences, max_chars=40):
        assert 0 <= c.target.start < c.target.end <= len(text)


def test_the_fallback_splitter_cuts_after_end_punctuation_only() -> None:
    from recoupe.chunking import _fallback_pieces

    text = "  Emmanuel Macron a dit que Paris va bien. « Il part » demain! Fin."
    assert [text[a:b] for a, b in _fallback_pieces(text)] == [
        "Emmanuel Macron a dit que Paris va bien.",
        "« Il part » demain!",
        "Fin.",
    ]


def _paragraph_texts() -> list[str]:
    """Every line of the seeds and of the eval sets' articles, plus constructed hard cases."""
    from pathlib import Path

    root = Path(SEEDS).parent
    files = sorted(SEEDS.glob("*.txt")) + sorted((root / "eval" / "sets").glob("*/articles/*"))
    lines = [line for f in files for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    constructed = [
        "  Leading spaces.  Two sentences.  ",
        "M. Dupont a dit. Il part. Il part.",  # a sentence repeated: each is found after the last
        "Le P.-D.G. l'a dit... Vraiment ? Oui !",
        "1. Premier point. 2. Second point.",
        "« Citation. » Puis la suite.\u00a0Fin.",
        "a. b. c. d.",
    ]
    return lines + constructed


@given(st.text(alphabet=" .!?«»\"'aAbB1,M", max_size=60))
@settings(max_examples=200, deadline=None)
def test_sentences_are_found_back_as_pysbd_finds_them_on_any_text(text: str) -> None:
    from recoupe.chunking import _pysbd_segments, _segmenter

    for language in ("fr", "en"):
        assert _pysbd_segments(_segmenter(language), text) == _segmenter(language).segment(text)


def test_sentences_are_found_back_as_pysbd_finds_them_on_real_lines() -> None:
    from recoupe.chunking import _pysbd_segments, _segmenter

    texts = _paragraph_texts()
    assert len(texts) > 100
    for language in ("fr", "en"):
        segmenter = _segmenter(language)
        for text in texts:
            assert _pysbd_segments(segmenter, text) == segmenter.segment(text), text
