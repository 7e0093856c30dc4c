"""``kb bench ann``: recall of the approximate (HNSW) dense index against exact search.

The service switches to HNSW above ``KB_ANN_THRESHOLD`` sections; this measures, on vectors of
that kind, how many of the exact top-10 neighbours HNSW returns, and at what speed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import faiss
import numpy as np
from numpy.typing import NDArray

from indexer.dense import ANN_THRESHOLD, HNSW_EF_SEARCH, build_dense

K = 10


@dataclass
class AnnReport:
    vectors: int
    queries: int
    dimension: int
    recall_at_10: float
    build_seconds: float
    exact_ms_per_query: float
    hnsw_ms_per_query: float
    ef_search: int

    def as_json(self) -> dict[str, Any]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}

    def as_text(self) -> str:
        return (
            f"{self.vectors} vectors x {self.dimension} dims, {self.queries} queries: "
            f"HNSW recall@10 {self.recall_at_10:.4f} against exact (efSearch "
            f"{self.ef_search}); build {self.build_seconds:.1f} s; exact "
            f"{self.exact_ms_per_query:.2f} ms/query, HNSW {self.hnsw_ms_per_query:.2f} "
            f"ms/query"
        )


def clustered_vectors(count: int, dimension: int, seed: int) -> NDArray[np.float32]:
    """Normalised vectors around many centres: closer to text embeddings than uniform noise."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(max(count // 50, 1), dimension)).astype(np.float32)
    vectors = centres[rng.integers(0, len(centres), count)]
    vectors = vectors + 0.6 * rng.normal(size=(count, dimension)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors.astype(np.float32)


def run_ann_bench(
    vectors: int = ANN_THRESHOLD, queries: int = 500, dimension: int = 384
) -> AnnReport:
    data = clustered_vectors(vectors, dimension, seed=1)
    probes = clustered_vectors(queries, dimension, seed=2)
    exact = faiss.IndexFlatIP(dimension)
    exact.add(data)
    started = time.perf_counter()
    approximate = build_dense(data, ann_threshold=0)  # force HNSW, as above the threshold
    built = time.perf_counter()
    t0 = time.perf_counter()
    _, truth = exact.search(probes, K)
    t1 = time.perf_counter()
    _, found = approximate.search(probes, K)
    t2 = time.perf_counter()
    hits = sum(len(set(a) & set(b)) for a, b in zip(truth.tolist(), found.tolist(), strict=True))
    return AnnReport(
        vectors=vectors,
        queries=queries,
        dimension=dimension,
        recall_at_10=hits / (queries * K),
        build_seconds=built - started,
        exact_ms_per_query=(t1 - t0) * 1000 / queries,
        hnsw_ms_per_query=(t2 - t1) * 1000 / queries,
        ef_search=HNSW_EF_SEARCH,
    )
