"""A throw-away PostgreSQL server for the tests (``KB_TEST_DATABASE=postgresql``).

``PgServer.start()`` runs ``initdb`` into a temporary folder and ``pg_ctl start`` on a free
local port (unix sockets in that folder too), as the ``postgres`` user when the tests run as
root (initdb and postgres refuse root). ``new_database()`` copies a template database with
``CREATE DATABASE ... TEMPLATE``, which is a file copy: fast enough for one database per test.
``KB_TEST_PG_BIN`` names the folder of the server binaries (default: the newest
/usr/lib/postgresql/*/bin, then ``PATH``).
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import psycopg
from psycopg import sql


def pg_bin() -> Path:
    configured = os.environ.get("KB_TEST_PG_BIN")
    if configured:
        return Path(configured)
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
    )
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise RuntimeError("no PostgreSQL server binaries (initdb): run `make postgresql`")
    return Path(initdb).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PgServer:
    def __init__(self, root: Path | None = None) -> None:
        self.root = root or Path(tempfile.mkdtemp(prefix="kb-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.bin = pg_bin()
        self._names = itertools.count(1)
        self._as_postgres = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, text=True)

    def start(self) -> PgServer:
        if not self.data.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            if self._as_postgres:
                shutil.chown(self.root, "postgres", "postgres")
            self._run(
                "initdb",
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
            )
        self.pg_ctl_start()
        return self

    def pg_ctl_start(self) -> None:
        # fsync off: a test server; nothing here must survive a power cut.
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c full_page_writes=off -c synchronous_commit=off -c max_connections=200"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-w",
            "-l",
            str(self.root / "server.log"),
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        )

    def new_database(self, template: str | None = None, name: str | None = None) -> str:
        """A new database (a copy of ``template`` when given); returns its SQLAlchemy URL."""
        name = name or f"kb_{os.getpid()}_{next(self._names)}"
        with self._admin() as conn:
            create = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            if template:
                create = sql.SQL("{} TEMPLATE {}").format(create, sql.Identifier(template))
            conn.execute(create)
        return self.url(name)

    def drop_database(self, name: str) -> None:
        with self._admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def cleanup(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)
