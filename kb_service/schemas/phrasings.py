"""Shapes of ``/v1/phrasings`` and ``/v1/articles/{id}/phrasings``: learned phrasings."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

_EXAMPLE: dict[str, Any] = {
    "id": 7,
    "article_id": "mobile-esim",
    "locale": "en-GB",
    "section_id": "9c2e…",
    "anchor": "activate-an-esim",
    "text": "my phone says no sim after I scanned the code from #",
    "language": "en",
    "status": "active",
    "source": "corrected",
    "role": "agent",
    "created_at": "2026-12-02T08:00:00Z",
    "reviewed_by": None,
}


class PhrasingPublic(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})
    id: int
    article_id: str
    locale: str | None = Field(description="The locale of the section it points at.")
    section_id: str | None = Field(description="None: the article as a whole.")
    anchor: str | None
    text: str = Field(description="The customer's question, e-mail addresses and digits masked.")
    language: str | None
    status: Literal["active", "suggested", "rejected"]
    source: str = Field(description="`confirmed`, `corrected` or `imported`.")
    role: str = Field(description="The role of the key whose feedback taught it.")
    created_at: datetime
    reviewed_by: str | None


class PhrasingList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"phrasings": [_EXAMPLE]}]})
    phrasings: list[PhrasingPublic]
