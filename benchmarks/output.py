"""What every benchmark script does with its result: one JSON file, indented, newline-terminated."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def save_result(result: dict[str, Any], out: str | Path | None) -> None:
    """Write ``result`` to ``out`` as indented JSON (nothing when ``out`` is not given)."""
    if out:
        Path(out).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
