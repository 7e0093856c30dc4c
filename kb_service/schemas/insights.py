"""Shapes of ``/v1/insights``."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from kb_service.schemas.common import FeedbackCounts


class UnansweredQuestion(BaseModel):
    question: str
    channel: str
    locale: str | None
    confidence: float
    created_at: datetime


class ArticleFeedback(FeedbackCounts):
    article_id: str
    key: str | None


class GapReport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
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
                            "helpful": 4,
                            "not_helpful": 2,
                            "recent_reasons": ["Price is outdated"],
                            "article_id": "mobile-roaming",
                            "key": "KB-0021",
                        }
                    ],
                }
            ]
        }
    )
    days: int
    unanswered: list[UnansweredQuestion]
    unanswered_by_channel: dict[str, int]
    unhelpful_articles: list[ArticleFeedback]
