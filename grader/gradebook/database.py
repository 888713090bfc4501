"""Opening a gradebook database: the URL, the engine, and migrating it to the newest schema.

SQLite (the default, `course.db` in the course folder) runs in WAL mode with a busy timeout, and
every transaction that writes starts with BEGIN IMMEDIATE: a writer waits its turn for the lock
instead of failing when a second process records at the same time (a deferred transaction that
read first cannot wait for it: SQLite answers "database is locked" at once). PostgreSQL needs no
such care: each write is one transaction, and migrating holds an advisory lock.

Opening migrates (Alembic, revisions in migrations/versions/, found with importlib.resources so
an installed wheel migrates too): a database of an older dlgrade is brought up to date and keeps
its rows; one of a newer dlgrade is refused, never written to.
"""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import ExitStack
from functools import cache
from importlib.resources import as_file, files
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.pool import NullPool

from grader.gradebook.errors import GradebookError

DEFAULT_FILE = "course.db"
BUSY_TIMEOUT_MS = 60_000  # how long a writer waits for another's transaction to end
WRITE = "dlgrade_write"  # execution option of the engine that writes: BEGIN IMMEDIATE on SQLite
MIGRATION_LOCK = 0x646C6772  # PostgreSQL advisory lock id ("dlgr")


def database_url(db: str | None, course: Path | None = None) -> str:
    """`--db`: a URL (sqlite:///..., postgresql+psycopg://...), a file path, or None for
    course.db in the course folder."""
    if not db:
        return f"sqlite:///{(course or Path.cwd()).resolve() / DEFAULT_FILE}"
    if "://" in db:
        return db
    return f"sqlite:///{Path(db).resolve()}"


def _json(value) -> str:
    """JSON as both databases take it: no NaN (JSONB refuses it; book.storable makes it null),
    Japanese as itself rather than as escapes (half the bytes)."""
    return json.dumps(value, ensure_ascii=False, allow_nan=False)


def make_engine(url: str, foreign_keys: bool = True) -> Engine:
    """An engine for `url`; on SQLite with WAL, a busy timeout, and BEGIN IMMEDIATE for writes."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
            parsed = parsed.set(drivername="postgresql+psycopg")  # the driver dlgrade installs
        return create_engine(parsed, pool_pre_ping=True, json_serializer=_json)
    if parsed.database in (None, "", ":memory:"):
        raise GradebookError("gradebook.not_a_file", url=url)
    engine = create_engine(parsed, poolclass=NullPool, json_serializer=_json)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # transactions are begun below, not by the driver
        dbapi_conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _wal(dbapi_conn)  # readers never block the writer
        dbapi_conn.execute(f"PRAGMA foreign_keys = {'ON' if foreign_keys else 'OFF'}")

    @event.listens_for(engine, "begin")
    def _begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(WRITE) else "BEGIN")

    return engine


def _wal(dbapi_conn) -> None:
    """Switch a new database to WAL. The switch needs the file to itself and SQLite answers
    "database is locked" at once, without its busy handler, while another process creates or
    migrates the same new file: so wait here, as long as a writer would."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            dbapi_conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


_KEEP = ExitStack()  # open for the life of the process: the migrations as real files


@cache
def _location() -> str:
    return str(_KEEP.enter_context(as_file(files("grader.gradebook") / "migrations")))


def _config() -> Config:
    """Alembic's configuration, built in code: no alembic.ini to ship or to find."""
    config = Config()
    config.set_main_option("script_location", _location().replace("%", "%%"))
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def migrate(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision` (the newest by default), one process at a time."""
    config = _config()
    scripts = ScriptDirectory.from_config(config)
    # SQLite copies a table to alter it: with foreign keys on, dropping the old copy would fail,
    # or delete the rows that refer to it, so migrations run with them off
    try:
        engine = make_engine(url, foreign_keys=False)
        current = current_revision(engine)
    except (ArgumentError, NoSuchModuleError, OperationalError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise GradebookError("gradebook.cannot_open", url=shown_url(url), reason=reason) from None
    try:
        known = {s.revision for s in scripts.walk_revisions()}
        if current is not None and current not in known:
            raise GradebookError("gradebook.newer", url=shown_url(url), revision=current)
        target = scripts.get_current_head() if revision == "head" else revision
        if current == target:
            return
        with engine.execution_options(**{WRITE: True}).begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            config.attributes["connection"] = conn
            command.upgrade(config, revision)  # reads the revision again, under the lock
    finally:
        engine.dispose()


def shown_url(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(not a database URL)"
