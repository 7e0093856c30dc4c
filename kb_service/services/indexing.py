"""Keeps the serving index in step with the published knowledge base.

One ``IndexService`` per process, created at start-up. ``refresh()`` builds a new generation
from the live versions (reusing the vectors of unchanged sections), writes it beside the old
one, swaps it in atomically on disk and then in memory. Searches read ``self.current`` once,
so they are always served by one complete generation, old or new.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from indexer import artifact
from indexer.build import build_index
from indexer.documents import SourceDocument
from indexer.embed import Embedder, model_name_of
from indexer.errors import CorruptIndex, ManifestMismatch
from indexer.hybrid import HybridIndex, SearchResult
from kb_service.config import Settings
from kb_service.errors import IndexMismatchError
from kb_service.models import Article, ArticleVersion, Status, Translation, Visibility
from kb_service.services.articles import kb_revision

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IndexStatus:
    kb_revision: int
    sections: int
    model: str
    dense_index: str
    built_at: str


class IndexService:
    def __init__(self, settings: Settings, engine: Engine, embedder: Embedder) -> None:
        self.settings = settings
        self.engine = engine
        self.embedder = embedder
        self.current: HybridIndex | None = None
        self._build_lock = threading.Lock()

    # ---------------------------------------------------------------- start-up

    def start(self, *, progress: bool | None = None) -> None:
        """Load the last good generation, refusing a mismatched one; then catch up with the DB."""
        root = self.settings.index_dir
        removed = artifact.remove_partial_builds(root)
        if removed:
            log.warning("removed %d incomplete index build(s) left by a crash", removed)
        folder = artifact.current_generation(root)
        if folder is not None:
            try:
                self.current = artifact.load_generation(
                    folder,
                    model=self.embedder.name,
                    dimension=self.embedder.dimension,
                    view=self.embedder.view_name,
                )
            except ManifestMismatch as exc:
                raise IndexMismatchError(str(exc)) from exc
            except CorruptIndex as exc:
                log.error("%s; rebuilding from the database", exc)
        self.refresh(progress=progress)

    # ---------------------------------------------------------------- updates

    def refresh(self, *, force: bool = False, progress: bool | None = None) -> bool:
        """Bring the index up to the DB's KB revision; returns True if a new one was swapped in."""
        with self._build_lock:
            with Session(self.engine) as session:
                revision = kb_revision(session)
                if not force and self.current and self.current.manifest.kb_revision == revision:
                    return False
                documents = live_documents(session)
            new = build_index(
                documents,
                embedder=self.embedder,
                kb_revision=revision,
                previous=None if force else self.current,
                ann_threshold=self.settings.ann_threshold,
                progress=progress,
            )
            artifact.write_generation(new, self.settings.index_dir)
            self.current = new
            log.info("index generation for KB revision %d is serving", revision)
            return True

    def refresh_quietly(self) -> None:
        """After a publish: a failed rebuild must not fail the publish (the DB is the truth)."""
        try:
            self.refresh()
        except Exception:  # the next refresh or start-up catches up
            log.exception("re-indexing after a publish failed; the previous index keeps serving")

    # ---------------------------------------------------------------- reads

    def search(
        self, query: str, *, locale: str | None, limit: int, include_internal: bool
    ) -> SearchResult:
        index = self.current
        if index is None:
            return SearchResult([], None, 0, query)
        return index.search(
            query,
            self.embedder,
            locale=locale,
            limit=limit,
            include_internal=include_internal,
            keyword_weight=self.settings.keyword_weight,
            confidence_midpoint=self.settings.confidence_midpoint,
        )

    def status(self) -> IndexStatus | None:
        index = self.current
        if index is None:
            return None
        m = index.manifest
        return IndexStatus(m.kb_revision, m.sections, m.model, m.dense_index, m.built_at)


def check_index_matches(settings: Settings) -> None:
    """Refuse to start on an index built with another model, before loading anything heavy."""
    folder = artifact.current_generation(settings.index_dir)
    if folder is None or not (folder / "manifest.json").is_file():
        return
    try:
        artifact.check_manifest(
            artifact.read_manifest(folder),
            model=model_name_of(settings.embedding_model),
            folder=folder,
        )
    except ManifestMismatch as exc:
        raise IndexMismatchError(str(exc)) from exc


def live_documents(session: Session) -> list[SourceDocument]:
    """Every live (published, not archived) translation at its live version."""
    rows = session.exec(
        select(Translation, Article, ArticleVersion)
        .join(Article, Article.id == Translation.article_id)  # type: ignore[arg-type]
        .join(
            ArticleVersion,
            (ArticleVersion.article_id == Translation.article_id)  # type: ignore[arg-type]
            & (ArticleVersion.locale == Translation.locale)
            & (ArticleVersion.version == Translation.live_version),
        )
        .where(Translation.status != Status.archived)
        .order_by(col(Translation.article_id), col(Translation.locale))
    )
    return [
        SourceDocument(
            article_id=article.id,
            key=article.key,
            locale=version.locale,
            version=version.version,
            title=version.title,
            markdown=version.markdown,
            content_hash=version.content_hash,
            internal=article.visibility == Visibility.internal,
        )
        for _translation, article, version in rows
    ]
