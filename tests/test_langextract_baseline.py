"""The LangExtract baseline adapter, against a scripted OpenAI-compatible server on loopback:
recorded once from the fake server, then replayed with the server stopped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("langextract")

from recoupe.errors import RecordingMissingError
from recoupe.evaluation.gold import GoldClaim, make_gold
from recoupe.evaluation.harness import format_table
from recoupe.evaluation.langextract_baseline import (
    MIN_SPAN_CHARS,
    langextract_claims,
    run_langextract,
)
from recoupe.models import Alignment, Article
from recoupe.settings import Settings
from recoupe.testing import FakeOpenAIServer, Reply

MODEL = "qwen2.5-coder-1.5b-instruct-q4_k_m"  # a qwen id: LangExtract alone would pick its Ollama provider

ARTICLE_A = Article(
    id="lx-a",
    language="fr",
    text=(
        "Le groupe Ardoise a annoncé jeudi un investissement de 250 millions d'euros à Brest. "
        "Selon l'AFP, il créera 300 emplois d'ici 2027. Le site ouvrira en mars."
    ),
)
ARTICLE_B = Article(
    id="lx-b", language="fr", text="La société Brume a levé 40 millions d'euros à Lille, selon Les Echos."
)
ARTICLE_C = Article(
    id="lx-c", language="fr", text="Le port de Sète a accueilli 12 000 passagers en juillet, un record."
)

ANSWER_A = {
    "extractions": [
        {
            "claim": "un investissement de 250 millions d'euros à Brest",
            "claim_attributes": {
                "claim": "Le groupe Ardoise investira 250 millions d'euros à Brest.",
                "subject": "Ardoise",
                "claimant": "AFP",
            },
        },
        {
            "claim": "il créera 300 emplois d'ici 2027",
            "claim_attributes": {
                "claim": "Ardoise créera 300 emplois d'ici 2027.",
                "subject": "Ardoise",
                "claimant": "Le Monde",
            },
        },
        {"claim": "en mars", "claim_attributes": {"claim": "Le site d'Ardoise ouvrira en mars."}},
        {
            "claim": "une usine flottante au large de Quimper",
            "claim_attributes": {"claim": "Ardoise construira une usine."},
        },
    ]
}
USAGE_A = {"prompt_tokens": 321, "completion_tokens": 45}
USAGE_C = {"prompt_tokens": 100, "completion_tokens": 7}


def _reply(request: dict[str, Any]) -> Reply:
    """Answer by article: A gets extractions, B an HTTP body that is not JSON, C a non-JSON answer."""
    prompt = request["messages"][-1]["content"]
    question = prompt.rsplit("Q: ", 1)[-1]
    if ARTICLE_A.text in question:
        return Reply.json(ANSWER_A, **USAGE_A)
    if ARTICLE_B.text in question:
        return Reply(body=b"{garbage", headers={"content-type": "application/json"})
    if ARTICLE_C.text in question:
        return Reply.completion("Voici les affirmations : aucune.", **USAGE_C)
    raise AssertionError(f"unexpected prompt: {question[:80]!r}")


def _settings(base_url: str | None) -> Settings:
    return Settings(model=MODEL, base_url=base_url, use_cache=False)


def test_claims_are_grounded_normalized_and_replayed_without_the_server(tmp_path: Path) -> None:
    with FakeOpenAIServer(default=_reply) as server:
        recorded = langextract_claims(ARTICLE_A, _settings(server.base_url), tmp_path, record=True)
        requests = list(server.requests)
    assert (tmp_path / "lx-a.yaml").is_file()
    # one chunk, one request, with LangExtract's own parameters
    assert len(requests) == 1
    body = requests[0]
    assert body["model"] == MODEL and body["temperature"] == 0.0 and body["seed"] == 1234
    assert body["max_tokens"] == 1024 and body["response_format"] == {"type": "json_object"}
    assert "cache_prompt" not in body  # LangExtract has no way to send extra JSON
    assert "Terres du Sud" in body["messages"][-1]["content"]  # the made-up few-shot example

    # replay: the server is gone, and no endpoint is given either
    replayed = langextract_claims(ARTICLE_A, _settings(None), tmp_path, record=False)
    assert [c.model_dump() for c in replayed.claims] == [c.model_dump() for c in recorded.claims]

    claims = replayed.claims
    assert [c.quote for c in claims] == [
        "un investissement de 250 millions d'euros à Brest",
        "il créera 300 emplois d'ici 2027",
        "en mars",
    ]
    for claim in claims:
        assert ARTICLE_A.text[claim.span.start : claim.span.end] == claim.quote
        assert claim.alignment is Alignment.exact
        assert claim.id.startswith("lx-a:") and claim.chunk_index == 0
    invest, jobs, short = claims
    assert invest.text == "Le groupe Ardoise investira 250 millions d'euros à Brest."
    assert invest.quantity is not None and invest.quantity.value == 250e6 and invest.quantity.currency == "EUR"
    assert invest.location == "Brest" and invest.subject == "Ardoise" and invest.claimant == "AFP"
    assert jobs.quantity is not None and jobs.quantity.value == 300 and jobs.quantity.unit == "emploi"
    assert jobs.time is not None and jobs.time.text
    assert jobs.claimant is None  # "Le Monde" is not named by the article
    assert len(short.span) < MIN_SPAN_CHARS  # kept, but counted by run_langextract
    # the extraction LangExtract could not place is counted, not kept
    assert replayed.ungrounded == 1
    assert replayed.ungrounded_claims[0].alignment is Alignment.none
    assert replayed.ungrounded_claims[0].span is None


def _gold() -> Any:
    claims = {
        "lx-a": [
            GoldClaim(
                id="g-a1",
                kind="amount",
                text="Ardoise investit 250 millions d'euros à Brest.",
                quote="un investissement de 250 millions d'euros à Brest",
            ),
            GoldClaim(
                id="g-a2",
                kind="count",
                text="Ardoise créera 300 emplois d'ici 2027.",
                quote="il créera 300 emplois d'ici 2027",
            ),
        ],
        "lx-b": [
            GoldClaim(
                id="g-b1", kind="amount", text="Brume a levé 40 millions d'euros.", quote="a levé 40 millions d'euros"
            )
        ],
    }
    return make_gold([ARTICLE_A, ARTICLE_B, ARTICLE_C], claims, [])


def test_run_counts_usage_reports_failures_and_replays(tmp_path: Path) -> None:
    articles = [ARTICLE_A, ARTICLE_B, ARTICLE_C]
    gold = _gold()
    with FakeOpenAIServer(default=_reply) as server:
        recorded = run_langextract(articles, gold, tmp_path, _settings(server.base_url), record=True)
        assert len(server.requests) == 3
    replayed = run_langextract(articles, gold, tmp_path, _settings(None), record=False)

    assert recorded["seconds"] is not None and replayed["seconds"] is None
    strip = lambda r: {k: v for k, v in r.items() if k not in ("seconds", "articles")}  # noqa: E731
    assert strip(replayed) == strip(recorded)
    assert json.dumps(replayed)  # JSON-ready, as eval/results/ stores it

    # the article whose answer was not even JSON failed; the others went on
    assert [f["article_id"] for f in replayed["failures"]] == ["lx-b"]
    assert "InferenceRuntimeError" in replayed["failures"][0]["reason"]
    stats = {a["article_id"]: a for a in replayed["articles"]}
    assert stats["lx-b"]["failed"] and stats["lx-b"]["claims"] == 0
    # the unparsable answer: LangExtract drops the chunk with a warning only
    assert stats["lx-c"] == stats["lx-c"] | {"failed": False, "chunks": 1, "omitted_chunks": 1, "extractions": 0}
    assert stats["lx-a"] == stats["lx-a"] | {
        "chunks": 1,
        "omitted_chunks": 0,
        "extractions": 4,
        "claims": 3,
        "ungrounded": 1,
        "short_spans": 1,
        "classes": {"claim": 4},
    }
    assert replayed["short_spans"] == 1 and replayed["omitted_chunks"] == 1

    # usage from the recorded responses: 3 calls, tokens of the two that carried usage
    usage = replayed["usage"]
    assert usage["calls"] == 3 and usage["cache_hits"] == 0
    assert usage["prompt_tokens"] == USAGE_A["prompt_tokens"] + USAGE_C["prompt_tokens"]
    assert usage["completion_tokens"] == USAGE_A["completion_tokens"] + USAGE_C["completion_tokens"]
    assert usage["stages"]["extract"]["calls"] == 3

    # scored like the other systems: both gold claims of A found, B's missed
    extraction = replayed["extraction"]
    per_article = {a["article_id"]: a for a in extraction["articles"]}
    assert per_article["lx-a"]["counts"]["tp"] == 2 and per_article["lx-a"]["counts"]["fp"] == 1
    assert per_article["lx-b"]["counts"]["fn"] == 1
    assert extraction["unscored_articles"] == ["lx-c"]  # no gold for C
    assert replayed["pairing"] is None
    params = replayed["langextract"]["params"]
    assert params["provider"] == "OpenAILanguageModel" and params["extraction_passes"] == 1
    assert "api_key" not in json.dumps(replayed["langextract"])

    table = format_table(
        {"backend": "fake", "model": MODEL, "gold_hash": "0" * 64, "systems": {"langextract": replayed}}
    )
    assert "langextract" in table and "model calls 3" in table


def test_a_request_missing_from_the_recording_is_not_a_langextract_failure(tmp_path: Path) -> None:
    with pytest.raises(RecordingMissingError) as info:
        langextract_claims(ARTICLE_A, _settings(None), tmp_path, record=False)
    assert info.value.article_id == "lx-a"
    assert not (tmp_path / "lx-a.yaml").exists()
