"""``kb bench scale``: the service with N sections.

Reports the index build time, the serving process's resident memory, search latency over HTTP
(and of the hybrid search alone, the question already encoded), recall@10 of the dense index
against exact search, and the answer latency over HTTP against the same on the demo content.

Real: the demo articles and their vectors (the model), the database rows of every article, the
index build from them (split, keyword analysis, BM25, IVF; only the embedding is skipped), the
serving process (``create_app`` under uvicorn in a child process, loading the index from disk as
``kb serve`` does), every question's encoding, the hybrid search and the answers. Synthetic:
the copies of the demo articles that make up the rest of the N sections, and their vectors
(``kb_service.bench.synthetic``).
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from sqlmodel import Session

from indexer import artifact
from indexer.build import build_index, index_sections, split_documents, splitter_for
from indexer.dense import nearest
from indexer.embed import Embedder, RememberingEmbedder
from indexer.hybrid import HybridIndex
from indexer.timing import parse_server_timing
from kb_service.bench.answers import CHANNELS, _Client
from kb_service.bench.dataset import Query, load_dataset
from kb_service.bench.metrics import percentile
from kb_service.bench.noise import add_noise
from kb_service.bench.overload import _Server
from kb_service.bench.synthetic import copy_vectors, insert_copies, variant
from kb_service.config import Settings, get_settings
from kb_service.db import make_engine
from kb_service.models import Role
from kb_service.services import keys
from kb_service.services.articles import kb_revision
from kb_service.services.content_io import import_folder
from kb_service.services.indexing import live_documents
from kb_service.services.publishing import Actor

K = 10
TYPO_RATE = 0.2  # the noisy copies of the questions (more distinct queries for recall)


@dataclass
class ScaleReport:
    sections: int
    real_sections: int
    dense_index: str
    build_seconds: float
    start_seconds: float  # the serving process, from launch to its first /healthz 200
    rss_mb: float  # the serving process after the questions (VmRSS)
    peak_rss_mb: float  # its high-water mark (VmHWM)
    queries: int
    p50_ms: float  # GET /v1/search over HTTP, question encoding included
    p95_ms: float
    # the same searches' parts, from their Server-Timing: the model (waiting for it included),
    # the hybrid search in the serving process, and the rest (HTTP, the key check, the JSON:
    # the latency less those two)
    search_encode_p50_ms: float
    search_encode_p95_ms: float
    search_index_p50_ms: float
    search_index_p95_ms: float
    search_rest_p50_ms: float
    search_rest_p95_ms: float
    index_p50_ms: float  # the hybrid search in process, the question already encoded
    index_p95_ms: float
    recall_at_10: float  # the dense index's top 10 against exact inner-product search
    answers: int
    answer_p50_ms: float  # POST /v1/answers over HTTP, every channel
    answer_p95_ms: float
    demo_answer_p50_ms: float  # the same on the demo content alone
    demo_answer_p95_ms: float

    def as_json(self) -> dict[str, Any]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}

    def as_text(self) -> str:
        ratio = self.answer_p50_ms / self.demo_answer_p50_ms if self.demo_answer_p50_ms else 0
        return "\n".join(
            [
                f"{self.sections:,} sections ({self.real_sections} real, the rest synthetic "
                f"copies), dense index {self.dense_index}",
                f"index build {self.build_seconds:.1f} s; serving process {self.rss_mb:,.0f} MB "
                f"resident (peak {self.peak_rss_mb:,.0f} MB), ready in {self.start_seconds:.1f} s",
                f"search over HTTP ({self.queries} questions): p50 {self.p50_ms:.1f} ms, "
                f"p95 {self.p95_ms:.1f} ms; hybrid search alone (question encoded): "
                f"p50 {self.index_p50_ms:.1f} ms, p95 {self.index_p95_ms:.1f} ms",
                "where a search's time went over HTTP (p50 / p95): encoding the question "
                f"{self.search_encode_p50_ms:.1f} / {self.search_encode_p95_ms:.1f} ms, "
                f"hybrid search {self.search_index_p50_ms:.1f} / {self.search_index_p95_ms:.1f} "
                f"ms, HTTP, key check and JSON {self.search_rest_p50_ms:.1f} / "
                f"{self.search_rest_p95_ms:.1f} ms",
                f"recall@10 of the dense index against exact search: {self.recall_at_10:.4f}",
                f"answers over HTTP ({self.answers}): p50 {self.answer_p50_ms:.1f} ms, "
                f"p95 {self.answer_p95_ms:.1f} ms; on the demo content alone: "
                f"p50 {self.demo_answer_p50_ms:.1f} ms, p95 {self.demo_answer_p95_ms:.1f} ms "
                f"(p50 x{ratio:.2f})",
            ]
        )


def run_scale_bench(sections: int, dataset: Path = Path("content")) -> ScaleReport:
    """Serve ``dataset`` alone, then grown to ``sections`` sections, and measure both."""
    with tempfile.TemporaryDirectory(prefix="kb-scale-") as tmp:
        settings = get_settings().model_copy(
            update={"data_dir": Path(tmp) / "data", "database_url": None}
        )
        engine = make_engine(settings)
        with Session(engine) as session:
            import_folder(session, dataset, actor=Actor("bench"), max_chars=10**9)
            _, key = keys.create_key(session, role=Role.agent, name="scale-bench")
            demo_docs = live_documents(session)
            revision = kb_revision(session)
        embedder = settings.load_embedder()
        demo = build_index(
            demo_docs,
            embedder=embedder,
            kb_revision=revision,
            ann_threshold=settings.ann_threshold,
            index_terms=settings.index_tags,
        )
        artifact.write_generation(demo, settings.index_dir)
        questions = _questions(dataset)
        engine.dispose()  # a complete SQLite file to copy: the demo KB, served beside the big one
        demo_settings = settings.model_copy(update={"data_dir": Path(tmp) / "demo"})
        shutil.copytree(settings.data_dir, demo_settings.data_dir)

        # a copy can split into fewer sections than its original (shorter paragraphs)
        one_copy = [variant(d, 1) for d in demo_docs]
        splitter = splitter_for(embedder)
        per_copy = len(split_documents(one_copy, splitter, index_terms=settings.index_tags))
        copies = math.ceil(max(sections - len(demo), 0) / max(per_copy, 1))
        with Session(engine) as session:
            revision = insert_copies(
                session, [variant(d, c) for c in range(1, copies + 1) for d in demo_docs]
            )
        index, build_seconds = _build(settings, engine, embedder, demo, revision)
        recall = _recall(index, embedder, questions)
        index_ms = _index_latencies(index, embedder, questions)
        report_sections, real, kind = len(index), len(demo), index.manifest.dense_index
        del index, demo  # the bench process's copy; the serving process loads its own

        with (
            _served(settings, key, Path(tmp) / "big.log") as (client, pid, start_seconds),
            _served(demo_settings, key, Path(tmp) / "demo.log") as (demo_client, _, _),
        ):
            search_ms, search_parts = _search_latencies(client, questions)
            answers, demo_answers = _answer_latencies(client, demo_client, questions)
            rss, peak = _memory_mb(pid)
        return ScaleReport(
            sections=report_sections,
            real_sections=real,
            dense_index=kind,
            build_seconds=build_seconds,
            start_seconds=start_seconds,
            rss_mb=rss,
            peak_rss_mb=peak,
            queries=len(search_ms),
            p50_ms=percentile(search_ms, 0.5),
            p95_ms=percentile(search_ms, 0.95),
            search_encode_p50_ms=percentile(search_parts["encode"], 0.5),
            search_encode_p95_ms=percentile(search_parts["encode"], 0.95),
            search_index_p50_ms=percentile(search_parts["search"], 0.5),
            search_index_p95_ms=percentile(search_parts["search"], 0.95),
            search_rest_p50_ms=percentile(search_parts["rest"], 0.5),
            search_rest_p95_ms=percentile(search_parts["rest"], 0.95),
            index_p50_ms=percentile(index_ms, 0.5),
            index_p95_ms=percentile(index_ms, 0.95),
            recall_at_10=recall,
            answers=len(answers),
            answer_p50_ms=percentile(answers, 0.5),
            answer_p95_ms=percentile(answers, 0.95),
            demo_answer_p50_ms=percentile(demo_answers, 0.5),
            demo_answer_p95_ms=percentile(demo_answers, 0.95),
        )


def _build(
    settings: Settings, engine: Any, embedder: Embedder, demo: HybridIndex, revision: int
) -> tuple[HybridIndex, float]:
    """The generation the service would build from the database, the vectors taken from
    ``demo`` (``synthetic.copy_vectors``); the seconds exclude only making those vectors."""
    started = time.perf_counter()
    with Session(engine) as session:
        documents = live_documents(session)
    sections = split_documents(documents, splitter_for(embedder), index_terms=settings.index_tags)
    split_seconds = time.perf_counter() - started
    store = copy_vectors(sections, demo)
    started = time.perf_counter()
    index = index_sections(
        sections,
        embedder=embedder,
        kb_revision=revision,
        ann_threshold=settings.ann_threshold,
        store=store,
        index_terms=settings.index_tags,
    )
    artifact.write_generation(index, settings.index_dir)
    return index, split_seconds + time.perf_counter() - started


def _questions(dataset: Path) -> list[Query]:
    """The dataset's questions, and each once more typed in a hurry (typos, no diacritics)."""
    queries = load_dataset(dataset).queries
    hurried = [
        Query(
            f"{q.id}-hurried",
            add_noise(q.text, key=q.id, typo_rate=TYPO_RATE, strip_diacritics=True),
            q.locale,
        )
        for q in queries
    ]
    return [*queries, *hurried]


