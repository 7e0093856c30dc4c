"""Articles, translations, the editorial workflow and immutable versions.

Reads are open to every reading key; a public key (`bot`) sees public articles only, and an
internal one is 404 to it, as if it did not exist.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, status
from sqlmodel import Session

from kb_service.api.deps import (
    Editor,
    IndexDep,
    Reviewer,
    SessionDep,
    SettingsDep,
    VisibleArticle,
    WorkflowArticle,
    WorkflowReader,
    actor_of,
)
from kb_service.api.problems import ERRORS
from kb_service.errors import NotFoundError
from kb_service.models import Status, Visibility
from kb_service.schemas.articles import (
    ArticleCreate,
    ArticleList,
    ArticleMetaUpdate,
    ArticlePublic,
    DraftUpdate,
    ImpactReport,
    ReviewComment,
    RollbackRequest,
    VersionPublic,
    VersionSummary,
)
from kb_service.services import access, articles, impact, publishing
from kb_service.services.articles import article_public
from kb_service.validation import MAX_ARTICLE_CHARS, ArticleId, DbInt, Locale, Tag

router = APIRouter(prefix="/v1/articles", tags=["articles"])


@router.get("", summary="List articles", responses=ERRORS)
def list_articles(
    session: SessionDep,
    viewer: WorkflowReader,
    tag: Tag | None = None,
    status: Annotated[
        Status | None, Query(description="Some translation (in `locale`, if given) is in it.")
    ] = None,
    locale: Annotated[Locale | None, Query(description="The article has this translation.")] = None,
    visibility: Visibility | None = None,
    overdue: Annotated[bool, Query(description="Only articles past their review-by date.")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[DbInt, Query(ge=0)] = 0,
) -> ArticleList:
    """Articles with each translation's state (and whether it is behind its source locale),
    ordered by key; filtered by tag, state, locale, visibility and review date.

    Staff keys only (agent, editor, reviewer, admin): the list shows the editorial workflow."""
    where = articles.ArticleFilter(
        tag=tag, status=status, locale=locale, visibility=visibility, overdue=overdue
    )
    return articles.list_articles(
        session, where=where, limit=limit, offset=offset, include_internal=viewer.internal
    )


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create an article", responses=ERRORS)
def create_article(body: ArticleCreate, session: SessionDep, key: Editor) -> ArticlePublic:
    """A new article with its first translation as a draft (not yet live)."""
    article = publishing.create_article(
        session,
        actor=actor_of(key),
        article_id=body.id,
        locale=body.locale,
        title=body.title,
        markdown=body.markdown,
        tags=body.tags,
        keywords=body.keywords,
        synonyms=body.synonyms,
        visibility=body.visibility,
    )
    return article_public(session, article)


@router.get("/{article_id}", summary="Get an article", responses=ERRORS)
def get_article(article: WorkflowArticle, session: SessionDep) -> ArticlePublic:
    """An article by id or spoken key (KB-0042), with each translation's workflow state.

    Staff keys only; a `bot` key reads published versions (`/translations/...`) instead."""
    return article_public(session, article)


@router.patch(
    "/{article_id}",
    summary="Change tags, keywords, synonyms, visibility or review date",
    responses=ERRORS,
)
def update_article(
    article_id: ArticleId,
    body: ArticleMetaUpdate,
    session: SessionDep,
    key: Editor,
    index: IndexDep,
    tasks: BackgroundTasks,
) -> ArticlePublic:
    """Tags, visibility and the review-by date (`review_by`, `null` clears it) apply to all
    translations. Editors and reviewers change tags; a
    visibility change puts content in front of customers (or takes it away) without review,
    so it needs a reviewer (or admin): editors get 403. It is audited, raises the KB revision
    and re-indexes at once, so public channels follow it within a second or two."""
    article = publishing.update_article_meta(
        session,
        actor=actor_of(key),
        article_id=article_id,
        tags=body.tags,
        keywords=body.keywords,
        synonyms=body.synonyms,
        visibility=body.visibility,
        may_change_visibility=access.may_change_visibility(key.role),
        review_by=body.review_by if "review_by" in body.model_fields_set else "keep",
    )
    # A no-op unless the visibility or the terms (so the KB revision) changed.
    tasks.add_task(index.refresh_quietly)
    return article_public(session, article)


@router.put("/{article_id}/translations/{locale}/draft", summary="Save a draft", responses=ERRORS)
def save_draft(
    article_id: ArticleId, locale: Locale, body: DraftUpdate, session: SessionDep, key: Editor
) -> ArticlePublic:
    """Create or edit a translation's draft; the live version keeps serving meanwhile."""
    publishing.save_draft(
        session,
        actor=actor_of(key),
        article_id=article_id,
        locale=locale,
        title=body.title,
        markdown=body.markdown,
    )
    return article_public(session, articles.get_article(session, article_id))


@router.post(
    "/{article_id}/translations/{locale}/submit", summary="Submit for review", responses=ERRORS
)
def submit(
    article_id: ArticleId, locale: Locale, session: SessionDep, key: Editor
) -> ArticlePublic:
    """draft → in_review."""
    return _step(session, key, article_id, locale, "submit")


@router.post("/{article_id}/translations/{locale}/approve", summary="Approve", responses=ERRORS)
def approve(
    article_id: ArticleId,
    locale: Locale,
    session: SessionDep,
    key: Reviewer,
    settings: SettingsDep,
) -> ArticlePublic:
    """in_review → approved. With `KB_REQUIRE_SECOND_REVIEWER` on, the draft's author gets
    403."""
    return _step(
        session,
        key,
        article_id,
        locale,
        "approve",
        second_reviewer=settings.require_second_reviewer,
    )


