"""Micro-batched question encoding (``indexer.batching``): the same vectors as one at a time,
with the real model, fewer model calls when questions arrive together, and one queue that the
encoders of several processes share."""

from __future__ import annotations

import json
import multiprocessing
import socket
import threading
import time
from collections.abc import Sequence

import numpy as np
import pytest

from indexer import batching
from indexer.batching import BatchingEmbedder, EncodeQueue
from indexer.embed import Embedded, Embedder, HashingEmbedder, Kind
from tests.conftest import rounding_of

QUESTIONS = [
    "forgot to pay last months bill, are you going to cut me off??",
    "Jak zmienić numer konta do polecenia zapłaty?",
    "Kje je moj paket",
    "Як змінити тариф?",
    "reset password",
    "Is there any planned maintenance in my area tonight, and how long will it last?",
]


def _ask_together(embedder: Embedder, questions: Sequence[str]) -> list[Embedded]:
    """Every question from its own thread, all released at once."""
    results: list[Embedded | None] = [None] * len(questions)
    start = threading.Barrier(len(questions))

    def ask(i: int) -> None:
        start.wait()
        results[i] = embedder.embed([questions[i]], "query")

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(questions))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]


def test_batched_vectors_equal_single_ones_with_the_real_model(real_embedder: Embedder) -> None:
    single = [real_embedder.embed([q], "query") for q in QUESTIONS]
    batcher = BatchingEmbedder(real_embedder, wait_s=0.05)
    try:
        together = _ask_together(batcher, QUESTIONS)
    finally:
        batcher.stop()
    assert batcher.batches < len(QUESTIONS), "the questions were not batched at all"
    rounding = rounding_of(real_embedder)
    for one, batched in zip(single, together, strict=True):
        np.testing.assert_allclose(batched.vectors, one.vectors, atol=rounding)
        assert one.views is not None and batched.views is not None
        np.testing.assert_allclose(batched.views, one.views, atol=rounding)


