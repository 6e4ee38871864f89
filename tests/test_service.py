"""The HTTP service (`recoupe serve`) over a real archive, with a rule-based model in place of an
LLM: every route, auth, idempotency, problem details, the body limit, pagination and the
resumption of unfinished jobs after a restart. On SQLite, and on PostgreSQL when one can be
started (see ``pg.py``)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from pg import pg_server, pg_url  # noqa: F401  (pytest fixtures)
from recoupe.archive import Archive
from recoupe.archive.schema import ArticleRow, ClaimRow, JobRow
from recoupe.articles import iter_articles
from recoupe.crosscheck.adjudicate import PairAdjudication
from recoupe.extraction.schema import ClaimDraft, ClaimDrafts
from recoupe.models import Usage
from recoupe.service import create_app
from recoupe.service.jobs import JobStore

_SENTENCE = re.compile(r"(?<=[.!?])\s+")


class SentenceModel:
    """A model without an LLM: every sentence of the target is one claim (its own quote), and every
    pair the rules leave open is "compatible". Counts the articles it was asked about."""

    name = "sentences"
    concurrency = 1

    def __init__(self) -> None:
        self.usage = Usage()
        self.asked: list[str] = []
        self._lock = threading.Lock()

    def complete(self, *, stage: str, response_model: type, variables: dict[str, Any], **kwargs: Any) -> Any:
        with self._lock:
            self.usage.stage(stage).calls += 1
            if stage == "extract":
                self.asked.append(str(kwargs.get("article_id")))
        if response_model is ClaimDrafts:
            sentences = [s for s in _SENTENCE.split(variables["target"].strip()) if s]
            return ClaimDrafts(claims=[ClaimDraft(quote=s, subject=s.split()[0]) for s in sentences[:10]])
        return PairAdjudication(relation="compatible", rationale="same statement")


DAY = dt.date(2026, 3, 2).isoformat()


def article(ident: str, text: str, outlet: str = "Le Monde") -> dict[str, Any]:
    return {"id": ident, "text": text, "outlet": outlet, "published": DAY, "language": "fr"}


#: Three outlets on one investment: two agree on the amount, one says otherwise (a conflict); two
#: agree on the jobs (corroborated).
CORPUS = [
    article(
        "monde-1", "Ardoise va investir 300 millions d'euros à Toulouse. L'usine emploiera 200 personnes.", "Le Monde"
    ),
    article(
        "echos-1", "Ardoise va investir 500 millions d'euros à Toulouse. L'usine emploiera 200 personnes.", "Les Echos"
    ),
    article("tribune-1", "Ardoise investira 300 millions d'euros à Toulouse, selon le groupe.", "La Tribune"),
]
#: More articles, for more facts than one page holds.
MORE = [
    article("figaro-2", "Brumal va investir 120 millions d'euros à Lyon. Le site ouvrira en 2027.", "Le Figaro"),
    article("ouest-2", "Brumal va investir 120 millions d'euros à Lyon. Le site ouvrira en 2028.", "Ouest-France"),
    article("echos-3", "Calanque va investir 40 millions d'euros à Brest.", "Les Echos"),
    article("monde-4", "Dolmen embauchera 150 personnes à Metz.", "Le Monde"),
]


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The archive's database URL: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'archive.sqlite'}"
    return str(request.getfixturevalue("pg_url"))


class Service:
    def __init__(self, client: TestClient, archive: Archive, model: SentenceModel) -> None:
        self.client, self.archive, self.model = client, archive, model

    def post(self, articles: list[dict[str, Any]], key: str | None = None, **kwargs: Any) -> Any:
        headers = {"Idempotency-Key": key} if key else {}
        return self.client.post("/v1/articles", json={"articles": articles}, headers=headers, **kwargs)

    def wait(self, job_id: str) -> dict[str, Any]:
        return wait_job(self.client, job_id)


def wait_job(client: TestClient, job_id: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
    """The job once it has finished (the worker runs in the background)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/v1/jobs/{job_id}", headers=headers).json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.02)
    pytest.fail(f"job {job_id} did not finish: {job}")


