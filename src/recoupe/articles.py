"""Load and validate articles from .txt, .md, .json and .jsonl files or folders."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .errors import ArticleError
from .models import Article

__all__ = ["MAX_ARTICLE_BYTES", "SUFFIXES", "load_articles", "iter_articles", "discover"]

#: Larger files are refused: a news article is a few kilobytes; 2 MB is already a book.
MAX_ARTICLE_BYTES = 2_000_000
SUFFIXES = (".txt", ".md", ".json", ".jsonl")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")


def discover(paths: Iterable[str | Path]) -> list[Path]:
    """Expand folders into their article files (sorted, recursive); files are kept as given."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
            )
        else:
            found.append(path)
    return found


def _read_text(path: Path) -> str:
    if not path.exists():
        raise ArticleError(path, "no such file")
    if not path.is_file():
        raise ArticleError(path, "not a regular file")
    size = path.stat().st_size
    if size == 0:
        raise ArticleError(path, "empty file")
    if size > MAX_ARTICLE_BYTES:
        raise ArticleError(path, f"too large: {size} bytes (limit {MAX_ARTICLE_BYTES})")
    data = path.read_bytes()
    if b"\x00" in data[:8192]:
        raise ArticleError(path, "binary file (NUL bytes), not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArticleError(path, f"not UTF-8 (bad byte at offset {exc.start})") from None
    if not text.strip():
        raise ArticleError(path, "empty file (only whitespace)")
    return text


def _check_text(source: str, text: str) -> str:
    if not text.strip():
        raise ArticleError(source, "article text is empty")
    control = _CONTROL.findall(text)
    if len(control) > max(8, len(text) // 100):
        raise ArticleError(source, f"looks binary: {len(control)} control characters")
    return text


def _from_record(record: Any, source: str, default_id: str) -> Article:
    if not isinstance(record, dict):
        raise ArticleError(source, f"expected a JSON object, got {type(record).__name__}")
    if "text" not in record:
        raise ArticleError(source, "JSON object has no 'text' field")
    if not isinstance(record["text"], str):
        raise ArticleError(source, f"'text' must be a string, got {type(record['text']).__name__}")
    fields = {k: record[k] for k in ("id", "outlet", "url", "published", "language") if k in record}
    fields.setdefault("id", default_id)
    if not isinstance(fields["id"], str | int) or isinstance(fields["id"], bool):
        raise ArticleError(source, "'id' must be a string")
    fields["id"] = str(fields["id"])
    unknown = sorted(set(record) - {"id", "text", "outlet", "url", "published", "language"})
    if unknown:
        raise ArticleError(source, f"unknown field(s): {', '.join(unknown)}")
    try:
        return Article(text=_check_text(source, record["text"]), source=source, **fields)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ArticleError(source, problems) from None


def _front_matter(text: str) -> tuple[dict[str, str], int]:
    """Optional ``---`` block of ``key: value`` lines at the top of a .txt/.md file."""
    if not text.startswith("---\n"):
        return {}, 0
    end = text.find("\n---\n", 4)
    if end < 0:
        return {}, 0
    meta = {}
    for line in text[4:end].splitlines():
        key, sep, value = line.partition(":")
        if sep:
            meta[key.strip()] = value.strip()
    return meta, end + 5


def iter_file(path: Path) -> Iterator[Article | ArticleError]:
    """Yield the articles of one file; a bad record yields an ArticleError instead of stopping."""
    try:
        text = _read_text(path)
    except ArticleError as exc:
        yield exc
        return
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        any_line = False
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            any_line = True
            source = f"{path}:{n}"
            try:
                yield _from_record(json.loads(line), source, f"{path.stem}-{n}")
            except json.JSONDecodeError as exc:
                yield ArticleError(source, f"invalid JSON: {exc.msg}")
            except ArticleError as exc:
                yield exc
        if not any_line:
            yield ArticleError(path, "no JSON lines")
    elif suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            yield ArticleError(path, f"invalid JSON: {exc.msg} (line {exc.lineno})")
            return
        records = data if isinstance(data, list) else [data]
        for i, record in enumerate(records):
            source = str(path) if len(records) == 1 else f"{path}[{i}]"
            default_id = path.stem if len(records) == 1 else f"{path.stem}-{i}"
            try:
                yield _from_record(record, source, default_id)
            except ArticleError as exc:
                yield exc
    elif suffix in (".txt", ".md") or suffix == "":
        meta, body_start = _front_matter(text)
        record: dict[str, Any] = {"id": path.stem, "text": text[body_start:]}
        record.update({k: v for k, v in meta.items() if k in ("id", "outlet", "url", "published", "language")})
        try:
            yield _from_record(record, str(path), path.stem)
        except ArticleError as exc:
            yield exc
    else:
        yield ArticleError(path, f"unsupported file type {suffix!r} (use {', '.join(SUFFIXES)})")


def iter_articles(paths: Iterable[str | Path]) -> Iterator[Article | ArticleError]:
    """Yield every article found under ``paths``, or an ArticleError for each bad one, in order."""
    seen: set[str] = set()
    for path in discover(paths):
        for item in iter_file(path):
            if isinstance(item, Article):
                if item.id in seen:
                    yield ArticleError(item.source or item.id, f"duplicate article id {item.id!r}")
                    continue
                seen.add(item.id)
            yield item


def load_articles(*paths: str | Path, strict: bool = True) -> list[Article]:
    """Load articles from files or folders (``.txt``, ``.md``, ``.json``, ``.jsonl``).

    With ``strict=True`` (the default) the first bad file raises :class:`ArticleError`, which names
    the file and the problem; with ``strict=False`` bad files are skipped (use :func:`iter_articles`
    to see them).

    >>> articles = load_articles("seeds/")
    >>> articles[0].id
    '000_6aa68e9ac400efb7'
    """
    articles = []
    for item in iter_articles(paths):
        if isinstance(item, ArticleError):
            if strict:
                raise item
            continue
        articles.append(item)
    return articles
