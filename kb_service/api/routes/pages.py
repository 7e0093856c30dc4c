"""Public article pages: no key needed, public live articles only."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from kb_service.api.deps import PublicArticle, SessionDep
from kb_service.api.problems import ERRORS, edge_errors
from kb_service.errors import NotFoundError
from kb_service.rendering.page import article_page
from kb_service.services import articles
from kb_service.validation import locale_problem

router = APIRouter(prefix="/kb", tags=["pages"])


@router.get(
    "/{article_id}/{locale}",
    summary="Public article page",
    response_class=HTMLResponse,
    responses={
        200: {"content": {"text/html": {"example": "<!doctype html>…"}}},
        404: {**ERRORS[404], "description": "Unknown, internal or not live"},
        **edge_errors(413, 503),
    },
)
def public_article(
    article_id: str, locale: str, session: SessionDep, article: PublicArticle
) -> HTMLResponse:
    """The live version as a web page; answers link here (with `#section-anchor`). No key
    needed: an internal article is 404, as if it did not exist."""
    if locale_problem(locale) is not None:  # e.g. a NUL byte, which PostgreSQL cannot compare
        raise NotFoundError(f"No public live article {article_id!r} in {locale!r}.")
    translation = articles.get_translation(session, article_id, locale)
    version = articles.live_version(session, translation)
    if version is None:
        raise NotFoundError(f"No public live article {article_id!r} in {locale}.")
    return HTMLResponse(
        article_page(
            title=version.title,
            markdown=version.markdown,
            locale=locale,
            key=article.key,
            version=version.version,
        )
    )
