"""A throwaway PostgreSQL server for the tests: ``initdb`` and ``pg_ctl`` in a temporary folder,
listening on 127.0.0.1 at a free port, stopped and deleted at the end of the session.

Use it from a test module::

    from pg import pg_server, pg_url  # noqa: F401  (pytest fixtures)

    def test_something(pg_url: str) -> None:  # a fresh, empty database for this test
        ...

``pg_server`` (session) is the server's admin URL, ``postgresql+psycopg://postgres@127.0.0.1:<port>/postgres``;
``pg_url`` (per test) is the URL of a database created for the test and dropped after it
(:func:`create_database` makes more). Set ``RECOUPE_TEST_POSTGRES`` to the admin URL of a running
server to use that one instead. Without the PostgreSQL binaries, or as root without a ``postgres``
user to run them as, the fixtures skip with the reason.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

__all__ = ["PostgresServer", "create_database", "drop_database", "pg_server", "pg_url"]

ENV = "RECOUPE_TEST_POSTGRES"


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
        key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0,
    )
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """A PostgreSQL cluster in ``folder``, run as ``user`` (None: the current user)."""

    def __init__(self, initdb: str, pg_ctl: str, folder: Path, user: str | None) -> None:
        self.initdb, self.pg_ctl, self.folder, self.user = initdb, pg_ctl, folder, user
        self.data = folder / "data"
        self.port = 0

    def _run(self, *command: str) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", self.user, "--"] if self.user else []
        return subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=120, check=False)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        made = self._run(
            self.initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--no-locale"
        )
        if made.returncode != 0:
            raise RuntimeError(f"initdb failed: {(made.stderr or made.stdout).strip()[-500:]}")
        last = ""
        for _ in range(3):  # the free port may be taken between the probe and the start
            self.port = _free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.folder} "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
            )
            started = self._run(
                self.pg_ctl,
                "start",
                "-w",
                "-t",
                "60",
                "-D",
                str(self.data),
                "-l",
                str(self.folder / "log"),
                "-o",
                options,
            )
            if started.returncode == 0:
                return
            last = (started.stderr or started.stdout).strip()
        log = self.folder / "log"
        tail = log.read_text(errors="replace")[-500:] if log.exists() else last
        raise RuntimeError(f"pg_ctl start failed: {tail}")

    def stop(self) -> None:
        self._run(self.pg_ctl, "stop", "-D", str(self.data), "-m", "immediate", "-w")


def _admin_connect(admin_url: str):  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(admin_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True)


def create_database(admin_url: str) -> str:
    """A new empty database on the server of ``admin_url``; returns its SQLAlchemy URL."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    with _admin_connect(admin_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{name}"


def drop_database(url: str) -> None:
    """Drop the database of ``url`` (created by :func:`create_database`), closing its connections."""
    base, _, name = url.rpartition("/")
    with _admin_connect(f"{base}/postgres") as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _start() -> tuple[str, PostgresServer | None]:
    """The admin URL of a server: ``RECOUPE_TEST_POSTGRES``, or one started here."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed (pip install 'psycopg[binary]')")
    if os.environ.get(ENV):
        return os.environ[ENV], None
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL is not installed: no initdb/pg_ctl on PATH or in /usr/lib/postgresql/*/bin")
    user: str | None = None
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run PostgreSQL as")
        if not shutil.which("runuser"):
            pytest.skip("running as root and runuser is missing: cannot run PostgreSQL as 'postgres'")
        user = "postgres"
    folder = Path(tempfile.mkdtemp(prefix="recoupe-pg-"))
    if user:
        entry = pwd.getpwnam(user)
        os.chown(folder, entry.pw_uid, entry.pw_gid)
    server = PostgresServer(initdb, pg_ctl, folder, user)
    try:
        server.start()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"could not start a throwaway PostgreSQL: {exc}")
    return server.url, server


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The admin URL (``postgresql+psycopg://postgres@127.0.0.1:<port>/postgres``) of a PostgreSQL
    server for this session; skips when none can be started."""
    url, server = _start()
    try:
        yield url
    finally:
        if server is not None:
            server.stop()
            shutil.rmtree(server.folder, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh database for one test (its SQLAlchemy URL), dropped afterwards."""
    url = create_database(pg_server)
    try:
        yield url
    finally:
        with contextlib.suppress(Exception):  # a leftover database dies with the server
            drop_database(url)
