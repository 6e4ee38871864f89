"""The hostile-user review, one class of bad input or bad environment after another: each is named
with its reason, the good articles of the batch are processed and written, no traceback reaches a
user, and no model call is paid for a run that cannot write its result.

Permission-denied cases are simulated by patching the read (tests may run as root, where chmod 000
still reads); a chmod variant runs too when the tests do not run as root.
"""

from __future__ import annotations

import errno
import io
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Self

import diskcache
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

import recoupe
from conftest import SEEDS
from recoupe import Article, ArticleError, ConfigError, RecoupeError, Settings, iter_articles, load_articles
from recoupe.cli import main
from recoupe.llm import LLM
from recoupe.testing import FakeOpenAIServer, Reply

TEXT = "Amazon investit 1,2 milliard d’euros en France. Le groupe créera 3 000 emplois d’ici 2026."
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
GOOD = {"claims": [{"quote": "Amazon investit", "subject": None}]}

CliRun = Callable[..., tuple[int, str, str]]


def _target(body: dict[str, Any]) -> str:
    user = next(m["content"] for m in body["messages"] if "TARGET:\n" in str(m.get("content", "")))
    return str(user).split("TARGET:\n", 1)[1]


def _echo(body: dict[str, Any]) -> Reply:
    sentence = _target(body).split(". ")[0].rstrip(".") + "."
    return Reply.json({"claims": [{"quote": sentence, "subject": None}]})


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(default=_echo) as fake:
        yield fake


@pytest.fixture
def cli(server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> CliRun:
    """``recoupe ARGS`` in this process against the fake server: (exit code, stdout, stderr)."""
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("RECOUPE_MODEL", "fake")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _folder(path: Path, **files: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (path / name).write_text(text, encoding="utf-8")
    return path


def _two_good(path: Path) -> Path:
    return _folder(path, **{"good.txt": TEXT, "other.txt": TEXT.replace("Amazon", "Orange")})


def _one_error_line(err: str, *needles: str) -> str:
    """stderr holds no traceback and exactly one ``recoupe: ...`` line, which holds every needle."""
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.startswith("recoupe:")]
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], err
    return lines[0]


def _settings(server: FakeOpenAIServer, tmp_path: Path, **kw: Any) -> Settings:
    return Settings(model="fake", base_url=server.base_url, cache_dir=tmp_path / "cache", max_backoff=0.05, **kw)


# -- 1. what extract() and check() take ----------------------------------------------------------


