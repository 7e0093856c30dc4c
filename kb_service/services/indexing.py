"""Keeps the serving index in step with the published knowledge base.

One ``IndexService`` per process, created at start-up. ``refresh()`` builds a new generation
from the live versions (reusing the vectors of unchanged sections), writes it beside the old
one, swaps it in atomically on disk and then in memory. Searches read ``self.current`` once,
so they are always served by one complete generation, old or new.

A generation's KB revision is read in the same database snapshot as its documents, so it never
claims a revision it does not serve; a publish committed after that snapshot makes the index
behind again, and its own refresh (or the poll) builds the next one. A background thread
(``poll``, every ``KB_INDEX_POLL_SECONDS``) compares the database's KB revision with the
index's and refreshes when the index is behind: it retries a failed re-index and picks up
publishes made by another process (``kb import``, another replica).

On PostgreSQL two more things make replicas on one database consistent within a second or so:
a trigger (migration 0003) sends ``NOTIFY kb_revision`` in the very transaction that raises
the KB revision, and a ``listen`` thread per process refreshes when one arrives (the poll stays
as the fallback, e.g. while the listener reconnects); and section vectors are stored once in
the database (``DatabaseVectorStore``), so a replica never embeds what another already did.
"""

from __future__ import annotations

import fcntl
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from indexer import artifact
from indexer.build import build_index
from indexer.documents import SourceDocument
from indexer.embed import Embedder, model_name_of
from indexer.errors import CorruptIndex, ManifestMismatch
from indexer.hybrid import HybridIndex, SearchResult
from indexer.phrasings import PhrasingIndex
from kb_service import heap
from kb_service.config import Settings
from kb_service.db import begin_snapshot
from kb_service.errors import IndexMismatchError, StorageUnavailable
from kb_service.models import Article, ArticleVersion, Status, Translation, Visibility
from kb_service.services import phrasings
from kb_service.services.articles import kb_revision
from kb_service.services.vector_store import DatabaseVectorStore

