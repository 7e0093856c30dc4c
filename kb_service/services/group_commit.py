"""Group commit for the answer ledger: concurrent answers' records share one transaction.

Every answer is stored durably before its response leaves (``ledger.record``); committed one by
one, each costs a disk sync (SQLite ``synchronous=FULL``, PostgreSQL's WAL flush), which under
load is a good part of an answer's time. Here one thread commits for everybody: a request hands
its record over and waits; the thread takes every record waiting at that moment, commits them
in one transaction (one sync) and then wakes each request. Nothing is acknowledged before its
commit, so a crash loses only answers that were never sent. Records that arrive while a commit
is syncing form the next group; an idle service commits a lone record at once (no waiting).

A group that fails is retried record by record, so one bad record fails only its own request.
Several worker processes each have their own committer; their groups queue on the database's
write lock like any other writers.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field

from sqlalchemy import insert
from sqlalchemy.engine import Engine

from kb_service.models import AnswerRecord

MAX_GROUP = 64  # records per transaction


@dataclass
class _Pending:
    record: AnswerRecord
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class GroupCommitter:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.commits = 0  # transactions made (for tests: fewer than records under load)
        self._pending: queue.SimpleQueue[_Pending | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def commit(self, record: AnswerRecord) -> None:
        """Store ``record``; returns once it is committed, raises what its commit raised."""
        self._ensure_started()
        pending = _Pending(record)
        self._pending.put(pending)
        pending.done.wait()
        if pending.error is not None:
            raise pending.error

    def stop(self) -> None:
        """Commit what is waiting, then end the thread."""
        with self._lock:
            if self._thread is not None:
                self._pending.put(None)
                self._thread.join()
                self._thread = None

    def _ensure_started(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="kb-ledger-commit", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        while (first := self._pending.get()) is not None:
            group, stop = [first], False
            while len(group) < MAX_GROUP:
                try:
                    item = self._pending.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                group.append(item)
            self._commit_group(group)
            if stop:
                return

    def _commit_group(self, group: list[_Pending]) -> None:
        try:
            self._store([p.record for p in group])
        except BaseException as exc:
            if len(group) == 1:
                group[0].error = exc
            else:  # find the one that failed; the others still get stored
                for pending in group:
                    self._commit_one(pending)
        for pending in group:
            pending.done.set()

    def _commit_one(self, pending: _Pending) -> None:
        try:
            self._store([pending.record])
        except BaseException as exc:
            pending.error = exc

    def _store(self, records: list[AnswerRecord]) -> None:
        # A plain INSERT of the rows: the ORM's unit of work adds a third to a lone commit.
        with self.engine.begin() as connection:
            connection.execute(insert(AnswerRecord), [r.model_dump() for r in records])
        self.commits += 1
