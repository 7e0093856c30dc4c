"""Micro-batching of question encodings: questions asked at the same moment share a model call.

A transformer pass over eight short questions costs little more than over one (the per-layer
overhead dominates at a dozen tokens), so under load one batched call multiplies what a core can
encode. One thread owns the model calls; each caller hands its questions over and waits for its
own vectors. The batcher never waits when it is idle: a lone question is encoded at once, and
questions that arrive while the model is busy form the next batch. Only while traffic is
concurrent (the previous batch had several questions) does the first question of a batch wait
up to ``wait_s`` for company. Passages (index builds) bypass it.

Batched and single encodings agree to float rounding: padded positions are masked out of the
attention and of the pooling (``tests/test_batching.py`` checks it with the real model).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from indexer import timing
from indexer.embed import Embedded, Embedder, Kind, WrappedEmbedder

MAX_BATCH = 32  # questions per model call; beyond this a batch's padding starts to cost


@dataclass
class _Job:
    texts: list[str]
    done: threading.Event = field(default_factory=threading.Event)
    result: Embedded | None = None
    error: BaseException | None = None
    encode_ms: float = 0.0  # the model call it was in (indexer.timing)


class BatchingEmbedder(WrappedEmbedder):
    """An ``Embedder`` whose question encodings are batched across threads."""

    def __init__(self, inner: Embedder, *, wait_s: float, max_batch: int = MAX_BATCH) -> None:
        super().__init__(inner)
        self.wait_s, self.max_batch = wait_s, max_batch
        self.batches = 0  # model calls made for questions (for tests and the load bench)
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def embed(self, texts: Sequence[str], kind: Kind) -> Embedded:
        if kind != "query" or not texts:
            return self.inner.embed(texts, kind)
        self._ensure_started()
        job = _Job(list(texts))
        asked = time.perf_counter()
        self._jobs.put(job)
        job.done.wait()
        # this thread's request timings (the batcher's own thread has none)
        timing.add("queue", (time.perf_counter() - asked) * 1000 - job.encode_ms)
        timing.add("encode", job.encode_ms)
        if job.error is not None:
            raise job.error
        assert job.result is not None
        return job.result

    def stop(self) -> None:
        """End the batching thread (questions asked later start it again)."""
        with self._start_lock:
            if self._thread is not None:
                self._jobs.put(None)
                self._thread.join()
                self._thread = None

    def _ensure_started(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="kb-encode-batcher", daemon=True
                )
                self._thread.start()

    def _run(self) -> None:
        busy = False  # did the last batch have company? Then waiting a moment pays off.
        while (first := self._jobs.get()) is not None:
            jobs, stop = self._gather(first, wait_s=self.wait_s if busy else 0.0)
            self._encode(jobs)
            busy = len(jobs) > 1
            if stop:
                return

    def _gather(self, first: _Job, *, wait_s: float) -> tuple[list[_Job], bool]:
        """``first`` and whatever else is queued (or arrives within ``wait_s``), up to the
        batch size; True when a stop request was among them."""
        jobs, count = [first], len(first.texts)
        deadline = time.monotonic() + wait_s
        while count < self.max_batch:
            remaining = deadline - time.monotonic()
            try:
                job = (
                    self._jobs.get(timeout=remaining) if remaining > 0 else self._jobs.get_nowait()
                )
            except queue.Empty:
                break
            if job is None:
                return jobs, True
            jobs.append(job)
            count += len(job.texts)
        return jobs, False

    def _encode(self, jobs: list[_Job]) -> None:
        texts = [text for job in jobs for text in job.texts]
        started = time.perf_counter()
        try:
            embedded = self.inner.embed(texts, "query")
        except BaseException as exc:  # handed to every caller; the thread goes on
            for job in jobs:
                job.error = exc
                job.done.set()
            return
        self.batches += 1
        encode_ms = (time.perf_counter() - started) * 1000
        start = 0
        for job in jobs:
            end = start + len(job.texts)
            views = embedded.views[start:end] if embedded.views is not None else None
            job.result = Embedded(np.ascontiguousarray(embedded.vectors[start:end]), views)
            job.encode_ms = encode_ms
            job.done.set()
            start = end
