"""BM25 keyword index over already-analysed documents (see :mod:`indexer.analysis`).

A thin typed wrapper around ``bm25s``: it gives one score per document for the fusion step,
handles the cases bm25s does not (empty corpus, empty or all-unknown query), and saves to /
loads from a folder that belongs to one index generation.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import bm25s
import numpy as np

__all__ = ["KeywordIndex"]

# Lucene BM25 with the textbook parameters: a grid over k1 and b on the tuning split found
# nothing worth data-specific values.
K1 = 1.5
B = 0.75
METHOD = "lucene"

_MANIFEST = "keyword_manifest.json"


class KeywordIndex:
    """BM25 scores for analysed queries against a fixed list of analysed documents."""

    def __init__(self, bm25: bm25s.BM25 | None, n_docs: int) -> None:
        # bm25 is None only for an empty corpus, which bm25s cannot index.
        self._bm25 = bm25
        self._n_docs = n_docs

    @classmethod
    def build(cls, docs: Sequence[Sequence[str]]) -> KeywordIndex:
        """Index ``docs`` (each a list of tokens from :func:`indexer.analysis.analyze`)."""
        if not docs:
            return cls(None, 0)
        bm25 = bm25s.BM25(k1=K1, b=B, method=METHOD)
        bm25.index([list(doc) for doc in docs], show_progress=False)
        return cls(bm25, len(docs))

    def __len__(self) -> int:
        return self._n_docs

    def scores(self, query_tokens: Sequence[str]) -> np.ndarray:
        """One float32 BM25 score per document, 0 where nothing matches."""
        ids = self._known_ids(query_tokens)
        if self._bm25 is None or not ids:
            # bm25s fails on an empty query; no known token simply means no keyword evidence.
            return np.zeros(self._n_docs, dtype=np.float32)
        raw = self._bm25.get_scores(ids)
        return np.asarray(raw, dtype=np.float32)

    def _known_ids(self, query_tokens: Sequence[str]) -> list[int]:
        if self._bm25 is None:
            return []
        # "" is bm25s's placeholder for token-less documents, never a real query term.
        tokens = [token for token in query_tokens if token]
        return [int(i) for i in self._bm25.get_tokens_ids(tokens)]

    def save(self, folder: Path) -> None:
        """Write the index into ``folder`` (created if missing)."""
        folder.mkdir(parents=True, exist_ok=True)
        if self._bm25 is not None:
            self._bm25.save(str(folder), show_progress=False)
        manifest = {"n_docs": self._n_docs, "k1": K1, "b": B, "method": METHOD}
        (folder / _MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> KeywordIndex:
        """Read an index written by :meth:`save`."""
        manifest = json.loads((folder / _MANIFEST).read_text(encoding="utf-8"))
        n_docs = int(manifest["n_docs"])
        if n_docs == 0:
            return cls(None, 0)
        bm25 = bm25s.BM25.load(str(folder), show_progress=False)
        return cls(bm25, n_docs)
