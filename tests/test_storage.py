"""Storage faults are seen: a crashed first migration, a deleted database file, a read-only or
full disk and a failed re-index each end in a clear 503 or a retry, never a 500, a lost write or
a silently empty knowledge base.

How the faults are made (the tests run as root in CI, and root ignores permission bits, so
``chmod`` would prove nothing):

- a crash: a child process that ``os._exit``s in the middle of the first migration;
- a read-only data folder: a read-only bind mount of the folder onto itself, which refuses root
  too (where mounting is not allowed, the probe's ``os.open`` fails with EROFS instead);
- a full disk: ``RLIMIT_FSIZE`` 0, under which the kernel refuses every byte written to a file
  (EFBIG), SQLite's included;
- a read-only database: SQLite's ``PRAGMA query_only`` on every connection, which fails writes
  with SQLite's own SQLITE_READONLY.
"""

from __future__ import annotations

import errno
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlmodel import Session

from indexer.embed import HashingEmbedder
from kb_service.config import Settings
from kb_service.db import make_engine, storage_fault
from kb_service.errors import StorageUnavailable
from kb_service.main import create_app
from kb_service.models import Role
from kb_service.services import content_io, indexing, keys
from kb_service.services import storage as storage_service
from kb_service.services.publishing import Actor
from tests.conftest import ON_POSTGRES, Api, publish, sqlite_only

BODY = "Roaming in the EU costs nothing extra.\n\n## Outside the EU\nA daily pass: 5 EUR.\n"
QUESTION = {"question": "How much does roaming cost?", "channel": "chat"}


def _problem(response: Any, status: int = 503) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["detail"]
    return body


def _quiet(tmp_path: Path, poll: float = 0) -> Settings:
    """No index poll unless asked: the index is what publishes and refreshes make it."""
    return Settings(data_dir=tmp_path / "data", embedding_model="hashing", index_poll_seconds=poll)


# ---------------------------------------------------------------- (a) migrations


CRASH_IN_THIRD_TABLE = """
import os, sys
from alembic import op
from kb_service.config import Settings
from kb_service.db import make_engine

create_table, calls = op.create_table, []

def crash_on_the_third(*args, **kwargs):
    calls.append(args[0])
    if len(calls) == 3:
        os._exit(9)
    return create_table(*args, **kwargs)

op.create_table = crash_on_the_third
make_engine(Settings(data_dir=sys.argv[1]))
"""