def test_a_str_is_one_path_not_a_sequence_of_characters(
    tmp_path: Path, server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _two_good(tmp_path / "in")
    monkeypatch.chdir(tmp_path / "in")
    llm = LLM(_settings(server, tmp_path))
    try:
        result = recoupe.extract("good.txt", llm=llm)
    finally:
        llm.close()
    assert [a.article.id for a in result.articles] == ["good"]
    assert not result.failures
    assert len(server.requests) == 1


@pytest.mark.parametrize("bad", [None, 123, 1.5, b"good.txt", {"text": "x"}, [Path("a.txt"), 7]])
def test_non_article_inputs_raise_naming_the_parameter(bad: Any) -> None:
    for call in (recoupe.extract, recoupe.check):
        with pytest.raises(RecoupeError, match="articles"):
            call(bad)


def test_a_string_in_place_of_settings_is_refused_naming_the_parameter() -> None:
    articles = [Article(id="a", text=TEXT)]
    for call in (recoupe.extract, recoupe.check):
        with pytest.raises(ConfigError, match="settings"):
            call(articles, "fake")  # type: ignore[arg-type]


# -- 2. a malformed HTTP answer -----------------------------------------------------------------

MALFORMED_BODIES = {
    "cut JSON": Reply(body=b'{"id": "chatcmpl-1", "choi', headers={"content-type": "application/json"}),
    "HTML page": Reply(body=b"<html><body>502 Bad Gateway</body></html>", headers={"content-type": "text/html"}),
    "empty body": Reply(body=b"", headers={"content-type": "application/json"}),
    "JSON list": Reply(body=b"[1, 2]", headers={"content-type": "application/json"}),
    "null message": Reply(
        body=b'{"choices": [{"index": 0, "message": null}]}', headers={"content-type": "application/json"}
    ),
    "choices not a list": Reply(body=b'{"choices": "x"}', headers={"content-type": "application/json"}),
}


@pytest.mark.parametrize("kind", list(MALFORMED_BODIES))
def test_a_malformed_http_answer_is_asked_again(tmp_path: Path, kind: str) -> None:
    from recoupe.extraction import EXTRACT_PROMPT, ClaimDrafts
    from recoupe.llm.prompts import load_prompt

    with FakeOpenAIServer() as server:
        server.script(MALFORMED_BODIES[kind], MALFORMED_BODIES[kind], Reply.json(GOOD))
        llm = LLM(_settings(server, tmp_path))
        try:
            answer = llm.complete(
                stage="extract",
                prompt=load_prompt(EXTRACT_PROMPT),
                variables={"target": "Amazon investit.", "context": ""},
                response_model=ClaimDrafts,
            )
        finally:
            llm.close()
        assert answer.claims[0].quote == "Amazon investit"
        assert len(server.requests) == 3
        assert llm.usage.stages["extract"].retries == 2


def test_a_body_that_stays_malformed_fails_after_bounded_retries(tmp_path: Path) -> None:
    from recoupe import TransientLLMError
    from recoupe.extraction import EXTRACT_PROMPT, ClaimDrafts
    from recoupe.llm.prompts import load_prompt

    with FakeOpenAIServer() as server:
        server.script(*[MALFORMED_BODIES["HTML page"]] * 10)
        llm = LLM(_settings(server, tmp_path, max_retries=2))
        try:
            with pytest.raises(TransientLLMError) as info:
                llm.complete(
                    stage="extract",
                    prompt=load_prompt(EXTRACT_PROMPT),
                    article_id="a1",
                    chunk_index=0,
                    variables={"target": "Amazon investit.", "context": ""},
                    response_model=ClaimDrafts,
                )
        finally:
            llm.close()
        assert len(server.requests) == 3
        assert "a1" in str(info.value) and "malformed" in str(info.value)


# -- 3. unreadable files and folders ------------------------------------------------------------


def _deny_read(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    """Reading a file of one of these names fails as it does without the permission."""
    real = Path.read_bytes

    def read_bytes(self: Path) -> bytes:
        if self.name in names:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)


def _deny_listing(monkeypatch: pytest.MonkeyPatch, *folders: Path) -> None:
    """Listing one of these folders fails as it does without the permission."""
    real = os.scandir
    denied = {str(f) for f in folders}

    def scandir(path: Any = ".") -> Any:
        if str(path) in denied or os.fspath(path) in denied:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real(path)

    monkeypatch.setattr(os, "scandir", scandir)


def _check_unreadable_file(tmp_path: Path, cli: CliRun) -> None:
    folder = tmp_path / "in"
    code, _out, err = cli("extract", str(folder), "--out", str(tmp_path / "out.json"), "-q")
    assert code == 1
    assert "Traceback" not in err
    assert "locked.txt" in err and "Permission denied" in err
    result = json.loads((tmp_path / "out.json").read_text())
    assert sorted(a["article"]["id"] for a in result["articles"]) == ["good", "other"]
    assert [Path(f["source"]).name for f in result["failures"]] == ["locked.txt"]


def test_an_unreadable_file_is_named_and_the_others_processed(
    tmp_path: Path, cli: CliRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    _folder(_two_good(tmp_path / "in"), **{"locked.txt": TEXT})
    _deny_read(monkeypatch, "locked.txt")
    _check_unreadable_file(tmp_path, cli)


@pytest.mark.skipif(AS_ROOT or not hasattr(os, "geteuid"), reason="root reads a chmod 000 file")
def test_an_unreadable_file_by_chmod_is_named(tmp_path: Path, cli: CliRun) -> None:  # pragma: no cover
    _folder(_two_good(tmp_path / "in"), **{"locked.txt": TEXT})
    (tmp_path / "in" / "locked.txt").chmod(0)
    _check_unreadable_file(tmp_path, cli)


def _check_unreadable_folder(tmp_path: Path, cli: CliRun) -> None:
    code, _out, err = cli("extract", str(tmp_path / "in"), "--out", str(tmp_path / "out.json"), "-q")
    assert code == 1
    assert "Traceback" not in err
    assert "private" in err and "Permission denied" in err
    result = json.loads((tmp_path / "out.json").read_text())
    assert sorted(a["article"]["id"] for a in result["articles"]) == ["good", "other"]
    assert [Path(f["source"]).name for f in result["failures"]] == ["private"]


def test_an_unreadable_subfolder_is_named_not_skipped_silently(
    tmp_path: Path, cli: CliRun, monkeypatch: pytest.MonkeyPatch
) -> None:
    _folder(_two_good(tmp_path / "in") / "private", **{"hidden.txt": TEXT})
    _deny_listing(monkeypatch, tmp_path / "in" / "private")
    _check_unreadable_folder(tmp_path, cli)


@pytest.mark.skipif(AS_ROOT or not hasattr(os, "geteuid"), reason="root lists a chmod 000 folder")
def test_an_unreadable_subfolder_by_chmod_is_named(tmp_path: Path, cli: CliRun) -> None:  # pragma: no cover
    private = _folder(_two_good(tmp_path / "in") / "private", **{"hidden.txt": TEXT})
    private.chmod(0)
    try:
        _check_unreadable_folder(tmp_path, cli)
    finally:
        private.chmod(0o755)


# -- 4. atomic outputs --------------------------------------------------------------------------


class _FullDisk:
    """A file object on a disk that fills up after ``room`` characters."""

    def __init__(self, real: Any, room: int = 40) -> None:
        self._real = real
        self._room = room

    def write(self, data: Any) -> int:
        if len(data) > self._room:
            self._real.write(data[: self._room])
            self._room = 0
            raise OSError(errno.ENOSPC, "No space left on device")
        self._room -= len(data)
        return int(self._real.write(data))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self._real.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _fill_disk(monkeypatch: pytest.MonkeyPatch, folder: Path, only: str | None = None) -> None:
    """Every file opened for writing in ``folder`` (or only files whose name contains ``only``)
    sits on a full disk."""
    real_open = io.open

    def where(file: Any) -> str:
        if isinstance(file, int):
            return os.readlink(f"/proc/self/fd/{file}")
        return os.path.abspath(os.fspath(file))

    def fake_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = real_open(file, mode, *args, **kwargs)
        path = where(file)
        if any(m in mode for m in "wax") and os.path.dirname(path) == str(folder) and (only is None or only in path):
            return _FullDisk(handle)
        return handle

    monkeypatch.setattr(io, "open", fake_open)


OUTPUTS = [
    ("extract", "--out", "claims.json"),
    ("check", "--json", "report.json"),
    ("check", "--markdown", "report.md"),
    ("check", "--html", "report.html"),
]


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs /proc to see where an fd points")
@pytest.mark.parametrize(("command", "flag", "name"), OUTPUTS)
def test_a_full_disk_keeps_the_previous_output(
    tmp_path: Path, cli: CliRun, monkeypatch: pytest.MonkeyPatch, command: str, flag: str, name: str
) -> None:
    folder = _two_good(tmp_path / "in")
    reports = tmp_path / "reports"
    reports.mkdir()
    target = reports / name
    target.write_text("the previous report\n")
    _fill_disk(monkeypatch, reports, only=name)
    extra = ["--no-adjudicate", "--json", str(reports / "side.json")] if command == "check" and flag != "--json" else []
    code, _out, err = cli(command, str(folder), flag, str(target), "-q", *extra)
    assert code != 0
    _one_error_line(err, str(target), "No space left on device")
    assert target.read_text() == "the previous report\n"
    assert sorted(p.name for p in reports.iterdir()) == sorted({name, *(["side.json"] if extra else [])})
    if extra:  # the other outputs of the run are still written
        assert len(json.loads((reports / "side.json").read_text())["articles"]) == 2


def test_two_writers_on_one_output_never_leave_a_broken_file(tmp_path: Path) -> None:
    from recoupe.cli import _write

    out = tmp_path / "out.json"
    bad: list[str] = []
    done = threading.Event()

    def writer(n: int) -> None:
        for i in range(25):
            _write(json.dumps({"writer": n, "i": i, "pad": "x" * (50_000 + 997 * i)}), str(out))

    def reader() -> None:
        while not done.is_set():
            try:
                text = out.read_text()
            except FileNotFoundError:
                continue
            try:
                json.loads(text)
            except ValueError:
                bad.append(text[:40])

    threads = [threading.Thread(target=writer, args=(n,)) for n in (1, 2)]
    watch = threading.Thread(target=reader)
    watch.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    watch.join()
    assert not bad, f"{len(bad)} reads saw a half-written file"
    assert json.loads(out.read_text())["i"] == 24
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]  # no temporary file left


def test_two_processes_on_one_cache_and_one_output(tmp_path: Path) -> None:
    folder = _folder(tmp_path / "in", **{f"a{i}.txt": TEXT.replace("Amazon", f"Firme{i}") for i in range(6)})
    out = tmp_path / "out.json"
    with FakeOpenAIServer(default=_echo, latency=0.02) as fake:
        env = {
            **os.environ,
            "OPENAI_BASE_URL": fake.base_url,
            "RECOUPE_MODEL": "fake",
            "RECOUPE_CACHE_DIR": str(tmp_path / "cache"),
            "RECOUPE_CONCURRENCY": "2",
        }
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "recoupe.cli", "extract", str(folder), "--out", str(out), "-q"],
                env=env,
                text=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for _ in range(2)
        ]
        results = [p.communicate(timeout=120) for p in procs]
    for p, (_, err) in zip(procs, results, strict=True):
        assert p.returncode == 0, err
    assert len(json.loads(out.read_text())["articles"]) == 6  # the last writer's whole report
    cache = diskcache.Cache(str(tmp_path / "cache"))
    try:
        assert len(cache) == 6  # one entry per distinct call, however many paid for it
    finally:
        cache.close()


