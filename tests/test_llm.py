"""The LLM layer against a scripted loopback server: retries, re-asks, cache, usage, errors."""

from pathlib import Path

import pytest

from recoupe import SchemaError, Settings, TransientLLMError, TruncatedOutputError
from recoupe.extraction import EXTRACT_PROMPT, ClaimDrafts
from recoupe.llm import LLM
from recoupe.llm.cache import cache_key
from recoupe.llm.prompts import load_prompt
from recoupe.testing import FakeOpenAIServer, Fault, Reply

GOOD = {"claims": [{"quote": "Amazon investit", "subject": "Amazon"}]}


def _llm(server: FakeOpenAIServer, tmp_path: Path, **kw: object) -> LLM:
    settings = Settings(
        model="fake",
        base_url=server.base_url,
        api_key="sk-test-SECRET",
        cache_dir=tmp_path / "c",
        max_backoff=0.2,
        timeout=5,
        **kw,
    )  # type: ignore[arg-type]
    return LLM(settings)


def _ask(llm: LLM, target: str = "Amazon investit 1,2 milliard d'euros.") -> ClaimDrafts:
    return llm.complete(
        stage="extract",
        prompt=load_prompt(EXTRACT_PROMPT),
        variables={"target": target, "context": ""},
        response_model=ClaimDrafts,
        article_id="a1",
        chunk_index=0,
    )


def test_answer_is_parsed_counted_and_cached(tmp_path: Path) -> None:
    with FakeOpenAIServer() as server:
        server.script(Reply.json(GOOD, prompt_tokens=100, completion_tokens=20))
        llm = _llm(server, tmp_path)
        assert _ask(llm).claims[0].subject == "Amazon"
        assert _ask(llm).claims[0].subject == "Amazon"  # second time from the cache
        assert len(server.requests) == 1
        stage = llm.usage.stages["extract"]
        assert (stage.calls, stage.cache_hits, stage.prompt_tokens, stage.completion_tokens) == (1, 1, 100, 20)
        body = server.requests[0]
        assert body["temperature"] == 0.0 and body["seed"] == 1234
        assert body["response_format"]["type"] == "json_schema"


def test_rate_limit_and_server_errors_are_retried(tmp_path: Path) -> None:
    with FakeOpenAIServer() as server:
        server.script(Fault.rate_limited(0.05), Fault.server_error(503), Fault.server_error(500), Reply.json(GOOD))
        llm = _llm(server, tmp_path)
        assert _ask(llm).claims
        assert llm.usage.stages["extract"].retries == 3


def test_transient_faults_give_up_after_bounded_retries(tmp_path: Path) -> None:
    with FakeOpenAIServer() as server:
        server.script(*[Fault.server_error(502)] * 10)
        llm = _llm(server, tmp_path, max_retries=2)
        with pytest.raises(TransientLLMError) as info:
            _ask(llm)
        assert len(server.requests) == 3
        assert info.value.article_id == "a1" and info.value.chunk_index == 0
        assert "HTTP 502" in str(info.value)


def test_schema_failures_are_reasked_then_reported_with_the_last_output(tmp_path: Path) -> None:
    with FakeOpenAIServer() as server:
        server.script(Reply.json({"wrong": 1}), Reply.json({"claims": "nope"}))
        llm = _llm(server, tmp_path, max_reasks=1)
        with pytest.raises(SchemaError) as info:
            _ask(llm)
        assert len(server.requests) == 2
        assert info.value.last_output == '{"claims": "nope"}'
        assert llm.usage.stages["extract"].reasks >= 1


def test_a_reask_can_succeed(tmp_path: Path) -> None:
    with FakeOpenAIServer() as server:
        server.script(Fault.malformed_json(), Reply.json(GOOD))
        assert _ask(_llm(server, tmp_path)).claims


def test_truncated_output_is_its_own_error(tmp_path: Path) -> None:
    with FakeOpenAIServer() as server:
        server.script(Fault.truncated(), Fault.truncated())
        with pytest.raises(TruncatedOutputError):
            _ask(_llm(server, tmp_path))


def test_timeouts_and_connection_resets_become_recoupe_errors(tmp_path: Path) -> None:
    with FakeOpenAIServer() as server:
        server.script(Fault.slow(2.0), Fault.reset())
        llm = LLM(
            Settings(
                model="fake", base_url=server.base_url, cache_dir=tmp_path, timeout=0.5, max_retries=1, max_backoff=0.1
            )
        )
        with pytest.raises(TransientLLMError) as info:
            _ask(llm)
        assert len(server.requests) == 2
        assert info.value.attempts == 2
        assert "could not connect" in str(info.value) or "timed out" in str(info.value)


def test_cache_key_depends_on_what_shapes_the_answer_and_never_on_the_key() -> None:
    base = {
        "model": "m",
        "messages": [{"role": "user", "content": "x"}],
        "schema": {"a": 1},
        "temperature": 0.0,
        "seed": 1,
        "prompt_id": "p.v1",
        "prompt_sha256": "h",
        "max_tokens": 10,
    }
    key = cache_key(**base)  # type: ignore[arg-type]
    assert key == cache_key(**base)  # type: ignore[arg-type]
    for field, value in [("model", "n"), ("seed", 2), ("prompt_sha256", "g"), ("temperature", 0.5), ("schema", {})]:
        assert cache_key(**{**base, field: value}) != key  # type: ignore[arg-type]


def test_settings_from_env_reads_only_the_documented_variables() -> None:
    s = Settings.from_env({"OPENAI_BASE_URL": "http://127.0.0.1:1/v1", "OPENAI_API_KEY": "sk-x", "RECOUPE_MODEL": "m"})
    assert (s.base_url, s.model, s.api_key) == ("http://127.0.0.1:1/v1", "m", "sk-x")
    assert "sk-x" not in repr(s)
    assert Settings.from_env({}).embedded
    assert Settings.from_env({}).request_extra_body() == {"cache_prompt": True, "id_slot": 0}
    assert Settings.from_env({"RECOUPE_REUSE_PREFIX": "0"}).request_extra_body() == {"cache_prompt": False}
    assert s.request_extra_body() is None


def test_an_answer_with_no_choices_is_asked_again(tmp_path: Path) -> None:
    with FakeOpenAIServer() as server:
        server.script(Fault.empty_choices(), Reply.json(GOOD))
        llm = _llm(server, tmp_path)
        assert _ask(llm).claims
        assert llm.usage.stages["extract"].retries == 1


def test_a_schema_failure_names_the_field_not_the_retry_machinery(tmp_path: Path) -> None:
    with FakeOpenAIServer() as server:
        server.script(Reply.json({"claims": "x"}), Reply.json({"claims": "y"}))
        with pytest.raises(SchemaError) as info:
            _ask(_llm(server, tmp_path))
        assert "RetryError" not in str(info.value) and "claims" in str(info.value)
