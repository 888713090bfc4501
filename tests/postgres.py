"""A real PostgreSQL server for the tests: Debian's `postgresql` package, started once per test
session in a temporary folder, as an unprivileged user (the server refuses to run as root), on a
unix socket in that folder only (no TCP port to clash with), and stopped at the end.

Each test gets a database of its own (`new_database`): a schema of its own, first in the search
path of every connection made from its URL (a schema takes a millisecond, a CREATE DATABASE 100). Missing binaries FAIL the test that asks for
the server: CI installs them (scripts/setup.sh), so a silent skip would hide a broken set-up.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

SETUP_HINT = "PostgreSQL's server is not installed: run scripts/setup.sh (it installs Debian's postgresql package)"


def server_bin() -> Path | None:
    """The newest /usr/lib/postgresql/<major>/bin holding initdb and pg_ctl."""
    found = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    found = [b for b in found if (b / "pg_ctl").is_file()]
    return max(found, key=lambda b: int(b.parent.name) if b.parent.name.isdigit() else 0) if found else None


class PostgresServer:
    def __init__(self, bindir: Path):
        self.bindir = bindir
        # in /tmp: nobody must reach it (pytest's folders are root's alone), and a socket's path is
        # at most 107 bytes (a long TMPDIR would pass that)
        self.root = Path(tempfile.mkdtemp(prefix="dlgrade-pg-", dir="/tmp"))
        # the server refuses to run as root: as root, run it as nobody, the folder its own
        self.user = pwd.getpwnam("nobody") if os.geteuid() == 0 else None
        if self.user:
            os.chown(self.root, self.user.pw_uid, self.user.pw_gid)
        self.data, self.socket_dir = self.root / "data", self.root
        self._names = itertools.count(1)

    def _run(self, *args: str) -> None:
        ids = {"user": self.user.pw_uid, "group": self.user.pw_gid, "extra_groups": []} if self.user else {}
        env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "HOME": str(self.root)}
        run = subprocess.run(args, capture_output=True, text=True, timeout=60, env=env, cwd=self.root, **ids)
        if run.returncode:
            log = self.root / "server.log"
            raise RuntimeError(f"{args[0]} failed: {run.stdout}{run.stderr}{log.read_text() if log.exists() else ''}")

    def start(self) -> None:
        # trust: only this user's processes reach the socket folder; no sync: a test server
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", "dlgrade", "--auth=trust", "-E", "UTF8",
                  "--locale=C.UTF-8", "--no-sync")  # fmt: skip
        options = f"-k {self.socket_dir} -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"),
                  "-w", "-t", "30", "-o", options, "start")  # fmt: skip

    def stop(self) -> None:
        try:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, schema: str = "public") -> str:
        return f"postgresql+psycopg://dlgrade@/postgres?host={self.socket_dir}&options=-csearch_path%3D{schema}"

    def new_database(self) -> str:
        """The URL of a new, empty database (schema)."""
        import psycopg

        name = f"test_{next(self._names)}"
        with psycopg.connect(host=str(self.socket_dir), user="dlgrade", dbname="postgres", autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {name}")
        return self.url(name)


def require_server_bin() -> Path:
    """The server's binaries, or the test FAILS saying how to install them (never a skip)."""
    bindir = server_bin()
    if bindir is None:
        pytest.fail(SETUP_HINT, pytrace=False)
    return bindir


@pytest.fixture(scope="session")
def postgres_server():
    server = PostgresServer(require_server_bin())
    try:
        server.start()
    except BaseException:
        server.stop()
        raise
    yield server
    server.stop()
