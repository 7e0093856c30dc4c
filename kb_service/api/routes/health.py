"""Liveness and what the service is serving."""

from __future__ import annotations

from fastapi import APIRouter

from kb_service.api.deps import IndexDep, SessionDep
from kb_service.schemas.health import Health
from kb_service.services.articles import kb_revision

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    summary="Health and serving state",
)
def healthz(session: SessionDep, index: IndexDep) -> Health:
    """No key needed. `index_revision` lags `kb_revision` for a second or two after a publish."""
    state = index.status()
    return Health(
        status="ok",
        kb_revision=kb_revision(session),
        index_revision=state.kb_revision if state else None,
        sections=state.sections if state else 0,
        model=index.embedder.name,
    )
