"""Micro-batching of question encodings, over one queue that every worker process shares.

A transformer pass over eight short questions costs less than eight passes, so under load one
batched call multiplies what a core can encode. Each process has one encoder thread that owns
its model calls; callers hand their questions to the queue and wait for their own vectors. An
encoder never waits when it is idle: a lone question is encoded at once, and questions that
arrive while the encoders are busy form the next batch. Only while traffic is concurrent (the
previous batch had several questions) does the first question of a batch wait up to ``wait_s``
for company. Passages (index builds) and large calls bypass the queue.

Why one queue for all workers (``EncodeQueue``): a kept-alive HTTP connection stays with the
worker that accepted it, so with a queue per worker a question can wait behind another in a busy
worker while the other core idles. With one queue the first free encoder, in any worker, takes
it: two encoders behind one queue, not two queues of one.

The queue is a Unix datagram socket pair made before the workers start and inherited by them:
the kernel hands each datagram to exactly one receiver, so there is no lock that a crashed
worker could leave held. Answers go straight back to the asking thread's own datagram socket,
on which it waits: no thread in between to wake and hand them on (each such wake-up, under load,
waits for a core). Messages are JSON and raw float32 (never pickle: a local socket is not a
place to run code from).

Batched and single encodings agree to rounding (1e-5 in float32, 2e-3 in bfloat16): padded
positions are masked out of the attention and of the pooling (``tests/test_batching.py`` checks
it with the real model).
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import select
import socket
import struct
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from indexer import timing
from indexer.embed import Embedded, Embedder, Kind, WrappedEmbedder

MAX_BATCH = 32  # questions per model call; beyond this a batch's padding starts to cost
MAX_JOB_BYTES = 64 * 1024  # a larger call is encoded where it is asked (datagrams are bounded)
# An asker that hears nothing for this long encodes the question itself: the worker whose encoder
# took it has died (a queued question waits at most a few batches, well under a second).
ORPHAN_TIMEOUT_S = 10.0
_HEADER = struct.Struct("!QdII?")  # job id, encode ms, texts, dimension, has views
_log = logging.getLogger(__name__)


class EncodeQueue:
    """The questions waiting for an encoder, shared by every process that inherits it.

    Made by the server before it starts its workers and handed to them when they are spawned
    (``multiprocessing`` passes the socket pair's file descriptors on). One process alone makes
    its own."""

    def __init__(self, encoders: int = 1) -> None:
        self.encoders = encoders  # processes whose encoder takes from this queue
        self.sender, self.receiver = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.receiver.setblocking(False)  # encoders wait in select(); another may win the datagram

    def __getstate__(self) -> dict[str, Any]:
        # multiprocessing refuses to pickle a socket outside of spawning a process.
        from multiprocessing.context import assert_spawning

        assert_spawning(self)
        return {"sender": self.sender, "receiver": self.receiver, "encoders": self.encoders}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.sender, self.receiver = state["sender"], state["receiver"]
        self.encoders = state["encoders"]
        self.receiver.setblocking(False)

    def close(self) -> None:
        self.sender.close()
        self.receiver.close()


@dataclass
class _Job:
    result: Embedded | None = None
    failed: bool = False  # the encoder's model call raised: the asker tries its own model
    encode_ms: float = 0.0  # the model call it was in (indexer.timing)


@dataclass
class _Received:
    raw: bytes  # the datagram, to hand back to the queue as it came
    reply_to: bytes
    job_id: int
    texts: list[str]


class BatchingEmbedder(WrappedEmbedder):
    """An ``Embedder`` whose question encodings are batched across threads and processes."""

    def __init__(
        self,
        inner: Embedder,
        *,
        wait_s: float,
        max_batch: int = MAX_BATCH,
        queue: EncodeQueue | None = None,
    ) -> None:
        super().__init__(inner)
        self.wait_s, self.max_batch = wait_s, max_batch
        self._owns_queue = queue is None  # closed on stop(), made again on the next question
        self.queue = queue or EncodeQueue()
        self.batches = 0  # model calls this process made for questions (tests, benches)
        self._pending: dict[int, socket.socket] = {}  # questions waiting, by id: their askers
        self._ids = itertools.count(1)
        self._askers = threading.local()  # .socket: the thread's own, its answers come to it
        self._asker_sockets: set[socket.socket] = set()  # all of them, for stop()
        self._answers_out: socket.socket | None = None  # this encoder's answers to any process
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._wake_r, self._wake_w = -1, -1
        self._start_lock = threading.Lock()

    def embed(self, texts: Sequence[str], kind: Kind) -> Embedded:
        if kind != "query" or not texts or len(texts) > self.max_batch:
            return self.inner.embed(texts, kind)
        self.start()
        job_id = next(self._ids)
        asked = time.perf_counter()
        job: _Job | None = None
        try:
            asker = self._asker_socket()
            address = asker.getsockname()
            message = json.dumps({"r": address.hex(), "i": job_id, "t": list(texts)}).encode()
            if len(message) > MAX_JOB_BYTES:
                raise OSError("too large for the shared queue")
            self._pending[job_id] = asker
            self.queue.sender.send(message)
            job = self._answer_to(asker, job_id)
        except OSError:
            pass
        finally:
            self._pending.pop(job_id, None)
        if job is None or job.failed or job.result is None:
            if job is None:
                _log.warning("question %d got no encoder's answer; encoding it here", job_id)
            return self.inner.embed(texts, kind)  # raises the model's own error, if any
        # this thread's request timings (the encoder threads add none)
        timing.add("queue", (time.perf_counter() - asked) * 1000 - job.encode_ms)
        timing.add("encode", job.encode_ms)
        return job.result

    def stop(self) -> None:
        """End this process's encoder (questions asked later start it again). A batch being
        encoded is finished and answered first; askers still waiting encode theirs themselves."""
        with self._start_lock:
            if not self._threads:
                return
            self._stopping.set()
            os.write(self._wake_w, b"x")
            for thread in self._threads:
                thread.join()
            for asker in self._asker_sockets:
                asker.shutdown(socket.SHUT_RDWR)  # a thread waiting on it hears the end
                asker.close()
            self._asker_sockets.clear()
            assert self._answers_out is not None
            self._answers_out.close()
            os.close(self._wake_r)
            os.close(self._wake_w)
            self._threads, self._answers_out = [], None
            self._stopping.clear()
            if self._owns_queue:
                self.queue.close()

    def start(self) -> None:
        """Start this process's encoder: it takes any worker's questions, so a server starts it
        at once, not at its own first question."""
        with self._start_lock:
            if self._threads:
                return
            if self._owns_queue and self.queue.sender.fileno() == -1:
                self.queue = EncodeQueue()
            self._answers_out = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self._wake_r, self._wake_w = os.pipe()
            self._threads = [
                threading.Thread(target=self._encode_loop, name="kb-encoder", daemon=True)
            ]
            for thread in self._threads:
                thread.start()

    # The asking side: each thread waits for its answers on a socket of its own.

    def _asker_socket(self) -> socket.socket:
        asker: socket.socket | None = getattr(self._askers, "socket", None)
        if asker is None or asker.fileno() == -1:  # new thread, or closed by stop()
            asker = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            # An abstract address (Linux): nothing on disk to clean up when a worker dies.
            asker.bind(b"\0kb-encode-%d-%s" % (os.getpid(), os.urandom(6).hex().encode()))
            with self._start_lock:
                self._asker_sockets.add(asker)
            self._askers.socket = asker
        return asker

    def _answer_to(self, asker: socket.socket, job_id: int) -> _Job | None:
        """The answer to ``job_id``, or None after ``ORPHAN_TIMEOUT_S`` or on stop(). An answer
        to an earlier question of this thread, one it gave up on, is dropped."""
        deadline = time.monotonic() + ORPHAN_TIMEOUT_S
        while (left := deadline - time.monotonic()) > 0:
            asker.settimeout(left)
            data = asker.recv(1 << 20)  # TimeoutError (an OSError) at the deadline
            if not data:
                return None  # shut down by stop()
            try:
                answered, job = _read_reply(data, self.dimension)
            except (ValueError, struct.error):
                _log.warning("dropped a malformed encoder reply")
                continue
            if answered == job_id:
                return job
        return None

    # The encoder: takes questions from the shared queue, whoever asked them.

    def _encode_loop(self) -> None:
        busy = False  # did the last batch have company? Then waiting a moment pays off.
        while not self._stopping.is_set():
            first = self._receive(timeout=None)
            if first is None:
                continue
            jobs = self._gather(first, wait_s=self.wait_s if busy else 0.0)
            self._encode(jobs)
            busy = len(jobs) > 1

    def _receive(self, timeout: float | None) -> _Received | None:
        """The next queued question, or None at the timeout, on stop, or when another encoder
        took the datagram first."""
        receiver = self.queue.receiver.fileno()
        ready, _, _ = select.select([receiver, self._wake_r], [], [], timeout)
        if receiver not in ready or self._stopping.is_set():
            return None
        try:
            data = self.queue.receiver.recv(MAX_JOB_BYTES)
        except BlockingIOError:
            return None
        try:
            message = json.loads(data)
            return _Received(
                data, bytes.fromhex(message["r"]), int(message["i"]), list(message["t"])
            )
        except (ValueError, KeyError, TypeError):
            _log.warning("dropped a malformed message on the encode queue")
            return None

    def _gather(self, first: _Received, *, wait_s: float) -> list[_Received]:
        """``first`` and this encoder's share of whatever else is queued (or arrives within
        ``wait_s``), up to the batch size.

        Questions queue only while every encoder is busy. The share is the queue divided by
        the encoders, the rest handed back: the other encoders will be free before a batch of
        all of them would be done (two questions in one call take ~1.8 times one; one each on
        two encoders, ~1.25 times on average), while a deep queue still makes batches."""
        jobs, count = [first], len(first.texts)
        deadline = time.monotonic() + wait_s
        while count < self.max_batch:
            job = self._receive(timeout=max(0.0, deadline - time.monotonic()))
            if job is None:
                break
            jobs.append(job)
            count += len(job.texts)
        keep = -(-len(jobs) // max(1, self.queue.encoders))
        while keep < len(jobs):
            try:  # never blocking: with the queue full, two encoders could wait on each other
                self.queue.sender.send(jobs[-1].raw, socket.MSG_DONTWAIT)
            except OSError:  # the queue is full: the rest are encoded here
                break
            jobs.pop()
        return jobs

    def _encode(self, jobs: list[_Received]) -> None:
        texts = [text for job in jobs for text in job.texts]
        started = time.perf_counter()
        try:
            embedded: Embedded | None = self.inner.embed(texts, "query")
        except Exception:  # each asker retries on its own model, which raises it there
            _log.exception("encoding a batch of %d questions failed", len(texts))
            embedded = None
        encode_ms = (time.perf_counter() - started) * 1000
        if embedded is not None:
            self.batches += 1
        assert self._answers_out is not None
        start = 0
        for job in jobs:
            end = start + len(job.texts)
            answer = _reply(job.job_id, encode_ms, embedded, start, end)
            try:
                self._answers_out.sendto(answer, job.reply_to)
            except OSError:  # the asker's process has gone
                pass
            start = end


def _reply(job_id: int, encode_ms: float, embedded: Embedded | None, start: int, end: int) -> bytes:
    if embedded is None:
        return _HEADER.pack(job_id, encode_ms, 0, 0, False)
    vectors = np.ascontiguousarray(embedded.vectors[start:end], dtype=np.float32)
    has_views = embedded.views is not None
    parts = [_HEADER.pack(job_id, encode_ms, end - start, vectors.shape[1], has_views)]
    parts.append(vectors.tobytes())
    if embedded.views is not None:
        parts.append(np.ascontiguousarray(embedded.views[start:end], dtype=np.float32).tobytes())
    return b"".join(parts)


def _read_reply(data: bytes, dimension: int) -> tuple[int, _Job]:
    job_id, encode_ms, count, width, has_views = _HEADER.unpack_from(data)
    job = _Job(encode_ms=encode_ms)
    if count == 0:
        job.failed = True
        return job_id, job
    if width != dimension:
        raise ValueError(f"an encoder of dimension {width}, not {dimension}")
    size = count * width
    flat = np.frombuffer(data, dtype=np.float32, offset=_HEADER.size)
    if flat.size != size * (2 if has_views else 1):
        raise ValueError("a reply of the wrong length")
    vectors = flat[:size].reshape(count, width).copy()
    views = flat[size:].reshape(count, width).copy() if has_views else None
    job.result = Embedded(vectors, views)
    return job_id, job
