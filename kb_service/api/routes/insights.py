"""Insights for editors: where the knowledge base has gaps."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from kb_service.api.deps import InsightReader, SessionDep
from kb_service.api.problems import ERRORS
from kb_service.schemas.insights import GapReport
from kb_service.services import insights

router = APIRouter(prefix="/v1/insights", tags=["insights"])


@router.get(
    "/gaps",
    summary="Gap report",
    responses=ERRORS,
)
def gaps(
    session: SessionDep,
    _: InsightReader,
    days: Annotated[int, Query(ge=1, le=365)] = 30,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> GapReport:
    """Questions from every channel that got `no_answer`, and articles rated unhelpful.

    Staff keys only (agent, editor, reviewer, admin); a `bot` key gets 403."""
    return insights.gap_report(session, days=days, limit=limit)
