"""Public article pages: no key needed, public live articles only."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from kb_service.api.deps import SessionDep
from kb_service.errors import NotFoundError
from kb_service.models import Visibility
from kb_service.rendering.page import article_page
from kb_service.services import articles
from kb_service.validation import article_id_problem, locale_problem

router = APIRouter(prefix="/kb", tags=["pages"])


@router.get(
    "/{article_id}/{locale}",
    summary="Public article page",
    response_class=HTMLResponse,
    responses={
        200: {"content": {"text/html": {"example": "<!doctype html>…"}}},
        404: {"description": "Unknown, internal or not live"},
    },
)
def public_article(article_id: str, locale: str, session: SessionDep) -> HTMLResponse:
    """The live version as a web page; answers link here (with `#section-anchor`).

    A malformed id or locale is just another page that does not exist: 404, as documented."""
    if article_id_problem(article_id) or locale_problem(locale):
        raise NotFoundError(f"No public live article {article_id!r} in {locale!r}.")
    article = articles.get_article(session, article_id)
    translation = articles.get_translation(session, article_id, locale)
    version = articles.live_version(session, translation)
    if article.visibility != Visibility.public or version is None:
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
