"""Load benchmark of `recoupe serve`: concurrent clients post synthetic articles under
Idempotency-Keys, some requests are sent twice, and the service process is killed (SIGKILL) and
restarted once mid-way. Then every article must be in the archive exactly once, every job done
(none lost, one per key), and no claim stored twice.

    python benchmarks/service_load.py                      # 1000 articles, 50 clients, SQLite
    python benchmarks/service_load.py --articles 200 --store postgresql+psycopg://u@127.0.0.1/db

The service runs in its own process (``--serve``, started by this script) over an archive whose
model is a stub in that process: every sentence of an extraction target is one claim, and every
pair the rules leave open is "compatible"; no LLM is asked. The stub appends each article it is
asked about to a log, so the run also says how many articles were extracted again after the kill
(those in flight when the process died: their transaction never committed).

Prints the numbers and writes them to ``benchmarks/results/service_load.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

_SENTENCE = re.compile(r"(?<=[.!?])\s+")


# -- the service process ---------------------------------------------------------------------------


class StubModel:
    """Every sentence of the target is a claim; every open pair is compatible. Logs the articles
    it extracts (one line per call, written at once, so a SIGKILL loses none)."""

    name = "stub"
    concurrency = 1

    def __init__(self, log_path: str) -> None:
        from recoupe.models import Usage

        self.usage = Usage()
        self._log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._lock = threading.Lock()

    def complete(self, *, stage: str, response_model: type, variables: dict[str, Any], **kwargs: Any) -> Any:
        from recoupe.crosscheck.adjudicate import PairAdjudication
        from recoupe.extraction.schema import ClaimDraft, ClaimDrafts

        with self._lock:
            self.usage.stage(stage).calls += 1
            if stage == "extract":
                os.write(self._log, f"{kwargs.get('article_id')}\t{kwargs.get('chunk_index')}\n".encode())
        if response_model is ClaimDrafts:
            sentences = [s for s in _SENTENCE.split(variables["target"].strip()) if s]
            drafts = [ClaimDraft(quote=s, subject=s.split()[0]) for s in sentences[:10]]
            return ClaimDrafts(claims=drafts)
        return PairAdjudication(relation="compatible", rationale="stub")


def serve(store: str, port: int, calls_log: str, batch_size: int) -> None:
    import uvicorn

    from recoupe.archive import Archive
    from recoupe.service import create_app

    archive = Archive(store, model=StubModel(calls_log))
    app = create_app(archive, api_keys=(), batch_size=batch_size, poll_seconds=0.2)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# -- the clients -----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Service:
    """The service process, started, killed and started again by the benchmark."""

    def __init__(self, store: str, port: int, calls_log: str, batch_size: int) -> None:
        self.command = [
            sys.executable,
            __file__,
            "--serve",
            "--store",
            store,
            "--port",
            str(port),
            "--calls-log",
            calls_log,
            "--batch-size",
            str(batch_size),
        ]
        self.base = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> float:
        import httpx

        started = time.monotonic()
        self.process = subprocess.Popen(self.command)
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the service exited with {self.process.returncode}")
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return time.monotonic() - started
            except httpx.TransportError:
                pass
            time.sleep(0.05)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(args: argparse.Namespace) -> dict[str, Any]:
    import httpx
    from sqlalchemy import create_engine, func, select
    from sqlalchemy.orm import Session

    from recoupe.archive.schema import ArticleRow, ClaimRow, JobRow
    from synthetic_corpus import make_corpus

    work = Path(tempfile.mkdtemp(prefix="recoupe-load-"))
    store = args.store or f"sqlite:///{work / 'archive.sqlite'}"
    calls_log = str(work / "extract-calls.log")
    corpus = make_corpus(args.articles, seed=args.seed)
    records = [a.model_dump(mode="json", exclude_none=True, exclude={"source"}) for a in corpus]
    requests = [
        (f"load-{i:05d}", {"articles": records[start : start + args.per_request]})
        for i, start in enumerate(range(0, len(records), args.per_request))
    ]
    service = Service(store, _free_port(), calls_log, args.batch_size)
    first_start = service.start()
    print(f"service up in {first_start:.1f} s at {service.base}; {len(records)} articles in {len(requests)} requests")

    lock = threading.Lock()
    pending = list(range(len(requests)))
    job_of: dict[str, str] = {}
    latencies: list[float] = []
    counts: Counter[str] = Counter()
    kill_after = max(1, int(len(requests) * args.kill_at))
    killed = threading.Event()
    timeline: dict[str, float] = {}

    def post(client: httpx.Client, key: str, body: dict[str, Any]) -> str:
        """Post until a 202, retrying under the same key (the kill drops connections)."""
        delay = 0.05
        while True:
            sent = time.monotonic()
            try:
                response = client.post("/v1/articles", json=body, headers={"Idempotency-Key": key})
            except httpx.TransportError:
                with lock:
                    counts["retried_after_transport_error"] += 1
                time.sleep(delay)
                delay = min(1.0, delay * 2)
                continue
            if response.status_code == 202:
                with lock:
                    latencies.append(time.monotonic() - sent)
                    if response.headers.get("idempotent-replayed"):
                        counts["answered_as_replay"] += 1
                return str(response.json()["job"]["id"])
            with lock:
                counts[f"status_{response.status_code}"] += 1
            if response.status_code == 409:
                raise RuntimeError(f"{key}: 409 for its own body")
            time.sleep(delay)
            delay = min(1.0, delay * 2)

    def client_loop() -> None:
        with httpx.Client(base_url=service.base, timeout=60) as client:
            while True:
                with lock:
                    if not pending:
                        return
                    index = pending.pop(0)
                key, body = requests[index]
                job_id = post(client, key, body)
                if index % args.retry_every == 0:  # the client did not trust the first answer
                    again = post(client, key, body)
                    with lock:
                        counts["retried_on_purpose"] += 1
                        counts["same_job_on_retry" if again == job_id else "other_job_on_retry"] += 1
                with lock:
                    job_of[key] = job_id
                    if len(job_of) >= kill_after and not killed.is_set():
                        killed.set()

    def killer() -> None:
        killed.wait()
        timeline["killed_at"] = time.monotonic() - t0
        with Session(engine) as s:
            counts["jobs_unfinished_at_kill"] = int(
                s.scalar(select(func.count()).select_from(JobRow).where(JobRow.status.in_(("queued", "running")))) or 0
            )
        service.kill()
        timeline["restart_seconds"] = service.start()

    engine = create_engine(store)
    t0 = time.monotonic()
    threads = [threading.Thread(target=client_loop) for _ in range(args.clients)]
    kill_thread = threading.Thread(target=killer)
    kill_thread.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    kill_thread.join()
    timeline["posted"] = time.monotonic() - t0
    print(f"all {len(requests)} requests accepted in {timeline['posted']:.1f} s; waiting for the jobs")

    with httpx.Client(base_url=service.base, timeout=60) as client:
        statuses: dict[str, dict[str, Any]] = {}
        last_report = time.monotonic()
        while len(statuses) < len(job_of):
            for key, job_id in job_of.items():
                if key in statuses:
                    continue
                job = client.get(f"/v1/jobs/{job_id}").json()
                if job["status"] in ("done", "failed"):
                    statuses[key] = job
            if time.monotonic() - last_report > 30:
                print(f"  {len(statuses)}/{len(job_of)} jobs finished at {time.monotonic() - t0:.0f} s", flush=True)
                last_report = time.monotonic()
            time.sleep(0.5)
    timeline["drained"] = time.monotonic() - t0
    service.stop()

    with Session(engine) as s:
        article_ids = list(s.scalars(select(ArticleRow.id)))
        claim_rows = list(s.execute(select(ClaimRow.id, ClaimRow.article_id, ClaimRow.doc)))
        jobs = list(s.execute(select(JobRow.idempotency_key, JobRow.status, JobRow.attempts)))
    engine.dispose()
    added = Counter(a for job in statuses.values() for a in job["added"])
    # one line per extraction request: (article, chunk) twice means the article was extracted again
    extract_calls = Counter(tuple(line.split("\t")) for line in Path(calls_log).read_text().splitlines() if line)
    claim_keys = Counter((row.article_id, row.doc["text"], row.doc["quote"]) for row in claim_rows)
    expected = {r["id"] for r in records}
    checks = {
        "every_article_archived_once": Counter(article_ids) == Counter(expected),
        "every_article_added_by_exactly_one_job": set(added) == expected and max(added.values()) == 1,
        "no_job_lost": set(job_of) == {k for k, *_ in jobs} == {k for k, _ in requests},
        "one_job_per_key": len(jobs) == len(requests),
        "every_job_done": all(j["status"] == "done" for j in statuses.values()),
        "no_failure": all(not j["failures"] for j in statuses.values()),
        "no_duplicate_claim": len({r.id for r in claim_rows}) == len(claim_rows) and max(claim_keys.values()) == 1,
        "retries_got_the_same_job": counts["other_job_on_retry"] == 0,
    }
    extracted_again = sorted({article for (article, _), n in extract_calls.items() if n > 1})
    results = {
        "command": " ".join(["python", "benchmarks/service_load.py", *sys.argv[1:]]),
        "articles": len(records),
        "requests": len(requests),
        "articles_per_request": args.per_request,
        "clients": args.clients,
        "store": store.split(":", 1)[0],
        "batch_size": args.batch_size,
        "seconds_to_accept_all_requests": round(timeline["posted"], 2),
        "seconds_until_all_jobs_done": round(timeline["drained"], 2),
        "articles_per_second": round(len(records) / timeline["drained"], 2),
        "post_latency_seconds": {
            "p50": round(_percentile(latencies, 0.50), 4),
            "p95": round(_percentile(latencies, 0.95), 4),
            "max": round(max(latencies, default=0.0), 4),
        },
        "kill": {
            "at_seconds": round(timeline["killed_at"], 2),
            "after_jobs_accepted": kill_after,
            "jobs_unfinished_at_kill": counts["jobs_unfinished_at_kill"],
            "restart_seconds": round(timeline["restart_seconds"], 2),
            "jobs_resumed": sum(1 for *_, attempts in jobs if attempts > 1),
            "articles_extracted_again": len(extracted_again),
            "extraction_requests": sum(extract_calls.values()),
        },
        "retries": {
            "on_purpose_same_key": counts["retried_on_purpose"],
            "same_job_on_retry": counts["same_job_on_retry"],
            "after_transport_error": counts["retried_after_transport_error"],
            "answered_as_replay": counts["answered_as_replay"],
            "non_202_answers": {k: v for k, v in counts.items() if k.startswith("status_")},
        },
        "archive": {"articles": len(article_ids), "claims": len(claim_rows)},
        "checks": checks,
        "ok": all(checks.values()),
    }
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--per-request", type=int, default=5, help="articles per POST")
    parser.add_argument("--retry-every", type=int, default=7, help="every Nth request is sent twice")
    parser.add_argument("--kill-at", type=float, default=0.4, help="kill the service after this share of requests")
    parser.add_argument("--batch-size", type=int, default=8, help="articles per archive call in the worker")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--store", help="database URL (default: a SQLite file in a temporary folder)")
    parser.add_argument("--out", default=str(HERE / "results" / "service_load.json"))
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--calls-log", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.store, args.port, args.calls_log, args.batch_size)
        return 0
    results = run(args)
    print(json.dumps(results, indent=2))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0 if results["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
