"""Search for agents: ranked sections, best section per article."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from kb_service.api.deps import IndexDep, Reader, SettingsDep
from kb_service.api.problems import ERRORS
from kb_service.schemas import SearchResponse
from kb_service.services.searching import search_sections

router = APIRouter(prefix="/v1/search", tags=["search"])

_EXAMPLE = {
    "query": "jak zmienić hasło do wifi",
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
            "section_id": "5f1c...",
            "heading_path": ["Zmiana hasła w aplikacji"],
            "title": "Zmiana hasła do Wi-Fi",
            "snippet": "Otwórz aplikację Nordlink...",
            "score": 2.31,
            "confidence": 0.86,
            "url": "http://localhost:8000/v1/articles/internet-change-wifi-password/translations/pl-PL",
        }
    ],
}


@router.get(
    "",
    summary="Search the knowledge base",
    responses={**ERRORS, 200: {"content": {"application/json": {"example": _EXAMPLE}}}},
)
def search(
    index: IndexDep,
    settings: SettingsDep,
    _: Reader,
    q: Annotated[str, Query(min_length=1, max_length=2000, description="The question.")],
    locale: Annotated[str | None, Query(description="BCP 47; detected when left out.")] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> SearchResponse:
    """Hybrid (dense + keyword) search; sections in the question's language first, others
    marked `fallback_locale`."""
    return search_sections(index, settings, q, locale=locale, limit=limit, include_internal=True)
