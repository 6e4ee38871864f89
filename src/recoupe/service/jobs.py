"""The service's jobs: articles to add to the archive, queued in the archive's own database (the
``jobs`` table) and run by one worker thread.

The table is the queue, so nothing is kept only in memory: a job is inserted before the request is
answered, claimed by a conditional update (``queued`` → ``running``), and its progress is written
after every batch of articles. A running job names its worker and holds a lease
(:data:`LEASE_SECONDS`) that the worker renews while it runs, so several services can share one
archive: a job whose lease ran out (its worker died, on this machine or another) is taken again by
any worker, and at startup the jobs a dead process of this machine left running are queued again
at once. A worker that lost its lease stops, and writes nothing more to that job. A resumed job skips
the articles its earlier attempts recorded, and the archive itself skips an article it already
holds, so no article is processed twice.

An ``Idempotency-Key`` is a unique column: two identical requests racing each other insert one job
(the loser's :class:`~sqlalchemy.exc.IntegrityError` makes it read the winner's), and a key sent
again with another body is refused (:class:`IdempotencyConflict`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import socket
import threading
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from ..archive import Archive
from ..archive.schema import JobRow, utcnow
from ..errors import RecoupeError
from ..models import Article

__all__ = [
    "LEASE_SECONDS",
    "MAX_ATTEMPTS",
    "IdempotencyConflict",
    "JobStore",
    "Worker",
    "body_sha256",
    "job_view",
]

log = logging.getLogger(__name__)

#: A job whose attempts all ended with the process (killed, out of memory) is not tried forever.
MAX_ATTEMPTS = 5
#: How long a worker holds a job without renewing its lease (it renews every third of it).
LEASE_SECONDS = 60.0
#: Job statuses; ``queued`` and ``running`` are unfinished.
QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


class IdempotencyConflict(Exception):
    """An Idempotency-Key already names a job of another body."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(f"the Idempotency-Key was already used for job {job_id} with another body")


