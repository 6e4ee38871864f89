"""Extraction replayed from answers recorded from the embedded model (eval/cassettes/embedded)."""

from pathlib import Path

import pytest

from conftest import EVAL, SEEDS
from recoupe import RecordingMissingError, Settings, load_articles
from recoupe.evaluation.recording import cassette
from recoupe.extraction import extract_one
from recoupe.llm import LLM
from recoupe.models import Alignment

ARTICLE = "003_5f810845ea3596d9"
CASSETTE = EVAL / "cassettes" / "embedded" / "extract" / f"{ARTICLE}.yaml"


def _replay_llm() -> LLM:
    # max_retries=0: a request missing from the recording fails at once instead of being retried
    return LLM(Settings(use_cache=False, max_retries=0), replay_only=True)


def test_replayed_extraction_is_grounded_normalized_and_complete() -> None:
    article = load_articles(SEEDS / f"{ARTICLE}.txt")[0]
    llm = _replay_llm()
    with cassette(CASSETTE) as cas:
        result = extract_one(llm, article, chunk_chars=llm.target_chars)
        assert cas.all_played, "the recording holds answers that were never asked for"
    assert len(result.claims) >= 5
    for claim in result.claims:
        assert claim.alignment is not Alignment.none
        assert article.text[claim.span.start : claim.span.end] == claim.quote
        assert claim.id.startswith(ARTICLE + ":")
    # the code, not the model, reads the amount: 1,2 milliard d'euros with its dollar equivalent
    amounts = [c.quantity for c in result.claims if c.quantity and c.quantity.currency == "EUR"]
    assert any(q.value == 1.2e9 and q.bound.value == "more_than" for q in amounts)
    assert llm.usage.stages["extract"].calls == len(cas.data)
    assert llm.usage.prompt_tokens > 0 and llm.usage.completion_tokens > 0


def test_same_input_gives_the_same_claim_ids() -> None:
    article = load_articles(SEEDS / f"{ARTICLE}.txt")[0]
    ids = []
    for _ in range(2):
        with cassette(CASSETTE):
            ids.append([c.id for c in extract_one(_replay_llm(), article, chunk_chars=Settings().target_chars).claims])
    assert ids[0] == ids[1]


def test_a_request_not_in_the_recording_fails_fast_and_names_the_article(tmp_path: Path) -> None:
    article = load_articles(SEEDS / f"{ARTICLE}.txt")[0].model_copy(
        update={"text": "Un autre texte, jamais enregistré, sur 7 milliards d'euros."}
    )
    with cassette(CASSETTE), pytest.raises(RecordingMissingError) as info:
        extract_one(_replay_llm(), article, chunk_chars=Settings().target_chars)
    assert info.value.article_id == ARTICLE
    assert info.value.stage == "extract"
