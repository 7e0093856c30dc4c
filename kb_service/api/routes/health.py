"""Liveness and what the service is serving."""

from __future__ import annotations

import anyio
from anyio.lowlevel import RunVar
from fastapi import APIRouter
from sqlalchemy.engine import Engine
from sqlmodel import Session

from kb_service.api.deps import IndexDep, SessionDep, SettingsDep
from kb_service.api.problems import edge_errors
from kb_service.db import HEALTH_CONNECTIONS
from kb_service.errors import Overloaded
from kb_service.schemas.health import Health, Ready
from kb_service.services import storage
from kb_service.services.articles import kb_revision

router = APIRouter(tags=["health"])

# /healthz reads the KB revision on threads of its own (and connections kept for them, see
# kb_service.db), never queued behind request handlers, and gives up after this long.
_HEALTH_THREADS: RunVar[anyio.CapacityLimiter] = RunVar("kb_health_threads")
HEALTH_DB_TIMEOUT_S = 2.0


def _health_threads() -> anyio.CapacityLimiter:
    """One limiter per event loop, like anyio's own default thread limiter."""
    try:
        return _HEALTH_THREADS.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(HEALTH_CONNECTIONS)
        _HEALTH_THREADS.set(limiter)
        return limiter


def _read_kb_revision(engine: Engine) -> int:
    with Session(engine) as session:
        return kb_revision(session)


@router.get(
    "/healthz",
    summary="Health and serving state",
    responses=edge_errors(413, 503),
)
async def healthz(index: IndexDep, settings: SettingsDep) -> Health:
    """No key needed, never shed. `index_revision` lags `kb_revision` for a second or two after
    a publish. 503 if the database does not answer within two seconds."""
    with anyio.move_on_after(HEALTH_DB_TIMEOUT_S):
        revision = await anyio.to_thread.run_sync(
            _read_kb_revision, index.engine, limiter=_health_threads(), abandon_on_cancel=True
        )
        state = index.status()
        return Health(
            status="ok",
            kb_revision=revision,
            index_revision=state.kb_revision if state else None,
            sections=state.sections if state else 0,
            model=index.embedder.name,
            replica=settings.replica,
        )
    raise Overloaded(
        f"The database did not answer within {HEALTH_DB_TIMEOUT_S:g} s.",
        retry_after=settings.retry_after_seconds,
    )


@router.get("/readyz", summary="Ready to take writes", responses=edge_errors(413, 503))
def readyz(session: SessionDep, settings: SettingsDep) -> Ready:
    """No key needed, never shed. 200 when the database and the data folder each take a small
    real write; otherwise 503 problem+json saying which (read-only or full disk, I/O error, a
    database file deleted under the service). `/healthz` only reads, so it stays 200
    meanwhile."""
    storage.check_writable(session, settings.data_dir)
    return Ready(status="ready", database="ok", data_dir="ok")