def _recall(index: HybridIndex, embedder: Embedder, questions: Sequence[Query]) -> float:
    """Mean share of the exact top 10 (brute-force inner product) that the index returns."""
    vectors = embedder.embed([q.text for q in questions], "query").vectors
    exact = faiss.IndexFlatIP(index.vectors.shape[1])
    exact.add(index.vectors)
    _, truth = exact.search(vectors, K)
    found = [set(nearest(index.dense, index.vectors, v, K).tolist()) for v in vectors]
    shares = [len(set(t.tolist()) & f) / K for t, f in zip(truth, found, strict=True)]
    return float(np.mean(shares)) if shares else 0.0


def _index_latencies(
    index: HybridIndex, embedder: Embedder, questions: Sequence[Query]
) -> list[float]:
    remembered = RememberingEmbedder(embedder)
    for q in questions:  # encodes each question once
        index.search(q.text, remembered, locale=q.locale)
    latencies = []
    for q in questions:
        started = time.perf_counter()
        index.search(q.text, remembered, locale=q.locale)
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


@contextmanager
def _served(settings: Settings, key: str, log: Path) -> Iterator[tuple[_Client, int, float]]:
    """The app in a child process on the bench's data dir; a client with ``key``, the child's
    pid and how long it took to answer /healthz."""
    env = {k: v for k, v in os.environ.items() if k != "KB_DATABASE_URL"}
    env |= {
        "KB_DATA_DIR": str(settings.data_dir),
        "KB_EMBEDDING_MODEL": settings.embedding_model,
        "KB_ANN_THRESHOLD": str(settings.ann_threshold),
    }
    started = time.perf_counter()
    server = _Server(env, log)
    with server as port:
        ready = time.perf_counter() - started
        assert server.process is not None
        client = _Client(port, {"Authorization": f"Bearer {key}"})
        try:
            yield client, server.process.pid, ready
        finally:
            client.close()


