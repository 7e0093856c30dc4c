"""The editorial workflow: drafts, review, immutable published versions, archive, rollback.

    edit ──► draft ──submit──► in_review ──approve──► approved ──publish──► published
               ▲                  │                      │                   │
               └──────reject──────┴──────────────────────┘        edit ◄─────┤
                                                                  archive ──► archived

Every publish inserts a new ``ArticleVersion`` and raises the KB revision by one, in one
transaction; a publish that fails validation changes nothing, so the live version keeps serving.
A change of an article's visibility is a publication too (public channels start or stop using
it): it needs a publishing role, is audited, and raises the KB revision.

Every write here starts with ``begin_write``: its transaction holds the database's write lock
from the first statement, so simultaneous publishes queue. Each raises the revision by exactly
one, version numbers have no gap and no duplicate, and the second of two publishes of the same
translation finds it already published (409).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from kb_service.db import begin_write
from kb_service.errors import ConflictError, Forbidden, ValidationFailed, WorkflowError
from kb_service.models import (
    Article,
    ArticleVersion,
    KbState,
    Status,
    Translation,
    Visibility,
    WorkflowEvent,
    utcnow,
)
from kb_service.services.access import PUBLISHING_ROLES, may_sign_off
from kb_service.services.articles import (
    find_translation,
    get_article,
    get_translation,
    get_version,
    latest_version_number,
    live_version,
)
from kb_service.validation import (
    MAX_ARTICLE_CHARS,
    MAX_TITLE_CHARS,
    check_article_id,
    check_locale,
)

_TRANSITIONS: dict[str, tuple[set[Status], Status]] = {
    "submit": ({Status.draft}, Status.in_review),
    "approve": ({Status.in_review}, Status.approved),
    "reject": ({Status.in_review, Status.approved}, Status.draft),
    "publish": ({Status.approved}, Status.published),
    "archive": (
        {Status.draft, Status.in_review, Status.approved, Status.published},
        Status.archived,
    ),
}


def content_hash(markdown: str) -> str:
    return hashlib.sha256(markdown.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Actor:
    """Who does something: the API key's name, or the operator for CLI commands."""

    name: str


# ---------------------------------------------------------------- writes


def create_article(
    session: Session,
    *,
    actor: Actor,
    locale: str,
    title: str,
    markdown: str,
    article_id: str | None = None,
    tags: list[str] | None = None,
    visibility: Visibility = Visibility.public,
    key: str | None = None,
    keywords: list[str] | None = None,
    synonyms: list[str] | None = None,
) -> Article:
    """A new article with its first translation as a draft."""
    article_id = article_id or _slug_id(title)
    check_article_id(article_id)
    check_locale(locale)
    begin_write(session)
    if session.get(Article, article_id) is not None:
        raise ConflictError(f"An article with id {article_id!r} already exists.")
    if key is not None and session.exec(select(Article).where(Article.key == key)).first():
        raise ConflictError(f"The key {key!r} is already taken.")
    article = Article(
        id=article_id,
        key=key or _next_key(session),
        tags=tags or [],
        keywords=keywords or [],
        synonyms=synonyms or [],
        visibility=visibility,
    )
    session.add(article)
    session.add(_new_draft(article_id, locale, title, markdown, actor))
    session.commit()
    return article


def save_draft(
    session: Session, *, actor: Actor, article_id: str, locale: str, title: str, markdown: str
) -> Translation:
    """Edit (or start) a translation's draft; a published version keeps serving meanwhile."""
    check_locale(locale)
    begin_write(session)
    get_article(session, article_id)
    translation = find_translation(session, article_id, locale)
    if translation is None:
        translation = _new_draft(article_id, locale, title, markdown, actor)
        translation.translation_of_locale = _source_locale(session, article_id)
    elif translation.status in (Status.in_review, Status.approved):
        raise WorkflowError(
            f"The {locale} draft is {translation.status.value}; reject it before editing."
        )
    else:
        _record(session, translation, Status.draft, actor, None)
        translation.status = Status.draft
        translation.draft_title, translation.draft_markdown = title, markdown
        translation.draft_author, translation.updated_at = actor.name, utcnow()
    session.add(translation)
    session.commit()
    return translation


