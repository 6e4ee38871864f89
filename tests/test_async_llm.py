"""The event-loop path (``Settings.async_requests``): the same requests, answers, counters and
failures as the threaded path, many requests in flight from few threads, and the shared retries,
re-asks, rate-limit pause and cache."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any

import diskcache
import pytest

from recoupe import Article, ConfigError, Settings, check, extract
from recoupe.errors import LLMError
from recoupe.extraction import EXTRACT_PROMPT, ClaimDrafts
from recoupe.llm import LLM, run_concurrently
from recoupe.llm.concurrency import first_pass
from recoupe.llm.prompts import load_prompt
from recoupe.models import Extraction, Report
from recoupe.settings import ASYNC_CONCURRENCY
from recoupe.testing import FakeOpenAIServer, Fault, Reply

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


def _target(body: dict[str, Any]) -> str:
    user = next(m["content"] for m in body["messages"] if "TARGET:\n" in str(m.get("content", "")))
    return str(user).split("TARGET:\n", 1)[1]


def _answer(body: dict[str, Any]) -> Reply:
    """A deterministic answer to any of recoupe's requests: the first sentence of an extraction
    target as one claim, ``compatible`` for a pair."""
    name = (body.get("response_format") or {}).get("json_schema", {}).get("name")
    if name == "PairAdjudication":
        return Reply.json({"relation": "compatible", "rationale": "same facts"})
    sentence = _target(body).split(". ")[0].strip()[:300]
    claims = [{"quote": sentence, "subject": sentence.split(" ")[0]}]
    return Reply.json({"claims": claims if sentence else []}, prompt_tokens=len(sentence), completion_tokens=7)


#: Articles whose first sentences pair up, and are left to the model by the rules.
PAIRED = [
    "Ardoise prévoit de recruter des ingénieurs à Toulouse. Le groupe investira 120 millions d'euros lundi.",
    "Ardoise compte recruter des ingénieurs à Toulouse. Le groupe investira plus de 100 millions d'euros.",
    "Ardoise va embaucher des ingénieurs à Toulouse, selon l'AFP. L'investissement atteint 150 millions d'euros.",
    "Brumal prévoit d'ouvrir une usine à Lyon. Le projet coûtera 40 millions d'euros en 2026.",
    "Brumal veut ouvrir une usine à Lyon (Reuters). Le chantier débutera en 2026.",
]


def _articles() -> list[Article]:
    seeds = [Article(id=p.stem, text=p.read_text(encoding="utf-8")) for p in sorted(SEEDS.glob("*.txt"))]
    return seeds + [Article(id=f"paired-{i}", text=text) for i, text in enumerate(PAIRED)]


def _settings(server: FakeOpenAIServer, async_requests: bool, **kw: Any) -> Settings:
    values: dict[str, Any] = {
        "model": "fake",
        "base_url": server.base_url,
        "use_cache": False,
        "concurrency": 4,
        "max_backoff": 0.2,
        "timeout": 5,
        "async_requests": async_requests,
        **kw,
    }
    return Settings(**values)


def _ask(llm: LLM, target: str = "Amazon investit 1,2 milliard d'euros.") -> ClaimDrafts:
    return llm.complete(
        stage="extract",
        prompt=load_prompt(EXTRACT_PROMPT),
        variables={"target": target, "context": ""},
        response_model=ClaimDrafts,
        article_id="a1",
        chunk_index=0,
    )


def _usage(result: Extraction | Report) -> dict[str, Any]:
    """The usage counters without the seconds spent waiting (they differ from run to run)."""
    return {name: s.model_dump(exclude={"seconds"}) for name, s in result.usage.stages.items()}


# -- choosing the path ---------------------------------------------------------------------------
def test_the_event_loop_is_used_above_32_in_flight_on_an_endpoint_unless_said_otherwise() -> None:
    endpoint = Settings(base_url="http://127.0.0.1:1/v1")
    assert ASYNC_CONCURRENCY == 32
    assert not endpoint.use_async and not endpoint.replace(concurrency=32).use_async
    assert endpoint.replace(concurrency=33).use_async
    assert not endpoint.replace(concurrency=128, async_requests=False).use_async
    assert endpoint.replace(async_requests=True).use_async
    assert not Settings(concurrency=64).use_async  # the embedded server: threads unless asked
    assert Settings(async_requests=True).use_async
    assert Settings.from_env({"RECOUPE_ASYNC": "yes"}).async_requests is True
    assert Settings.from_env({"RECOUPE_ASYNC": "0"}).async_requests is False
    assert Settings.from_env({}).async_requests is None
    with pytest.raises(ConfigError, match="RECOUPE_ASYNC='maybe': async_requests must be 1, true"):
        Settings.from_env({"RECOUPE_ASYNC": "maybe"})
    with pytest.raises(ConfigError, match="async_requests must be None, True or False"):
        Settings(async_requests="yes")  # type: ignore[arg-type]


# -- the same requests and results on both paths ---------------------------------------------------
def _run(path: str, async_requests: bool, tmp_path: Path) -> tuple[Report, list[bytes], set[str]]:
    with FakeOpenAIServer(default=_answer) as server:
        settings = _settings(
            server, async_requests, use_cache=True, cache_dir=tmp_path / path, concurrency=8 if async_requests else 3
        )
        llm = LLM(settings)
        try:
            assert llm.async_requests is async_requests
            report = check(_articles(), llm=llm)
        finally:
            llm.close()
        cache = diskcache.Cache(str(tmp_path / path))
        try:
            keys = {str(k) for k in cache.iterkeys()}
        finally:
            cache.close()
        return report, list(server.raw_requests), keys


def test_both_paths_send_the_same_bytes_cache_the_same_keys_and_find_the_same_facts(tmp_path: Path) -> None:
    threaded, threaded_bodies, threaded_keys = _run("threads", False, tmp_path)
    looped, looped_bodies, looped_keys = _run("loop", True, tmp_path)
    usage = _usage(threaded)
    assert usage["extract"]["calls"] >= 5 and usage.get("adjudicate", {}).get("calls", 0) >= 1
    # requests leave in another order (they run at once), but they are the same bytes
    assert sorted(looped_bodies) == sorted(threaded_bodies)
    assert len(threaded_keys) == len(threaded_bodies) and looped_keys == threaded_keys
    assert _usage(looped) == usage
    assert looped.model_dump(exclude={"usage"}) == threaded.model_dump(exclude={"usage"})


def _faulty_script() -> list[Reply]:
    """Every kind of fault once, on the first requests of a batch."""
    return [
        Fault.rate_limited(0.01),
        Fault.server_error(503),
        Fault.reset(),
        Fault.malformed_body(),
        Fault.html_body(),
        Fault.empty_choices(),
        Fault.malformed_json(),  # a re-ask
    ]


def _extract_with_faults(async_requests: bool, script: list[Reply], **kw: Any) -> tuple[Extraction, list[bytes]]:
    with FakeOpenAIServer(default=_answer) as server:
        # one request at a time, so that each scripted reply meets the same request on both paths
        server.script(*script)
        settings = _settings(server, async_requests, concurrency=1, **kw)
        llm = LLM(settings)
        try:
            result = extract(_articles()[:3], llm=llm)
        finally:
            llm.close()
        return result, list(server.raw_requests)


@pytest.mark.parametrize(
    ("name", "script", "settings"),
    [
        ("every transient fault, then answers", _faulty_script(), {}),
        ("an endpoint that keeps failing", [Fault.server_error(502)] * 12, {"max_retries": 2}),
        ("answers that never fit the schema", [Fault.malformed_json()] * 4, {"max_reasks": 1}),
        ("an answer cut at the token limit", [Fault.truncated()], {}),
        ("a 401", [Reply(status=401, body=b'{"error": {"message": "no key"}}')], {}),
    ],
)
def test_faults_end_the_same_way_on_both_paths(name: str, script: list[Reply], settings: dict[str, Any]) -> None:
    threaded, threaded_bodies = _extract_with_faults(False, script, **settings)
    looped, looped_bodies = _extract_with_faults(True, script, **settings)
    assert looped_bodies == threaded_bodies, name
    assert _usage(looped) == _usage(threaded), name
    assert looped.model_dump(exclude={"usage"}) == threaded.model_dump(exclude={"usage"}), name
    if "keeps failing" in name or "401" in name:
        assert looped.failures and len(looped.failures) == len(threaded.failures)


def test_a_failure_raises_the_same_error_with_the_same_attempts_on_both_paths() -> None:
    errors = []
    for async_requests in (False, True):
        with FakeOpenAIServer() as server:
            server.script(*[Fault.server_error(500)] * 5)
            llm = LLM(_settings(server, async_requests, max_retries=2))
            try:
                with pytest.raises(LLMError) as info:
                    _ask(llm)
            finally:
                llm.close()
            errors.append((type(info.value), str(info.value), info.value.attempts, len(server.requests)))
    assert errors[0] == errors[1]
    assert errors[0][2] == errors[0][3] == 3


def test_the_cache_answers_the_event_loop_too(tmp_path: Path) -> None:
    with FakeOpenAIServer(default=_answer) as server:
        settings = _settings(server, True, use_cache=True, cache_dir=tmp_path / "c")
        first = extract(_articles()[:2], settings)
        sent = len(server.requests)
        second = extract(_articles()[:2], settings)
        assert len(server.requests) == sent  # no new request
        assert second.usage.stages["extract"].cache_hits == first.usage.stages["extract"].calls
        assert [a.claims for a in second.articles] == [a.claims for a in first.articles]


# -- many in flight, few threads --------------------------------------------------------------------
def _peak_in_flight(arrivals: list[float], latency: float) -> int:
    arrivals = sorted(arrivals)
    peak, lo = 0, 0
    for hi, t in enumerate(arrivals):
        while arrivals[lo] < t - latency:
            lo += 1
        peak = max(peak, hi - lo + 1)
    return peak


def test_the_event_loop_keeps_many_requests_in_flight_from_two_threads() -> None:
    articles = [
        Article(id=f"a{i}", text=f"L’entreprise n°{i} investit {i + 2} millions d’euros à Lyon. Elle recrute.")
        for i in range(150)
    ]

    def ours() -> set[tuple[int, str]]:  # the server runs a thread per connection: leave those out
        return {(t.ident or 0, t.name) for t in threading.enumerate() if "process_request" not in t.name}

    seen: set[tuple[int, str]] = set()
    with FakeOpenAIServer(default=_answer, latency=0.4) as server:
        server._httpd.socket.listen(256)  # many connections at once
        before = ours()
        settings = _settings(server, None, concurrency=64)  # type: ignore[arg-type]
        assert settings.use_async  # above 32 in flight: chosen by default
        result = extract(articles, settings, on_done=lambda *_: seen.update(ours()))
        arrivals = list(server.arrivals)
    assert not result.failures and len(result.articles) == 150
    assert _peak_in_flight(arrivals, 0.4) >= 48
    new = seen - before
    # the event loop's thread, and the loop's small pool that resolves host names for new
    # connections (asyncio's default executor): no pool of 64
    assert [name for _, name in new if not name.startswith("asyncio_")] == ["recoupe-llm-loop"]
    assert len(new) <= 1 + min(32, (os.cpu_count() or 1) + 4)


def test_the_threaded_path_still_uses_a_thread_per_request() -> None:
    seen: set[int] = set()
    with FakeOpenAIServer(default=_answer, latency=0.2) as server:
        llm = LLM(_settings(server, False, concurrency=6))
        list(run_concurrently(lambda i: (_ask(llm, f"Phrase {i}."), seen.add(threading.get_ident())), range(12), 6))
        llm.close()
    assert len(seen) == 6  # one thread per request in flight


# -- the cooperative pool ----------------------------------------------------------------------------
def test_a_plain_function_runs_in_threads_even_with_an_event_loop_model_open() -> None:
    with FakeOpenAIServer() as server:
        llm = LLM(_settings(server, True))
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
            return x * x

        results = dict(run_concurrently(work, range(40), 4))
        llm.close()
    assert peak == 4 and results == {x: x * x for x in range(40)}


def test_a_function_with_several_model_calls_runs_again_with_its_answers_in_order(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def twice(llm: LLM, i: int) -> tuple[str, str]:
        first = _ask(llm, f"Alpha {i}. Suite.").claims[0].quote
        if first_pass():
            logging.getLogger("test").warning("between the calls of %d", i)
        second = _ask(llm, f"Beta {first}. Suite.").claims[0].quote
        return first, second

    outcomes = {}
    for async_requests in (False, True):
        with FakeOpenAIServer(default=_answer) as server:
            llm = LLM(_settings(server, async_requests, concurrency=5))
            caplog.clear()
            with caplog.at_level(logging.WARNING, logger="test"):
                results = dict(run_concurrently(lambda i, llm=llm: twice(llm, i), range(20), 5))
            llm.close()
            outcomes[async_requests] = (results, sorted(server.raw_requests), len(caplog.records))
    assert outcomes[True] == outcomes[False]
    assert outcomes[True][0][3] == ("Alpha 3", "Beta Alpha 3")
    assert outcomes[True][2] == 20  # logged once per item, not once per run of it


def test_acomplete_works_from_the_callers_own_event_loop() -> None:
    with FakeOpenAIServer(default=_answer) as server:
        llm = LLM(_settings(server, False))  # acomplete uses the loop whatever the setting

        async def many() -> list[ClaimDrafts]:
            prompt = load_prompt(EXTRACT_PROMPT)
            return await asyncio.gather(
                *(
                    llm.acomplete(
                        stage="extract",
                        prompt=prompt,
                        variables={"target": f"Phrase {i}. Suite.", "context": ""},
                        response_model=ClaimDrafts,
                    )
                    for i in range(10)
                )
            )

        answers = asyncio.run(many())
        llm.close()
    assert [a.claims[0].quote for a in answers] == [f"Phrase {i}" for i in range(10)]
    assert llm.usage.stages["extract"].calls == 10


def test_a_closed_model_refuses_new_calls_on_the_event_loop() -> None:
    with FakeOpenAIServer(default=_answer) as server:
        llm = LLM(_settings(server, True))
        assert _ask(llm).claims
        loop_threads = [t for t in threading.enumerate() if t.name == "recoupe-llm-loop"]
        llm.close()
        assert loop_threads and not any(t.is_alive() for t in loop_threads)
        with pytest.raises(LLMError, match="closed"):
            _ask(llm)


# -- rate limits ---------------------------------------------------------------------------------------
def test_a_rate_limit_pauses_every_request_on_the_event_loop() -> None:
    with FakeOpenAIServer(default=lambda body: Reply.json({"claims": []}), latency=0.05) as server:
        server.script(Fault.rate_limited(0.6))
        llm = LLM(_settings(server, True, max_backoff=5))
        results = [r for _, r in run_concurrently(lambda i: _ask(llm, f"Phrase {i}."), range(20), 4)]
        llm.close()
        assert all(isinstance(r, ClaimDrafts) for r in results)
        told = server.arrivals[0]
        # requests already sent when the 429 came back land just after it; then none until
        # Retry-After has passed
        assert [round(t - told, 2) for t in server.arrivals if 0.15 < t - told < 0.6] == []
        assert len(server.arrivals) == 21 and max(server.arrivals) - told >= 0.6


def test_repeated_429s_halve_the_requests_in_flight_and_say_so(caplog: pytest.LogCaptureFixture) -> None:
    lock = threading.Lock()
    state = {"in_flight": 0, "limited": 0}
    peaks: list[int] = []

    def limited(body: dict[str, Any]) -> Reply:
        # an endpoint that takes 4 requests at once and answers 429 to the others
        with lock:
            over = state["in_flight"] >= 4
            if over:
                state["limited"] += 1
            else:
                state["in_flight"] += 1
                peaks.append(state["in_flight"])
        if over:
            return Fault.rate_limited(0.0)
        time.sleep(0.05)
        with lock:
            state["in_flight"] -= 1
        return _answer(body)

    with FakeOpenAIServer(default=limited) as server:
        server._httpd.socket.listen(64)
        llm = LLM(_settings(server, True, concurrency=32, max_retries=30, max_backoff=0.05))
        with caplog.at_level(logging.WARNING, logger="recoupe.llm.aio"):
            results = [r for _, r in run_concurrently(lambda i: _ask(llm, f"Phrase {i}. Suite."), range(120), 32)]
        limit = llm._limit
        llm.close()
    assert all(isinstance(r, ClaimDrafts) for r in results)
    assert limit is not None and limit.cuts >= 2 and limit.lowest <= 8
    cuts = [r.getMessage() for r in caplog.records if "keeps answering 429" in r.getMessage()]
    assert len(cuts) == limit.cuts and "at most 16 requests in flight now, was 32" in cuts[0]
    assert llm.usage.stages["extract"].retries == state["limited"]


def test_the_in_flight_limit_halves_on_repeated_429s_and_grows_back_by_one() -> None:
    from recoupe.llm.aio import AdaptiveLimit

    limit = AdaptiveLimit(16)
    tokens = [limit.try_acquire() for _ in range(16)]
    assert limit.try_acquire() is None  # all 16 slots taken
    old = tokens[0]
    assert old is not None
    limit.rate_limited(old)
    assert limit.limit == 16  # one 429 is not yet "repeated"
    limit.rate_limited(old)
    assert (limit.limit, limit.cuts) == (8, 1)
    limit.rate_limited(old)
    limit.rate_limited(old)  # sent before the cut: they say nothing new
    assert limit.limit == 8
    for _ in range(16):
        limit.release()
    token = limit.try_acquire()
    assert token is not None and token != old
    limit.rate_limited(token)
    limit.rate_limited(token)
    assert (limit.limit, limit.lowest) == (4, 4)
    limit.release()
    for _ in range(4):  # one round of answers without a 429: one more
        limit.succeeded()
    assert limit.limit == 5
    for size in range(5, 16):
        for _ in range(size):
            limit.succeeded()
    assert limit.limit == 16
    for _ in range(100):
        limit.succeeded()
    assert limit.limit == 16  # never above the concurrency
    floor = AdaptiveLimit(1)
    t = floor.try_acquire()
    assert t is not None
    floor.rate_limited(t)
    floor.rate_limited(t)
    assert floor.limit == 1


def test_the_request_json_is_what_the_threaded_path_sends() -> None:
    """One request, looked at field by field: the event loop adds nothing and drops nothing."""
    bodies = []
    for async_requests in (False, True):
        with FakeOpenAIServer(default=_answer) as server:
            llm = LLM(_settings(server, async_requests))
            _ask(llm)
            llm.close()
            [raw] = server.raw_requests
            bodies.append(raw)
    assert bodies[0] == bodies[1]
    body = json.loads(bodies[1])
    assert set(body) == {"model", "messages", "response_format", "temperature", "seed", "max_tokens"}