def body_sha256(articles: Sequence[Article]) -> str:
    """The hash of a request's articles as validated (key order and whitespace do not count)."""
    canonical = json.dumps(
        [a.model_dump(mode="json", exclude_none=True) for a in articles],
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


def _iso(value: dt.datetime | None) -> str | None:
    """An ISO 8601 UTC time; SQLite gives back naive datetimes, which are UTC here."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _empty_result() -> dict[str, Any]:
    return {"added": [], "unchanged": [], "failures": [], "changes": []}


def job_view(row: JobRow) -> dict[str, Any]:
    """A job as the API shows it."""
    result = row.result or _empty_result()
    articles = [a.get("id") for a in (row.request or {}).get("articles", [])]
    return {
        "id": row.id,
        "status": row.status,
        "articles": articles,
        "added": list(result.get("added", [])),
        "unchanged": list(result.get("unchanged", [])),
        "failures": list(result.get("failures", [])),
        "changes": list(result.get("changes", [])),
        "error": row.error,
        "attempts": row.attempts,
        "created_at": _iso(row.created_at),
        "started_at": _iso(row.started_at),
        "finished_at": _iso(row.finished_at),
    }


def _merge(result: dict[str, Any], report: dict[str, Any]) -> dict[str, Any]:
    """``result`` with one :class:`AddReport` (as JSON) added to it."""
    added = [*result["added"], *report.get("added", [])]
    seen = set(added)
    unchanged = [*result["unchanged"], *(a for a in report.get("unchanged", []) if a not in seen)]
    failures = [
        *result["failures"],
        *(
            {"article": f.get("article_id") or f.get("source"), "stage": f.get("stage"), "reason": f.get("reason")}
            for f in report.get("failures", [])
        ),
    ]
    return {
        "added": added,
        "unchanged": unchanged,
        "failures": failures,
        "changes": [*result["changes"], *report.get("changes", [])],
    }


def _recorded(result: dict[str, Any]) -> set[str]:
    """The article ids a job's earlier attempts have an outcome for."""
    return {*result["added"], *result["unchanged"], *(f["article"] for f in result["failures"] if f.get("article"))}


def worker_id() -> str:
    """A worker's name in the job table: its machine, its process and a token of its own."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _dead_here(worker: str | None) -> bool:
    """Whether ``worker`` ran in a process of this machine that no longer exists."""
    if worker is None:
        return True
    host, _, rest = worker.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


class JobStore:
    """The ``jobs`` table of the archive's database, as seen by one worker (``worker``) that holds
    the jobs it runs for ``lease_seconds`` at a time."""

    def __init__(self, engine: Engine, *, worker: str | None = None, lease_seconds: float = LEASE_SECONDS) -> None:
        self.engine = engine
        self.worker = worker or worker_id()
        self.lease_seconds = lease_seconds

    def _lease(self) -> dt.datetime:
        return utcnow() + dt.timedelta(seconds=self.lease_seconds)

    @staticmethod
    def _abandoned(now: dt.datetime) -> Any:
        """Running under a lease that ran out (or none: a job of an older version)."""
        return (JobRow.status == RUNNING) & (JobRow.lease_until.is_(None) | (JobRow.lease_until < now))

    @classmethod
    def _takeable(cls, now: dt.datetime) -> Any:
        """Queued, or abandoned."""
        return or_(JobRow.status == QUEUED, cls._abandoned(now))

    def submit(self, articles: Sequence[Article], idempotency_key: str | None) -> tuple[dict[str, Any], bool]:
        """Queue a job for ``articles``; returns it and whether it was created now (False: the key
        named it already, with the same body). Raises :class:`IdempotencyConflict`."""
        digest = body_sha256(articles)
        if idempotency_key is not None:
            existing = self._by_key(idempotency_key)
            if existing is not None:
                return self._replay(existing, digest), False
        row = JobRow(
            id=uuid.uuid4().hex,
            idempotency_key=idempotency_key,
            body_sha256=digest,
            status=QUEUED,
            created_at=utcnow(),
            attempts=0,
            request={"articles": [a.model_dump(mode="json", exclude_none=True) for a in articles]},
            result=None,
        )
        try:
            with Session(self.engine) as session, session.begin():
                session.add(row)
                session.flush()
                view = job_view(row)
        except IntegrityError:
            # An identical request won the race for this key between our read and our insert.
            if idempotency_key is None:
                raise
            existing = self._by_key(idempotency_key)
            if existing is None:
                raise
            return self._replay(existing, digest), False
        return view, True

    @staticmethod
    def _replay(existing: JobRow, digest: str) -> dict[str, Any]:
        if existing.body_sha256 != digest:
            raise IdempotencyConflict(existing.id)
        return job_view(existing)

    def _by_key(self, key: str) -> JobRow | None:
        with Session(self.engine) as session:
            row = session.scalars(select(JobRow).where(JobRow.idempotency_key == key)).one_or_none()
            if row is not None:
                session.expunge(row)
            return row

    def get(self, job_id: str) -> dict[str, Any] | None:
        with Session(self.engine) as session:
            row = session.get(JobRow, job_id)
            return job_view(row) if row is not None else None

    def requeue_unfinished(self) -> int:
        """Queue again the running jobs nobody holds any more: their lease ran out, or their
        worker was a process of this machine that is gone (a restart after a kill resumes them
        at once). Returns how many."""
        now = utcnow()
        with Session(self.engine) as session, session.begin():
            running = session.execute(select(JobRow.id, JobRow.worker).where(JobRow.status == RUNNING)).tuples()
            dead = [job_id for job_id, worker in running if _dead_here(worker)]
            done = session.execute(
                update(JobRow)
                .where(self._abandoned(now) | ((JobRow.status == RUNNING) & JobRow.id.in_(dead)))
                .values(status=QUEUED, worker=None, lease_until=None)
            )
            return int(getattr(done, "rowcount", 0) or 0)

    def unfinished(self) -> int:
        with Session(self.engine) as session:
            return len(session.scalars(select(JobRow.id).where(JobRow.status.in_((QUEUED, RUNNING)))).all())

    def claim(self) -> tuple[str, list[Article], dict[str, Any]] | None:
        """Take the oldest job that is queued or whose lease ran out (→ running, under this
        worker's lease): its id, the articles it has still to add, and what its earlier attempts
        recorded. None when there is none."""
        while True:
            now = utcnow()
            with Session(self.engine) as session:
                row = session.scalars(
                    select(JobRow).where(self._takeable(now)).order_by(JobRow.created_at, JobRow.id).limit(1)
                ).first()
                if row is None:
                    return None
                job_id, attempts = row.id, row.attempts
                request, result = row.request, row.result or _empty_result()
            with Session(self.engine) as session, session.begin():
                taken = session.execute(
                    update(JobRow)
                    .where(JobRow.id == job_id, JobRow.attempts == attempts, self._takeable(now))
                    .values(
                        status=RUNNING,
                        started_at=utcnow(),
                        attempts=attempts + 1,
                        worker=self.worker,
                        lease_until=self._lease(),
                    )
                )
            if not getattr(taken, "rowcount", 0):
                continue  # another worker took it first
            if attempts >= MAX_ATTEMPTS:
                self.finish(job_id, result, error=f"gave up after {attempts} attempts that did not finish")
                continue
            recorded = _recorded(result)
            articles = [Article.model_validate(a) for a in request["articles"] if a.get("id") not in recorded]
            return job_id, articles, result

    def _mine(self, job_id: str, **values: Any) -> bool:
        """Write ``values`` to a job this worker holds; False when it holds it no more."""
        with Session(self.engine) as session, session.begin():
            done = session.execute(
                update(JobRow)
                .where(JobRow.id == job_id, JobRow.worker == self.worker, JobRow.status == RUNNING)
                .values(**values)
            )
            return bool(getattr(done, "rowcount", 0))

    def renew(self, job_id: str) -> bool:
        """Extend this worker's lease on a job; False when another worker holds it now."""
        return self._mine(job_id, lease_until=self._lease())

    def progress(self, job_id: str, result: dict[str, Any]) -> bool:
        return self._mine(job_id, result=result, lease_until=self._lease())

    def finish(self, job_id: str, result: dict[str, Any], *, error: str | None = None) -> bool:
        status = FAILED if error else DONE
        return self._mine(
            job_id, status=status, result=result, error=error, finished_at=utcnow(), worker=None, lease_until=None
        )

    def release(self, job_id: str, result: dict[str, Any]) -> bool:
        """Put a job the worker stopped in the middle of back in the queue."""
        return self._mine(job_id, status=QUEUED, result=result, worker=None, lease_until=None)


class Worker:
    """One thread that runs the queued jobs, ``batch_size`` articles per call to ``archive.add``."""

    def __init__(self, archive: Archive, store: JobStore, *, batch_size: int = 8, poll_seconds: float = 1.0):
        self.archive = archive
        self.store = store
        self.batch_size = max(1, batch_size)
        self.poll_seconds = poll_seconds
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        requeued = self.store.requeue_unfinished()
        if requeued:
            log.info("resuming %d unfinished job(s)", requeued)
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="recoupe-jobs", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float | None = None) -> None:
        """Stop after the batch in progress; the job it belongs to goes back to the queue."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                claimed = self.store.claim()
            except Exception:  # the database went away for a moment: try again later
                log.exception("cannot read the job queue")
                claimed = None
            if claimed is None:
                self._wake.wait(self.poll_seconds)
                self._wake.clear()
                continue
            self._run_job(*claimed)

    def _heartbeat(self, job_id: str, lost: threading.Event, done: threading.Event) -> None:
        """Renew the lease on ``job_id`` every third of it until ``done``; set ``lost`` when
        another worker holds the job now."""
        while not done.wait(self.store.lease_seconds / 3):
            try:
                if not self.store.renew(job_id):
                    lost.set()
                    return
            except Exception:  # the database is busy or gone for a moment: renew at the next beat
                log.warning("job %s: cannot renew its lease now", job_id, exc_info=True)

    def _run_job(self, job_id: str, articles: list[Article], result: dict[str, Any]) -> None:
        lost, done = threading.Event(), threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(job_id, lost, done), name="recoupe-lease", daemon=True)
        beat.start()
        try:
            self._run_batches(job_id, articles, result, lost)
        finally:
            done.set()
            beat.join()

    def _run_batches(self, job_id: str, articles: list[Article], result: dict[str, Any], lost: threading.Event) -> None:
        log.info("job %s: %d article(s) to add", job_id, len(articles))
        try:
            for start in range(0, len(articles), self.batch_size):
                if lost.is_set():
                    break
                if self._stop.is_set():
                    self.store.release(job_id, result)
                    log.info("job %s: stopped; queued again", job_id)
                    return
                report = self.archive.add(articles[start : start + self.batch_size])
                result = _merge(result, report.model_dump(mode="json"))
                if not self.store.progress(job_id, result):
                    lost.set()
        except OperationalError:  # the database is busy or gone: the job is tried again later
            log.exception("job %s: database error; queued again", job_id)
            try:
                self.store.release(job_id, result)
            except Exception:
                log.exception("job %s: cannot queue it again; it resumes at the next start", job_id)
            self._stop.wait(self.poll_seconds)
            return
        except RecoupeError as exc:
            log.warning("job %s failed: %s", job_id, exc)
            self._finish(job_id, result, str(exc))
            return
        except Exception as exc:
            log.exception("job %s failed", job_id)
            self._finish(job_id, result, f"internal error ({type(exc).__name__}); see the service log")
            return
        if lost.is_set():
            log.warning("job %s: its lease ran out and another worker holds it now; left to it", job_id)
            return
        self._finish(job_id, result, None)
        log.info("job %s: done", job_id)

    def _finish(self, job_id: str, result: dict[str, Any], error: str | None) -> None:
        try:
            if not self.store.finish(job_id, result, error=error):
                log.warning("job %s: another worker holds it now; its end is left to that worker", job_id)
        except Exception:  # the job stays running and is resumed when its lease runs out
            log.exception("job %s: cannot record its end", job_id)
