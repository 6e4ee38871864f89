"""The whole check on a Ray cluster, and writing into a shared archive."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..models import Extraction, Report
from .crosscheck import crosscheck
from .extraction import DEFAULT_BATCH_SIZE, extract
from .workers import ModelSpec

if TYPE_CHECKING:
    from ..archive import Archive
    from ..archive.types import AddReport

__all__ = ["add_to_archive", "check"]


def check(
    articles: Any,
    model: ModelSpec,
    *,
    adjudicate: bool = True,
    model_contradictions: bool = False,
    chunk_chars: int | None = None,
    workers: int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> Report:
    """:func:`recoupe.check` on the cluster: extraction as a map over articles, then the
    distributed cross-check (:func:`recoupe.distributed.crosscheck`); nothing is stored."""
    extraction = extract(articles, model, chunk_chars=chunk_chars, workers=workers, batch_size=batch_size)
    return crosscheck(
        extraction, model, adjudicate=adjudicate, model_contradictions=model_contradictions, workers=workers
    )


def add_to_archive(
    archive: Archive,
    articles: Any,
    model: ModelSpec,
    *,
    chunk_chars: int | None = None,
    workers: int | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> AddReport:
    """Extract ``articles`` on the cluster, then store them through
    :meth:`~recoupe.archive.Archive.add_extracted` from this process.

    Extraction, the expensive part, is spread over the workers; the archive's incremental check
    (pairing each new claim with the stored claims of its blocks, rebuilding the facts it touches)
    runs here, one article at a time in one transaction each: an archive has one writer (on
    PostgreSQL, an advisory lock keeps it so across processes). Adjudication during the
    incremental check uses ``archive.model``. Articles the archive already holds are not sent to
    the workers; extraction failures are in the report's ``failures``.
    """
    from ..extraction.driver import admit
    from .extraction import load_items

    items = load_items(articles)
    extraction = Extraction()
    good = admit(items, extraction.failures)
    known = set(archive.articles())
    fresh = [a for a in good if a.id not in known]
    held = [a for a in good if a.id in known]
    if fresh:
        done = extract(fresh, model, chunk_chars=chunk_chars, workers=workers, batch_size=batch_size)
        extraction.articles.extend(done.articles)
        extraction.failures.extend(done.failures)
        extraction.model, extraction.prompts, extraction.usage = done.model, done.prompts, done.usage
    # articles already archived: the archive says whether they are unchanged or a new version
    from ..models import ArticleClaims

    extraction.articles.extend(ArticleClaims(article=a, claims=[]) for a in held)
    report = archive.add_extracted(extraction)
    if fresh:
        report.usage.add(extraction.usage)
    return report
