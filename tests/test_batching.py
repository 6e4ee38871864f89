"""Batch processing: the bounded, lazy work queue and the extraction target size per backend."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from recoupe import Article, Settings, extract
from recoupe.chunking import make_chunks, split_sentences
from recoupe.extraction import EXTRACT_PROMPT, ClaimDrafts
from recoupe.llm import LLM, run_concurrently
from recoupe.llm.prompts import load_prompt
from recoupe.settings import EMBEDDED_TARGET_CHARS, ENDPOINT_TARGET_CHARS
from recoupe.testing import FakeOpenAIServer, Fault, Reply

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


def test_the_queue_keeps_at_most_concurrency_in_flight_and_returns_everything() -> None:
    lock = threading.Lock()
    in_flight = peak = 0

    def work(x: int) -> int:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        time.sleep(0.01)
        with lock:
            in_flight -= 1
        if x == 13:
            raise ValueError("thirteen")
        return x * x

    results = dict(run_concurrently(work, range(60), 4))
    assert peak == 4
    assert sorted(results) == list(range(60))
    assert isinstance(results[13], ValueError)
    assert all(results[x] == x * x for x in range(60) if x != 13)


def test_the_queue_takes_items_as_it_needs_them_not_all_at_once() -> None:
    taken: list[int] = []
    first_answer_after: list[int] = []

    def items():
        for i in range(100):
            taken.append(i)
            yield i

    for _, _ in run_concurrently(lambda x: time.sleep(0.02), items(), 3):
        if not first_answer_after:
            first_answer_after.append(len(taken))
    # a few ahead of the workers (twice the concurrency, topped up as they finish), not the batch
    assert first_answer_after[0] <= 3 * 3
    assert len(taken) == 100


def test_target_size_follows_the_backend_unless_set() -> None:
    assert Settings().target_chars == EMBEDDED_TARGET_CHARS == 1000
    endpoint = Settings(base_url="http://127.0.0.1:1/v1")
    assert endpoint.target_chars == ENDPOINT_TARGET_CHARS == 1000
    assert endpoint.replace(chunk_chars=500).target_chars == 500
    assert Settings.from_env({"RECOUPE_CHUNK_CHARS": "700"}).target_chars == 700


def _targets(article: Article, chunk_chars: int | None) -> list[str]:
    """The TARGET text of every extraction request made for ``article``."""
    with FakeOpenAIServer(default=lambda body: Reply.json({"claims": []})) as server:
        settings = Settings(model="fake", base_url=server.base_url, use_cache=False, chunk_chars=chunk_chars)
        assert not extract([article], settings).failures
        return sorted(
            m["content"].split("TARGET:\n", 1)[1]
            for body in server.requests
            for m in body["messages"]
            if "TARGET:\n" in str(m.get("content", ""))
        )


def test_target_size_sets_how_much_text_one_request_carries() -> None:
    path = sorted(SEEDS.glob("001_*.txt"))[0]
    article = Article(id=path.stem, text=path.read_text(encoding="utf-8"))
    sentences = split_sentences(article.text, article.language)
    counts = {}
    for chars in (None, 350, 2000):
        chunks = make_chunks(article, sentences, max_chars=chars or ENDPOINT_TARGET_CHARS)
        expected = sorted(article.text[c.target.start : c.target.end] for c in chunks)
        assert _targets(article, chars) == expected
        counts[chars] = len(expected)
    assert counts[350] > counts[None] >= counts[2000] >= 1


def _ask_many(llm: LLM, n: int, concurrency: int) -> list[object]:
    prompt = load_prompt(EXTRACT_PROMPT)
    return [
        result
        for _, result in run_concurrently(
            lambda i: llm.complete(
                stage="extract",
                prompt=prompt,
                variables={"target": f"Phrase {i}.", "context": ""},
                response_model=ClaimDrafts,
            ),
            range(n),
            concurrency,
        )
    ]


def test_a_rate_limit_pauses_every_thread_not_only_the_one_told() -> None:
    with FakeOpenAIServer(default=lambda body: Reply.json({"claims": []}), latency=0.05) as server:
        server.script(Fault.rate_limited(0.6))
        llm = LLM(Settings(model="fake", base_url=server.base_url, use_cache=False, concurrency=4, max_backoff=5))
        results = _ask_many(llm, 20, 4)
        assert all(isinstance(r, ClaimDrafts) for r in results)
        told = server.arrivals[0]  # the 429 goes back 0.05 s later, asking for 0.6 s
        # requests already on their way when the 429 came back land just after it; then none
        # until Retry-After has passed (without the shared pause, the other three threads would
        # carry on through the 20 requests in about 0.3 s)
        assert [round(t - told, 2) for t in server.arrivals if 0.15 < t - told < 0.6] == []
        assert len(server.arrivals) == 21 and max(server.arrivals) - told >= 0.6


def test_requests_per_minute_spaces_the_requests() -> None:
    with FakeOpenAIServer(default=lambda body: Reply.json({"claims": []})) as server:
        llm = LLM(
            Settings(model="fake", base_url=server.base_url, use_cache=False, concurrency=4, requests_per_minute=600)
        )  # one every 0.1 s
        _ask_many(llm, 6, 4)
        gaps = [b - a for a, b in zip(server.arrivals, server.arrivals[1:], strict=False)]
        assert len(gaps) == 5 and min(gaps) >= 0.08
    assert Settings.from_env({"RECOUPE_RPM": "90"}).requests_per_minute == 90


def test_two_articles_with_one_id_are_reported_not_merged() -> None:
    first = Article(id="same", text="Amazon investit 1,2 milliard d'euros en France. Le groupe recrute.")
    second = Article(id="same", text="Microsoft investit 4 milliards d'euros en France. Le groupe forme.")
    other = Article(id="other", text="Orange ouvre 3 centres de données à Lyon en 2025. Le projet avance.")
    seen: list[object] = []
    with FakeOpenAIServer(default=lambda body: Reply.json({"claims": []})) as server:
        settings = Settings(model="fake", base_url=server.base_url, use_cache=False)
        result = extract([first, second, other], settings, on_done=lambda item, outcome: seen.append(outcome))
    assert [a.article.id for a in result.articles] == ["same", "other"]
    assert "Amazon" in result.articles[0].article.text  # the first keeps its claims
    [failure] = result.failures
    assert (failure.source, failure.stage) == ("same", "load") and "duplicate article id" in failure.reason
    assert len(seen) == 3
