"""The dense side: a FAISS inner-product index over L2-normalised vectors.

Exact (``IndexFlatIP``) up to ``ann_threshold`` vectors; above that HNSW, whose recall against
exact search is measured by ``kb bench ann`` (target >= 0.99 at the chosen ``efSearch``).
"""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np
from numpy.typing import NDArray

ANN_THRESHOLD = 100_000
"""Above this many sections the dense index is HNSW; below it exact search is fast enough."""
HNSW_NEIGHBOURS = 32
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 1024  # chosen with `kb bench ann` on hard synthetic data (README)
# With HNSW the fusion sees the dense scores of this many candidates; the rest get the floor.
ANN_CANDIDATES = 1000


def build_dense(vectors: NDArray[np.float32], *, ann_threshold: int) -> faiss.Index:
    dimension = vectors.shape[1]
    index: faiss.Index
    if len(vectors) > ann_threshold:
        hnsw = faiss.IndexHNSWFlat(dimension, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        hnsw.hnsw.efSearch = HNSW_EF_SEARCH
        index = hnsw
    else:
        index = faiss.IndexFlatIP(dimension)
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def kind_of(index: faiss.Index) -> str:
    return "hnsw" if isinstance(index, faiss.IndexHNSWFlat) else "flat"


def dense_scores(index: faiss.Index, query: NDArray[np.float32]) -> NDArray[np.float32]:
    """One cosine score per vector; with HNSW, non-candidates get the lowest candidate score."""
    total = index.ntotal
    scores = np.zeros(total, dtype=np.float32)
    if total == 0:
        return scores
    k = total if kind_of(index) == "flat" else min(total, ANN_CANDIDATES)
    found, ids = index.search(query.reshape(1, -1).astype(np.float32), k)
    valid = ids[0] >= 0
    if k < total:
        scores[:] = float(found[0][valid].min()) if valid.any() else 0.0
    scores[ids[0][valid]] = found[0][valid]
    return scores


def save_dense(index: faiss.Index, path: Path) -> None:
    faiss.write_index(index, str(path))


def load_dense(path: Path) -> faiss.Index:
    index = faiss.read_index(str(path))
    if isinstance(index, faiss.IndexHNSWFlat):
        index.hnsw.efSearch = HNSW_EF_SEARCH
    return index
