"""Extraction in worker processes (``Settings.processes``): the same claims as in one process, every
input reported, a dead worker losing only its own unfinished articles. Each worker is a fresh
Python process connecting to a fake endpoint on 127.0.0.1."""

from __future__ import annotations

import json
import multiprocessing
import re
import time
from typing import Any

import pytest

from recoupe import Article, ArticleError, Settings, extract
from recoupe.errors import ConfigError
from recoupe.extraction.processes import worker_settings
from recoupe.testing import FakeOpenAIServer, Reply

# Constructed articles, one fact each.
ARTICLES = [
    Article(
        id=f"a{i}",
        text=f"La société Alpha{i} investira {i + 2} millions d'euros à Lyon. Le chantier commencera en 2026.",
        language="fr",
    )
    for i in range(8)
]


def _answer(body: dict[str, Any]) -> Reply:
    """Every sentence of the TARGET as a claim, its subject the first capitalised word after the first."""
    target = str(body["messages"][-1]["content"]).split("TARGET:\n", 1)[-1]
    claims = []
    for sentence in re.split(r"(?<=\.)\s+", target.strip()):
        words = re.findall(r"\b[A-Z][\w]+", sentence)
        claims.append({"quote": sentence, "subject": words[-1] if words else None})
    return Reply.json({"claims": claims})


def _settings(server: FakeOpenAIServer, **changes: Any) -> Settings:
    return Settings(model="fake", base_url=server.base_url, use_cache=False, concurrency=4, timeout=20).replace(
        **changes
    )


def _claims(result: Any) -> list[tuple[str, list[str]]]:
    return [
        (a.article.id, [json.dumps(c.model_dump(mode="json"), sort_keys=True) for c in a.claims])
        for a in result.articles
    ]


def test_two_processes_give_the_claims_and_usage_of_one_in_input_order() -> None:
    with FakeOpenAIServer(default=_answer) as server:
        one = extract(ARTICLES, _settings(server))
        seen: list[str] = []
        two = extract(ARTICLES, _settings(server, processes=2), on_done=lambda a, _: seen.append(a.id))
    assert not one.failures and not two.failures
    assert [a.article.id for a in two.articles] == [a.id for a in ARTICLES]
    assert _claims(two) == _claims(one)
    assert all(a.claims for a in two.articles)
    assert two.usage.stage("extract").calls == one.usage.stage("extract").calls == len(ARTICLES)
    assert sorted(seen) == sorted(a.id for a in ARTICLES)
    assert two.prompts == one.prompts


def test_a_bad_input_and_a_failing_article_are_reported_and_the_rest_is_processed() -> None:
    def answer(body: dict[str, Any]) -> Reply:
        if "Alpha3" in str(body["messages"][-1]["content"]):
            return Reply(status=400, body=b'{"error": {"message": "bad request"}}')
        return _answer(body)

    items: list[Article | ArticleError] = [*ARTICLES, ArticleError("broken.json", "not valid JSON")]
    outcomes: dict[str, str] = {}
    with FakeOpenAIServer(default=answer) as server:
        result = extract(
            items,
            _settings(server, processes=2, max_retries=0),
            on_done=lambda a, o: outcomes.__setitem__(getattr(a, "id", None) or a.source, type(o).__name__),
        )
    by_stage = {(f.stage, f.article_id or f.source) for f in result.failures}
    assert by_stage == {("load", "broken.json"), ("extract", "a3")}
    assert [a.article.id for a in result.articles] == [a.id for a in ARTICLES if a.id != "a3"]
    assert outcomes["a3"] != "ArticleClaims" and outcomes["broken.json"] == "ArticleError"
    assert sum(v == "ArticleClaims" for v in outcomes.values()) == len(ARTICLES) - 1


def test_a_worker_that_dies_loses_only_its_unfinished_articles() -> None:
    # Articles a1, a3, a5, a7 go to the second worker; its requests are held long enough for the
    # test to kill it while they wait. The first worker's articles are answered at once.
    def answer(body: dict[str, Any]) -> Reply:
        content = str(body["messages"][-1]["content"])
        slow = any(f"Alpha{i} " in content for i in (1, 3, 5, 7))
        reply = _answer(body)
        reply.delay = 30.0 if slow else 0.0
        return reply

    with FakeOpenAIServer(default=answer) as server:
        killed: list[int] = []

        def kill_second_worker(article: Any, _: Any) -> None:
            if killed:
                return
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:  # wait until the slow requests are in
                if sum("Alpha1 " in str(b["messages"][-1]["content"]) for b in list(server.requests)):
                    break
                time.sleep(0.05)
            for child in multiprocessing.active_children():
                if child.name == "recoupe-extract-1" and child.pid:
                    child.kill()
                    killed.append(child.pid)

        result = extract(ARTICLES, _settings(server, processes=2), on_done=kill_second_worker)
    assert killed
    assert [a.article.id for a in result.articles] == ["a0", "a2", "a4", "a6"]
    assert sorted(f.article_id for f in result.failures) == ["a1", "a3", "a5", "a7"]
    assert all("worker process ended unexpectedly" in f.reason for f in result.failures)


def test_processes_need_an_endpoint_and_no_more_than_the_requests_in_flight() -> None:
    with pytest.raises(ConfigError, match="need an endpoint"):
        Settings(processes=2)
    with pytest.raises(ConfigError, match="must not exceed concurrency"):
        Settings(base_url="http://127.0.0.1:1/v1", concurrency=2, processes=3)
    with pytest.raises(ConfigError, match="processes must be an integer of at least 1"):
        Settings(base_url="http://127.0.0.1:1/v1", processes=0)
    env = {"OPENAI_BASE_URL": "http://127.0.0.1:1/v1", "RECOUPE_CONCURRENCY": "64", "RECOUPE_PROCESSES": "2"}
    assert Settings.from_env(env).processes == 2


def test_each_worker_gets_its_share_of_the_requests_and_of_the_rate_cap() -> None:
    settings = Settings(base_url="http://127.0.0.1:1/v1", concurrency=128, processes=3, requests_per_minute=600)
    child = worker_settings(settings)
    assert (child.processes, child.concurrency, child.requests_per_minute) == (1, 42, 200)
