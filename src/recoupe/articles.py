"""Load and validate articles from .txt, .md, .json and .jsonl files or folders."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .errors import ArticleError, ConfigError
from .models import Article

__all__ = ["MAX_ARTICLE_BYTES", "SUFFIXES", "discover", "iter_articles", "load_articles"]

#: Larger files are refused: a news article is a few kilobytes; 2 MB is already a book.
MAX_ARTICLE_BYTES = 2_000_000
SUFFIXES = (".txt", ".md", ".json", ".jsonl")
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
#: C0 and C1 control characters: never in an id
_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
#: a lone surrogate (only a JSON ``\\ud800`` escape makes one): not text, and cannot be written out
_SURROGATE = re.compile("[\ud800-\udfff]")
#: the first line of a front matter block: ``key: value``
_META_LINE = re.compile(r"[A-Za-z_][\w-]*[ \t]*:")
_FIELDS = ("id", "outlet", "url", "published", "language")


def _strerror(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _walk(root: Path) -> list[Path | ArticleError]:
    """The article files under the folder ``root`` (recursive, sorted), with an ArticleError in
    place of each folder that cannot be listed and of each symbolic link that leads out of
    ``root`` (not followed: a folder given to recoupe is what it reads, not what its links reach).
    A link to a folder inside ``root`` is not entered either: that folder is read where it is.
    A folder holding no article file is itself an ArticleError."""
    real_root = root.resolve()
    found: list[tuple[Path, Path | ArticleError]] = []
    ignored = 0
    pending = [root]
    while pending:
        folder = pending.pop()
        try:
            with os.scandir(folder) as scan:
                entries = list(scan)
        except OSError as exc:
            found.append((folder, ArticleError(folder, f"cannot read folder: {_strerror(exc)}")))
            continue
        for entry in entries:
            path = Path(entry.path)
            try:
                if entry.is_symlink():
                    try:
                        target = path.resolve()
                    except (OSError, RuntimeError):  # a loop of links
                        found.append((path, ArticleError(path, "symbolic link that loops: not followed")))
                        continue
                    if not target.is_relative_to(real_root):
                        found.append(
                            (path, ArticleError(path, f"symbolic link to {target}, outside {root}: not followed"))
                        )
                        continue
                    if target.is_dir():
                        continue
                    if not target.exists():
                        if path.suffix.lower() in SUFFIXES:
                            found.append((path, ArticleError(path, "broken symbolic link")))
                        continue
                if entry.is_dir():
                    pending.append(path)
                    continue
                if not entry.is_file():  # a socket, a pipe, a device: never opened
                    ignored += 1
                    continue
            except OSError as exc:
                found.append((path, ArticleError(path, f"cannot read: {_strerror(exc)}")))
                continue
            if path.suffix.lower() in SUFFIXES:
                found.append((path, path))
            else:
                ignored += 1
    if not found:
        others = f"; {ignored} other file(s) ignored" if ignored else ""
        return [ArticleError(root, f"no article found: no {', '.join(SUFFIXES)} file in this folder{others}")]
    return [item for _, item in sorted(found, key=lambda pair: pair[0])]


def _expand(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Path | ArticleError]:
    for raw in paths:
        path = Path(raw)
        try:
            is_dir = path.is_dir()
        except OSError:  # the read reports it, with its reason
            is_dir = False
        if is_dir:
            yield from _walk(path)
        else:
            yield path  # a file given by name is read, a link included


def discover(paths: Iterable[str | Path]) -> list[Path]:
    """Expand folders into their article files (sorted, recursive); files are kept as given.
    Links out of a folder and unreadable folders are left out (:func:`iter_articles` names them)."""
    return [p for p in _expand(_check_paths(paths)) if isinstance(p, Path)]


def _check_paths(paths: Any, parameter: str = "paths") -> list[str | os.PathLike[str]]:
    """``paths`` as a list of paths; one str or Path is one path, never a sequence of characters."""
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    elif paths is None or isinstance(paths, bytes | bytearray | dict) or not isinstance(paths, Iterable):
        raise ConfigError(
            f"{parameter}: expected a file or folder path, or an iterable of them, got {type(paths).__name__}"
        )
    checked: list[str | os.PathLike[str]] = []
    for item in paths:
        if not isinstance(item, str | os.PathLike) or not isinstance(os.fspath(item), str):
            raise ConfigError(f"{parameter}: expected a file or folder path (str or Path), got {type(item).__name__}")
        if not os.fspath(item):
            raise ConfigError(f"{parameter}: an empty string is not a path")
        checked.append(item)
    return checked


def _read_text(path: Path) -> str:
    try:
        if not path.exists():
            raise ArticleError(path, "broken symbolic link" if path.is_symlink() else "no such file")
        if not path.is_file():
            raise ArticleError(path, "not a regular file")
        size = path.stat().st_size
        if size == 0:
            raise ArticleError(path, "empty file")
        if size > MAX_ARTICLE_BYTES:
            raise ArticleError(path, f"too large: {size} bytes (limit {MAX_ARTICLE_BYTES})")
        data = path.read_bytes()
    except OSError as exc:
        raise ArticleError(path, f"cannot read: {_strerror(exc)}") from None
    if len(data) > MAX_ARTICLE_BYTES:  # it grew since
        raise ArticleError(path, f"too large: {len(data)} bytes (limit {MAX_ARTICLE_BYTES})")
    if b"\x00" in data:
        raise ArticleError(path, "binary file (NUL bytes), not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArticleError(path, f"not UTF-8 (bad byte at offset {exc.start})") from None
    if not text.strip():
        raise ArticleError(path, "empty file (only whitespace)")
    return text


def _unicode_problem(value: str) -> str | None:
    bad = _SURROGATE.search(value)
    return None if bad is None else f"is not valid Unicode (a lone surrogate at offset {bad.start()})"


def _check_text(source: str, text: str) -> str:
    if not text.strip():
        raise ArticleError(source, "article text is empty")
    problem = _unicode_problem(text)
    if problem:
        raise ArticleError(source, f"the text {problem}")
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
    fields = {k: record[k] for k in _FIELDS if k in record}
    fields.setdefault("id", default_id)
    if not isinstance(fields["id"], str | int) or isinstance(fields["id"], bool):
        raise ArticleError(source, "'id' must be a string")
    ident = fields["id"] = str(fields["id"])
    if not ident.strip():
        raise ArticleError(source, "'id' is empty")
    if _ANY_CONTROL.search(ident):
        raise ArticleError(source, "'id' holds control characters")
    for key, value in fields.items():
        problem = _unicode_problem(value) if isinstance(value, str) else None
        if problem:
            raise ArticleError(source, f"'{key}' {problem}")
    unknown = sorted(set(record) - {"id", "text", "outlet", "url", "published", "language"})
    if unknown:
        raise ArticleError(source, f"unknown field(s): {', '.join(unknown)}")
    try:
        return Article(text=_check_text(source, record["text"]), source=source, **fields)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ArticleError(source, problems) from None


def _front_matter(text: str, source: Path) -> tuple[dict[str, str], int]:
    """Optional ``---`` block of ``key: value`` lines at the top of a .txt/.md file, closed by a
    ``---`` line (LF or CRLF line endings); returns the metadata and where the body starts.

    A ``---`` whose next non-blank line is not ``key: value`` opens no block (a Markdown rule: the
    whole file is text); a block that is opened and never closed is an ArticleError.
    """
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].rstrip() != "---":
        return {}, 0
    first = next((line for line in lines[1:] if line.strip()), "")
    if not _META_LINE.match(first):
        return {}, 0
    meta: dict[str, str] = {}
    offset = len(lines[0])
    for line in lines[1:]:
        offset += len(line)
        if line.rstrip() == "---":
            return meta, offset
        key, sep, value = line.partition(":")
        if sep:
            meta[key.strip()] = value.strip()
    raise ArticleError(
        source,
        "front matter opened by '---' on line 1 is never closed (end it with a '---' line before the article text)",
    )


def _parse_json(text: str) -> Any:
    """``json.loads``, every failure a ValueError whose message says what is wrong."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON: {exc.msg} (line {exc.lineno})") from None
    except RecursionError:
        raise ValueError("invalid JSON: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise ValueError(f"invalid JSON: {str(exc).splitlines()[0]}") from None


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
        # lines end at \n (and \r\n) only: a JSON string may hold U+2028 and the like
        for n, line in enumerate(text.split("\n"), start=1):
            if not line.strip():
                continue
            any_line = True
            source = f"{path}:{n}"
            try:
                parsed = _parse_json(line)
            except ValueError as exc:
                yield ArticleError(source, str(exc).replace(" (line 1)", ""))
                continue
            try:
                yield _from_record(parsed, source, f"{path.stem}-{n}")
            except ArticleError as exc:
                yield exc
        if not any_line:
            yield ArticleError(path, "no JSON lines")
    elif suffix == ".json":
        try:
            data = _parse_json(text)
        except ValueError as exc:
            yield ArticleError(path, str(exc))
            return
        records = data if isinstance(data, list) else [data]
        if not records:
            yield ArticleError(path, "no article: the JSON list is empty")
        for i, item in enumerate(records):
            source = str(path) if len(records) == 1 else f"{path}[{i}]"
            default_id = path.stem if len(records) == 1 else f"{path.stem}-{i}"
            try:
                yield _from_record(item, source, default_id)
            except ArticleError as exc:
                yield exc
    elif suffix in (".txt", ".md") or suffix == "":
        try:
            meta, body_start = _front_matter(text, path)
        except ArticleError as exc:
            yield exc
            return
        record: dict[str, Any] = {"id": path.stem, "text": text[body_start:]}
        record.update({k: v for k, v in meta.items() if k in _FIELDS})
        try:
            yield _from_record(record, str(path), path.stem)
        except ArticleError as exc:
            yield exc
    else:
        yield ArticleError(path, f"unsupported file type {suffix!r} (use {', '.join(SUFFIXES)})")


def iter_articles(paths: str | Path | Iterable[str | Path]) -> Iterator[Article | ArticleError]:
    """Yield every article found under ``paths`` (one path, or an iterable of paths), or an
    ArticleError for each bad one, in order: a file that cannot be read, a folder that cannot be
    listed or holds no article, a link out of a folder (not followed), a bad record.

    Anything that is not a path raises :class:`ConfigError` at once.
    """
    return _iter_articles(_check_paths(paths))


def _iter_articles(paths: list[str | os.PathLike[str]]) -> Iterator[Article | ArticleError]:
    seen: set[str] = set()
    for path in _expand(paths):
        if isinstance(path, ArticleError):
            yield path
            continue
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
    for item in _iter_articles(_check_paths(list(paths), "load_articles")):
        if isinstance(item, ArticleError):
            if strict:
                raise item
            continue
        articles.append(item)
    return articles
