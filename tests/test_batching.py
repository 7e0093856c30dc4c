"""Micro-batched question encoding (``indexer.batching``): the same vectors as one at a time,
with the real model, and fewer model calls when questions arrive together."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import pytest

from indexer.batching import BatchingEmbedder
from indexer.embed import Embedded, Embedder, HashingEmbedder, Kind

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
    for one, batched in zip(single, together, strict=True):
        np.testing.assert_allclose(batched.vectors, one.vectors, atol=1e-5)
        assert one.views is not None and batched.views is not None
        np.testing.assert_allclose(batched.views, one.views, atol=1e-5)


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
    while batcher._jobs.qsize() < len(QUESTIONS):
        threading.Event().wait(0.001)
    inner.release.set()
    first.join()
    others.join()
    batcher.stop()
    assert inner.calls == [1, len(QUESTIONS)]


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
