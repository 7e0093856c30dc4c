"""Reading articles, translations and versions: the one home of article queries.

Writes (the workflow and publishing) live in ``publishing``; routes call these and never build
queries themselves. Reads for a caller who may not see internal articles
(``include_internal=False``, decided in ``services.access``) find them *not found*, with the
same words as an unknown article, so that their existence does not leak.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, exists, func
from sqlmodel import Session, col, select

from kb_service.errors import NotFoundError
from kb_service.models import (
    Article,
    ArticleVersion,
    KbState,
    Status,
    Translation,
    Visibility,
    utcnow,
)
from kb_service.schemas.articles import (
    ArticleList,
    ArticlePublic,
    ArticleSummary,
    TranslationPublic,
    TranslationState,
)
from kb_service.services import insights


def kb_revision(session: Session) -> int:
    state = session.get(KbState, 1)
    return state.revision if state else 0


def get_article(session: Session, article_id: str, *, include_internal: bool = True) -> Article:
    article = session.get(Article, article_id)
    if article is None or not _visible(article, include_internal):
        raise NotFoundError(f"No article with id {article_id!r}.")
    return article


def find_article(session: Session, id_or_key: str, *, include_internal: bool = True) -> Article:
    """An article by its id or by its spoken key (``KB-0042``)."""
    article = session.get(Article, id_or_key)
    if article is None:
        article = session.exec(select(Article).where(Article.key == id_or_key.upper())).first()
    if article is None or not _visible(article, include_internal):
        raise NotFoundError(f"No article with id or key {id_or_key!r}.")
    return article


def _visible(article: Article, include_internal: bool) -> bool:
    return include_internal or article.visibility == Visibility.public


def translations_of(session: Session, article_id: str) -> list[Translation]:
    query = select(Translation).where(Translation.article_id == article_id)
    return list(session.exec(query.order_by(col(Translation.locale))))


def find_translation(session: Session, article_id: str, locale: str) -> Translation | None:
    query = select(Translation).where(
        Translation.article_id == article_id, Translation.locale == locale
    )
    return session.exec(query).first()


def get_translation(session: Session, article_id: str, locale: str) -> Translation:
    get_article(session, article_id)
    translation = find_translation(session, article_id, locale)
    if translation is None:
        raise NotFoundError(f"Article {article_id!r} has no {locale} translation.")
    return translation


def get_version(session: Session, article_id: str, locale: str, version: int) -> ArticleVersion:
    row = session.exec(
        select(ArticleVersion).where(
            ArticleVersion.article_id == article_id,
            ArticleVersion.locale == locale,
            ArticleVersion.version == version,
        )
    ).first()
    if row is None:
        raise NotFoundError(f"Article {article_id!r} ({locale}) has no version {version}.")
    return row


def list_versions(session: Session, article_id: str, locale: str) -> list[ArticleVersion]:
    get_translation(session, article_id, locale)
    query = select(ArticleVersion).where(
        ArticleVersion.article_id == article_id, ArticleVersion.locale == locale
    )
    return list(session.exec(query.order_by(col(ArticleVersion.version))))


def live_version(session: Session, translation: Translation) -> ArticleVersion | None:
    """The version that serves answers, or None when archived or never published."""
    if translation.status == Status.archived or translation.live_version is None:
        return None
    return get_version(
        session, translation.article_id, translation.locale, translation.live_version
    )


def latest_version_number(session: Session, article_id: str, locale: str) -> int:
    latest = session.exec(
        select(func.max(ArticleVersion.version)).where(
            ArticleVersion.article_id == article_id, ArticleVersion.locale == locale
        )
    ).one()
    return latest or 0


@dataclass(frozen=True)
class ArticleFilter:
    """What the article list may be narrowed to; ``None`` (or False) leaves a field open."""

    tag: str | None = None
    status: Status | None = None  # some translation is in this state (in ``locale``, if given)
    locale: str | None = None  # the article has this translation
    visibility: Visibility | None = None
    overdue: bool = False  # past its review-by date


def list_articles(
    session: Session,
    *,
    where: ArticleFilter,
    limit: int,
    offset: int,
    include_internal: bool,
) -> ArticleList:
    """One page of articles ordered by key, with each translation's state; filtered and paged
    in SQL."""
    conditions = _conditions(session, where)
    if not include_internal:
        conditions.append(col(Article.visibility) == Visibility.public)
    total = session.exec(select(func.count()).select_from(Article).where(*conditions)).one()
    page = session.exec(
        select(Article).where(*conditions).order_by(col(Article.key)).offset(offset).limit(limit)
    ).all()
    translations: dict[str, list[Translation]] = {}
    for row in session.exec(
        select(Translation)
        .where(col(Translation.article_id).in_([a.id for a in page]))
        .order_by(col(Translation.locale))
    ):
        translations.setdefault(row.article_id, []).append(row)
    published = _published_at(session, [a.id for a in page])
    items = [
        ArticleSummary(
            id=a.id,
            key=a.key,
            title=_title(translations.get(a.id, [])),
            tags=a.tags,
            visibility=a.visibility,
            review_by=a.review_by,
            locales=[t.locale for t in translations.get(a.id, [])],
            translations=[
                TranslationState(**_state(t, published)) for t in translations.get(a.id, [])
            ],
        )
        for a in page
    ]
    return ArticleList(items=items, total=total)


def _conditions(session: Session, where: ArticleFilter) -> list[ColumnElement[bool]]:
    conditions = [_has_tag(session, where.tag)] if where.tag else []
    if where.visibility is not None:
        conditions.append(col(Article.visibility) == where.visibility)
    if where.overdue:
        conditions.append(insights.overdue_by(utcnow().date()))
    if where.status is not None or where.locale is not None:
        match = [col(Translation.article_id) == col(Article.id)]
        if where.status is not None:
            match.append(col(Translation.status) == where.status)
        if where.locale is not None:
            match.append(col(Translation.locale) == where.locale)
        conditions.append(exists(select(1).select_from(Translation).where(*match)))
    return conditions


def _title(translations: Sequence[Translation]) -> str:
    originals = [t for t in translations if t.translation_of_locale is None] or translations
    return originals[0].draft_title if originals else ""


def _published_at(session: Session, article_ids: list[str]) -> dict[tuple[str, str], datetime]:
    """When each translation's newest version was made (publish and rollback both add one)."""
    rows = session.exec(
        select(
            ArticleVersion.article_id, ArticleVersion.locale, func.max(ArticleVersion.created_at)
        )
        .where(col(ArticleVersion.article_id).in_(article_ids))
        .group_by(col(ArticleVersion.article_id), col(ArticleVersion.locale))
    )
    return {(article_id, locale): at for article_id, locale, at in rows}