@pytest.fixture
def service(store: str) -> Iterator[Service]:
    model = SentenceModel()
    archive = Archive(store, model=model)
    app = create_app(archive, api_keys=(), poll_seconds=0.05)
    try:
        with TestClient(app) as client:
            yield Service(client, archive, model)
    finally:
        archive.close()


@pytest.fixture
def sqlite_service(tmp_path: Path) -> Iterator[Service]:
    model = SentenceModel()
    archive = Archive(f"sqlite:///{tmp_path / 'archive.sqlite'}", model=model)
    try:
        with TestClient(create_app(archive, api_keys=(), poll_seconds=0.05)) as client:
            yield Service(client, archive, model)
    finally:
        archive.close()


def is_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["type"] and body["title"] and body["detail"]
    assert "Traceback" not in response.text
    return body


# -- the routes ------------------------------------------------------------------------------------


def test_healthz(sqlite_service: Service) -> None:
    response = sqlite_service.client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_articles_become_a_job_then_claims_and_facts(service: Service) -> None:
    client = service.client
    response = service.post(CORPUS)
    assert response.status_code == 202, response.text
    job = response.json()["job"]
    assert response.headers["location"] == f"/v1/jobs/{job['id']}"
    assert job["status"] in ("queued", "running", "done")
    assert job["articles"] == [a["id"] for a in CORPUS]

    done = service.wait(job["id"])
    assert done["status"] == "done", done
    assert done["added"] == [a["id"] for a in CORPUS] and done["failures"] == [] and done["error"] is None
    assert {c["change"] for c in done["changes"]} >= {"created"}
    assert done["started_at"] and done["finished_at"] and done["attempts"] == 1

    got = client.get("/v1/articles/echos-1")
    assert got.status_code == 200
    assert got.json()["text"] == CORPUS[1]["text"] and got.json()["outlet"] == "Les Echos"
    claims = client.get("/v1/articles/echos-1/claims").json()
    assert claims["article"] == "echos-1" and len(claims["claims"]) == 2
    for claim in claims["claims"]:
        span = claim["span"]
        assert CORPUS[1]["text"][span["start"] : span["end"]] == claim["quote"]

    facts = client.get("/v1/facts").json()
    verdicts = [f["verdict"] for f in facts["facts"]]
    assert verdicts[0] == "conflicting" and "corroborated" in verdicts
    assert verdicts == sorted(verdicts, key=lambda v: v != "conflicting")  # conflicts first
    conflict = facts["facts"][0]
    assert {m["article_id"] for m in conflict["members"]} == {"monde-1", "echos-1", "tribune-1"}

    only = client.get("/v1/facts", params={"verdict": "corroborated"}).json()["facts"]
    assert only and all(f["verdict"] == "corroborated" for f in only)
    mine = client.get("/v1/facts", params={"article": "tribune-1"}).json()["facts"]
    assert [f["id"] for f in mine] == [conflict["id"]]

    detail = client.get(f"/v1/facts/{conflict['id']}").json()
    assert detail["fact"]["id"] == conflict["id"] and detail["fact"]["verdict"] == "conflicting"
    texts = {a["id"]: a["text"] for a in CORPUS}
    assert {m["article_id"] for m in detail["members"]} == set(texts)
    for m in detail["members"]:
        span = m["claim"]["span"]
        assert texts[m["article_id"]][span["start"] : span["end"]] == m["claim"]["quote"]
        assert m["origin"] and m["relation"] and m["outlet"]
    assert detail["history"] and detail["history"][-1]["verdict_after"] == "conflicting"

    stats = client.get("/v1/stats").json()
    assert stats["articles"] == 3 and stats["facts"]["conflicting"] == 1


def test_a_replaced_fact_id_leads_to_the_fact_that_replaced_it(sqlite_service: Service) -> None:
    client = sqlite_service.client
    first = sqlite_service.wait(sqlite_service.post(CORPUS[:1]).json()["job"]["id"])
    created = first["changes"][0]["fact_id"]
    sqlite_service.wait(sqlite_service.post(CORPUS[1:]).json()["job"]["id"])
    detail = client.get(f"/v1/facts/{created}")
    assert detail.status_code == 200 and detail.json()["fact"]["id"] != created
    assert created in {p for event in detail.json()["history"] for p in event["previous"]}


