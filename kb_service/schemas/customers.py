"""Shapes of ``/v1/customers``: what a customer was told, and erasure."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, JsonValue

TOLD_EXAMPLE: dict[str, JsonValue] = {
    "answer_id": "6f1d0c1e-…",
    "channel": "chat",
    "created_at": "2026-11-23T10:00:00Z",
    "question": "Ile kosztuje roaming poza UE?",
    "article_id": "mobile-roaming",
    "key": "KB-0021",
    "version": 3,
    "locale": "pl-PL",
    "content_hash": "3f5a…",
    "current_version": 4,
    "changed_since": True,
}


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


class Timeline(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"customer_id": "cust-1042", "entries": [TOLD_EXAMPLE]}]}
    )
    customer_id: str
    entries: list[PreviouslyTold]


class Erasure(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"customer_id": "cust-1042", "erased_answers": 4, "erased_feedback": 1}]
        }
    )
    customer_id: str
    erased_answers: int
    erased_feedback: int
