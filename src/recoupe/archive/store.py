"""Opening an archive's database: the URL, the engine (SQLite tuned for one writer and many
readers; PostgreSQL through psycopg 3) and the Alembic migrations, run to the newest on open."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError

from ..errors import StoreError

__all__ = ["DEFAULT_STORE", "database_url", "migrate", "open_engine"]

#: Where the archive lives when neither an URL nor ``RECOUPE_STORE`` says: a file, no server.
DEFAULT_STORE = "sqlite:///recoupe-archive.sqlite"
_MIGRATIONS = Path(__file__).parent / "migrations"


def database_url(url: str | None = None) -> str:
    """The SQLAlchemy URL of ``url``, ``RECOUPE_STORE`` or the default; a bare path is a SQLite
    file and ``postgresql://`` means psycopg 3.

    >>> database_url("archive.sqlite")
    'sqlite:///archive.sqlite'
    >>> database_url("postgresql://news@127.0.0.1/recoupe")
    'postgresql+psycopg://news@127.0.0.1/recoupe'
    """
    url = url or os.environ.get("RECOUPE_STORE") or DEFAULT_STORE
    if "://" not in url:
        return f"sqlite:///{url}"
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain) :]
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def open_engine(url: str | None = None) -> Engine:
    """An engine on the archive at ``url`` (see :func:`database_url`), migrated to the newest schema."""
    full = database_url(url)
    try:
        parsed = make_url(full)
    except ArgumentError:
        raise StoreError(
            f"{full}: not a database URL (try a file path, sqlite:///FILE or postgresql://HOST/DB)"
        ) from None
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise StoreError(f"{parsed.render_as_string(hide_password=True)}: the archive runs on SQLite or PostgreSQL")
    try:
        if backend == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                folder = Path(parsed.database).expanduser().resolve().parent
                if not folder.is_dir():
                    raise StoreError(f"{parsed.database}: no such folder: {folder}")
            engine = create_engine(full, connect_args={"check_same_thread": False, "timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(full, pool_pre_ping=True)
        migrate(engine)
    except StoreError:
        raise
    except ModuleNotFoundError as exc:
        raise StoreError(
            f"{parsed.render_as_string(hide_password=True)}: needs {exc.name}: pip install 'recoupe[postgres]'"
        ) from None
    except OperationalError as exc:
        raise StoreError(f"{parsed.render_as_string(hide_password=True)}: cannot open: {exc.orig}") from None
    except SQLAlchemyError as exc:
        raise StoreError(f"{parsed.render_as_string(hide_password=True)}: {exc}") from None
    return engine


def migrate(engine: Engine) -> None:
    """Run the Alembic migrations up to the newest one (nothing when the schema is current)."""
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
        head = ScriptDirectory.from_config(config).get_current_head()
        if current == head:
            return
        known = {s.revision for s in ScriptDirectory.from_config(config).walk_revisions()}
        if current is not None and current not in known:
            raise StoreError(f"the archive's schema ({current}) is newer than this recoupe knows: upgrade recoupe")
        if current is None and inspect(connection).has_table("articles"):
            raise StoreError("the database holds an 'articles' table that recoupe did not create")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
