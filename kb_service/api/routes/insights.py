"""Insights for editors: what customers ask about (topics), where the knowledge base has gaps,
and which articles are past their review date. Staff keys only (``Area.insights``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from kb_service.api.deps import IndexDep, InsightReader, SessionDep, SettingsDep
from kb_service.api.problems import ERRORS
from kb_service.schemas.insights import (
    AnsweredReport,
    GapReport,
    StaleReport,
    TopicDetail,
    TopicReport,
)
from kb_service.services import insights
from kb_service.validation import DbInt

router = APIRouter(prefix="/v1/insights", tags=["insights"])

Days = Annotated[int, Query(ge=1, le=365, description="The period: the last N days.")]


@router.get("/gaps", summary="Knowledge gaps, grouped by topic", responses=ERRORS)
def gaps(
    session: SessionDep,
    index: IndexDep,
    settings: SettingsDep,
    _: InsightReader,
    days: Days = 30,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> GapReport:
    """`gaps`: topics of questions that got `no_answer`, a low-confidence answer or an
    unhelpful rating, most first, each with examples, channels, locales, the nearest existing
    article and how many of its questions are still `open` (no later question of the topic was
    answered well) or `closed`. The flat `unanswered` and `unhelpful_articles` lists stay.

    Staff keys only (agent, editor, reviewer, admin); a `bot` key gets 403."""
    return insights.gap_report(session, index, settings, days=days, limit=limit)


@router.get("/topics", summary="Top topics", responses=ERRORS)
def topics(
    session: SessionDep,
    index: IndexDep,
    _: InsightReader,
    days: Days = 30,
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> TopicReport:
    """Questions from every channel and language grouped into topics, most asked first, with
    counts per channel and locale, a trend and a label. A topic keeps its id as questions join
    it. Questions are assigned to topics here, lazily (never while answering).

    Staff keys only."""
    return insights.topic_report(session, index, days=days, limit=limit)


@router.get("/topics/{topic_id}", summary="One topic and its questions", responses=ERRORS)
def topic(
    session: SessionDep,
    index: IndexDep,
    _: InsightReader,
    topic_id: Annotated[DbInt, Path()],
    days: Days = 30,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> TopicDetail:
    """The topic's summary and its questions of the period, newest first. Staff keys only."""
    return insights.topic_detail(session, index, topic_id, days=days, limit=limit)


@router.get("/stale", summary="Articles past their review date", responses=ERRORS)
def stale(
    session: SessionDep,
    _: InsightReader,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> StaleReport:
    """Articles whose `review_by` date has passed, the ones that served most answers in the
    last 30 days first. Staff keys only."""
    return insights.stale_articles(session, limit=limit)


@router.get("/answered", summary="Answered share per channel and locale", responses=ERRORS)
def answered(session: SessionDep, _: InsightReader, days: Days = 30) -> AnsweredReport:
    """Questions of the period and how many were answered rather than handed to a person,
    per channel and locale. Staff keys only."""
    return insights.answered_report(session, days=days)
