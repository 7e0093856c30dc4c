"""Search as the API and the benchmark see it: one home for turning hits into results."""

from __future__ import annotations

from indexer.hybrid import Hit
from kb_service.config import Settings
from kb_service.schemas.common import SectionRef
from kb_service.schemas.search import SearchHitPublic, SearchResponse
from kb_service.services.indexing import IndexService

SNIPPET_CHARS = 240


def article_url(settings: Settings, article_id: str, locale: str, anchor: str = "") -> str:
    """The public page of the article (``/kb/...``), at the section when an anchor is given."""
    page = f"{settings.base_url}/kb/{article_id}/{locale}"
    return f"{page}#{anchor}" if anchor else page


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return flat[:limit].rsplit(" ", 1)[0] + "…"


def section_ref(settings: Settings, hit: Hit) -> SectionRef:
    """What every API shape says about a hit: which section of which version, and where."""
    s = hit.section
    return SectionRef(
        article_id=s.article_id,
        key=s.key,
        version=s.version,
        locale=s.locale,
        fallback_locale=hit.fallback_locale,
        section_id=s.section_id,
        heading_path=list(s.heading_path),
        title=s.title,
        content_hash=s.content_hash,
        url=article_url(settings, s.article_id, s.locale, s.anchor),
    )


def confidence_of(hit: Hit) -> float:
    """A hit's confidence as every response reports it (4 decimals)."""
    return round(hit.confidence, 4)


def hit_public(settings: Settings, hit: Hit) -> SearchHitPublic:
    return SearchHitPublic(
        **dict(section_ref(settings, hit)),
        snippet=snippet(hit.section.text),
        score=round(hit.score, 4),
        confidence=confidence_of(hit),
    )


def search_sections(
    index: IndexService,
    settings: Settings,
    query: str,
    *,
    locale: str | None,
    limit: int,
    include_internal: bool,
) -> SearchResponse:
    result = index.search(query, locale=locale, limit=limit, include_internal=include_internal)
    return SearchResponse(
        query=query,
        searched_as=result.query,
        language=result.language,
        kb_revision=result.kb_revision,
        hits=[hit_public(settings, h) for h in result.hits],
    )