def update_article_meta(
    session: Session,
    *,
    actor: Actor,
    article_id: str,
    tags: list[str] | None,
    visibility: Visibility | None,
    may_change_visibility: bool,
    meta: dict[str, object] | None = None,
    keywords: list[str] | None = None,
    synonyms: list[str] | None = None,
    review_by: date | None | Literal["keep"] = "keep",
) -> Article:
    """Tags, keywords, synonyms, and visibility for all translations; ``None`` leaves a field
    as it is.

    Tags, keywords and synonyms are indexed with the article's sections, so changing them
    raises the KB revision (the next index generation re-embeds the article's sections).

    A visibility change (``may_change_visibility`` comes from ``services.access``) is recorded
    as a ``WorkflowEvent`` for the whole article (locale ``*``, from and to the visibilities)
    and raises the KB revision, so the next index generation knows; all in one transaction.
    Sending the visibility the article already has is not a change. ``meta`` is the front
    matter kept for export (import only)."""
    begin_write(session)
    article = get_article(session, article_id)
    changes_visibility = visibility is not None and visibility != article.visibility
    if changes_visibility and not may_change_visibility:
        raise Forbidden(
            "Changing an article's visibility skips review; it needs a role that publishes: "
            f"{', '.join(sorted(r.value for r in PUBLISHING_ROLES))}.",
        )
    terms = (article.tags, article.keywords, article.synonyms)
    if tags is not None:
        article.tags = tags
    if keywords is not None:
        article.keywords = keywords
    if synonyms is not None:
        article.synonyms = synonyms
    served_differently = (article.tags, article.keywords, article.synonyms) != terms
    if meta is not None:
        article.meta = meta
    if review_by != "keep":
        article.review_by = review_by
    if visibility is not None and changes_visibility:
        session.add(
            WorkflowEvent(
                article_id=article.id,
                locale="*",
                from_status=article.visibility.value,
                to_status=visibility.value,
                actor=actor.name,
                comment="visibility",
            )
        )
        article.visibility = visibility
        served_differently = True
    if served_differently:  # one change, one KB revision: the next index generation knows
        _bump_revision(session)
    session.add(article)
    session.commit()
    return article


def transition(
    session: Session,
    *,
    actor: Actor,
    article_id: str,
    locale: str,
    step: str,
    comment: str | None = None,
    max_chars: int = MAX_ARTICLE_CHARS,
    require_second_reviewer: bool = False,
) -> Translation:
    """Apply one workflow step (submit, approve, reject, publish, archive)."""
    begin_write(session)
    translation = get_translation(session, article_id, locale)
    author = translation.draft_author
    if not may_sign_off(
        step, author=author, actor=actor.name, require_second_reviewer=require_second_reviewer
    ):
        raise Forbidden(
            f"A second reviewer is required: {actor.name!r} wrote this {locale} draft and may "
            f"not {step} it; another reviewer must."
        )
    allowed, target = _TRANSITIONS[step]
    if translation.status not in allowed:
        raise WorkflowError(
            f"Cannot {step} the {locale} translation of {article_id!r}: "
            f"it is {translation.status.value}.",
            current_status=translation.status.value,
        )
    if step == "reject" and not (comment and comment.strip()):
        raise ValidationFailed("A rejection needs a comment for the editor.")
    if step == "publish":
        _validate_for_publish(translation.draft_title, translation.draft_markdown, max_chars)
        _insert_version(
            session,
            translation,
            translation.draft_title,
            translation.draft_markdown,
            translation.draft_author or actor.name,
            "",
        )
    if step == "archive":
        _bump_revision(session)
    _record(session, translation, target, actor, comment)
    translation.status = target
    translation.review_comment = comment if step == "reject" else None
    translation.updated_at = utcnow()
    session.add(translation)
    session.commit()
    return translation


def rollback(
    session: Session, *, actor: Actor, article_id: str, locale: str, to_version: int
) -> ArticleVersion:
    """Publish an old version's content as a new version (history is never rewritten)."""
    begin_write(session)
    translation = get_translation(session, article_id, locale)
    old = get_version(session, article_id, locale, to_version)
    new = _insert_version(
        session,
        translation,
        old.title,
        old.markdown,
        actor.name,
        f"rollback to version {to_version}",
    )
    if translation.status == Status.archived:
        translation.status = Status.published
    _record(session, translation, translation.status, actor, f"rollback to v{to_version}")
    session.add(translation)
    session.commit()
    return new