class _CountingEmbedder(HashingEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[int] = []  # texts per call
        self.release = threading.Event()

    def embed(self, texts: Sequence[str], kind: Kind) -> Embedded:
        self.calls.append(len(texts))
        self.release.wait(5)  # the first call holds the model while the others queue
        return super().embed(texts, kind)


def test_questions_that_arrive_while_the_model_is_busy_share_the_next_call() -> None:
    inner = _CountingEmbedder()
    batcher = BatchingEmbedder(inner, wait_s=0.0)
    first = threading.Thread(target=batcher.embed, args=(["first"], "query"))
    first.start()
    while not inner.calls:  # the model is busy with "first"
        threading.Event().wait(0.001)
    others = threading.Thread(target=_ask_together, args=(batcher, QUESTIONS))
    others.start()
    while len(batcher._pending) < 1 + len(QUESTIONS):  # every asker has its question queued
        threading.Event().wait(0.001)
    threading.Event().wait(0.05)  # (registered just before it is sent)
    inner.release.set()
    first.join()
    others.join()
    batcher.stop()
    assert inner.calls == [1, len(QUESTIONS)]


def test_a_shallow_queue_is_shared_out_between_the_encoders() -> None:
    """With two encoders on the queue, one takes half of what waits (rounded up) and hands the
    rest back for the other: four waiting questions are not one call of four. Here the second
    encoder never comes, so this one takes the handed-back ones too, half at a time."""
    inner = _CountingEmbedder()
    queue = EncodeQueue(encoders=2)
    batcher = BatchingEmbedder(inner, wait_s=0.0, queue=queue)
    first = threading.Thread(target=batcher.embed, args=(["first"], "query"))
    first.start()
    while not inner.calls:
        threading.Event().wait(0.001)
    others = threading.Thread(target=_ask_together, args=(batcher, QUESTIONS[:4]))
    others.start()
    while len(batcher._pending) < 5:
        threading.Event().wait(0.001)
    threading.Event().wait(0.05)
    inner.release.set()
    first.join()
    others.join()
    batcher.stop()
    queue.close()
    assert inner.calls == [1, 2, 1, 1]


def test_each_caller_gets_its_own_vectors_and_errors() -> None:
    plain = HashingEmbedder()
    batcher = BatchingEmbedder(plain, wait_s=0.01)
    together = _ask_together(batcher, QUESTIONS)
    for question, embedded in zip(QUESTIONS, together, strict=True):
        np.testing.assert_array_equal(embedded.vectors, plain.embed_queries([question]))

    class Broken(HashingEmbedder):
        def embed(self, texts: Sequence[str], kind: Kind) -> Embedded:
            raise RuntimeError("model failed")

    broken = BatchingEmbedder(Broken(), wait_s=0.0)
    with pytest.raises(RuntimeError, match="model failed"):
        broken.embed(["question"], "query")
    batcher.stop()
    broken.stop()


class _MarkedEmbedder(HashingEmbedder):
    """Vectors that say which process's encoder made them: a constant ``mark``."""

    def __init__(self, mark: float) -> None:
        super().__init__()
        self.mark = mark

    def embed(self, texts: Sequence[str], kind: Kind) -> Embedded:
        return Embedded(np.full((len(texts), self.dimension), self.mark, np.float32), None)


class _StuckEmbedder(_MarkedEmbedder):
    def __init__(self) -> None:
        super().__init__(1.0)
        self.release = threading.Event()

    def embed(self, texts: Sequence[str], kind: Kind) -> Embedded:
        self.release.wait(10)
        return super().embed(texts, kind)


def _other_worker(queue: EncodeQueue, stop: multiprocessing.synchronize.Event) -> None:
    """A second process on the same queue, as a second ``kb serve`` worker is."""
    batcher = BatchingEmbedder(_MarkedEmbedder(2.0), wait_s=0.0, queue=queue)
    batcher.start()
    stop.wait(30)
    batcher.stop()


def test_an_idle_encoder_in_another_process_takes_the_question() -> None:
    """While this process's encoder is stuck on one question, the next one is answered by the
    other process's encoder: one queue for both, not one per process."""
    spawn = multiprocessing.get_context("spawn")
    queue = EncodeQueue(encoders=2)
    stop = spawn.Event()
    other = spawn.Process(target=_other_worker, args=(queue, stop))
    other.start()
    here = _StuckEmbedder()
    batcher = BatchingEmbedder(here, wait_s=0.0, queue=queue)
    try:
        answers: list[float] = []

        def ask(question: str) -> None:
            answers.append(float(batcher.embed([question], "query").vectors[0, 0]))

        askers = [threading.Thread(target=ask, args=(q,)) for q in QUESTIONS[:2]]
        deadline = time.monotonic() + 60  # the other process imports and starts meanwhile
        for asker in askers:
            asker.start()
        while not answers and time.monotonic() < deadline:
            time.sleep(0.01)
        assert answers == [2.0], "the other process's encoder did not take a question"
        here.release.set()
        for asker in askers:
            asker.join()
        assert sorted(answers) == [1.0, 2.0]
    finally:
        here.release.set()
        stop.set()
        other.join(30)
        batcher.stop()
        queue.close()


def test_a_question_whose_encoder_died_is_encoded_by_its_asker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The encoder that took a question can die with it (a worker killed mid-batch): after
    ``ORPHAN_TIMEOUT_S`` the asker encodes it on its own model; nothing is lost."""
    monkeypatch.setattr(batching, "ORPHAN_TIMEOUT_S", 0.3)
    plain = HashingEmbedder()
    batcher = BatchingEmbedder(plain, wait_s=0.0)
    thief = threading.Thread(target=batcher.queue.receiver.recv, args=(1 << 16,))
    monkeypatch.setattr(batcher, "_encode_loop", lambda: None)  # only the thief takes it
    batcher.queue.receiver.setblocking(True)
    thief.start()
    started = time.monotonic()
    embedded = batcher.embed(["reset password"], "query")
    thief.join()
    assert time.monotonic() - started >= 0.3
    np.testing.assert_array_equal(embedded.vectors, plain.embed_queries(["reset password"]))
    batcher.stop()


def test_answers_come_to_the_asking_thread_and_a_late_one_is_not_taken_for_the_next(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each asking thread waits on a socket of its own (no thread in between). An answer that
    comes after its asker gave up (``ORPHAN_TIMEOUT_S``) waits on that socket: the thread's
    next question must not take it for its own."""
    monkeypatch.setattr(batching, "ORPHAN_TIMEOUT_S", 0.3)
    plain = HashingEmbedder()
    batcher = BatchingEmbedder(plain, wait_s=0.0)
    monkeypatch.setattr(batcher, "_encode_loop", lambda: None)  # the test answers by hand
    batcher.queue.receiver.setblocking(True)
    out = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)

    def answer(vectors_of: str | None = None) -> None:
        message = json.loads(batcher.queue.receiver.recv(1 << 16))
        texts = [vectors_of] if vectors_of else message["t"]
        reply = batching._reply(message["i"], 1.0, plain.embed(texts, "query"), 0, 1)
        out.sendto(reply, bytes.fromhex(message["r"]))

    # The first question is answered late, and with another question's vectors.
    late = threading.Thread(target=lambda: (time.sleep(0.5), answer(vectors_of="wrong")))
    late.start()
    first = batcher.embed(["reset password"], "query")  # given up on after 0.3 s: encoded here
    late.join()
    np.testing.assert_array_equal(first.vectors, plain.embed_queries(["reset password"]))
    on_time = threading.Thread(target=answer)
    on_time.start()
    second = batcher.embed(["pay my bill"], "query")
    on_time.join()
    np.testing.assert_array_equal(second.vectors, plain.embed_queries(["pay my bill"]))
    out.close()
    batcher.stop()