def test_not_found_is_a_problem(sqlite_service: Service) -> None:
    client = sqlite_service.client
    for path in ("/v1/jobs/nope", "/v1/articles/nope", "/v1/articles/nope/claims", "/v1/facts/Fnope", "/v2/x"):
        body = is_problem(client.get(path), 404)
        assert body["title"] == "Not Found"
    is_problem(client.delete("/v1/facts"), 405)


def test_an_article_id_with_a_slash(sqlite_service: Service) -> None:
    done = sqlite_service.wait(
        sqlite_service.post([article("wire/2026/1", "Escarpe ouvrira un site à Pau.")]).json()["job"]["id"]
    )
    assert done["added"] == ["wire/2026/1"]
    client = sqlite_service.client
    assert client.get("/v1/articles/wire%2F2026%2F1").json()["id"] == "wire/2026/1"
    assert client.get("/v1/articles/wire/2026/1/claims").json()["article"] == "wire/2026/1"


def test_openapi_and_docs(sqlite_service: Service) -> None:
    client = sqlite_service.client
    spec = client.get("/openapi.json").json()
    for path in ("/healthz", "/v1/articles", "/v1/jobs/{job_id}", "/v1/facts", "/v1/facts/{fact_id}"):
        assert path in spec["paths"], path
    body = spec["paths"]["/v1/articles"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["articles"]
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()


def test_the_review_page_shell(sqlite_service: Service) -> None:
    response = sqlite_service.client.get("/")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert 'id="facts"' in response.text and "/v1/facts" in response.text
    policy = response.headers["content-security-policy"]
    assert "script-src 'sha256-" in policy and "connect-src 'self'" in policy


# -- idempotency -----------------------------------------------------------------------------------


def _jobs(archive: Archive) -> int:
    with Session(archive.engine) as s:
        return int(s.scalar(select(func.count()).select_from(JobRow)) or 0)


def test_same_key_same_body_is_the_same_job_and_nothing_twice(service: Service) -> None:
    first = service.post(CORPUS[:2], key="batch-7")
    assert first.status_code == 202 and "idempotent-replayed" not in first.headers
    job_id = first.json()["job"]["id"]
    service.wait(job_id)
    asked = list(service.model.asked)
    assert sorted(asked) == ["echos-1", "monde-1"]

    # the same body, written another way (key order, spacing): the same request
    same = {"articles": [dict(reversed(list(a.items()))) for a in CORPUS[:2]]}
    again = service.client.post(
        "/v1/articles",
        content=json.dumps(same, indent=3),
        headers={"Idempotency-Key": "batch-7", "Content-Type": "application/json"},
    )
    assert again.status_code == 202
    assert again.json()["job"]["id"] == job_id and again.headers["idempotent-replayed"] == "true"
    assert again.json()["job"]["status"] == "done"
    assert again.headers["location"] == f"/v1/jobs/{job_id}"
    assert _jobs(service.archive) == 1 and service.model.asked == asked

    other = service.post(CORPUS[:1], key="batch-7")
    body = is_problem(other, 409)
    assert body["type"].endswith("idempotency-key-reused") and body["job"] == job_id
    assert _jobs(service.archive) == 1

    # no key: a new job, but the archive still does nothing twice
    fresh = service.wait(service.post(CORPUS[:2]).json()["job"]["id"])
    assert fresh["id"] != job_id and fresh["unchanged"] == ["monde-1", "echos-1"] and fresh["added"] == []
    assert service.model.asked == asked


def test_concurrent_identical_requests_make_one_job(store: str) -> None:
    archive = Archive(store, model=SentenceModel())
    try:
        jobs = JobStore(archive.engine)
        from recoupe.service.validation import parse_articles

        articles = parse_articles(json.dumps({"articles": CORPUS}).encode())
        results: list[tuple[str, bool]] = []
        errors: list[Exception] = []
        gate = threading.Barrier(8)

        def submit() -> None:
            gate.wait()
            try:
                job, created = jobs.submit(articles, "same-key")
                results.append((job["id"], created))
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=submit) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert len({job_id for job_id, _ in results}) == 1
        assert sum(created for _, created in results) == 1
        assert _jobs(archive) == 1
    finally:
        archive.close()


