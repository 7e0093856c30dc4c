"""Search for agents: ranked sections, best section per article."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from indexer import timing
from kb_service.api.deps import IndexDep, Reader, SettingsDep
from kb_service.api.problems import ERRORS
from kb_service.api.responses import timed_json
from kb_service.schemas.search import SearchResponse
from kb_service.services.searching import search_sections
from kb_service.validation import Locale

router = APIRouter(prefix="/v1/search", tags=["search"])


@router.get(
    "",
    summary="Search the knowledge base",
    response_model=SearchResponse,
    responses=ERRORS,
)
def search(
    index: IndexDep,
    settings: SettingsDep,
    viewer: Reader,
    q: Annotated[str, Query(min_length=1, max_length=2000, description="The question.")],
    locale: Annotated[Locale | None, Query(description="BCP 47; detected when left out.")] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 10,
) -> Response:
    """Hybrid (dense + keyword) search; sections in the question's language first, others
    marked `fallback_locale`. Any reading key; a `bot` key never gets internal articles.

    For staff keys (not `bot`) the `Server-Timing` header says where the time went, in ms:
    `queue` (waiting for the model), `encode`, `search` (the hybrid search besides encoding)
    and `app` (the whole handler)."""
    with timing.collecting() as timings, timing.timed("app"):
        found = search_sections(
            index, settings, q, locale=locale, limit=limit, include_internal=viewer.internal
        )
    return timed_json(found.model_dump_json(), viewer, timings)
