"""Group commit of the answer ledger (``services.group_commit``): concurrent records share one
transaction, each caller returns only once its record is committed, and one bad record fails
only its own caller."""

from __future__ import annotations

import http.client
import json
import sqlite3
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from kb_service.bench.answers import served_dataset
from kb_service.config import Settings
from kb_service.db import make_engine, sqlite_file
from kb_service.models import AnswerRecord
from kb_service.services.group_commit import GroupCommitter

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    # SQLite on purpose: the test holds the database's write lock with a second connection.
    settings = Settings(data_dir=tmp_path / "data", embedding_model="hashing", database_url=None)
    engine = make_engine(settings)
    yield engine
    engine.dispose()


def _record(answer_id: str | None = None) -> AnswerRecord:
    return AnswerRecord(
        id=answer_id or str(uuid.uuid4()),
        channel="chat",
        question="How do I pay?",
        status="no_answer",
        confidence=0.0,
        kb_revision=1,
        response_json="{}",
    )


def _stored(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(AnswerRecord)).one())


def _commit_while_locked(
    engine: Engine, committer: GroupCommitter, first: AnswerRecord, rest: list[AnswerRecord]
) -> list[BaseException | None]:
    """``first`` is committed while another connection holds the write lock; ``rest`` queue up
    behind it meanwhile; then the lock is released. Returns what each commit raised."""
    path = sqlite_file(engine)
    assert path is not None
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    before = _stored(engine)
    outcomes: list[BaseException | None] = [None] * (1 + len(rest))

    def commit(i: int, record: AnswerRecord) -> None:
        try:
            committer.commit(record)
        except BaseException as exc:
            outcomes[i] = exc

    with ThreadPoolExecutor(max_workers=len(outcomes)) as pool:
        pool.submit(commit, 0, first)
        time.sleep(0.3)  # the committer takes it alone and waits for the lock
        for i, record in enumerate(rest, 1):
            pool.submit(commit, i, record)
        deadline = time.monotonic() + 10
        while committer._pending.qsize() < len(rest) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _stored(engine) == before, "nothing may be committed while the lock is held"
        blocker.execute("ROLLBACK")
    blocker.close()
    return outcomes


def test_records_that_wait_together_are_committed_together(engine: Engine) -> None:
    committer = GroupCommitter(engine)
    outcomes = _commit_while_locked(engine, committer, _record(), [_record() for _ in range(9)])
    committer.stop()
    assert outcomes == [None] * 10
    assert _stored(engine) == 10
    assert committer.commits == 2  # the first alone, the nine that queued behind it in one


def test_a_bad_record_fails_only_its_own_request(engine: Engine) -> None:
    committer = GroupCommitter(engine)
    existing = _record()
    committer.commit(existing)
    duplicate = _record(existing.id)
    outcomes = _commit_while_locked(engine, committer, _record(), [_record(), duplicate, _record()])
    committer.stop()
    assert outcomes[:2] == [None, None] and outcomes[3] is None
    assert outcomes[2] is not None and "UNIQUE" in str(outcomes[2])
    assert _stored(engine) == 4  # the existing one and the three good ones


def test_concurrent_answers_over_http_are_all_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KB_EMBEDDING_MODEL", "hashing")
    monkeypatch.delenv("KB_DATABASE_URL", raising=False)
    with served_dataset(REPO / "content") as client:
        port = client._connection.port
        headers = dict(client._headers)

        def ask(n: int) -> str:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            body = json.dumps({"question": f"How do I pay my bill? ({n})", "channel": "chat"})
            connection.request("POST", "/v1/answers", body=body, headers=headers)
            response = connection.getresponse()
            assert response.status == 200
            answer_id = str(json.loads(response.read())["answer_id"])
            connection.close()
            return answer_id

        with ThreadPoolExecutor(max_workers=16) as pool:
            ids = list(pool.map(ask, range(48)))
        assert len(set(ids)) == 48
        for answer_id in ids:  # each was committed before its response was sent
            replay = client.get(f"/v1/answers/{answer_id}")
            assert replay["answer_id"] == answer_id
