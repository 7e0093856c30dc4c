"""The dense side: a FAISS inner-product index over L2-normalised vectors.

Exact (``IndexFlatIP``) up to ``ann_threshold`` vectors. Above that an inverted file (IVF) of
8-bit scalar-quantised codes finds candidates, which ``nearest`` re-ranks by their exact inner
product: only the probed clusters are read, and the float vectors (held beside the index, as the
fusion needs them anyway) give the exact order. Its recall against exact search is measured by
``kb bench scale`` (target >= 0.99).

Why IVF and not HNSW: a knowledge base grown from templates (one article per product, per
branch, per plan) is made of tight clusters of near-duplicates, and HNSW's pruned neighbour
lists lose whole clusters: at 100,000 sections of the bench's synthetic copies HNSW (M 32,
efSearch 1024) reached recall@10 0.93 in 2 ms, IVF 1.00 in about as long. The search scores
only candidates (``nearest``), never every section.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import faiss
import numpy as np
from numpy.typing import NDArray

ANN_THRESHOLD = 20_000
"""Above this many sections the dense index is approximate (IVF). Exact search reads every
vector twice per question (sentence vector and second view, 384 floats each): ~5 ms at 20,000
sections on the 2-core machine, ~30 ms at 100,000, which alone would use the whole search
budget."""
IVF_LISTS_PER_ROOT = 2
"""Clusters per square root of the vector count (632 at 100,000): a few hundred vectors each,
and never fewer than ``IVF_MIN_PER_LIST`` (FAISS's k-means wants ~39 training points a list)."""
IVF_MIN_PER_LIST = 39
IVF_PROBE_SHARE = 4
"""A question reads the 1/IVF_PROBE_SHARE of the clusters nearest to it (about a quarter of the
codes: ~2 ms at 100,000 sections). An eighth already gave recall@10 1.00 on ``kb bench scale``'s
clustered copies; a quarter is the margin for KBs less clustered than that. IVF's weak case is
a question far from everything (random directions on diffuse data: 0.93 at 40,000 vectors),
which has no close section to find anyway."""
IVF_MIN_SCANNED = 8192
"""...and at least this many vectors' codes (under 1 ms): just above the threshold, or on a
diffuse KB, a quarter of the lists is too few clusters to be safe."""
RERANK = 100
"""``nearest`` takes at least this many of the quantised index's best and re-ranks them exactly."""
ANN_CANDIDATES = 1000
"""With IVF the fusion scores this many dense candidates (plus the keyword side's best)."""
SPREAD_SAMPLE = 2048
"""With IVF, the dense sides' mean and spread per question come from this many sections
(evenly spaced rows), so the z-scores of the candidates are on the scale of the whole KB."""


def inner_products(matrix: NDArray[np.float32], vector: NDArray[np.float32]) -> NDArray[np.float32]:
    """``matrix @ vector`` without BLAS, for every product on a question's path.

    Why not BLAS: numpy's OpenBLAS splits a product of more than ~9,000 elements over threads
    that then spin, waiting for the next one, on the cores the model needs. One
    ``(20000, 384) @ (384,)`` product between two question encodings on another thread made the
    encoding take 116 ms instead of 14; and for a few thousand rows the threads cost more than
    the product (10 ms against 2 on the busy 2-core machine)."""
    product: NDArray[np.float32] = np.einsum("ij,j->i", matrix, vector, dtype=np.float32)
    return product


def inner_products_at(
    matrix: NDArray[np.float32], rows: NDArray[np.int64], vector: NDArray[np.float32]
) -> NDArray[np.float32]:
    """``inner_products(matrix[rows], vector)``, read where the rows are (FAISS's
    ``fvec_inner_products_by_idx``, one thread) instead of copied out first: on an IVF index a
    question's fusion scores a few thousand scattered rows of two 150 MB matrices, and the copies
    took twice as long as the products (0.39 against 0.13 ms for 2,000 rows)."""
    ids = np.ascontiguousarray(rows, dtype=np.int64)
    query = np.ascontiguousarray(vector, dtype=np.float32)
    if matrix.ndim != 2 or query.shape != (matrix.shape[1],):
        raise ValueError(f"rows of {matrix.shape} against a vector of {query.shape}")
    # before either path: FAISS would read past the matrix, numpy would wrap a negative row
    if len(ids) and (ids.min() < 0 or ids.max() >= len(matrix)):
        raise IndexError(f"rows outside 0..{len(matrix) - 1}")
    if matrix.dtype != np.float32 or not matrix.flags.c_contiguous:
        # FAISS needs the float32 rows as they lie: copying the whole matrix to get them would
        # cost far more than copying the rows (the index's own arrays never take this path)
        return inner_products(matrix[ids], query)
    product = np.empty(len(ids), dtype=np.float32)
    if len(ids) == 0:
        return product
    with _one_faiss_thread():
        faiss.fvec_inner_products_by_idx(  # type: ignore[attr-defined]  # not in faiss's stub
            faiss.swig_ptr(product),
            faiss.swig_ptr(query),
            faiss.swig_ptr(matrix),
            faiss.swig_ptr(ids),
            matrix.shape[1],
            1,
            len(ids),
        )
    return product


def build_dense(vectors: NDArray[np.float32], *, ann_threshold: int) -> faiss.Index:
    dimension = vectors.shape[1]
    data = np.ascontiguousarray(vectors, dtype=np.float32)
    index: faiss.Index
    if len(vectors) > ann_threshold:
        root = round(IVF_LISTS_PER_ROOT * math.sqrt(len(vectors)))
        lists = max(1, min(root, len(vectors) // IVF_MIN_PER_LIST))
        ivf = faiss.IndexIVFScalarQuantizer(
            faiss.IndexFlatIP(dimension),
            dimension,
            lists,
            faiss.ScalarQuantizer.QT_8bit,
            faiss.METRIC_INNER_PRODUCT,
        )
        ivf.train(data)  # k-means with FAISS's fixed seed: the same vectors, the same index
        index = ivf
    else:
        index = faiss.IndexFlatIP(dimension)
    if len(vectors):
        index.add(data)
    if isinstance(index, faiss.IndexIVF):
        index.nprobe = _probes(index)
    return index


def _probes(index: faiss.IndexIVF) -> int:
    share = math.ceil(index.nlist / IVF_PROBE_SHARE)
    enough = math.ceil(index.nlist * IVF_MIN_SCANNED / max(index.ntotal, 1))
    return min(index.nlist, max(1, share, enough))


def kind_of(index: faiss.Index) -> str:
    if isinstance(index, faiss.IndexIVF):
        return "ivf"
    return "hnsw" if isinstance(index, faiss.IndexHNSW) else "flat"  # hnsw: older generations


def nearest(
    index: faiss.Index, vectors: NDArray[np.float32], query: NDArray[np.float32], k: int
) -> NDArray[np.int64]:
    """The rows of the (up to) ``k`` vectors nearest to ``query``, best first: the index's best
    (at least ``RERANK``) re-ranked by their exact inner product with ``vectors``' rows."""
    if index.ntotal == 0 or k <= 0:
        return np.zeros(0, dtype=np.int64)
    wanted = min(max(k, RERANK), index.ntotal)
    _, ids = index.search(query.reshape(1, -1).astype(np.float32), wanted)
    found: NDArray[np.int64] = np.asarray(ids[0][ids[0] >= 0], dtype=np.int64)
    exact = inner_products_at(vectors, found, query)
    best: NDArray[np.int64] = found[np.argsort(-exact, kind="stable")[:k]]
    return best


@contextmanager
def _one_faiss_thread() -> Iterator[None]:
    """FAISS's OpenMP threads, for this thread's calls inside: one.

    FAISS has an OpenMP runtime of its own (not torch's), by default with a thread per core,
    and ``fvec_inner_products_by_idx`` shares even one question's rows out over them. They then
    spin, waiting for more work, on the cores the model needs next: on the 2-core machine a
    two-thread question encoding after each such call took 21 ms instead of 13 (p50, the rows
    of a 100,000-section search). One question's rows are too little work to share anyway.
    Restored after, so an index build later on the same thread keeps every core (the setting
    is per thread). FAISS's IVF search of one question runs on one thread by itself."""
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


class _Borrowed(np.ndarray):
    """An array over memory that a FAISS index owns; it keeps the index alive."""

    owner: faiss.Index


def held_vectors(index: faiss.Index) -> NDArray[np.float32] | None:
    """The vectors an exact (or HNSW) index holds, as a read-only (n, d) array sharing its
    memory: the index needs its own copy anyway, and a second one in numpy is 150 MB at 100,000
    sections. None for IVF, which holds only quantised codes: the caller keeps the floats."""
    if isinstance(index, faiss.IndexIVF):
        return None
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
    if isinstance(index, faiss.IndexIVF):
        index.nprobe = _probes(index)
    elif isinstance(index, faiss.IndexHNSWFlat):  # a generation built before IVF
        index.hnsw.efSearch = 1024
    return index
