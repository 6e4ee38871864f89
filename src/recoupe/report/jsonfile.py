"""The report as JSON: the pydantic model itself, the format ``recoupe check --json`` writes and
:meth:`recoupe.models.Report.model_validate_json` reads back. Strings are JSON-escaped, not
altered: this is the data, not a view of it."""

from __future__ import annotations

from ..models import Report

__all__ = ["to_json"]


def to_json(report: Report) -> str:
    """The report as JSON (the pydantic model, indented by 2)."""
    return report.model_dump_json(indent=2)
