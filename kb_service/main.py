"""Wires the app: settings, database, model and index are created once, in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI
from fastapi.routing import APIRoute

from indexer.batching import BatchingEmbedder, EncodeQueue
from indexer.embed import Embedder, use_threads
from indexer.locales import detect_language
from kb_service import __version__, heap
from kb_service.api.cors import WidgetCorsMiddleware, WidgetOrigins
from kb_service.api.headers import SecurityHeadersMiddleware
from kb_service.api.limits import ConcurrencyLimitMiddleware
from kb_service.api.problems import BodyLimitMiddleware, install_problem_handlers
from kb_service.api.rate_limits import KeyRateLimiter
from kb_service.api.routes import (
    answers,
    articles,
    customers,
    health,
    insights,
    keys,
    pages,
    phrasings,
    render,
    search,
    widgets,
)
from kb_service.config import Settings, get_settings
from kb_service.db import make_engine
from kb_service.logs import configure_logging
from kb_service.services.group_commit import GroupCommitter
from kb_service.services.indexing import IndexService
from kb_service.services.keys import CheckedKeys

DESCRIPTION = """One shared, versioned, multilingual knowledge base and one answer API behind
every contact-centre channel (chat, email, phone, social).

Authenticate with `Authorization: Bearer KEY` (create keys with `kb keys create`). Roles:
`editor` (drafts, tags), `reviewer` (review, publish, visibility), `agent` (answers, search,
customer timelines, insights), `bot` (answers, search, published versions: public content
only), `widget` (the chat widget's key on customers' web pages: only `POST /v1/answers` and
feedback, public content only, only from the web origins listed for the key, rate-limited per
client address; 403 from other origins, 429 over the limit), `admin` (everything, keys).
Errors are `application/problem+json` (RFC 9457)."""


def _operation_id(route: APIRoute) -> str:
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


def create_app(
    settings: Settings | None = None,
    *,
    embedder: Embedder | None = None,
    encode_queue: EncodeQueue | None = None,
) -> FastAPI:
    """``embedder`` lets tests share one loaded model between apps; ``encode_queue`` is the
    question queue the workers of one ``kb serve`` share (``indexer.batching``)."""
    settings = settings or get_settings()
    widget_origins = WidgetOrigins()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        configure_logging(settings.log_level)
        # Sync handlers run on this many threads; the database pool is sized to match.
        to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        use_threads(settings.threads_per_worker)
        engine = make_engine(settings)
        model = embedder or settings.load_embedder()
        batcher = BatchingEmbedder(
            model, wait_s=settings.encode_batch_wait_ms / 1000, queue=encode_queue
        )
        batcher.start()
        index = IndexService(settings, engine, batcher)
        try:
            index.start()
        except BaseException:
            engine.dispose()
            raise
        index.poll(settings.index_poll_seconds)
        # Load the language identifier now, not in the first requests (each would load it).
        detect_language("Good morning, how can I help?")
        if settings.gc_freeze:
            heap.settle()  # all of start-up's objects out of the collector's way
        index.listen()  # PostgreSQL: refresh on NOTIFY kb_revision (other replicas' publishes)
        app.state.settings, app.state.engine, app.state.index = settings, engine, index
        committer = GroupCommitter(engine) if settings.ledger_group_commit else None
        app.state.committer = committer
        app.state.widget_limiter = KeyRateLimiter(settings.widget_rate_limit)
        app.state.checked_keys = CheckedKeys(settings.key_cache_seconds)
        widget_origins.engine = engine
        yield
        index.stop()
        batcher.stop()
        if committer is not None:
            committer.stop()
        engine.dispose()

    app = FastAPI(
        title="kb-service",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
    )
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(WidgetCorsMiddleware, origins=widget_origins)
    app.add_middleware(SecurityHeadersMiddleware)
    # Added last, so it runs first: a request over the limit costs no more than its 503.
    app.add_middleware(
        ConcurrencyLimitMiddleware,
        limit=settings.max_concurrent_requests,
        queue=settings.max_queued_requests,
        wait=settings.queue_timeout,
        retry_after=settings.retry_after_seconds,
    )
    install_problem_handlers(app)
    for module in (
        health,
        articles,
        search,
        answers,
        phrasings,
        render,
        customers,
        insights,
        keys,
        pages,
    ):
        app.include_router(module.router)
    widgets.mount(app, settings.widgets_dir)
    return app