# -- 5. the cache on a full disk, and a damaged cache -------------------------------------------


def test_a_cache_write_failure_is_a_warning_and_the_answer_is_used(
    tmp_path: Path, server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def full(self: Any, *args: Any, **kwargs: Any) -> bool:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(diskcache.Cache, "set", full)
    folder = _folder(tmp_path / "in", **{f"a{i}.txt": TEXT.replace("Amazon", f"Firme{i}") for i in range(3)})
    result = recoupe.extract(folder, _settings(server, tmp_path))
    assert len(result.articles) == 3 and not result.failures
    warnings = [r for r in caplog.records if "cache" in r.getMessage() and r.levelname == "WARNING"]
    assert len(warnings) == 1, [r.getMessage() for r in caplog.records]  # said once, not once per call
    assert "disk is full" in warnings[0].getMessage()


def _damaged_cache(directory: Path) -> Path:
    cache = diskcache.Cache(str(directory))
    cache.set("k", {"answer": {}})
    cache.close()
    for extra in ("cache.db-wal", "cache.db-shm"):
        (directory / extra).unlink(missing_ok=True)
    (directory / "cache.db").write_bytes(b"this is not an SQLite database" * 100)
    return directory


def test_a_damaged_cache_degrades_to_misses(
    tmp_path: Path, server: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    _damaged_cache(tmp_path / "cache")
    result = recoupe.extract(_two_good(tmp_path / "in"), _settings(server, tmp_path))
    assert len(result.articles) == 2 and not result.failures
    said = [r.getMessage() for r in caplog.records if "damaged" in r.getMessage()]
    assert len(said) == 1 and str(tmp_path / "cache") in said[0] and "recoupe cache clear" in said[0]


def test_cache_info_and_clear_on_a_damaged_cache(tmp_path: Path, cli: CliRun) -> None:
    cache = _damaged_cache(tmp_path / "cache")
    (cache / "notes.txt").write_text("not the cache's")
    code, out, err = cli("cache", "info", "--cache-dir", str(cache))
    assert code == 1
    _one_error_line(err, str(cache), "damaged", "recoupe cache clear")
    code, out, err = cli("cache", "clear", "--cache-dir", str(cache))
    assert code == 0, err
    assert "Traceback" not in err
    code, out, err = cli("cache", "info", "--cache-dir", str(cache))
    assert code == 0 and "0 cached answers" in out, err
    assert (cache / "notes.txt").read_text() == "not the cache's"  # only the cache's own files go


def test_the_cli_says_once_that_the_cache_is_damaged_and_goes_on(tmp_path: Path) -> None:
    _damaged_cache(tmp_path / "cache")
    folder = _two_good(tmp_path / "in")
    with FakeOpenAIServer(default=_echo) as fake:
        env = {
            **os.environ,
            "OPENAI_BASE_URL": fake.base_url,
            "RECOUPE_MODEL": "fake",
            "RECOUPE_CACHE_DIR": str(tmp_path / "cache"),
        }
        proc = subprocess.run(
            [sys.executable, "-m", "recoupe.cli", "extract", str(folder), "--out", str(tmp_path / "out.json"), "-q"],
            env=env,
            text=True,
            capture_output=True,
            timeout=120,
        )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert len([line for line in proc.stderr.splitlines() if "damaged" in line]) == 1
    assert len(json.loads((tmp_path / "out.json").read_text())["articles"]) == 2


# -- 6. symbolic links out of an input folder ---------------------------------------------------


def test_links_out_of_an_input_folder_are_not_followed(tmp_path: Path, server: FakeOpenAIServer) -> None:
    outside = _folder(tmp_path / "outside", **{"secret.txt": "SECRET-CONTENT of the machine. Not an article."})
    folder = _two_good(tmp_path / "in")
    (folder / "passwd.txt").symlink_to(outside / "secret.txt")
    (folder / "elsewhere").symlink_to(outside, target_is_directory=True)
    (folder / "alias.txt").symlink_to(folder / "good.txt")  # inside the folder: followed
    items = list(iter_articles([folder]))
    loaded = sorted(i.id for i in items if isinstance(i, Article))
    skipped = {Path(i.source).name: i.reason for i in items if isinstance(i, ArticleError)}
    assert loaded == ["alias", "good", "other"]
    assert set(skipped) == {"passwd.txt", "elsewhere"}
    assert all("outside" in reason and "link" in reason for reason in skipped.values())
    result = recoupe.extract(folder, _settings(server, tmp_path))
    assert len(result.articles) == 3
    assert not any("SECRET" in json.dumps(r) for r in server.requests)
    # a link given by name is the user's choice, and followed
    assert load_articles(folder / "passwd.txt")[0].text.startswith("SECRET-CONTENT")


# -- 7. unusable output and cache paths are refused before the first model call -----------------


def _readonly(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """Creating or opening for writing anything in ``folder`` fails as in a read-only folder."""
    real_os_open, real_io_open = os.open, io.open

    def inside(file: Any) -> bool:
        return not isinstance(file, int) and Path(os.path.abspath(os.fspath(file))).parent == folder

    def os_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if inside(path) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real_os_open(path, flags, *args, **kwargs)

    def io_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if inside(file) and any(m in mode for m in "wax+"):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(file))
        return real_io_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(io, "open", io_open)


@pytest.mark.parametrize("case", ["a folder", "missing parent", "parent is a file", "read-only folder"])
def test_an_unusable_output_is_refused_before_any_model_call(
    tmp_path: Path, cli: CliRun, server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    folder = _two_good(tmp_path / "in")
    if case == "a folder":
        target = tmp_path / "out.json"
        target.mkdir()
    elif case == "missing parent":
        target = tmp_path / "no" / "such" / "out.json"
    elif case == "parent is a file":
        (tmp_path / "file").write_text("x")
        target = tmp_path / "file" / "out.json"
    else:
        (tmp_path / "ro").mkdir()
        target = tmp_path / "ro" / "out.json"
        _readonly(monkeypatch, tmp_path / "ro")
    for args in (
        ["extract", str(folder), "--out", str(target)],
        ["check", str(folder), "--html", str(tmp_path / "fine.html"), "--json", str(target)],
    ):
        code, _out, err = cli(*args, "-q")
        assert code == 2, err
        _one_error_line(err, str(target))
        assert server.requests == []
        assert not (tmp_path / "fine.html").exists()


@pytest.mark.skipif(AS_ROOT or not hasattr(os, "geteuid"), reason="root writes in a read-only folder")
def test_a_read_only_output_folder_by_chmod_is_refused_first(
    tmp_path: Path, cli: CliRun, server: FakeOpenAIServer
) -> None:  # pragma: no cover
    folder = _two_good(tmp_path / "in")
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro").chmod(0o555)
    try:
        code, _out, err = cli("extract", str(folder), "--out", str(tmp_path / "ro" / "out.json"), "-q")
    finally:
        (tmp_path / "ro").chmod(0o755)
    assert code == 2 and server.requests == []
    _one_error_line(err, str(tmp_path / "ro" / "out.json"))


def test_an_unusable_cache_folder_is_refused_before_any_model_call(
    tmp_path: Path, cli: CliRun, server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = _two_good(tmp_path / "in")
    (tmp_path / "file").write_text("x")
    for cache_dir in (tmp_path / "file", tmp_path / "file" / "cache"):
        code, _out, err = cli("extract", str(folder), "--cache-dir", str(cache_dir), "-q")
        assert code == 2, err
        _one_error_line(err, str(cache_dir))
    (tmp_path / "ro").mkdir()
    _readonly(monkeypatch, tmp_path / "ro")
    code, _out, err = cli("extract", str(folder), "--cache-dir", str(tmp_path / "ro"), "-q")
    assert code == 2, err
    _one_error_line(err, str(tmp_path / "ro"))
    assert server.requests == []


# -- 10. wrong types and settings ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("concurrency", 0),
        ("concurrency", -3),
        ("concurrency", "8"),
        ("concurrency", True),
        ("concurrency", 2.5),
        ("chunk_chars", -1),
        ("chunk_chars", 0),
        ("timeout", -1),
        ("timeout", 0),
        ("timeout", float("nan")),
        ("max_retries", -1),
        ("max_reasks", -1),
        ("requests_per_minute", 0),
        ("requests_per_minute", -5),
        ("max_tokens", 0),
        ("temperature", -0.1),
        ("max_backoff", -1),
        ("model", ""),
        ("model", None),
        ("base_url", "localhost:8000"),
        ("base_url", ""),
        ("use_cache", "no"),
        ("seed", "1"),
        ("cache_dir", 42),
        ("extra_body", "x"),
        ("api_key", 123),
    ],
)
def test_a_bad_setting_is_refused_naming_it(name: str, value: Any) -> None:
    with pytest.raises(ConfigError, match=name):
        Settings(**{name: value})


def test_good_settings_are_accepted(tmp_path: Path) -> None:
    s = Settings(
        concurrency=3,
        chunk_chars=200,
        timeout=5,
        max_retries=0,
        max_reasks=0,
        requests_per_minute=0.5,
        temperature=0.7,
        max_backoff=0,
        base_url="http://127.0.0.1:1/v1",
        cache_dir=str(tmp_path / "c"),
    )  # type: ignore[arg-type]
    assert s.cache_dir == tmp_path / "c" and s.concurrency == 3


def test_a_cache_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(ConfigError, match="cache_dir"):
        Settings(cache_dir=tmp_path / "f")
    with pytest.raises(ConfigError, match="RECOUPE_CACHE_DIR"):
        Settings.from_env({"RECOUPE_CACHE_DIR": str(tmp_path / "f")})


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("RECOUPE_CONCURRENCY", "abc"),
        ("RECOUPE_CONCURRENCY", "0"),
        ("RECOUPE_CONCURRENCY", "1.5"),
        ("RECOUPE_RPM", "fast"),
        ("RECOUPE_RPM", "0"),
        ("RECOUPE_RPM", "nan"),
        ("RECOUPE_CHUNK_CHARS", "-1"),
        ("RECOUPE_CHUNK_CHARS", "1e3"),
        ("OPENAI_BASE_URL", "localhost:8000"),
    ],
)
def test_a_bad_environment_variable_is_refused_naming_it(var: str, value: str) -> None:
    with pytest.raises(ConfigError, match=var):
        Settings.from_env({var: value})


