"""Writing outputs: checked before a run starts, written whole or not at all.

Every output (claims JSON, report JSON, Markdown, HTML) goes to a temporary file in the folder of
its target and is renamed over it (``os.replace``, atomic on one filesystem). A full disk or an
interrupted write leaves the previous file as it was; two processes writing one target leave one
of the two complete files, never a mix.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from .errors import RecoupeError

__all__ = ["OutputError", "atomic_write_text", "check_writable", "check_writable_folder"]


class OutputError(RecoupeError):
    """An output cannot be written; ``path`` names it, ``reason`` says why."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


def _strerror(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _umask() -> int:
    """The process umask, read without changing it (``os.umask`` sets it, which races threads)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    return 0o022


def _probe(folder: Path) -> None:
    """Create and remove a file in ``folder``: the only check that holds for root and for a
    read-only mount alike (``os.access`` answers yes to root)."""
    fd, name = tempfile.mkstemp(dir=folder, prefix=".recoupe-probe-")
    os.close(fd)
    os.unlink(name)


def check_writable(path: str | Path) -> Path:
    """Raise :class:`OutputError` unless ``path`` can be written as a file: its folder exists and
    takes new files, and the path is not a folder. Call it before the work that fills it."""
    target = Path(path)
    if target.is_dir():
        raise OutputError(target, "is a folder, not a file")
    parent = target.parent
    if not parent.exists():
        raise OutputError(target, f"folder {parent} does not exist")
    if not parent.is_dir():
        raise OutputError(target, f"{parent} is not a folder")
    try:
        _probe(parent)
    except OSError as exc:
        raise OutputError(target, f"cannot write in folder {parent}: {_strerror(exc)}") from None
    return target


def check_writable_folder(path: str | Path) -> Path:
    """Create ``path`` if needed and raise :class:`OutputError` unless it is a folder that takes
    new files."""
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise OutputError(folder, "is a file, not a folder") from None
    except OSError as exc:
        raise OutputError(folder, f"cannot create the folder: {_strerror(exc)}") from None
    try:
        _probe(folder)
    except OSError as exc:
        raise OutputError(folder, f"cannot write in the folder: {_strerror(exc)}") from None
    return folder


def atomic_write_text(path: str | Path, text: str, *, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` whole or not at all: a temporary file in the same folder, flushed
    to disk, then renamed over ``path``. On failure the temporary file is removed, ``path`` keeps
    its previous content, and :class:`OutputError` says why."""
    target = Path(path)
    try:
        mode = target.stat().st_mode & 0o777
    except OSError:
        mode = 0o666 & ~_umask()
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding=encoding) as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
        tmp = None
    except OSError as exc:
        raise OutputError(target, f"cannot write: {_strerror(exc)}; the previous file, if any, is unchanged") from None
    except UnicodeEncodeError as exc:
        raise OutputError(target, f"cannot encode the output as {encoding}: {exc.reason}") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
