"""Insights for editors: where the knowledge base has gaps."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from kb_service.answer_schemas import GapReport
from kb_service.api.deps import Reader, SessionDep
from kb_service.api.problems import ERRORS
from kb_service.services import insights

router = APIRouter(prefix="/v1/insights", tags=["insights"])

_EXAMPLE = {
    "days": 30,
    "unanswered": [
        {
            "question": "Do you sell satellite phones?",
            "channel": "chat",
            "locale": "en-GB",
            "confidence": 0.12,
            "created_at": "2026-11-23T10:00:00Z",
        }
    ],
    "unanswered_by_channel": {"chat": 1},
    "unhelpful_articles": [
        {
            "article_id": "mobile-roaming",
            "key": "KB-0021",
            "helpful": 4,
            "not_helpful": 2,
            "recent_reasons": ["Price is outdated"],
        }
    ],
}


@router.get(
    "/gaps",
    summary="Gap report",
    responses={**ERRORS, 200: {"content": {"application/json": {"example": _EXAMPLE}}}},
)
def gaps(
    session: SessionDep,
    _: Reader,
    days: Annotated[int, Query(ge=1, le=365)] = 30,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> GapReport:
    """Questions from every channel that got `no_answer`, and articles rated unhelpful."""
    return insights.gap_report(session, days=days, limit=limit)