@pytest.mark.parametrize(
    "args",
    [
        ["--concurrency", "0"],
        ["--chunk-chars", "-1"],
        ["--timeout", "-1"],
        ["--max-retries", "-1"],
        ["--rpm", "0"],
    ],
)
def test_the_cli_prints_a_bad_setting_as_one_line(
    tmp_path: Path, cli: CliRun, server: FakeOpenAIServer, args: list[str]
) -> None:
    code, _out, err = cli("extract", str(_two_good(tmp_path / "in")), *args, "-q")
    assert code == 2
    _one_error_line(err, args[0].lstrip("-").replace("-", "_").replace("rpm", "requests_per_minute"))
    assert server.requests == []


def test_the_cli_prints_a_bad_environment_variable_as_one_line(
    tmp_path: Path, cli: CliRun, server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RECOUPE_CONCURRENCY", "abc")
    code, _out, err = cli("extract", str(_two_good(tmp_path / "in")), "-q")
    assert code == 2
    _one_error_line(err, "RECOUPE_CONCURRENCY", "abc")
    assert server.requests == []


@pytest.mark.parametrize("bad", [123, None, 1.5, b"seeds", ["seeds", 3]])
def test_the_loader_refuses_what_is_not_a_path(bad: Any) -> None:
    with pytest.raises(ConfigError, match="path"):
        load_articles(bad)
    with pytest.raises(ConfigError, match="path"):
        list(iter_articles(bad))


def test_the_loader_takes_one_path_as_a_str() -> None:
    assert [a.id for a in iter_articles(str(SEEDS)) if isinstance(a, Article)] == [a.id for a in load_articles(SEEDS)]


# -- 11. nothing found is said --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["empty", "x.txt", "only-pdf"])
def test_a_folder_without_articles_is_said_and_fails(
    tmp_path: Path, cli: CliRun, server: FakeOpenAIServer, name: str
) -> None:
    folder = tmp_path / name
    folder.mkdir()
    if name == "only-pdf":
        (folder / "report.pdf").write_bytes(b"%PDF-1.4")
    code, _out, err = cli("extract", str(folder), "-q")
    assert code != 0
    assert "Traceback" not in err
    assert str(folder) in err and "no article" in err
    assert server.requests == []
    assert [i.source for i in iter_articles([folder])] == [str(folder)]


# -- 12. front matter ---------------------------------------------------------------------------


def test_front_matter_with_crlf_line_endings_is_read(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_bytes(
        b"---\r\noutlet: AFP\r\npublished: 2024-05-12\r\nid: crlf-1\r\n---\r\nDimanche, Microsoft a annonc\xc3\xa9.\r\n"
    )
    article = load_articles(path)[0]
    assert (article.id, article.outlet, str(article.published)) == ("crlf-1", "AFP", "2024-05-12")
    assert article.text == "Dimanche, Microsoft a annoncé.\r\n"


def test_front_matter_closed_at_the_end_of_the_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("---\noutlet: AFP\n---\nLe texte.")
    assert load_articles(path)[0].text == "Le texte."


def test_an_unclosed_front_matter_block_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_text("---\noutlet: AFP\npublished: 2024-05-12\nDimanche, Microsoft a annoncé.\n")
    with pytest.raises(ArticleError) as info:
        load_articles(path)
    assert info.value.source == str(path)
    assert "front matter" in info.value.reason and "---" in info.value.reason


def test_a_leading_rule_that_is_not_front_matter_stays_text(tmp_path: Path) -> None:
    path = tmp_path / "a.md"
    path.write_text("---\n\nDimanche, Microsoft a annoncé.\n")
    assert load_articles(path)[0].text == "---\n\nDimanche, Microsoft a annoncé.\n"


# -- 13. small ones -----------------------------------------------------------------------------


def test_a_nul_byte_after_the_first_8_kb_is_binary(tmp_path: Path) -> None:
    path = tmp_path / "late.txt"
    path.write_bytes(b"Un texte. " * 1000 + b"\x00" + b"suite.")
    with pytest.raises(ArticleError, match="binary"):
        load_articles(path)


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("empty-id.json", '{"id": "", "text": "Un texte."}'),
        ("blank-id.json", '{"id": "   ", "text": "Un texte."}'),
        ("blank-id.jsonl", '{"id": "\\t", "text": "Un texte."}\n'),
        ("blank-id.md", "---\nid:   \n---\nUn texte."),
        ("control-id.json", '{"id": "a\\u001b[2Jb", "text": "Un texte."}'),
    ],
)
def test_an_empty_or_blank_id_is_refused(tmp_path: Path, name: str, content: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(ArticleError) as info:
        load_articles(path)
    assert info.value.source.startswith(str(path)) and "id" in info.value.reason


def test_invalid_unicode_and_deep_nesting_in_json_are_article_errors(tmp_path: Path) -> None:
    (tmp_path / "surrogate.json").write_text('{"id": "s", "text": "bad \\ud800 text"}')
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (tmp_path / "deep.jsonl").write_text("[" * 100_000 + "\n")
    for path in sorted(tmp_path.iterdir()):
        with pytest.raises(ArticleError) as info:
            load_articles(path)
        assert info.value.source.startswith(str(path))


def _controls(text: str) -> list[str]:
    return [c for c in text if (ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) < 0xA0]


def test_control_sequences_from_files_never_reach_the_terminal(tmp_path: Path, cli: CliRun) -> None:
    folder = _folder(
        tmp_path / "in",
        **{
            "evil\x1b]0;pwned\x07\x1b[2J.txt": "",  # fails (empty), and its name is printed
            "dup.json": json.dumps([{"id": "x\x1b[31m", "text": TEXT}]),
            "esc.txt": "Amazon \x1b[31minvestit\x9b2J 1 milliard. Suite du texte.",
        },
    )
    _code, out, err = cli("check", str(folder), "--no-adjudicate", "-q")
    assert "Traceback" not in err
    assert "FAILED" in err and "evil" in err and "pwned" in err
    assert not _controls(err), repr(err)
    assert not _controls(out), repr(out)
    _, out, err = cli("extract", str(folder), "-q")
    assert not _controls(err) and not _controls(out)
    assert json.loads(out)["articles"][0]["article"]["text"].startswith("Amazon \x1b[31m")  # the data is kept


# -- property: whatever the file, a result or an error naming it --------------------------------

_KEYS = st.sampled_from(["id", "text", "outlet", "url", "published", "language", "junk", ""])
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=30),
    st.sampled_from(["2024-05-12", "2024-13-45", "fr", "", "   ", "\x1b[2J", "\ufeff"]),
)
_JSON_VALUES = st.recursive(
    _SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner, max_size=6), max_leaves=12
)
_RECORDS = st.fixed_dictionaries(
    {"text": st.text(max_size=200)},
    optional={"id": _SCALARS, "published": _SCALARS, "outlet": _SCALARS, "junk": _SCALARS},
)
_NASTY_JSON = st.sampled_from(
    [
        '{"text": "\\ud800"}',
        '{"text": "a", "id": "\\udfff"}',
        "[" * 5000,
        "NaN",
        "{}",
        '{"text": "ok", "text": 3}',
        '\ufeff{"text": "BOM"}',
        '"just a string"',
    ]
)


