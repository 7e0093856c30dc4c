"""The dense side: a FAISS inner-product index over L2-normalised vectors.

Exact (``IndexFlatIP``) up to ``ann_threshold`` vectors; above that HNSW, whose recall against
exact search is measured by ``kb bench scale`` (target >= 0.99 at the chosen ``efSearch``).
With HNSW the search scores only candidates (``nearest``), never every section.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faiss
import numpy as np
from numpy.typing import NDArray

ANN_THRESHOLD = 20_000
"""Above this many sections the dense index is HNSW. Exact search reads every vector twice per
question (sentence vector and second view, 384 floats each): ~5 ms at 20,000 sections on the
2-core machine, ~30 ms at 100,000, which alone would use the whole search budget."""
HNSW_NEIGHBOURS = 32
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 1024  # recall@10 against exact measured by `kb bench scale` (README)
ANN_CANDIDATES = 1000
"""With HNSW the fusion scores this many dense candidates (plus the keyword side's best)."""
SPREAD_SAMPLE = 2048
"""With HNSW, the dense sides' mean and spread per question come from this many sections
(evenly spaced rows), so the z-scores of the candidates are on the scale of the whole KB."""


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


def nearest(index: faiss.Index, query: NDArray[np.float32], k: int) -> NDArray[np.int64]:
    """The rows of the (up to) ``k`` vectors nearest to ``query``, best first."""
    if index.ntotal == 0 or k <= 0:
        return np.zeros(0, dtype=np.int64)
    _, ids = index.search(query.reshape(1, -1).astype(np.float32), min(k, index.ntotal))
    found: NDArray[np.int64] = np.asarray(ids[0][ids[0] >= 0], dtype=np.int64)
    return found


class _Borrowed(np.ndarray):
    """An array over memory that a FAISS index owns; it keeps the index alive."""

    owner: faiss.Index


def held_vectors(index: faiss.Index) -> NDArray[np.float32]:
    """The vectors ``index`` holds, as a read-only (n, d) array sharing its memory: the index
    needs its own copy anyway, and a second one in numpy is 150 MB at 100,000 sections."""
    storage = faiss.downcast_index(index.storage) if isinstance(index, faiss.IndexHNSW) else index
    flat: Any = []
    if index.ntotal:
        flat = faiss.rev_swig_ptr(storage.get_xb(), index.ntotal * index.d)  # type: ignore[attr-defined]
    shaped = np.asarray(flat, dtype=np.float32).reshape(index.ntotal, index.d)
    borrowed = shaped.view(_Borrowed)
    borrowed.owner = index
    borrowed.flags.writeable = False
    return borrowed


def save_dense(index: faiss.Index, path: Path) -> None:
    faiss.write_index(index, str(path))


def load_dense(path: Path) -> faiss.Index:
    index = faiss.read_index(str(path))
    if isinstance(index, faiss.IndexHNSWFlat):
        index.hnsw.efSearch = HNSW_EF_SEARCH
    return index
