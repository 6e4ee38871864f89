"""Batch-API round trips: every model request written as one JSONL file, answers loaded back into the cache.

A check through a batch runs in two rounds: :func:`prepare` writes every extraction request the
cache cannot answer; :func:`submit` / :func:`status` / :func:`collect` drive the OpenAI Files and
Batches endpoints (or ``vllm run-batch`` runs the file offline); :func:`import_results` loads the
answers into the response cache. Preparing again then writes the adjudication requests of the
cross-check, and after their import ``recoupe check`` runs with no model call.
"""

from __future__ import annotations

from .capture import BatchRequest, Prepared, prepare
from .remote import BatchServiceError, Collected, collect, status, submit
from .results import BatchFileError, Imported, Problem, import_results

__all__ = [
    "BatchFileError",
    "BatchRequest",
    "BatchServiceError",
    "Collected",
    "Imported",
    "Prepared",
    "Problem",
    "collect",
    "import_results",
    "prepare",
    "status",
    "submit",
]