@st.composite
def _front_matter(draw: st.DrawFn) -> bytes:
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    lines = draw(
        st.lists(
            st.tuples(_KEYS, st.text(max_size=20)).map(lambda kv: f"{kv[0]}: {kv[1]}") | st.text(max_size=20),
            max_size=5,
        )
    )
    closing = draw(st.sampled_from(["---", "--- ", "", "...", "----"]))
    body = draw(st.text(max_size=200))
    return newline.join(["---", *lines, closing, body]).encode("utf-8", "surrogatepass")


_CONTENTS = st.one_of(
    st.binary(max_size=400),
    st.text(max_size=400).map(lambda t: t.encode("utf-8", "surrogatepass")),
    _JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.lists(_JSON_VALUES | _RECORDS, max_size=5).map(lambda vs: "\n".join(json.dumps(v) for v in vs).encode()),
    _RECORDS.map(lambda r: json.dumps(r, ensure_ascii=False).encode("utf-8", "surrogatepass")),
    _NASTY_JSON.map(str.encode),
    _front_matter(),
)


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(content=_CONTENTS, suffix=st.sampled_from([".txt", ".md", ".json", ".jsonl", "", ".JSON", ".Md", ".pdf"]))
def test_any_file_gives_articles_or_errors_naming_it(content: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"generated{suffix}"
        path.write_bytes(content)
        for item in iter_articles([path]):
            if isinstance(item, ArticleError):
                assert item.source.startswith(str(path)) and item.reason
            else:
                assert isinstance(item, Article)
                assert item.text.strip() and item.id.strip()
                item.model_dump_json()  # whatever loads can be written out
        errors: list[ArticleError] = []
        try:
            load_articles(path)
        except ArticleError as exc:
            errors.append(exc)
        assert all(e.source.startswith(str(path)) for e in errors)
        assert all(isinstance(a, Article) for a in load_articles(path, strict=False))