def test_crash_in_first_migration_leaves_a_usable_data_dir(
    tmp_path: Path, make_api: Callable[..., Api], request: pytest.FixtureRequest
) -> None:
    if ON_POSTGRES:  # an empty database, not a copy of the migrated template
        empty = request.getfixturevalue("pg_server").new_database()
        request.getfixturevalue("monkeypatch").setenv("KB_DATABASE_URL", empty)
    settings = _quiet(tmp_path)
    crashed = subprocess.run(
        [sys.executable, "-c", CRASH_IN_THIRD_TABLE, str(settings.data_dir)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert crashed.returncode == 9, crashed.stderr
    assert ON_POSTGRES or (settings.data_dir / "kb.sqlite3").is_file()

    # Import, key creation and serving all work on the data dir the crash left.
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "roaming.md").write_text(
        "---\nid: roaming\nlocale: en-GB\ntitle: Roaming\n---\n" + BODY
    )
    with Session(make_engine(settings)) as session:
        report = content_io.import_folder(session, articles, actor=Actor("test"))
        assert report.versions_created == 1, report.problems
        keys.create_key(session, role=Role.agent, name="after the crash")
    api = make_api(settings)
    assert api.client.get("/healthz").json()["kb_revision"] == 1
    assert api.post("/v1/answers", Role.agent, json=QUESTION).status_code == 200


# ---------------------------------------------------------------- (b) a deleted database


@sqlite_only
def test_deleted_database_file_is_refused_not_lost(tmp_path: Path) -> None:
    settings = _quiet(tmp_path)
    client = TestClient(create_app(settings, embedder=HashingEmbedder()))
    client.__enter__()
    try:
        api = Api(client)
        publish(api, "roaming", "en-GB", "Roaming", BODY)
        assert api.post("/v1/answers", Role.agent, json=QUESTION).status_code == 200

        (settings.data_dir / "kb.sqlite3").unlink()

        answer = _problem(api.post("/v1/answers", Role.agent, json=QUESTION))
        assert "deleted or replaced" in answer["detail"]
        _problem(
            api.put(
                "/v1/articles/roaming/translations/en-GB/draft",
                json={"title": "R", "markdown": BODY},
            )
        )
        _problem(client.get("/readyz"))
        _problem(client.get("/healthz"))
    finally:
        client.__exit__(None, None, None)

    # The restart finds an empty database beside an index built from revision 1: it refuses.
    restarted = TestClient(create_app(settings, embedder=HashingEmbedder()))
    with pytest.raises(StorageUnavailable, match="is empty") as refused:
        restarted.__enter__()
    assert str(settings.index_dir) in refused.value.detail
    assert "backup" in refused.value.detail

    # Its advice works: without the index, an empty knowledge base starts on purpose.
    import shutil

    shutil.rmtree(settings.index_dir)
    with TestClient(create_app(settings, embedder=HashingEmbedder())) as fresh:
        assert fresh.get("/healthz").json()["kb_revision"] == 0


# ---------------------------------------------------------------- (c) read-only and full disks


@contextmanager
def _read_only(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``folder`` refuses new writes: a read-only bind mount onto itself (files already open,
    such as SQLite's, keep working, as after a remount); without the right to mount, the write
    probe's ``os.open`` in ``folder`` fails with EROFS."""

    def run(*args: str) -> bool:
        try:
            return subprocess.run(args, capture_output=True, timeout=30).returncode == 0
        except OSError:
            return False

    if run("mount", "--bind", str(folder), str(folder)):
        try:
            assert run("mount", "-o", "remount,bind,ro", str(folder)), "cannot remount read-only"
            yield
        finally:
            assert run("umount", str(folder))
        return
    real_open = os.open

    def refuse(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if Path(path).parent == folder and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(storage_service.os, "open", refuse)
        yield


@contextmanager
def _full_disk() -> Iterator[None]:
    """No byte can be written to any file (RLIMIT_FSIZE 0: EFBIG, for root too)."""
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, handler)


def test_readyz_fails_on_a_read_only_data_dir(
    make_api: Callable[..., Api], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _quiet(tmp_path)
    api = make_api(settings)
    assert api.client.get("/readyz").json()["status"] == "ready"

    with _read_only(settings.data_dir, monkeypatch):
        problem = _problem(api.client.get("/readyz"))
        assert str(settings.data_dir) in problem["detail"]
        assert api.client.get("/healthz").status_code == 200  # reads still work

    assert api.client.get("/readyz").status_code == 200


@sqlite_only  # the file size limit binds this process, not a database server
def test_readyz_and_answers_fail_503_when_the_disk_is_full(
    make_api: Callable[..., Api], tmp_path: Path
) -> None:
    api = make_api(_quiet(tmp_path))
    publish(api, "roaming", "en-GB", "Roaming", BODY)

    with _full_disk():
        ready = api.client.get("/readyz")
        answer = api.post("/v1/answers", Role.agent, json=QUESTION)
    _problem(ready)
    assert "Nothing was saved" in _problem(answer)["detail"]

    assert api.client.get("/readyz").status_code == 200
    assert api.post("/v1/answers", Role.agent, json=QUESTION).status_code == 200


@sqlite_only  # PRAGMA query_only; PostgreSQL's read-only SQLSTATE is tested by its code
def test_read_only_database_gives_503_not_500(make_api: Callable[..., Api], tmp_path: Path) -> None:
    api = make_api(_quiet(tmp_path))
    publish(api, "roaming", "en-GB", "Roaming", BODY)
    engine = api.client.app.state.engine  # type: ignore[attr-defined]

    def query_only(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA query_only = 1")

    event.listen(engine, "connect", query_only)
    engine.dispose()
    try:
        assert "read-only" in _problem(api.post("/v1/answers", Role.agent, json=QUESTION))["detail"]
        draft = {"title": "Roaming", "markdown": BODY + "\nNew.\n"}
        _problem(api.put("/v1/articles/roaming/translations/en-GB/draft", json=draft))
        _problem(api.client.get("/readyz"))
        assert api.client.get("/healthz").status_code == 200
    finally:
        event.remove(engine, "connect", query_only)
        engine.dispose()
    assert api.client.get("/readyz").status_code == 200


def test_sqlite_storage_errors_are_recognised(tmp_path: Path) -> None:
    database = sqlite3.connect(tmp_path / "x.sqlite3")
    database.execute("CREATE TABLE t (b BLOB)")
    database.commit()
    errors: dict[str, sqlite3.Error] = {}
    database.execute("PRAGMA query_only = 1")
    with pytest.raises(sqlite3.OperationalError) as read_only:
        database.execute("INSERT INTO t VALUES (1)")
    database.execute("PRAGMA query_only = 0")
    pages = database.execute("PRAGMA page_count").fetchone()[0]
    database.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(sqlite3.OperationalError) as full:
        database.execute("INSERT INTO t VALUES (?)", (b"\0" * 100_000,))
    with pytest.raises(sqlite3.OperationalError) as cannot_open:
        sqlite3.connect(tmp_path / "missing" / "x.sqlite3")
    with pytest.raises(sqlite3.OperationalError) as no_table:
        database.execute("SELECT * FROM missing")
    errors = {"read": read_only.value, "full": full.value, "open": cannot_open.value}
    assert {k: storage_fault(e) for k, e in errors.items()} == {
        "read": "the database is read-only (a read-only file or file system)",
        "full": "the disk is full",
        "open": "the database file cannot be opened",
    }
    assert storage_fault(no_table.value) is None
    database.close()


# ---------------------------------------------------------------- (d) re-index retried


def test_failed_reindex_is_retried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build = indexing.build_index
    failures: list[str] = []

    def fail_twice(*args: Any, **kwargs: Any) -> Any:
        if len(failures) < 2:
            failures.append("failed")
            raise OSError(errno.ENOSPC, "No space left on device (simulated)")
        return build(*args, **kwargs)

    settings = _quiet(tmp_path, poll=0.05)
    with TestClient(create_app(settings, embedder=HashingEmbedder())) as client:
        api = Api(client)
        monkeypatch.setattr(indexing, "build_index", fail_twice)
        publish(api, "roaming", "en-GB", "Roaming", BODY)  # its own re-index fails

        deadline = time.monotonic() + 10
        health = client.get("/healthz").json()
        while health["index_revision"] != health["kb_revision"] and time.monotonic() < deadline:
            time.sleep(0.05)
            health = client.get("/healthz").json()
        assert health["index_revision"] == health["kb_revision"] == 1
        assert failures == ["failed", "failed"]
        service = client.app.state.index  # type: ignore[attr-defined]
        assert {s.article_id for s in service.current.sections} == {"roaming"}
        poller = service._poller
        assert poller is not None and poller.is_alive()
    assert not poller.is_alive()  # the lifespan stopped it
