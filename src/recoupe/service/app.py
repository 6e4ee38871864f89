"""The HTTP service over the claim archive (FastAPI).

``create_app(archive)`` builds it: ``POST /v1/articles`` queues a job that a worker thread runs
against the archive (:mod:`.jobs`); the other routes read the archive. Every error is RFC 9457
problem details (``application/problem+json``); a traceback never reaches a client (it goes to the
service log). With API keys, every route but ``/healthz`` and the review page's shell (``/``, which
holds no data and asks for the key) needs ``Authorization: Bearer <key>``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping, Sequence
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Annotated, Any

from fastapi import FastAPI, Header, Query, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.security import HTTPBearer
from sqlalchemy.exc import OperationalError
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..archive import Archive, ArchiveStats, FactDetail, FactPage
from ..errors import RecoupeError
from ..models import Article, Verdict
from .config import DEFAULT_MAX_BODY, api_keys_from_env
from .jobs import IdempotencyConflict, JobStore, Worker
from .page import content_security_policy, review_page
from .schemas import ClaimsOut, Health, JobEnvelope, JobOut, Problem
from .validation import ARTICLES_BODY_SCHEMA, BodyError, parse_articles

__all__ = ["DEFAULT_MAX_BODY", "OPEN_PATHS", "api_keys_from_env", "create_app", "problem"]

log = logging.getLogger(__name__)

#: Routes open without a key: the health check, and the review page's shell (no data in it).
OPEN_PATHS = frozenset({"/healthz", "/"})
PROBLEM = "application/problem+json"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def problem(
    status: int,
    detail: str,
    *,
    type_: str = "about:blank",
    title: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    """An RFC 9457 problem details response."""
    body = {"type": type_, "title": title or HTTPStatus(status).phrase, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()


class _Guard:
    """ASGI middleware before anything reads the request: the API key, then the body size (by
    Content-Length, and by counting what arrives, for a chunked body)."""

    def __init__(self, app: ASGIApp, *, keys: Sequence[str], max_body: int) -> None:
        self.app = app
        self.keys = [_digest(k) for k in keys]
        self.max_body = max_body

    def _authorized(self, headers: Headers) -> bool:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return False
        given = _digest(token.strip())
        found = False
        for key in self.keys:  # every key is compared: the time does not say which one matched
            found |= hmac.compare_digest(given, key)
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if self.keys and scope["path"] not in OPEN_PATHS and not self._authorized(headers):
            detail = "this service needs an API key: send 'Authorization: Bearer <key>'"
            response = problem(401, detail, headers={"WWW-Authenticate": 'Bearer realm="recoupe"'})
            await response(scope, receive, send)
            return
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                await problem(400, "the Content-Length header is not a number")(scope, receive, send)
                return
            if int(length) > self.max_body:
                await self._too_large(scope, receive, send)
                return
        if scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client left
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > self.max_body:
                await self._too_large(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body: list[bytes] | None = [b"".join(chunks)]

        async def replay() -> Message:
            nonlocal body
            if body is not None:
                whole, body = body[0], None
                return {"type": "http.request", "body": whole, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        detail = f"the request body is larger than {self.max_body} bytes"
        await problem(413, detail, headers={"Connection": "close"})(scope, receive, send)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [{"loc": list(e.get("loc", ())), "msg": str(e.get("msg", ""))} for e in exc.errors()]


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).description
        return problem(exc.status_code, detail, headers=dict(exc.headers or {}))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = _validation_errors(exc)
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(part) for part in first["loc"])
        return problem(422, f"{where}: {first['msg']}", type_="urn:recoupe:problem:invalid-request", errors=errors)

    @app.exception_handler(BodyError)
    async def invalid_body(_: Request, exc: BodyError) -> JSONResponse:
        return problem(422, exc.detail, type_="urn:recoupe:problem:invalid-articles", errors=exc.errors)

    @app.exception_handler(IdempotencyConflict)
    async def key_reused(_: Request, exc: IdempotencyConflict) -> JSONResponse:
        detail = "this Idempotency-Key was already used with another body; use a new key for a new request"
        return problem(409, detail, type_="urn:recoupe:problem:idempotency-key-reused", job=exc.job_id)

    @app.exception_handler(OperationalError)
    async def database_busy(_: Request, exc: OperationalError) -> JSONResponse:
        log.error("database error: %s", type(exc.orig).__name__ if exc.orig is not None else exc)
        return problem(503, "the archive's database is busy or unreachable; try again", headers={"Retry-After": "5"})

    @app.exception_handler(Exception)
    async def internal_error(_: Request, exc: Exception) -> JSONResponse:
        # the server logs the traceback; the client is told only that it happened
        return problem(500, "an internal error occurred; it is in the service log")


def _not_found(what: str, ident: str) -> JSONResponse:
    return problem(404, f"no {what} {ident!r}")


PROBLEMS: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "content": {PROBLEM: {}}, "description": HTTPStatus(status).phrase}
    for status in (401, 404, 413, 422)
}


def create_app(
    archive: Archive,
    *,
    api_keys: Sequence[str] | None = None,
    max_body: int = DEFAULT_MAX_BODY,
    run_worker: bool = True,
    batch_size: int = 8,
    poll_seconds: float = 1.0,
) -> FastAPI:
    """The service over ``archive`` (its ``engine`` holds the job queue too).

    ``api_keys``: the accepted keys; None reads ``RECOUPE_API_KEYS``, an empty list opens the
    service to anyone who reaches it. ``max_body``: the largest body taken, in bytes (413 above).
    ``run_worker``: run the jobs (started and stopped with the application's lifespan); without it
    jobs stay queued, for another process or a later start. ``batch_size``: articles per call to
    ``archive.add`` (a job's progress is saved after each); ``poll_seconds``: how often the worker
    looks for jobs queued by another process.
    """
    keys = api_keys_from_env() if api_keys is None else [k for k in api_keys if k]
    store = JobStore(archive.engine)
    worker = Worker(archive, store, batch_size=batch_size, poll_seconds=poll_seconds)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if run_worker:
            await run_in_threadpool(worker.start)
        try:
            yield
        finally:
            if run_worker:
                await run_in_threadpool(worker.stop, 30.0)

    bearer = HTTPBearer(auto_error=False, description="one of the keys of RECOUPE_API_KEYS, when it is set")
    app = FastAPI(
        title="recoupe",
        summary="Source-grounded claims and cross-checked facts, over the claim archive.",
        version="1",
        lifespan=lifespan,
        responses=PROBLEMS,
    )
    app.state.archive = archive
    app.state.jobs = store
    app.state.worker = worker
    app.add_middleware(_Guard, keys=keys, max_body=max_body)
    _install_error_handlers(app)
    page, csp = review_page(), content_security_policy()
    secured = [Security(bearer)] if keys else []

    @app.get("/healthz", response_model=Health, tags=["service"])
    def healthz() -> Health:
        """The service is up (no key needed)."""
        return Health()

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def review() -> HTMLResponse:
        return HTMLResponse(page, headers={"Cache-Control": "no-store", "Content-Security-Policy": csp})

    @app.post(
        "/v1/articles",
        status_code=202,
        response_model=JobEnvelope,
        tags=["articles"],
        dependencies=secured,
        openapi_extra={
            "requestBody": {"required": True, "content": {"application/json": {"schema": ARTICLES_BODY_SCHEMA}}}
        },
        responses={409: {"model": Problem, "content": {PROBLEM: {}}, "description": "Idempotency-Key reused"}},
    )
    async def post_articles(
        request: Request,
        idempotency_key: Annotated[
            str | None,
            Header(
                alias="Idempotency-Key",
                min_length=1,
                max_length=200,
                description="the same key and body again give the same job; the same key with another body is a 409",
            ),
        ] = None,
    ) -> JSONResponse:
        """Queue a job that adds the articles to the archive (extraction and cross-check); 202
        with the job and its ``Location``. The articles are checked as the command line checks
        a JSON file of articles; any bad one makes the whole request a 422 naming each."""
        articles = parse_articles(await request.body())
        job, created = await run_in_threadpool(store.submit, articles, idempotency_key)
        if created:
            worker.wake()
            log.info("job %s queued: %d article(s)", job["id"], len(articles))
        headers = {"Location": f"/v1/jobs/{job['id']}"}
        if not created:
            headers["Idempotent-Replayed"] = "true"
        return JSONResponse({"job": job}, status_code=202, headers=headers)

    @app.get("/v1/jobs/{job_id}", response_model=JobOut, tags=["articles"], dependencies=secured)
    def get_job(job_id: str) -> Any:
        """A job: queued, running, done or failed, with the articles added, unchanged or failed."""
        job = store.get(job_id)
        return JSONResponse(job) if job is not None else _not_found("job", job_id)

    @app.get("/v1/articles/{article_id:path}/claims", response_model=ClaimsOut, tags=["archive"], dependencies=secured)
    def get_claims(article_id: str) -> Any:
        """An archived article's claims, each with its quote and its span in the text."""
        claims = archive.claims(article_id)
        if claims is None:
            return _not_found("article", article_id)
        return JSONResponse({"article": article_id, "claims": [c.model_dump(mode="json") for c in claims]})

    @app.get("/v1/articles/{article_id:path}", response_model=Article, tags=["archive"], dependencies=secured)
    def get_article(article_id: str) -> Any:
        """An archived article, as it was added."""
        article = archive.article(article_id)
        return (
            JSONResponse(article.model_dump(mode="json")) if article is not None else _not_found("article", article_id)
        )

    @app.get("/v1/facts", response_model=FactPage, tags=["archive"], dependencies=secured)
    def get_facts(
        verdict: Annotated[Verdict | None, Query(description="only facts with this verdict")] = None,
        article: Annotated[str | None, Query(description="only facts with a member from this article")] = None,
        limit: Annotated[int, Query(ge=1, le=500, description="facts per page")] = 50,
        cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
    ) -> Any:
        """Facts, conflicts first, a page at a time: ``{"facts": [...], "next_cursor"}``."""
        try:
            page = archive.facts(
                verdict=verdict.value if verdict else None, article=article, limit=limit, cursor=cursor
            )
        except RecoupeError:
            return problem(422, "the cursor is not one this service gave", type_="urn:recoupe:problem:invalid-request")
        return JSONResponse(page.model_dump(mode="json"))

    @app.get("/v1/facts/{fact_id}", response_model=FactDetail, tags=["archive"], dependencies=secured)
    def get_fact(fact_id: str) -> Any:
        """A fact with its members (each claim with its quote, span, article, outlet, relation and
        origin) and its history; an id a later fact replaced leads to that fact."""
        detail = archive.fact(fact_id)
        return JSONResponse(detail.model_dump(mode="json")) if detail is not None else _not_found("fact", fact_id)

    @app.get("/v1/stats", response_model=ArchiveStats, tags=["archive"], dependencies=secured)
    def get_stats() -> Any:
        """How many articles and claims the archive holds, and its facts by verdict."""
        return JSONResponse(archive.stats().model_dump(mode="json"))

    return app