def test_the_insert_race_reads_the_winner(sqlite_service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    """The loser of the race saw no job for the key, then its insert hit the unique key."""
    from recoupe.service.validation import parse_articles

    jobs = JobStore(sqlite_service.archive.engine)
    articles = parse_articles(json.dumps({"articles": CORPUS[:1]}).encode())
    winner, created = jobs.submit(articles, "raced")
    assert created
    real = jobs._by_key
    calls: list[str] = []

    def missed_once(key: str) -> Any:
        calls.append(key)
        return None if len(calls) == 1 else real(key)

    monkeypatch.setattr(jobs, "_by_key", missed_once)
    loser, created = jobs.submit(articles, "raced")
    assert not created and loser["id"] == winner["id"] and len(calls) == 2
    with pytest.raises(Exception, match="another body"):
        jobs.submit(parse_articles(json.dumps({"articles": CORPUS[1:2]}).encode()), "raced")


# -- bad requests ----------------------------------------------------------------------------------


def _cli_reason(tmp_path: Path, record: Any) -> str:
    """What the command line says of ``record`` in a .json file."""
    path = tmp_path / "one.json"
    path.write_text(json.dumps([record]), encoding="utf-8")
    [item] = list(iter_articles(path))
    return str(getattr(item, "reason", ""))


@pytest.mark.parametrize(
    "record",
    [
        {"id": "a"},
        {"id": "a", "text": 12},
        {"id": "a", "text": "   "},
        {"id": "a", "text": "x\x01\x02\x03\x04\x05\x06\x07\x08\x0e\x0f"},
        {"id": "a", "text": "Hello.", "author": "me"},
        {"id": "", "text": "Hello."},
        {"id": "a\x1b", "text": "Hello."},
        {"id": "a", "text": "Hello.", "published": "yesterday"},
        ["not", "an", "object"],
    ],
)
def test_a_bad_article_is_a_422_with_the_command_line_reason(
    sqlite_service: Service, tmp_path: Path, record: Any
) -> None:
    body = is_problem(sqlite_service.post([CORPUS[0], record]), 422)
    [error] = body["errors"]
    assert error["loc"] == ["body", "articles", 1]
    assert error["msg"] == _cli_reason(tmp_path, record)
    assert _jobs(sqlite_service.archive) == 0


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"{not json", "not JSON"),
        (b'{"items": []}', "articles"),
        (b'{"articles": []}', "non-empty"),
        (b'{"articles": {"id": "a"}}', "non-empty list"),
        (b'{"articles": [{"text": "No id."}]}', "no 'id'"),
        (json.dumps({"articles": [CORPUS[0], CORPUS[0]]}).encode(), "duplicate article id"),
        (json.dumps({"articles": [article("x" * 201, "Long id.")]}).encode(), "longer than 200"),
        (json.dumps({"articles": CORPUS, "extra": 1}).encode(), "unknown field"),
    ],
)
def test_a_bad_body_is_a_422(sqlite_service: Service, content: bytes, why: str) -> None:
    response = sqlite_service.client.post("/v1/articles", content=content, headers={"Content-Type": "application/json"})
    body = is_problem(response, 422)
    assert why in body["detail"] and body["errors"]
    assert _jobs(sqlite_service.archive) == 0


def test_bad_parameters_are_422(sqlite_service: Service) -> None:
    client = sqlite_service.client
    is_problem(client.get("/v1/facts", params={"verdict": "maybe"}), 422)
    is_problem(client.get("/v1/facts", params={"limit": 0}), 422)
    is_problem(client.get("/v1/facts", params={"limit": 501}), 422)
    is_problem(client.get("/v1/facts", params={"cursor": "not-a-cursor"}), 422)
    is_problem(sqlite_service.post(CORPUS[:1], key="k" * 201), 422)
    assert _jobs(sqlite_service.archive) == 0


