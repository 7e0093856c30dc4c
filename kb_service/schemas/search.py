"""Shapes of ``/v1/search``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from kb_service.schemas.common import SectionRef


class SearchHitPublic(SectionRef):
    snippet: str
    score: float = Field(description="The fused score (z-scores); comparable within one search.")
    confidence: float = Field(ge=0, le=1)


class SearchResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "query": "jak zmienic haslo do wifi",
                    "searched_as": "jak zmienić hasło do wifi",
                    "language": "pl",
                    "kb_revision": 52,
                    "hits": [
                        {
                            "article_id": "internet-change-wifi-password",
                            "key": "KB-0016",
                            "version": 1,
                            "locale": "pl-PL",
                            "fallback_locale": False,
                            "section_id": "5f1c…",
                            "heading_path": ["Zmiana hasła w aplikacji"],
                            "title": "Zmiana hasła do Wi-Fi",
                            "content_hash": "9b0e…",
                            "url": "http://localhost:8000/kb/internet-change-wifi-password/pl-PL"
                            "#zmiana-hasla-w-aplikacji",
                            "snippet": "Otwórz aplikację Nordlink…",
                            "score": 2.31,
                            "confidence": 0.86,
                        }
                    ],
                }
            ]
        }
    )
    query: str
    searched_as: str = Field(
        description="The question as searched: diacritics the customer left out are put back "
        'from the knowledge base\'s own spelling ("zaplacic" -> "zapłacić").'
    )
    language: str | None = Field(description="The question's language, given or detected.")
    kb_revision: int
    hits: list[SearchHitPublic]
