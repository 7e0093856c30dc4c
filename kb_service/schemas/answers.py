"""Shapes of ``/v1/answers``. Field names are a contract: bots and channel tools use them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kb_service.rendering import Channel, Rendering
from kb_service.schemas.common import RequestBody, SectionRef
from kb_service.schemas.customers import PreviouslyTold
from kb_service.validation import ArticleId, CustomerId, Line, Locale, Text

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


class AnswerRequest(RequestBody):
    question: Text = Field(min_length=1, max_length=2000)
    channel: Channel
    locale: Locale | None = Field(
        None, description="BCP 47; detected from the question if omitted."
    )
    customer_id: CustomerId | None = Field(
        None, description="Your id of the customer: printable, no '/', at most 200 characters."
    )
    conversation_id: Line | None = Field(None, max_length=200)


class CanonicalAnswer(SectionRef):
    """The same for every channel, given the same question and KB revision."""

    markdown: str = Field(description="The section's Markdown, as published.")
    kb_revision: int


class Alternative(SectionRef):
    confidence: float = Field(ge=0, le=1)


class Handoff(BaseModel):
    reason: str
    suggestion: str


_CANONICAL = {
    "article_id": "mobile-roaming",
    "key": "KB-0021",
    "version": 3,
    "locale": "pl-PL",
    "fallback_locale": False,
    "section_id": "9c2e…",
    "heading_path": ["Poza UE"],
    "title": "Roaming",
    "content_hash": "3f5a…",
    "url": "http://localhost:8000/kb/mobile-roaming/pl-PL#poza-ue",
    "markdown": "Poza UE włącz pakiet dzienny za 5 EUR.",
    "kb_revision": 57,
}
_RENDERINGS: dict[str, dict[str, Any]] = {
    "chat": {
        "channel": "chat",
        "markdown": "Poza UE włącz pakiet dzienny za 5 EUR.\n\n[Przeczytaj cały artykuł](…)",
        "html": "<p>Poza UE …</p>",
        "link": "…",
    },
    "email": {
        "channel": "email",
        "subject": "Odpowiedź: Roaming",
        "html": "<p>Dzień dobry,</p>…",
        "text": "Dzień dobry,\n\nPoza UE włącz pakiet dzienny za 5 EUR.\n…",
    },
    "phone": {
        "channel": "phone",
        "script": "Poza UE włącz pakiet dzienny za pięć euro. "
        "Numer artykułu to K B, zero zero dwa jeden.",
        "ssml": "<speak>…</speak>",
        "spoken_key": "K B, zero zero dwa jeden",
        "estimated_seconds": 8.5,
    },
    "social": {"channel": "social", "text": "Poza UE włącz pakiet dzienny za 5 EUR. …"},
}


def _response_example(channel: str) -> dict[str, Any]:
    return {
        "answer_id": "6f1d0c1e-…",
        "created_at": "2026-11-23T10:00:00Z",
        "status": "answered",
        "confidence": 0.82,
        "channel": channel,
        "question": "Ile kosztuje roaming poza UE?",
        "language": "pl",
        "kb_revision": 57,
        "answer": _CANONICAL,
        "alternatives": [],
        "rendering": _RENDERINGS[channel],
        "handoff": None,
        "previously_told": [],
    }


class AnswerResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [_response_example(c) for c in _RENDERINGS]}
    )
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


class FeedbackRequest(RequestBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"helpful": True, "channel": "chat"},
                {"helpful": False, "reason": "Price is outdated", "channel": "phone"},
                {
                    "helpful": False,
                    "reason": "Wrong article: the customer asked about eSIM",
                    "channel": "chat",
                    "correct_article_id": "mobile-esim",
                },
            ]
        },
    )
    helpful: bool = Field(
        description="True: the answer was right, and the question becomes a learned phrasing "
        "of the answered section."
    )
    reason: Text | None = Field(None, max_length=2000)
    channel: Channel | None = Field(None, description="Where the feedback came from.")
    correct_article_id: ArticleId | None = Field(
        None,
        description="With `helpful: false`: the article (id or key) that should have answered; "
        "the question becomes a learned phrasing of it. A public key may name only a public "
        "article.",
    )
    correct_section_id: Line | None = Field(
        None,
        max_length=200,
        description="With `correct_article_id`: the section of that article that answers it.",
    )

    @model_validator(mode="after")
    def _correction_needs_unhelpful(self) -> FeedbackRequest:
        if self.correct_article_id is not None and self.helpful:
            raise ValueError("correct_article_id goes with helpful: false")
        if self.correct_section_id is not None and self.correct_article_id is None:
            raise ValueError("correct_section_id needs correct_article_id")
        return self


class FeedbackPublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 12,
                    "answer_id": "6f1d0c1e-…",
                    "article_id": "mobile-roaming",
                    "channel": "phone",
                    "helpful": False,
                    "reason": "Price is outdated",
                    "created_at": "2026-11-23T10:05:00Z",
                    "phrasing": None,
                }
            ]
        }
    )
    id: int
    answer_id: str
    article_id: str | None
    channel: str
    helpful: bool
    reason: str | None
    created_at: datetime
    phrasing: LearnedPhrasing | None = Field(
        None, description="What the question was learned as, if anything."
    )


class LearnedPhrasing(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"id": 7, "status": "active", "article_id": "mobile-esim"}]}
    )
    id: int
    status: Literal["active", "suggested", "rejected"] = Field(
        description="`active`: used by retrieval now; `suggested`: from a customer-facing key, "
        "waits for an editor."
    )
    article_id: str


FeedbackPublic.model_rebuild()
