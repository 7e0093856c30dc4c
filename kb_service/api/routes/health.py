"""Liveness and what the service is serving."""

from __future__ import annotations

from fastapi import APIRouter

from kb_service.api.deps import IndexDep, SessionDep, SettingsDep
from kb_service.api.problems import MEDIA_TYPE
from kb_service.schemas.health import Health, Ready
from kb_service.services import storage
from kb_service.services.articles import kb_revision

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    summary="Health and serving state",
)
def healthz(session: SessionDep, index: IndexDep, settings: SettingsDep) -> Health:
    """No key needed. `index_revision` lags `kb_revision` for a second or two after a publish."""
    state = index.status()
    return Health(
        status="ok",
        kb_revision=kb_revision(session),
        index_revision=state.kb_revision if state else None,
        sections=state.sections if state else 0,
        model=index.embedder.name,
        replica=settings.replica,
    )


@router.get(
    "/readyz",
    summary="Ready to take writes",
    responses={
        503: {
            "description": "The database or the data folder cannot be written",
            "content": {MEDIA_TYPE: {}},
        }
    },
)
def readyz(session: SessionDep, settings: SettingsDep) -> Ready:
    """No key needed. 200 when the database and the data folder each take a small real write;
    otherwise 503 problem+json saying which (read-only or full disk, I/O error, a database file
    deleted under the service). `/healthz` only reads, so it stays 200 meanwhile."""
    storage.check_writable(session, settings.data_dir)
    return Ready(status="ready", database="ok", data_dir="ok")