def _state(
    translation: Translation, published: dict[tuple[str, str], datetime]
) -> dict[str, object]:
    """The state fields of a translation; behind when its source locale was published after
    its own newest version (or it has none yet)."""
    own = published.get((translation.article_id, translation.locale))
    source_locale = translation.translation_of_locale
    source = published.get((translation.article_id, source_locale)) if source_locale else None
    return {
        "locale": translation.locale,
        "status": translation.status,
        "live_version": translation.live_version,
        "translation_of_locale": source_locale,
        "published_at": own,
        "behind_source": source is not None and (own is None or source > own),
    }


def _has_tag(session: Session, tag: str) -> ColumnElement[bool]:
    """``tag`` is one of the article's tags (a JSON array): each engine's JSON table function."""
    dialect = session.get_bind().dialect.name
    function = func.json_array_elements_text if dialect == "postgresql" else func.json_each
    elements = function(Article.tags).table_valued("value")
    return exists(select(1).select_from(elements).where(elements.c.value == tag))


def article_public(session: Session, article: Article) -> ArticlePublic:
    """An article as the API shows it: each translation's workflow state and its feedback."""
    siblings = translations_of(session, article.id)
    published = _published_at(session, [article.id])
    return ArticlePublic(
        id=article.id,
        key=article.key,
        tags=article.tags,
        keywords=article.keywords,
        synonyms=article.synonyms,
        visibility=article.visibility,
        review_by=article.review_by,
        translations=[
            TranslationPublic(
                **_state(t, published),
                draft_title=t.draft_title,
                draft_markdown=t.draft_markdown,
                draft_author=t.draft_author,
                review_comment=t.review_comment,
                updated_at=t.updated_at,
            )
            for t in siblings
        ],
        feedback=insights.feedback_summary(session, article.id),
        kb_revision=kb_revision(session),
    )
