"""API shapes of the answer API. Field names are a contract: bots and channel tools use them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from kb_service.services.rendering import Channel, Rendering

REQUEST_EXAMPLES = {
    "chat": {
        "summary": "Chat",
        "value": {
            "question": "Ile kosztuje roaming poza UE?",
            "channel": "chat",
            "locale": "pl-PL",
            "customer_id": "cust-1042",
            "conversation_id": "chat-77",
        },
    },
    "email": {
        "summary": "Email",
        "value": {
            "question": "How do I change my Wi-Fi password?",
            "channel": "email",
            "customer_id": "cust-1042",
        },
    },
    "phone": {
        "summary": "Phone",
        "value": {
            "question": "Izgubil sem SIM kartico, kaj naj naredim?",
            "channel": "phone",
            "locale": "sl-SI",
            "customer_id": "cust-1042",
        },
    },
    "social": {
        "summary": "Social",
        "value": {"question": "Чи є компенсація за відсутність інтернету?", "channel": "social"},
    },
}


class AnswerRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: str = Field(min_length=1, max_length=2000)
    channel: Channel
    locale: str | None = Field(None, description="BCP 47; detected from the question if omitted.")
    customer_id: str | None = Field(None, max_length=200)
    conversation_id: str | None = Field(None, max_length=200)


class CanonicalAnswer(BaseModel):
    """The same for every channel, given the same question and KB revision."""

    article_id: str
    key: str
    version: int
    locale: str
    fallback_locale: bool
    section_id: str
    heading_path: list[str]
    title: str
    markdown: str
    content_hash: str
    kb_revision: int
    url: str


class Alternative(BaseModel):
    article_id: str
    key: str
    version: int
    locale: str
    section_id: str
    heading_path: list[str]
    title: str
    confidence: float
    url: str


class PreviouslyTold(BaseModel):
    answer_id: str
    channel: str
    created_at: datetime
    question: str
    article_id: str
    key: str | None
    version: int
    locale: str | None
    content_hash: str | None
    current_version: int | None = Field(description="The live version now (None: withdrawn).")
    changed_since: bool = Field(description="True when the article has changed since.")


class Handoff(BaseModel):
    reason: str
    suggestion: str


class AnswerResponse(BaseModel):
    answer_id: str
    created_at: datetime
    status: Literal["answered", "no_answer"]
    confidence: float = Field(ge=0, le=1)
    channel: Channel
    question: str
    language: str | None
    kb_revision: int
    answer: CanonicalAnswer | None
    alternatives: list[Alternative]
    rendering: Rendering
    handoff: Handoff | None
    previously_told: list[PreviouslyTold]


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"helpful": False, "reason": "Price is outdated", "channel": "phone"}]
        },
    )
    helpful: bool
    reason: str | None = Field(None, max_length=2000)
    channel: Channel | None = Field(None, description="Where the feedback came from.")


class FeedbackPublic(BaseModel):
    id: int
    answer_id: str
    article_id: str | None
    channel: str
    helpful: bool
    reason: str | None
    created_at: datetime


class Timeline(BaseModel):
    customer_id: str
    entries: list[PreviouslyTold]


class Erasure(BaseModel):
    customer_id: str
    erased_answers: int
    erased_feedback: int


class FeedbackSummary(BaseModel):
    helpful: int
    not_helpful: int
    recent_reasons: list[str]


class UnansweredQuestion(BaseModel):
    question: str
    channel: str
    locale: str | None
    confidence: float
    created_at: datetime


class ArticleFeedback(FeedbackSummary):
    article_id: str
    key: str | None


class GapReport(BaseModel):
    days: int
    unanswered: list[UnansweredQuestion]
    unanswered_by_channel: dict[str, int]
    unhelpful_articles: list[ArticleFeedback]
