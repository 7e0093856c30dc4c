"""A draft as a channel would show it: cut into the sections the index would make, each
rendered by the channel's renderer exactly as an answer from that section would be. The
editors' console previews drafts with this, so Markdown is rendered in one place only."""

from __future__ import annotations

from sqlmodel import Session

from indexer.build import splitter_for
from indexer.embed import Embedder
from kb_service.config import Settings
from kb_service.errors import ValidationFailed
from kb_service.rendering import Channel, RenderInput, render
from kb_service.schemas.render import RenderedSection, RenderResult
from kb_service.services import articles
from kb_service.services.searching import article_url

UNSAVED_KEY = "KB-NEW"  # an article not created yet has no key
UNSAVED_ID = "new-article"


def render_draft(
    session: Session,
    settings: Settings,
    embedder: Embedder,
    *,
    markdown: str,
    title: str,
    locale: str,
    channel: Channel,
    article_id: str | None,
) -> RenderResult:
    if len(markdown) > settings.max_article_chars:
        raise ValidationFailed(
            f"The body is longer than {settings.max_article_chars} characters; it could not be "
            "published either."
        )
    key, target = UNSAVED_KEY, UNSAVED_ID
    if article_id is not None:
        article = articles.find_article(session, article_id)
        key, target = article.key, article.id
    sections = [
        RenderedSection(
            heading_path=list(part.heading_path),
            anchor=part.anchor,
            rendering=render(
                channel,
                RenderInput(
                    locale=locale,
                    article_key=key,
                    article_title=title,
                    heading_path=list(part.heading_path),
                    markdown=part.text,
                    article_url=article_url(settings, target, locale, part.anchor),
                ),
            ),
        )
        for part in splitter_for(embedder).split(markdown)
    ]
    return RenderResult(channel=channel, sections=sections)