def publish_direct(
    session: Session,
    *,
    actor: Actor,
    article_id: str,
    locale: str,
    title: str,
    markdown: str,
    max_chars: int = MAX_ARTICLE_CHARS,
) -> ArticleVersion | None:
    """Operator publish (import): skips review; no new version when nothing changed."""
    _validate_for_publish(title, markdown, max_chars)
    begin_write(session)
    translation = find_translation(session, article_id, locale)
    if translation is None:
        translation = _new_draft(article_id, locale, title, markdown, actor)
        session.add(translation)
    current = live_version(session, translation) if translation.id else None
    if current and current.content_hash == content_hash(markdown) and current.title == title:
        session.rollback()  # nothing to write: let the next writer in
        return None
    translation.draft_title, translation.draft_markdown = title, markdown
    version = _insert_version(session, translation, title, markdown, actor.name, "import")
    _record(session, translation, Status.published, actor, "import")
    translation.status = Status.published
    session.add(translation)
    session.commit()
    return version


# ---------------------------------------------------------------- helpers


def _insert_version(
    session: Session, translation: Translation, title: str, markdown: str, author: str, note: str
) -> ArticleVersion:
    number = latest_version_number(session, translation.article_id, translation.locale) + 1
    version = ArticleVersion(
        article_id=translation.article_id,
        locale=translation.locale,
        version=number,
        title=title,
        markdown=markdown,
        content_hash=content_hash(markdown),
        author=author,
        kb_revision=_bump_revision(session),
        note=note,
    )
    session.add(version)
    try:
        session.flush()
    except IntegrityError as exc:  # only without begin_write(); never a 500
        session.rollback()
        raise ConflictError(
            f"Version {number} of {translation.article_id!r} ({translation.locale}) was just "
            "published by someone else; reload and try again."
        ) from exc
    translation.live_version = number
    return version


def _bump_revision(session: Session) -> int:
    """KB revision + 1 in one statement (the caller holds the write lock; ``db.migrate`` made
    the row)."""
    bumped = session.exec(
        update(KbState)
        .where(col(KbState.id) == 1)
        .values(revision=col(KbState.revision) + 1)
        .returning(col(KbState.revision))
    ).scalar_one_or_none()
    if bumped is not None:
        return int(bumped)
    session.add(KbState(id=1, revision=1))
    return 1


def _record(
    session: Session, translation: Translation, to: Status, actor: Actor, comment: str | None
) -> None:
    session.add(
        WorkflowEvent(
            article_id=translation.article_id,
            locale=translation.locale,
            from_status=translation.status.value,
            to_status=to.value,
            actor=actor.name,
            comment=comment,
        )
    )


def _new_draft(
    article_id: str, locale: str, title: str, markdown: str, actor: Actor
) -> Translation:
    return Translation(
        article_id=article_id,
        locale=locale,
        status=Status.draft,
        draft_title=title,
        draft_markdown=markdown,
        draft_author=actor.name,
    )


def _source_locale(session: Session, article_id: str) -> str | None:
    """The locale a new translation is translated from: the article's original (the one that
    is itself no translation), so the console can tell when the source moved on."""
    query = select(Translation.locale).where(
        Translation.article_id == article_id, col(Translation.translation_of_locale).is_(None)
    )
    return session.exec(query.order_by(col(Translation.id))).first()


def _validate_for_publish(title: str, markdown: str, max_chars: int) -> None:
    problems = []
    if not title.strip():
        problems.append("the title is empty")
    if len(title) > MAX_TITLE_CHARS:
        problems.append(f"the title is longer than {MAX_TITLE_CHARS} characters")
    if not markdown.strip():
        problems.append("the body is empty")
    if len(markdown) > max_chars:
        problems.append(f"the body is longer than {max_chars} characters")
    if markdown.count("```") % 2:
        problems.append("the body has an unclosed ``` code fence")
    if problems:
        raise ValidationFailed("Cannot publish: " + "; ".join(problems) + ".", problems=problems)


def _next_key(session: Session) -> str:
    keys = session.exec(select(Article.key)).all()
    numbers = [int(k[3:]) for k in keys if k.startswith("KB-") and k[3:].isdigit()]
    return f"KB-{max(numbers, default=0) + 1:04d}"


def _slug_id(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:80]
    return slug or "article"
