"""Engine and sessions. SQLite by default (a file under KB_DATA_DIR).

Transactions that must not interleave:

- ``begin_write(session)`` first in every service write that reads and then writes (a publish
  reads the translation's state and the last version number, then inserts a version and raises
  the KB revision): the transaction holds the write lock from its first statement, so writers
  queue instead of losing each other's updates.
- ``begin_snapshot(session)`` first in a read that must be consistent across statements (the
  index build reads the KB revision and the live documents it was built from).

Storage faults become ``StorageUnavailable`` (503), never a 500 or a silent loss: SQLite's
read-only, disk-full, I/O and cannot-open errors (and PostgreSQL's equivalents), and a database
file deleted or replaced under the running process.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, insert, make_url
from sqlalchemy.engine import Connection, Engine, ExceptionContext
from sqlmodel import Session, col, create_engine, select

from kb_service import models  # noqa: F401  (registers the tables on the metadata)
from kb_service.config import Settings
from kb_service.errors import StorageUnavailable
from kb_service.models import KbState

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Connections kept beyond one per worker thread, for /healthz (which has threads of its own).
HEALTH_CONNECTIONS = 2


def _pool(settings: Settings) -> dict[str, Any]:
    """One connection per thread that can run a query at once, so none waits for another's;
    a wait that still happens (a leak, a stuck query) ends after KB_DB_POOL_TIMEOUT as 503."""
    if make_url(settings.resolved_database_url).database in (None, "", ":memory:"):
        return {}  # an in-memory SQLite database lives in one connection; no queue to size
    return {
        "pool_size": settings.worker_threads + HEALTH_CONNECTIONS,
        "max_overflow": 0,
        "pool_timeout": settings.db_pool_timeout,
    }


def make_engine(settings: Settings) -> Engine:
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **_pool(settings)
        )
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        # pre-ping: a connection the server dropped (restart, failover) is replaced before
        # use, so the service recovers by itself when the database is back.
        engine = create_engine(
            url, pool_pre_ping=True, connect_args={"connect_timeout": 5}, **_pool(settings)
        )
    retry_after = settings.db_retry_after_seconds
    event.listen(
        engine, "handle_error", lambda context: _storage_fault_as_503(context, retry_after)
    )
    migrate(engine)
    path = sqlite_file(engine)
    if path is not None:
        _DatabaseFileGuard(path).watch(engine)
    return engine


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (a new database gets every table): all or nothing.

    pysqlite begins a transaction only before INSERT/UPDATE/DELETE, so on SQLite each CREATE or
    ALTER would commit by itself and a crash half-way would leave a schema no later start can
    upgrade. The explicit ``BEGIN IMMEDIATE`` makes the whole upgrade one transaction (SQLite's
    DDL is transactional) and makes processes that start together migrate one after the other.
    """
    config = alembic_config(engine)
    with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        _seed_kb_state(connection)


def _seed_kb_state(connection: Connection) -> None:
    """The one KB state row exists from the start, so writers can always lock it."""
    found = connection.execute(select(KbState.revision).where(col(KbState.id) == 1)).first()
    if found is None:
        connection.execute(insert(KbState).values(id=1, revision=0))


def begin_write(session: Session) -> None:
    """Make the session's next transaction hold the database's write lock from its start.

    Call it first in a service function that writes, before any change: it ends the read-only
    transaction the session may be in (earlier reads, such as the caller's API key), begins a new
    one holding the lock until commit or rollback, and expires loaded objects so every read
    after it sees what the previous writer committed.

    SQLite: ``BEGIN IMMEDIATE``. A deferred transaction (pysqlite's default) that reads first
    neither sees nor waits for a writer that commits meanwhile: it either overwrites that
    writer's update or fails with SQLITE_BUSY (WAL). Other engines (PostgreSQL): a row lock on
    the one ``kbstate`` row, ``SELECT ... FOR UPDATE``, which every writer takes first.
    """
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("begin_write() must come before the session's first change")
    session.commit()
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        session.exec(select(KbState.revision).where(col(KbState.id) == 1).with_for_update())
    session.expire_all()


