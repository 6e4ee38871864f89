"""What the service answers, as pydantic models for the OpenAPI description."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from ..models import Claim

__all__ = ["ClaimsOut", "Health", "JobEnvelope", "JobFailure", "JobOut", "Problem"]


class Health(BaseModel):
    status: Literal["ok"] = "ok"


class JobFailure(BaseModel):
    article: str | None = Field(description="the article id (or where it was in the request)")
    stage: str | None = Field(default=None, description="where it failed: load, extract")
    reason: str


class JobOut(BaseModel):
    id: str
    status: Literal["queued", "running", "done", "failed"]
    articles: list[str] = Field(description="the ids of the articles the job adds, in request order")
    added: list[str] = Field(description="articles the job added to the archive")
    unchanged: list[str] = Field(description="articles the archive held already (nothing done)")
    failures: list[JobFailure] = Field(description="articles that could not be added, and why")
    changes: list[dict[str, Any]] = Field(description="the facts the job created or changed (FactChange)")
    error: str | None = Field(description="why a failed job stopped")
    attempts: int
    created_at: str | None
    started_at: str | None
    finished_at: str | None


class JobEnvelope(BaseModel):
    job: JobOut


class ClaimsOut(BaseModel):
    article: str
    claims: list[Claim]


class Problem(BaseModel):
    """An error, as RFC 9457 problem details (``application/problem+json``)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] | None = Field(default=None, description="each problem of a 422: loc, msg")
