"""Prompt templates: files under ``prompts/``, versioned in their names, rendered strictly."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2

from ..errors import ConfigError

__all__ = ["Prompt", "load_prompt", "prompts_dir"]

_SECTION = re.compile(r"^=== (system|user) ===\s*$", re.MULTILINE)
_ENV = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=False, autoescape=False)


def prompts_dir() -> Path:
    """The prompt folder: inside the installed wheel, else the checkout's top-level ``prompts/``."""
    packaged = resources.files("recoupe") / "prompts"
    if packaged.is_dir():
        return Path(str(packaged))
    checkout = Path(__file__).resolve().parents[3] / "prompts"
    if checkout.is_dir():
        return checkout
    raise ConfigError("prompt folder not found (neither in the package nor in the checkout)")


@dataclass(frozen=True)
class Prompt:
    """A chat prompt with a system and a user template. ``id`` is the file stem, e.g.
    ``extract_claims.v1``; ``sha256`` is the hash of the file, recorded in every cache key and
    result file."""

    id: str
    sha256: str
    system: jinja2.Template
    user: jinja2.Template

    def render(self, **variables: Any) -> list[dict[str, str]]:
        try:
            return [
                {"role": "system", "content": self.system.render(**variables).strip()},
                {"role": "user", "content": self.user.render(**variables).strip()},
            ]
        except jinja2.UndefinedError as exc:
            raise ConfigError(f"prompt {self.id}: {exc.message}") from None


@lru_cache(maxsize=16)
def load_prompt(prompt_id: str) -> Prompt:
    """Load and validate ``prompts/<prompt_id>.md`` (sections ``=== system ===`` and
    ``=== user ===``)."""
    path = prompts_dir() / f"{prompt_id}.md"
    if not path.is_file():
        raise ConfigError(f"prompt {prompt_id!r} not found in {path.parent}")
    source = path.read_text(encoding="utf-8")
    parts = _SECTION.split(source)
    # parts: [preamble, name, body, name, body]
    sections = {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}
    if set(sections) != {"system", "user"}:
        raise ConfigError(f"prompt {path.name}: needs exactly a '=== system ===' and a '=== user ===' section")
    try:
        system = _ENV.from_string(sections["system"])
        user = _ENV.from_string(sections["user"])
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(f"prompt {path.name}, line {exc.lineno}: {exc.message}") from None
    return Prompt(
        id=prompt_id,
        sha256=hashlib.sha256(source.encode()).hexdigest(),
        system=system,
        user=user,
    )