NOTIFY_CHANNEL = "kb_revision"

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
        self.phrasings: PhrasingIndex | None = None  # learned phrasings, beside the sections
        self._build_lock = threading.Lock()
        self._phrasing_lock = threading.Lock()
        self._stop = threading.Event()
        self._poller: threading.Thread | None = None
        self._listener: threading.Thread | None = None
        shared = engine.dialect.name != "sqlite"
        self.store: DatabaseVectorStore | None = DatabaseVectorStore(engine) if shared else None
        self.notifications = 0  # NOTIFYs received (for /healthz and tests)

    # ---------------------------------------------------------------- start-up

    def start(self, *, progress: bool | None = None) -> None:
        """Load the last good generation, refusing a mismatched one; then catch up with the DB."""
        with self._build_lock, _builders_lock(self.settings.index_dir):
            self._load_last_generation()
            self._refresh_locked(force=False, progress=progress)
        self.refresh_phrasings()

    def _load_last_generation(self) -> None:
        root = self.settings.index_dir
        removed = artifact.remove_partial_builds(root)
        if removed:
            log.warning("removed %d incomplete index build(s) left by a crash", removed)
        folder = artifact.current_generation(root)
        if folder is not None:
            self._refuse_an_empty_database(folder)
            try:
                loaded = artifact.load_generation(
                    folder,
                    model=self.embedder.name,
                    dimension=self.embedder.dimension,
                    view=self.embedder.view_name,
                )
                self._serve(loaded)
            except ManifestMismatch as exc:
                raise IndexMismatchError(str(exc)) from exc
            except CorruptIndex as exc:
                log.error("%s; rebuilding from the database", exc)

    def _refuse_an_empty_database(self, folder: Path) -> None:
        """An empty database beside an index built from a non-empty one: the database file was
        most likely lost. Serving would silently start an empty knowledge base."""
        try:
            built_from = artifact.read_manifest(folder).kb_revision
        except CorruptIndex:
            return  # start() rebuilds it from the database
        with Session(self.engine) as session:
            revision = kb_revision(session)
        if revision == 0 and built_from > 0:
            raise StorageUnavailable(
                f"The database {self.settings.resolved_database_url} is empty, but the index in "
                f"{self.settings.index_dir} was built from KB revision {built_from}: the "
                "database file was probably deleted or lost. Restore it from a backup and start "
                "again. To start an empty knowledge base on purpose (or to re-import the "
                f"articles with `kb import`), delete {self.settings.index_dir} first; the index "
                "is always rebuilt from the database."
            )

    # ---------------------------------------------------------------- updates

    def refresh(self, *, force: bool = False, progress: bool | None = None) -> bool:
        """Bring the index up to the DB's KB revision; returns True if a new one was swapped in."""
        with self._build_lock, _builders_lock(self.settings.index_dir):
            return self._refresh_locked(force=force, progress=progress)

    def _refresh_locked(self, *, force: bool, progress: bool | None) -> bool:
        with Session(self.engine) as session:
            begin_snapshot(session)  # the revision and the documents it names, together
            revision = kb_revision(session)
            if not force and self._is_current(revision):
                return False
            documents = live_documents(session)
        new = build_index(
            documents,
            embedder=self.embedder,
            kb_revision=revision,
            previous=None if force else self.current,
            ann_threshold=self.settings.ann_threshold,
            progress=progress,
            store=None if force else self.store,
            index_terms=self.settings.index_tags,
        )
        artifact.write_generation(new, self.settings.index_dir)
        self._serve(new)
        log.info("index generation for KB revision %d is serving", revision)
        return True

    def _serve(self, index: HybridIndex) -> None:
        """Swap ``index`` in; searches already running finish on the one they hold."""
        self.current = index
        if self.settings.gc_freeze:
            heap.settle()  # the new generation's objects out of the collector's walks

    def _is_current(self, revision: int) -> bool:
        """The serving generation is of this KB revision and indexes terms as configured."""
        manifest = self.current.manifest if self.current else None
        return (
            manifest is not None
            and manifest.kb_revision == revision
            and manifest.terms == self.settings.index_tags
        )

    def refresh_phrasings(self, *, force: bool = False) -> bool:
        """Bring the phrasing index up to the DB's phrasing revision (no section is
        re-embedded; only phrasings without a stored vector are); True if it changed."""
        with self._phrasing_lock:
            with Session(self.engine, expire_on_commit=False) as session:
                revision = phrasings.phrasing_revision(session)
                current = self.phrasings
                if not force and current is not None and current.revision == revision:
                    return False
                self.phrasings = phrasings.load_index(session, self.embedder)
            log.info("%d learned phrasing(s) are serving", len(self.phrasings))
            return True

    def refresh_quietly(self) -> None:
        """After a publish: a failed rebuild must not fail the publish (the DB is the truth)."""
        try:
            self.refresh()
        except Exception:  # the poll (or the next publish) retries
            log.exception("re-indexing after a publish failed; the previous index keeps serving")

    # ---------------------------------------------------------------- the poll

    def poll(self, every: float) -> None:
        """Start the background thread that refreshes whenever the index is behind the DB
        (``every`` seconds; 0 or less: no thread)."""
        if every <= 0 or self._poller is not None:
            return
        self._stop.clear()
        self._poller = threading.Thread(
            target=self._poll_loop, args=(every,), name="kb-index-poll", daemon=True
        )
        self._poller.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the poll and listen threads (waiting for a build in progress, up to ``timeout``)."""
        self._stop.set()
        for thread in (self._poller, self._listener):
            if thread is not None:
                thread.join(timeout)
                if thread.is_alive():
                    log.warning("the index thread %s is still building; leaving it", thread.name)
        self._poller = self._listener = None

    # ---------------------------------------------------------------- LISTEN / NOTIFY

    def listen(self) -> bool:
        """On PostgreSQL, start the thread that refreshes on every ``NOTIFY kb_revision``
        (returns False on other engines: there the poll alone picks up other processes)."""
        if self.engine.dialect.name != "postgresql" or self._listener is not None:
            return False
        self._stop.clear()
        self._listener = threading.Thread(
            target=self._listen_loop, name="kb-index-listen", daemon=True
        )
        self._listener.start()
        return True

    def _listen_loop(self) -> None:
        import psycopg

        conninfo = self.engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False
        )
        backoff = 0.5
        while not self._stop.is_set():
            try:
                with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    log.info("listening for KB revision notifications")
                    backoff = 0.5
                    self.refresh_quietly()  # what was published while nobody listened
                    while not self._stop.is_set():
                        # ``notifies`` yields nothing after the timeout: check _stop, go on
                        for _ in conn.notifies(timeout=1.0):
                            self.notifications += 1
                            self.refresh_quietly()
                            break
            except Exception as exc:  # the database is down or restarting: reconnect
                log.warning("revision listener: %s; reconnecting in %.1f s", exc, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 10.0)

    def _poll_loop(self, every: float) -> None:
        failing = ""
        while not self._stop.wait(every):
            try:
                if self.refresh():
                    log.info("the index poll caught up with the database")
                self.refresh_phrasings()
                failing = ""
            except Exception as exc:  # keep polling: the next round retries
                if str(exc) != failing:
                    log.exception("re-indexing failed; retrying every %s s", every)
                failing = str(exc)

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
            phrasings=self.phrasings,
            phrasing_weight=self.settings.phrasing_weight,
            phrasing_margin=self.settings.phrasing_margin,
            phrasing_cap=self.settings.phrasing_cap,
        )

    def status(self) -> IndexStatus | None:
        index = self.current
        if index is None:
            return None
        m = index.manifest
        return IndexStatus(m.kb_revision, m.sections, m.model, m.dense_index, m.built_at)


@contextmanager
def _builders_lock(index_dir: Path) -> Iterator[None]:
    """One builder at a time per index folder, across processes: the workers of one `kb serve`
    share KB_DATA_DIR, and two builds at once would prune each other's generations. A worker
    that starts while another builds waits, then loads that generation instead of building."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".build.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


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
            terms=(*article.tags, *article.keywords, *article.synonyms),
        )
        for _translation, article, version in rows
    ]
