"""Shapes of ``/v1/insights``."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, JsonValue

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


class Trend(BaseModel):
    """Counts over the period: per day (UTC, oldest first) and first half vs second half."""

    per_day: dict[str, int]
    first_half: int
    second_half: int


class TopicSummary(BaseModel):
    topic_id: int
    label: str
    count: int
    by_channel: dict[str, int]
    by_locale: dict[str, int]
    examples: list[str]
    trend: Trend


_TOPIC_EXAMPLE: dict[str, JsonValue] = {
    "topic_id": 7,
    "label": "Roaming outside the EU",
    "count": 42,
    "by_channel": {"chat": 30, "phone": 12},
    "by_locale": {"pl-PL": 25, "en-GB": 10, "uk-UA": 7},
    "examples": ["Ile kosztuje roaming poza UE?", "roaming charges in the USA"],
    "trend": {"per_day": {"2026-11-30": 20, "2026-12-01": 22}, "first_half": 20, "second_half": 22},
}


class TopicReport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"days": 30, "topics": [_TOPIC_EXAMPLE]}]}
    )
    days: int
    topics: list[TopicSummary]


class TopicQuestion(BaseModel):
    answer_id: str
    question: str
    channel: str
    locale: str | None
    status: str
    created_at: datetime


class TopicDetail(TopicSummary):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    **_TOPIC_EXAMPLE,
                    "days": 30,
                    "questions": [
                        {
                            "answer_id": "3f1c0a4e-8f57-4d1e-9a8e-0d1f3c2b7a10",
                            "question": "Ile kosztuje roaming poza UE?",
                            "channel": "chat",
                            "locale": "pl-PL",
                            "status": "answered",
                            "created_at": "2026-12-01T10:00:00Z",
                        }
                    ],
                }
            ]
        }
    )
    days: int
    questions: list[TopicQuestion]


class NearestArticle(BaseModel):
    article_id: str
    key: str
    title: str
    locale: str
    confidence: float


class Gap(TopicSummary):
    """A topic's unanswered, low-confidence and unhelpfully rated questions. A gap question is
    *closed* once a later question of the same topic was answered well (confidently, and not
    rated unhelpful), else *open*."""

    open: int
    closed: int
    nearest_article: NearestArticle | None


class GapReport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "days": 30,
                    "gaps": [
                        {
                            **_TOPIC_EXAMPLE,
                            "topic_id": 12,
                            "label": "Do you sell satellite phones?",
                            "open": 40,
                            "closed": 2,
                            "nearest_article": {
                                "article_id": "mobile-roaming",
                                "key": "KB-0021",
                                "title": "Roaming",
                                "locale": "en-GB",
                                "confidence": 0.31,
                            },
                        }
                    ],
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
    gaps: list[Gap]
    unanswered: list[UnansweredQuestion]
    unanswered_by_channel: dict[str, int]
    unhelpful_articles: list[ArticleFeedback]


class StaleArticle(BaseModel):
    article_id: str
    key: str
    title: str
    review_by: date
    answers_30d: int


class StaleReport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "today": "2026-12-02",
                    "articles": [
                        {
                            "article_id": "mobile-roaming",
                            "key": "KB-0021",
                            "title": "Roaming",
                            "review_by": "2026-11-30",
                            "answers_30d": 112,
                        }
                    ],
                }
            ]
        }
    )
    today: date
    articles: list[StaleArticle]


class AnsweredShare(BaseModel):
    channel: str
    locale: str | None = None  # None: the question's language was not recognised
    answered: int
    total: int


class AnsweredReport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "days": 30,
                    "rows": [{"channel": "chat", "locale": "pl-PL", "answered": 40, "total": 52}],
                }
            ]
        }
    )
    days: int
    rows: list[AnsweredShare]