def test_a_body_over_the_limit_is_a_413(tmp_path: Path) -> None:
    archive = Archive(f"sqlite:///{tmp_path / 'a.sqlite'}", model=SentenceModel())
    try:
        client = TestClient(create_app(archive, api_keys=(), max_body=2000, run_worker=False))
        big = {"articles": [article("big", "Ardoise investit. " * 200)]}
        body = is_problem(client.post("/v1/articles", json=big), 413)
        assert "2000 bytes" in body["detail"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
            data = json.dumps(big).encode()
            for i in range(0, len(data), 500):
                yield data[i : i + 500]

        is_problem(client.post("/v1/articles", content=chunks(), headers={"Content-Type": "application/json"}), 413)
        assert client.post("/v1/articles", json={"articles": CORPUS[:1]}).status_code == 202
        assert _jobs(archive) == 1
    finally:
        archive.close()


def test_an_internal_error_tells_the_client_nothing_of_it(
    sqlite_service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(**_: Any) -> Any:
        raise RuntimeError("secret detail of the database at /srv/data")

    monkeypatch.setattr(sqlite_service.archive, "facts", broken)
    client = TestClient(sqlite_service.client.app, raise_server_exceptions=False)
    response = client.get("/v1/facts")
    body = is_problem(response, 500)
    assert "secret" not in response.text and "/srv" not in response.text and "RuntimeError" not in response.text
    assert body["title"] == "Internal Server Error"


# -- auth ------------------------------------------------------------------------------------------


def test_api_keys(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    archive = Archive(f"sqlite:///{tmp_path / 'a.sqlite'}", model=SentenceModel())
    try:
        app = create_app(archive, api_keys=["first-key-123", "second-key-456"], poll_seconds=0.05)
        with TestClient(app) as client:
            assert client.get("/healthz").status_code == 200
            assert client.get("/").status_code == 200  # the page's shell holds no data
            for path in ("/v1/facts", "/v1/stats", "/v1/jobs/x", "/v1/articles/x", "/openapi.json", "/docs"):
                body = is_problem(client.get(path), 401)
                assert "Bearer" in body["detail"]
            unauthorized = client.get("/v1/facts", headers={"Authorization": "Bearer wrong-key"})
            assert is_problem(unauthorized, 401) and unauthorized.headers["www-authenticate"].startswith("Bearer")
            assert client.get("/v1/facts", headers={"Authorization": "Basic first-key-123"}).status_code == 401
            assert client.get("/v1/facts", headers={"Authorization": "Bearer first-key-12"}).status_code == 401
            is_problem(client.post("/v1/articles", json={"articles": CORPUS[:1]}), 401)
            assert _jobs(archive) == 0

            auth = {"Authorization": "Bearer second-key-456"}
            assert client.get("/v1/facts", headers=auth).status_code == 200
            assert client.get("/openapi.json", headers=auth).status_code == 200
            posted = client.post("/v1/articles", json={"articles": CORPUS[:1]}, headers=auth)
            assert posted.status_code == 202
            done = wait_job(client, posted.json()["job"]["id"], headers={"Authorization": "bearer first-key-123"})
            assert done["status"] == "done"
    finally:
        archive.close()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "job" in logged  # the service did log
    assert "first-key-123" not in logged and "second-key-456" not in logged


def test_keys_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECOUPE_API_KEYS", " alpha , ,beta")
    archive = Archive(f"sqlite:///{tmp_path / 'a.sqlite'}", model=SentenceModel())
    try:
        client = TestClient(create_app(archive, run_worker=False))
        assert client.get("/v1/stats").status_code == 401
        assert client.get("/v1/stats", headers={"Authorization": "Bearer beta"}).status_code == 200
        assert client.get("/v1/stats", headers={"Authorization": "Bearer "}).status_code == 401
    finally:
        archive.close()


# -- pages of facts --------------------------------------------------------------------------------


def test_pages_follow_the_cursor_conflicts_first(service: Service) -> None:
    service.wait(service.post(CORPUS + MORE).json()["job"]["id"])
    client = service.client
    whole = client.get("/v1/facts", params={"limit": 500}).json()
    assert whole["next_cursor"] is None
    ids = [f["id"] for f in whole["facts"]]
    assert len(ids) >= 5
    verdicts = [f["verdict"] for f in whole["facts"]]
    assert verdicts.count("conflicting") >= 2  # the amount at Toulouse, the year at Lyon
    assert verdicts == sorted(verdicts, key=lambda v: v != "conflicting")

    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = client.get("/v1/facts", params=params).json()
        assert len(page["facts"]) <= 2
        seen += [f["id"] for f in page["facts"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ids and pages == (len(ids) + 1) // 2

    conflicts = client.get("/v1/facts", params={"verdict": "conflicting", "limit": 1}).json()
    assert conflicts["next_cursor"] is not None
    second = client.get("/v1/facts", params={"verdict": "conflicting", "limit": 1, "cursor": conflicts["next_cursor"]})
    assert second.json()["facts"][0]["verdict"] == "conflicting"
    assert second.json()["facts"][0]["id"] != conflicts["facts"][0]["id"]


# -- restarts --------------------------------------------------------------------------------------


def test_a_restart_resumes_unfinished_jobs(store: str) -> None:
    first_model = SentenceModel()
    archive = Archive(store, model=first_model)
    try:
        # the worker is stopped before it runs anything: the jobs stay queued
        with TestClient(create_app(archive, api_keys=(), run_worker=False)) as client:
            queued = client.post("/v1/articles", json={"articles": CORPUS[:2]}).json()["job"]
            killed = client.post("/v1/articles", json={"articles": [CORPUS[2], MORE[0]]}).json()["job"]
            assert client.get(f"/v1/jobs/{queued['id']}").json()["status"] == "queued"
        # the second job was running when its process died, after it had added its first article
        archive.add([archive_article(CORPUS[2])])
        with Session(archive.engine) as s, s.begin():
            s.execute(
                update(JobRow)
                .where(JobRow.id == killed["id"])
                .values(
                    status="running",
                    attempts=1,
                    result={"added": ["tribune-1"], "unchanged": [], "failures": [], "changes": []},
                )
            )
        assert first_model.asked == ["tribune-1"]
    finally:
        archive.close()

    model = SentenceModel()
    archive = Archive(store, model=model)
    try:
        with TestClient(create_app(archive, api_keys=(), poll_seconds=0.05)) as client:
            one = wait_job(client, queued["id"])
            two = wait_job(client, killed["id"])
        assert one["status"] == two["status"] == "done"
        assert one["added"] == ["monde-1", "echos-1"] and one["attempts"] == 1
        assert two["added"] == ["tribune-1", "figaro-2"] and two["attempts"] == 2
        assert sorted(model.asked) == ["echos-1", "figaro-2", "monde-1"]  # nothing asked twice
        with Session(archive.engine) as s:
            ids = list(s.scalars(select(ArticleRow.id)))
            claims = list(s.scalars(select(ClaimRow.id)))
        assert sorted(ids) == sorted(["monde-1", "echos-1", "tribune-1", "figaro-2"])
        assert len(claims) == len(set(claims))
    finally:
        archive.close()


def archive_article(record: dict[str, Any]) -> Any:
    from recoupe.models import Article

    return Article.model_validate(record)


def test_a_stopped_worker_puts_its_job_back(tmp_path: Path) -> None:
    """A graceful stop between two batches queues the job again, with its progress kept."""
    release = threading.Event()
    started = threading.Event()

    class Slow(SentenceModel):
        def complete(self, **kwargs: Any) -> Any:
            if kwargs.get("article_id") == "echos-1":
                started.set()
                release.wait(30)
            return super().complete(**kwargs)

    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    archive = Archive(url, model=Slow())
    try:
        app = create_app(archive, api_keys=(), batch_size=1, poll_seconds=0.05)
        with TestClient(app) as client:
            job = client.post("/v1/articles", json={"articles": CORPUS}).json()["job"]
            assert started.wait(60)
            stopper = threading.Thread(target=app.state.worker.stop, args=(60,))
            stopper.start()
            release.set()
            stopper.join()
            state = client.get(f"/v1/jobs/{job['id']}").json()
        assert state["status"] == "queued" and state["added"] == ["monde-1", "echos-1"]
    finally:
        archive.close()
    model = SentenceModel()
    archive = Archive(url, model=model)
    try:
        with TestClient(create_app(archive, api_keys=(), poll_seconds=0.05)) as client:
            done = wait_job(client, job["id"])
        assert done["added"] == ["monde-1", "echos-1", "tribune-1"] and model.asked == ["tribune-1"]
    finally:
        archive.close()


# -- recoupe serve ---------------------------------------------------------------------------------


def test_the_serve_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    import uvicorn

    from recoupe.service.cli import add_serve_parser

    parser = argparse.ArgumentParser(prog="recoupe")
    add_serve_parser(parser.add_subparsers(dest="command", required=True))
    ran: dict[str, Any] = {}

    def fake_run(app: Any, **options: Any) -> None:
        ran.update(options, app=app)
        with TestClient(app) as client:  # the app it would serve, working
            ran["health"] = client.get("/healthz").json()
            ran["stats"] = client.get("/v1/stats", headers={"Authorization": "Bearer k"}).status_code
            ran["big"] = client.post("/v1/articles", content=b"x" * 101, headers={"Authorization": "Bearer k"})

    monkeypatch.setattr(uvicorn, "run", fake_run)
    monkeypatch.setenv("RECOUPE_API_KEYS", "k")
    monkeypatch.setenv("RECOUPE_MAX_BODY", "100")
    store = f"sqlite:///{tmp_path / 'served.sqlite'}"
    args = parser.parse_args(
        ["serve", "--store", store, "--port", "8123", "--base-url", "http://127.0.0.1:9/v1", "--model", "m"]
    )
    assert args.func(args) == 0
    assert ran["host"] == "127.0.0.1" and ran["port"] == 8123
    assert ran["health"] == {"status": "ok"} and ran["stats"] == 200 and ran["big"].status_code == 413
    assert (tmp_path / "served.sqlite").exists()
    defaults = parser.parse_args(["serve"])
    assert (defaults.host, defaults.port, defaults.store) == ("127.0.0.1", 8000, None)


# -- leases: several services on one archive -------------------------------------------------------


def _articles(records: list[dict[str, Any]]) -> list[Any]:
    return [archive_article(r) for r in records]


def _job_row(archive: Archive, job_id: str) -> JobRow:
    with Session(archive.engine) as s:
        row = s.get(JobRow, job_id)
        assert row is not None
        s.expunge(row)
        return row


def test_a_job_is_held_by_one_worker_until_its_lease_runs_out(store: str) -> None:
    archive = Archive(store, model=SentenceModel())
    try:
        first = JobStore(archive.engine, worker="host-a:1:a", lease_seconds=0.5)
        second = JobStore(archive.engine, worker="host-b:1:b", lease_seconds=30)
        job, _ = first.submit(_articles(CORPUS[:2]), None)
        taken = first.claim()
        assert taken is not None and taken[0] == job["id"]
        # held: the other worker can neither take it nor queue it again
        assert second.claim() is None
        assert second.requeue_unfinished() == 0
        assert first.renew(job["id"])
        time.sleep(0.7)  # the first worker stopped renewing (it died, or hangs)
        again = second.claim()
        assert again is not None and again[0] == job["id"]
        row = _job_row(archive, job["id"])
        assert (row.status, row.worker, row.attempts) == ("running", "host-b:1:b", 2)
        # the first worker comes back: it holds the job no more and writes nothing to it
        assert not first.renew(job["id"])
        assert not first.progress(job["id"], {"added": ["x"], "unchanged": [], "failures": [], "changes": []})
        assert not first.finish(job["id"], {"added": [], "unchanged": [], "failures": [], "changes": []})
        assert second.finish(job["id"], {"added": ["monde-1"], "unchanged": [], "failures": [], "changes": []})
        row = _job_row(archive, job["id"])
        assert (row.status, row.worker, row.result["added"] if row.result else None) == ("done", None, ["monde-1"])
    finally:
        archive.close()


def test_at_start_only_jobs_nobody_holds_are_queued_again(store: str) -> None:
    import os
    import socket
    import subprocess
    import sys

    archive = Archive(store, model=SentenceModel())
    try:
        jobs = JobStore(archive.engine)
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
        later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
        holders = {
            "dead-here": (f"{socket.gethostname()}:{dead.stdout.strip()}:x", later),  # its process is gone
            "alive-here": (f"{socket.gethostname()}:{os.getpid()}:other", later),  # another worker of this process
            "elsewhere": ("another-host:1:x", later),  # may be running on its machine
            "expired": ("another-host:2:x", dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)),
            "no-lease": (None, None),  # left by a version without leases
        }
        ids = {}
        for name, (worker, lease) in holders.items():
            job, _ = jobs.submit(_articles(CORPUS[:1]), name)
            ids[name] = job["id"]
            with Session(archive.engine) as s, s.begin():
                s.execute(
                    update(JobRow)
                    .where(JobRow.id == job["id"])
                    .values(status="running", attempts=1, worker=worker, lease_until=lease)
                )
        assert jobs.requeue_unfinished() == 3
        status = {name: _job_row(archive, job_id).status for name, job_id in ids.items()}
        assert status == {
            "dead-here": "queued",
            "alive-here": "running",
            "elsewhere": "running",
            "expired": "queued",
            "no-lease": "queued",
        }
    finally:
        archive.close()


def test_a_running_worker_renews_its_lease(store: str) -> None:
    """A job that runs longer than the lease stays with its worker: nobody else takes it."""
    from recoupe.service.jobs import Worker

    release = threading.Event()
    started = threading.Event()

    class Slow(SentenceModel):
        def complete(self, **kwargs: Any) -> Any:
            if kwargs.get("stage") == "extract":
                started.set()
                release.wait(30)
            return super().complete(**kwargs)

    archive = Archive(store, model=Slow())
    try:
        mine = JobStore(archive.engine, worker="host-a:1:a", lease_seconds=0.3)
        other = JobStore(archive.engine, worker="host-b:1:b", lease_seconds=30)
        job, _ = mine.submit(_articles(CORPUS[:1]), None)
        worker = Worker(archive, mine, poll_seconds=0.05)
        worker.start()
        try:
            assert started.wait(30)
            deadline = time.monotonic() + 1.2  # four leases long
            while time.monotonic() < deadline:
                assert other.claim() is None
                time.sleep(0.05)
            release.set()
            while _job_row(archive, job["id"]).status != "done":
                assert time.monotonic() < deadline + 30
                time.sleep(0.05)
        finally:
            release.set()
            worker.stop(30)
        row = _job_row(archive, job["id"])
        assert row.attempts == 1 and row.result is not None and row.result["added"] == ["monde-1"]
    finally:
        archive.close()


def test_two_services_on_one_postgresql_archive_run_each_job_once(pg_url: str) -> None:  # noqa: F811
    from recoupe.service.jobs import Worker

    class Paced(SentenceModel):  # an article takes a moment, so that both workers get some
        def complete(self, **kwargs: Any) -> Any:
            if kwargs.get("stage") == "extract":
                time.sleep(0.1)
            return super().complete(**kwargs)

    records = CORPUS + MORE
    archives = [Archive(pg_url, model=Paced()) for _ in range(2)]
    try:
        stores = [JobStore(a.engine, lease_seconds=5) for a in archives]
        ids = [stores[n % 2].submit(_articles([r]), f"key-{n}")[0]["id"] for n, r in enumerate(records)]
        workers = [Worker(a, s, batch_size=1, poll_seconds=0.02) for a, s in zip(archives, stores, strict=True)]
        for w in workers:
            w.start()
        try:
            deadline = time.monotonic() + 120
            while any(_job_row(archives[0], i).status != "done" for i in ids):
                assert time.monotonic() < deadline
                time.sleep(0.05)
        finally:
            for w in workers:
                w.stop(30)
        rows = [_job_row(archives[0], i) for i in ids]
        assert all(r.attempts == 1 for r in rows)
        assert sorted(a for r in rows for a in (r.result or {})["added"]) == sorted(r["id"] for r in records)
        asked = [x for a in archives for x in a.model.asked]  # type: ignore[union-attr]
        assert sorted(asked) == sorted(r["id"] for r in records)  # each article extracted once
        assert all(a.model.asked for a in archives)  # type: ignore[union-attr]  # both services worked
        with Session(archives[0].engine) as s:
            claims = list(s.scalars(select(ClaimRow.id)))
        assert len(claims) == len(set(claims))
    finally:
        for a in archives:
            a.close()