def begin_snapshot(session: Session) -> None:
    """Make every read of the session until commit, rollback or close one consistent snapshot.

    Call it first in a fresh session. SQLite: an explicit ``BEGIN`` (pysqlite would run each
    SELECT as its own transaction). PostgreSQL: REPEATABLE READ (READ COMMITTED takes a new
    snapshot per statement).
    """
    if session.in_transaction():
        raise RuntimeError("begin_snapshot() must be the first use of the session")
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql("BEGIN")
    else:
        session.connection(execution_options={"isolation_level": "REPEATABLE READ"})


def sqlite_file(engine: Engine) -> Path | None:
    """The database file of a SQLite engine (None for other engines and in-memory databases)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):  # a URI (?uri=true); nothing to guard reliably
        return None
    return Path(database).resolve()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets searches read while a publish writes; FULL sync so a committed answer
    # record survives a crash right after the response.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


# ---------------------------------------------------------------- storage faults

# SQLite primary result codes (extended codes keep these in their low byte).
_SQLITE_FAULTS = {
    8: "the database is read-only (a read-only file or file system)",  # SQLITE_READONLY
    10: "the disk reported an I/O error",  # SQLITE_IOERR
    13: "the disk is full",  # SQLITE_FULL
    14: "the database file cannot be opened",  # SQLITE_CANTOPEN
}
# SQLSTATEs of PostgreSQL (psycopg's ``sqlstate``, psycopg2's ``pgcode``).
_SQLSTATE_FAULTS = {
    "25006": "the database is read-only (a standby or a read-only transaction)",
    "53100": "the database's disk is full",
    "58030": "the database's disk reported an I/O error",
}


def storage_fault(exc: BaseException) -> str | None:
    """What storage fault a driver error reports, or None when it is not one."""
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return _SQLITE_FAULTS.get(code & 0xFF)
    state = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    return _SQLSTATE_FAULTS.get(state) if isinstance(state, str) else None


# SQLSTATE classes and codes of a server that is gone or not there yet: connection exceptions
# (08xxx), admin/crash shutdown (57P01, 57P02), starting up (57P03).
_UNREACHABLE_STATES = ("08", "57P01", "57P02", "57P03")


def unreachable(context: ExceptionContext) -> bool:
    """The database server cannot be reached (down, restarting, the connection dropped)."""
    if context.dialect is not None and context.dialect.name == "sqlite":
        return False
    if context.is_disconnect:
        return True
    exc = context.original_exception
    state = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    if isinstance(state, str):
        return state.startswith(_UNREACHABLE_STATES)
    # psycopg raises a plain OperationalError (no SQLSTATE) when it cannot connect at all
    kind = type(exc)
    return kind.__name__ == "OperationalError" and kind.__module__.startswith("psycopg")


def _storage_fault_as_503(context: ExceptionContext, retry_after: int) -> BaseException | None:
    if unreachable(context):
        return StorageUnavailable(
            f"The database cannot be reached ({context.original_exception}); nothing was "
            f"saved. Retry in {retry_after} s: the service reconnects by itself when the "
            "database is back.",
            retry_after=retry_after,
        )
    fault = storage_fault(context.original_exception)
    if fault is None:
        return None
    return StorageUnavailable(
        f"Nothing was saved: {fault} ({context.original_exception}). Free or repair the "
        "storage under KB_DATA_DIR (or the database server) and retry; GET /readyz tells "
        "when writes work again."
    )


class _DatabaseFileGuard:
    """Refuses to go on with a SQLite file that was deleted or replaced under the process.

    Open connections keep writing into a deleted file (its inode lives on until they close), so
    answers and publishes would return 200 and be lost, and a new connection would create an
    empty database at the path. The file's identity (device, inode) is checked before a
    connection is opened, when a transaction begins and before it commits: one ``stat`` each.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.identity = _identity(path)

    def watch(self, engine: Engine) -> None:
        event.listen(engine, "do_connect", self._before_connect)
        event.listen(engine, "begin", self.check)
        event.listen(engine, "commit", self.check)

    def check(self, *_: Any) -> None:
        if _identity(self.path) != self.identity:
            raise StorageUnavailable(
                f"The database file {self.path} was deleted or replaced while the service was "
                "running, so nothing more is read or written. Stop the service, put the file "
                "back (restore it from a backup) and start the service again."
            )

    def _before_connect(self, *_: Any) -> None:
        self.check()  # returning None lets the driver connect as usual


def _identity(path: Path) -> tuple[int, int] | None:
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return stat.st_dev, stat.st_ino


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session
