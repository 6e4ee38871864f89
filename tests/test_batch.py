"""The Batch-API round trip: prepare -> submit -> collect -> import, twice, then a check from the cache."""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from collections import Counter
from collections.abc import Collection
from pathlib import Path
from typing import Any

import pytest

from conftest import SEEDS
from recoupe import api
from recoupe.batch import import_results, prepare
from recoupe.batch.cli import add_batch_parser
from recoupe.batch.ids import parse_custom_id
from recoupe.errors import RecoupeError
from recoupe.settings import Settings
from recoupe.testing import FakeBatchServer, FakeOpenAIServer, Reply

MODEL = "fake-batch-model"


def answer(body: dict[str, Any]) -> Reply:
    """A rule-based model: each sentence of the target is a claim about its second capitalised word;
    every pair is compatible."""
    name = body["response_format"]["json_schema"]["name"]
    user = body["messages"][-1]["content"]
    if name == "ClaimDrafts":
        target = user.split("TARGET:\n", 1)[1].strip()
        claims = []
        for sentence in [s for s in re.split(r"(?<=[.!?])\s+", target) if s.strip()][:10]:
            words = re.findall(r"\b[A-Z][\w-]+", sentence)
            subject = words[1] if len(words) > 1 else (words[0] if words else None)
            claims.append({"quote": sentence, "subject": subject})
        return Reply.json({"claims": claims})
    assert name == "PairAdjudication"
    return Reply.json({"relation": "compatible", "rationale": "Both state the same fact."})


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``recoupe batch ...`` as the top-level CLI runs it: a RecoupeError is one line, exit code 2."""
    parser = argparse.ArgumentParser(prog="recoupe")
    add_batch_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["batch", *argv])
    try:
        code = int(args.func(args))
    except RecoupeError as exc:
        print(f"recoupe: {exc}", file=sys.stderr)
        code = 2
    out, err = capsys.readouterr()
    return code, out, err


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def canonical(body: dict[str, Any]) -> str:
    return json.dumps(body, sort_keys=True, ensure_ascii=False)


def facts_of(report: Any) -> list[dict[str, Any]]:
    return [f.model_dump(mode="json") for f in report.facts]


def vllm_results(requests: Path, out: Path, *, fail: Collection[str] = (), drop: Collection[str] = ()) -> None:
    """What `vllm run-batch -i requests -o out` writes with the rule-based model: a 200 line per
    request, a 400 with an error string for the ``fail`` custom_ids, nothing for ``drop``."""
    written = []
    for n, item in enumerate(lines(requests)):
        custom_id = item["custom_id"]
        if custom_id in drop:
            continue
        if custom_id in fail:
            response = {"status_code": 400, "request_id": f"vllm-batch-{n:08x}", "body": None}
            written.append({"id": f"vllm-{n:08x}", "custom_id": custom_id, "response": response, "error": "boom"})
            continue
        completion = json.loads(answer(item["body"]).body)
        response = {"status_code": 200, "request_id": f"vllm-batch-{n:08x}", "body": completion}
        written.append({"id": f"vllm-{n:08x}", "custom_id": custom_id, "response": response, "error": None})
    out.write_text("".join(json.dumps(x) + "\n" for x in written), encoding="utf-8")


def test_round_trip_on_the_seeds_gives_the_direct_run_with_no_model_call(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # the direct run: the same rule-based model as a chat-completions endpoint
    with FakeOpenAIServer(default=answer) as direct:
        settings = Settings(model=MODEL, base_url=direct.base_url, cache_dir=tmp_path / "direct", concurrency=4)
        expected = api.check(SEEDS, settings)
        sent = Counter(canonical(b) for b in direct.requests)
    calls = {stage: usage.calls for stage, usage in expected.usage.stages.items()}
    assert calls["extract"] > 0 and calls.get("adjudicate", 0) > 0  # both rounds have work

    with FakeBatchServer(answer) as fake:
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        monkeypatch.setenv("RECOUPE_MODEL", MODEL)
        monkeypatch.setenv("RECOUPE_CACHE_DIR", str(tmp_path / "batch"))
        batched: Counter[str] = Counter()
        for round_, stage in ((1, "extract"), (2, "adjudicate")):
            requests, results = tmp_path / f"requests{round_}.jsonl", tmp_path / f"results{round_}.jsonl"
            code, _, err = run(["prepare", str(SEEDS), "--out", str(requests)], capsys)
            assert code == 0, err
            written = lines(requests)
            assert len(written) == calls[stage]
            assert all(parse_custom_id(x["custom_id"]).stage == stage for x in written)  # type: ignore[union-attr]
            assert all(x["method"] == "POST" and x["url"] == "/v1/chat/completions" for x in written)
            batched.update(canonical(x["body"]) for x in written)

            code, out, err = run(["submit", str(requests)], capsys)
            assert code == 0, err
            batch_id = out.strip()
            assert batch_id in fake.batches
            assert fake.asked[batch_id] == {x["custom_id"]: x["body"] for x in written}

            code, out, _ = run(["status", batch_id], capsys)
            assert code == 0 and batch_id in out

            code, _, err = run(["collect", batch_id, "--out", str(results)], capsys)
            assert code == 0, err
            assert {x["custom_id"] for x in lines(results)} == {x["custom_id"] for x in written}

            code, _, err = run(["import", str(results), "--requests", str(requests)], capsys)
            assert code == 0, err
            assert f"imported {len(written)} answer(s)" in err

        # nothing is left to ask
        code, _, err = run(["prepare", str(SEEDS), "--out", str(tmp_path / "requests3.jsonl")], capsys)
        assert code == 0 and (tmp_path / "requests3.jsonl").read_text() == ""
        assert "nothing to ask" in err

        # the batch held exactly the requests the normal path sends
        assert batched == sent

        # the normal check, pointed at an endpoint that fails every chat completion
        report = api.check(SEEDS, Settings.from_env())
        assert fake.chat_calls == 0
        assert report.usage.calls == 0
        assert report.usage.cache_hits == sum(calls.values())
    assert facts_of(report) == facts_of(expected)
    assert [j.model_dump() for j in report.judgements] == [j.model_dump() for j in expected.judgements]
    assert [c.model_dump() for c in report.claims()] == [c.model_dump() for c in expected.claims()]


def test_a_request_file_is_stable_and_prepare_sends_nothing(tmp_path: Path) -> None:
    with FakeOpenAIServer(default=answer) as server:
        first = prepare(SEEDS, Settings(model=MODEL, base_url=server.base_url, cache_dir=tmp_path / "a"))
        again = prepare(SEEDS, Settings(model=MODEL, base_url=server.base_url, cache_dir=tmp_path / "b"))
        assert server.requests == []
    assert first.stage == "extract" and first.requests
    assert first.text() == again.text()
    ids = [r.custom_id for r in first.requests]
    assert len(set(ids)) == len(ids)
    seeds = {p.stem for p in SEEDS.iterdir()}
    for request in first.requests:
        parsed = parse_custom_id(request.custom_id)
        assert parsed is not None and parsed.key == request.key
        article, chunk = request.custom_id.split("/")[1:3]
        assert article in seeds and chunk.isdigit()
        assert parsed.where == f"article {article}, chunk {chunk}"


def test_vllm_results_failures_are_listed_and_prepared_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(model=MODEL, base_url="http://127.0.0.1:9/v1", cache_dir=tmp_path / "cache")
    requests, results = tmp_path / "requests.jsonl", tmp_path / "results.jsonl"
    prepare(SEEDS, settings).write(requests)
    ids = [x["custom_id"] for x in lines(requests)]
    failed, dropped = ids[1], ids[-1]
    vllm_results(requests, results, fail={failed}, drop={dropped})

    outcome = import_results(results, settings, requests=requests)
    assert outcome.total == len(ids) - 2
    listed = {p.custom_id: p for p in outcome.problems}
    assert set(listed) == {failed, dropped}
    assert listed[failed].reason == "HTTP 400: boom"
    assert listed[failed].source == f"{results}, line 2"
    assert listed[failed].where.startswith("article ") and ", chunk " in listed[failed].where
    assert listed[dropped].reason.startswith("no result")
    assert listed[dropped].source == f"{requests}, line {len(ids)}"

    # the CLI says the same, one line per request, and exits 1
    code, _, err = run(
        ["import", str(results), "--requests", str(requests), "--cache-dir", str(tmp_path / "c2")], capsys
    )
    assert code == 1
    assert f"{failed} -> {listed[failed].where} -> HTTP 400: boom" in err
    assert dropped in err and "Traceback" not in err

    # preparing again writes just those two, then the adjudication round
    retry = prepare(SEEDS, settings)
    assert retry.stage == "extract"
    assert sorted(r.custom_id for r in retry.requests) == sorted([failed, dropped])
    assert retry.answered == len(ids) - 2
    retry.write(tmp_path / "retry.jsonl")
    vllm_results(tmp_path / "retry.jsonl", tmp_path / "retry-results.jsonl")
    assert import_results(tmp_path / "retry-results.jsonl", settings).problems == []
    second = prepare(SEEDS, settings)
    assert second.stage == "adjudicate" and second.requests
    for request in second.requests:
        a, b = request.custom_id.split("/")[1:3]
        assert ":" in a and ":" in b  # named by the claims they compare
        assert request.where == f"claims {a} and {b}"


def test_expired_and_refused_lines_from_the_batch_endpoint(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings_dir = tmp_path / "cache"
    requests, results = tmp_path / "requests.jsonl", tmp_path / "results.jsonl"

    refused: list[str] = []

    def flaky(body: dict[str, Any]) -> Reply:
        if "Dimanche" in body["messages"][-1]["content"].split("TARGET:")[-1] and not refused:
            refused.append("x")
            return Reply(status=429, body=b'{"error": {"message": "slow down", "code": "rate_limit_exceeded"}}')
        return answer(body)

    with FakeBatchServer(flaky, polls_before_done=2, expire=lambda custom_id: "/002_" in custom_id) as fake:
        common = ["--base-url", fake.base_url]
        code, _, err = run(
            [
                "prepare",
                str(SEEDS),
                "--out",
                str(requests),
                "--model",
                MODEL,
                "--cache-dir",
                str(settings_dir),
                *common,
            ],
            capsys,
        )
        assert code == 0, err
        code, out, _ = run(["submit", str(requests), *common], capsys)
        batch_id = out.strip()
        code, _, err = run(["collect", batch_id, "--out", str(results), *common], capsys)
        assert code == 1 and "in_progress" in err and not results.exists()
        code, _, err = run(["collect", batch_id, "--out", str(results), "--wait", "--poll", "0", *common], capsys)
        assert code == 0, err
        assert "expired" in err
    expired = [x["custom_id"] for x in lines(requests) if "/002_" in x["custom_id"]]
    assert expired and refused

    code, _, err = run(["import", str(results), "--cache-dir", str(settings_dir)], capsys)
    assert code == 1
    problems = [line for line in err.splitlines() if line.startswith("  ") and " -> " in line]
    assert len(problems) == len(expired) + 1
    assert sum("HTTP 429: rate_limit_exceeded: slow down" in p for p in problems) == 1
    for custom_id in expired:
        assert any(custom_id in p and "expired" in p for p in problems)

    again = prepare(SEEDS, Settings(model=MODEL, base_url="http://127.0.0.1:9/v1", cache_dir=settings_dir))
    assert len(again.requests) == len(expired) + 1
    assert set(expired) <= {r.custom_id for r in again.requests}


def test_mistakes_a_user_can_make_are_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(model=MODEL, base_url="http://127.0.0.1:9/v1", cache_dir=tmp_path / "cache")
    requests = tmp_path / "requests.jsonl"
    prepare(SEEDS, settings).write(requests)
    cache = ["--cache-dir", str(tmp_path / "cache")]

    code, _, err = run(["import", str(tmp_path / "nope.jsonl"), *cache], capsys)
    assert code == 2 and err.strip() == f"recoupe: {tmp_path / 'nope.jsonl'}: no such file"

    code, _, err = run(["import", str(requests), *cache], capsys)
    assert code == 2 and f"{requests}, line 1: this is a request line, not a result" in err

    first = lines(requests)[0]
    good = json.loads(answer(first["body"]).body)
    bad_schema = dict(
        good, choices=[dict(good["choices"][0], message={"role": "assistant", "content": '{"claims": 3}'})]
    )
    cut = dict(good, choices=[dict(good["choices"][0], finish_reason="length")])
    results = tmp_path / "results.jsonl"

    def ok(custom_id: str, body: Any) -> str:
        return json.dumps(
            {"id": "r", "custom_id": custom_id, "response": {"status_code": 200, "body": body}, "error": None}
        )

    results.write_text(
        "\n".join(
            [
                ok(first["custom_id"], bad_schema),
                "{not json",
                ok("request-1", good),
                ok(first["custom_id"].replace("extract/", "summarize/"), good),
                ok(first["custom_id"], cut),
                "",
                "[1, 2]",
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    outcome = import_results(results, settings)
    assert outcome.total == 0
    by_line = {p.source.rsplit(" ", 1)[1]: p.reason for p in outcome.problems}
    assert by_line["1"].startswith("the answer does not fit the schema")
    assert by_line["2"].startswith("not JSON")
    assert by_line["3"] == by_line["4"] == "unknown custom_id: not one recoupe wrote"
    assert "max_tokens" in by_line["5"]
    assert by_line["7"] == "a JSON list, not an object"
    assert all(p.source.startswith(f"{results}, line ") for p in outcome.problems)

    broken = tmp_path / "broken.jsonl"
    shutil.copy(requests, broken)
    with broken.open("a", encoding="utf-8") as fh:
        fh.write('{"custom_id": "x", "method": "GET", "url": "/v1/chat/completions", "body": {}}\n')
    code, _, err = run(["submit", str(broken), "--base-url", "http://127.0.0.1:9/v1"], capsys)
    n = len(lines(requests)) + 1
    assert code == 2 and f"{broken}, line {n}: not a request line" in err and "Traceback" not in err

    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    code, _, err = run(["submit", str(empty), "--base-url", "http://127.0.0.1:9/v1"], capsys)
    assert code == 2 and "holds no request" in err

    code, _, err = run(["prepare", str(SEEDS), "--out", str(tmp_path / "r.jsonl"), *cache], capsys)
    assert code == 2 and "OPENAI_BASE_URL" in err and not (tmp_path / "r.jsonl").exists()

    code, _, err = run(["status", "batch_9", "--base-url", "http://127.0.0.1:9/v1", "--max-retries", "0"], capsys)
    assert code == 2 and err.startswith("recoupe: reading batch batch_9: could not connect to http://127.0.0.1:9/v1")


def test_a_batch_that_fails_validation_is_said_with_its_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import openai

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"custom_id": "a", "method": "POST", "url": "/v1/chat/completions", "body": {}}\n{oops\n')
    with FakeBatchServer(answer) as fake:
        client = openai.OpenAI(base_url=fake.base_url, api_key="x", max_retries=0)
        with bad.open("rb") as fh:
            uploaded = client.files.create(file=fh, purpose="batch")
        batch = client.batches.create(
            input_file_id=uploaded.id, endpoint="/v1/chat/completions", completion_window="24h"
        )
        client.close()
        code, out, _ = run(["status", batch.id, "--base-url", fake.base_url], capsys)
        assert code == 0 and f"batch {batch.id}: failed" in out and "(line 2)" in out
        code, _, err = run(
            ["collect", batch.id, "--out", str(tmp_path / "r.jsonl"), "--base-url", fake.base_url], capsys
        )
    assert code == 2 and "(line 2): not a batch request line" in err and "nothing ran" in err
    assert not (tmp_path / "r.jsonl").exists()