def _timed(call: Any) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def _search_latencies(
    client: _Client, questions: Sequence[Query]
) -> tuple[list[float], dict[str, list[float]]]:
    """Each question's search latency over HTTP, and its parts (``ScaleReport``)."""

    def path(q: Query) -> str:
        params = {"q": q.text, "limit": str(K)} | ({"locale": q.locale} if q.locale else {})
        return "/v1/search?" + urllib.parse.urlencode(params)

    for q in questions[:K]:  # the first requests of a process are slower
        client.get(path(q))
    latencies: list[float] = []
    parts: dict[str, list[float]] = {"encode": [], "search": [], "rest": []}
    for q in questions:
        latency = _timed(lambda q=q: client.get(path(q)))
        timings = parse_server_timing(client.last_headers.get("server-timing", ""))
        latencies.append(latency)
        parts["encode"].append(timings.get("queue", 0.0) + timings.get("encode", 0.0))
        parts["search"].append(timings.get("search", 0.0))
        parts["rest"].append(latency - parts["encode"][-1] - parts["search"][-1])
    return latencies, parts


def _answer_latencies(
    client: _Client, demo_client: _Client, questions: Sequence[Query]
) -> tuple[list[float], list[float]]:
    """Every question once to each server, the channels in turn (the channel changes only the
    rendering), the two servers alternating which is asked first: the machine's load, which
    varies, weighs on both alike."""

    def body(n: int, q: Query) -> dict[str, Any]:
        channel = CHANNELS[n % len(CHANNELS)]
        return {"question": q.text, "channel": channel} | ({"locale": q.locale} if q.locale else {})

    for n, q in enumerate(questions[:K]):
        client.post("/v1/answers", body(n, q))
        demo_client.post("/v1/answers", body(n, q))
    big: list[float] = []
    demo: list[float] = []
    for n, q in enumerate(questions):
        pair = [(client, big), (demo_client, demo)]
        for asked, latencies in pair if n % 2 else pair[::-1]:
            latencies.append(_timed(lambda c=asked, n=n, q=q: c.post("/v1/answers", body(n, q))))
    return big, demo


def _memory_mb(pid: int) -> tuple[float, float]:
    """VmRSS and VmHWM of a process (Linux), in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024
    return fields.get("VmRSS", 0.0), fields.get("VmHWM", 0.0)