@router.post(
    "/{article_id}/translations/{locale}/reject", summary="Reject with a comment", responses=ERRORS
)
def reject(
    article_id: ArticleId, locale: Locale, body: ReviewComment, session: SessionDep, key: Reviewer
) -> ArticlePublic:
    """in_review or approved → draft, with a comment for the editor."""
    return _step(session, key, article_id, locale, "reject", comment=body.comment)


@router.post(
    "/{article_id}/translations/{locale}/publish", summary="Publish a new version", responses=ERRORS
)
def publish(
    article_id: ArticleId,
    locale: Locale,
    session: SessionDep,
    key: Reviewer,
    index: IndexDep,
    settings: SettingsDep,
    tasks: BackgroundTasks,
) -> ArticlePublic:
    """approved → published: a new immutable version, KB revision + 1, re-indexed in seconds.

    A draft that fails validation (empty title or body, too long, unclosed code fence) gets 422
    and the previous version stays live. Agents and editors get 403; with
    `KB_REQUIRE_SECOND_REVIEWER` on, so does the draft's author."""
    result = _step(
        session,
        key,
        article_id,
        locale,
        "publish",
        max_chars=settings.max_article_chars,
        second_reviewer=settings.require_second_reviewer,
    )
    tasks.add_task(index.refresh_quietly)
    return result


@router.post("/{article_id}/translations/{locale}/archive", summary="Archive", responses=ERRORS)
def archive(
    article_id: ArticleId,
    locale: Locale,
    session: SessionDep,
    key: Reviewer,
    index: IndexDep,
    tasks: BackgroundTasks,
) -> ArticlePublic:
    """Take a translation out of service (KB revision + 1); its versions stay readable."""
    result = _step(session, key, article_id, locale, "archive")
    tasks.add_task(index.refresh_quietly)
    return result


@router.post(
    "/{article_id}/translations/{locale}/rollback",
    summary="Roll back",
    status_code=status.HTTP_201_CREATED,
    responses=ERRORS,
)
def rollback(
    article_id: ArticleId,
    locale: Locale,
    body: RollbackRequest,
    session: SessionDep,
    key: Reviewer,
    index: IndexDep,
    tasks: BackgroundTasks,
) -> VersionPublic:
    """Publish an old version's content as a new version; history is never rewritten."""
    version = publishing.rollback(
        session,
        actor=actor_of(key),
        article_id=article_id,
        locale=locale,
        to_version=body.to_version,
    )
    tasks.add_task(index.refresh_quietly)
    return VersionPublic.model_validate(version, from_attributes=True)


@router.get(
    "/{article_id}/translations/{locale}/impact",
    summary="What publishing the draft would change",
    responses=ERRORS,
)
def draft_impact(
    article_id: ArticleId,
    locale: Locale,
    session: SessionDep,
    key: Editor,
    index: IndexDep,
    settings: SettingsDep,
    limit: Annotated[int, Query(ge=1, le=impact.MAX_LIMIT)] = 50,
) -> ImpactReport:
    """Replays the most recent distinct questions of the answer ledger (at most `limit`)
    against the current draft as if it were published, in a temporary index (only the draft's
    sections are embedded), and lists those whose answer would come from another article or
    section, or would start or stop abstaining. `before`/`after` is `null` where the service
    would abstain. Editors, reviewers and admins."""
    return impact.draft_impact(
        session,
        index,
        settings,
        access.viewer_of(key.role),
        article_id=article_id,
        locale=locale,
        limit=limit,
    )


@router.get("/{article_id}/translations/{locale}", summary="Get the live version", responses=ERRORS)
def get_live(
    article_id: ArticleId, locale: Locale, session: SessionDep, _: VisibleArticle
) -> VersionPublic:
    """The version that answers are served from now. An internal article is 404 to a `bot`
    key."""
    translation = articles.get_translation(session, article_id, locale)
    version = articles.live_version(session, translation)
    if version is None:
        raise NotFoundError(f"The {locale} translation of {article_id!r} is not live.")
    return VersionPublic.model_validate(version, from_attributes=True)


@router.get(
    "/{article_id}/translations/{locale}/versions", summary="List versions", responses=ERRORS
)
def list_versions(
    article_id: ArticleId, locale: Locale, session: SessionDep, _: VisibleArticle
) -> list[VersionSummary]:
    """Every published version, oldest first. An internal article is 404 to a `bot` key."""
    rows = articles.list_versions(session, article_id, locale)
    return [VersionSummary.model_validate(v, from_attributes=True) for v in rows]


@router.get(
    "/{article_id}/translations/{locale}/versions/{version}",
    summary="Get a version",
    responses=ERRORS,
)
def get_version(
    article_id: ArticleId, locale: Locale, version: DbInt, session: SessionDep, _: VisibleArticle
) -> VersionPublic:
    """One immutable version, readable forever (answers cite these). An internal article's
    versions are 404 to a `bot` key."""
    row = articles.get_version(session, article_id, locale, version)
    return VersionPublic.model_validate(row, from_attributes=True)


def _step(
    session: Session,
    key: Editor,
    article_id: str,
    locale: str,
    step: str,
    *,
    comment: str | None = None,
    max_chars: int = MAX_ARTICLE_CHARS,
    second_reviewer: bool = False,
) -> ArticlePublic:
    publishing.transition(
        session,
        actor=actor_of(key),
        article_id=article_id,
        locale=locale,
        step=step,
        comment=comment,
        max_chars=max_chars,
        require_second_reviewer=second_reviewer,
    )
    return article_public(session, articles.get_article(session, article_id))
