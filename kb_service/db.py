"""Engine and sessions. SQLite by default (a file under KB_DATA_DIR)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import event, make_url
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from kb_service import models  # noqa: F401  (registers the tables on the metadata)
from kb_service.config import Settings

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
        engine = create_engine(url, pool_pre_ping=True, **_pool(settings))
    migrate(engine)
    return engine


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (a new database gets every table)."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets searches read while a publish writes; FULL sync so a committed answer
    # record survives a crash right after the response.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session
