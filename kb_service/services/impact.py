"""Pre-publish impact: which recorded questions would get another answer if this draft were
published now.

A temporary generation is built in memory (never written, never served): the serving index's
documents with this translation replaced by its draft. ``build_index`` reuses every unchanged
section's vector from the serving generation, so only the draft's sections are embedded. The
most recent distinct questions of the ledger are then searched in both, under the same rules
as answers (``access.answer_may_use_internal`` for the caller on the question's channel, the
channel's abstention threshold), and those whose top article or section changes are reported.

Questions are replayed without the locale the customer may have sent (the ledger keeps the
answer's locale, not the request's): the question's language is detected, in both indexes
alike. Each question is embedded once and its vector reused for the second search.
"""

from __future__ import annotations

import hashlib

from sqlmodel import Session, col, select

from indexer.build import build_index
from indexer.documents import SourceDocument
from indexer.embed import Embedder, RememberingEmbedder
from indexer.hybrid import HybridIndex
from kb_service.config import Settings
from kb_service.errors import ValidationFailed
from kb_service.models import AnswerRecord, Article, Visibility
from kb_service.rendering import Channel
from kb_service.schemas.articles import ImpactChange, ImpactReport, ImpactTarget
from kb_service.services import access
from kb_service.services.access import Viewer
from kb_service.services.articles import get_translation
from kb_service.services.indexing import IndexService, live_documents
from kb_service.services.searching import confidence_of

MAX_LIMIT = 200
SCAN_FACTOR = 5  # ledger rows read to find ``limit`` distinct questions


def draft_impact(
    session: Session,
    index: IndexService,
    settings: Settings,
    viewer: Viewer,
    *,
    article_id: str,
    locale: str,
    limit: int,
) -> ImpactReport:
    translation = get_translation(session, article_id, locale)
    if not translation.draft_markdown.strip():
        raise ValidationFailed(f"The {locale} translation of {article_id!r} has no draft.")
    serving = index.current
    article = session.get(Article, article_id)
    assert article is not None
    markdown = translation.draft_markdown
    draft = SourceDocument(
        article_id=article.id,
        key=article.key,
        locale=locale,
        version=(translation.live_version or 0) + 1,
        title=translation.draft_title,
        markdown=markdown,
        content_hash=hashlib.sha256(markdown.encode()).hexdigest(),
        internal=article.visibility == Visibility.internal,
    )
    documents = [
        d for d in live_documents(session) if (d.article_id, d.locale) != (article_id, locale)
    ]
    embedder = RememberingEmbedder(index.embedder)
    revision = serving.manifest.kb_revision if serving else 0
    candidate = build_index(
        [*documents, draft],
        embedder=embedder,
        kb_revision=revision + 1,
        previous=serving,
        ann_threshold=settings.ann_threshold,
        progress=False,
    )
    questions = _recent_questions(session, limit)
    changed = []
    for question, channel in questions:
        include_internal = access.answer_may_use_internal(viewer, channel)
        before = _top(serving, embedder, settings, question, channel, include_internal)
        after = _top(candidate, embedder, settings, question, channel, include_internal)
        if _where(before) != _where(after):
            changed.append(
                ImpactChange(question=question, channel=channel, before=before, after=after)
            )
    return ImpactReport(checked=len(questions), changed=changed)


def _recent_questions(session: Session, limit: int) -> list[tuple[str, Channel]]:
    """The most recent distinct (question, channel) pairs of the ledger."""
    rows = session.exec(
        select(AnswerRecord.question, AnswerRecord.channel)
        .order_by(col(AnswerRecord.created_at).desc())
        .limit(limit * SCAN_FACTOR)
    ).all()
    seen: dict[tuple[str, str], None] = {}
    for question, channel in rows:
        seen.setdefault((question, channel), None)
        if len(seen) >= limit:
            break
    return [(q, c) for q, c in seen if c in ("chat", "email", "phone", "social")]  # type: ignore[misc]


def _top(
    index: HybridIndex | None,
    embedder: Embedder,
    settings: Settings,
    question: str,
    channel: str,
    include_internal: bool,
) -> ImpactTarget | None:
    """The section an answer would be served from, or None when it would abstain."""
    if index is None or not any(c.isalnum() for c in question):
        return None
    result = index.search(
        question,
        embedder,
        limit=1,
        include_internal=include_internal,
        keyword_weight=settings.keyword_weight,
        confidence_midpoint=settings.confidence_midpoint,
    )
    if not result.hits:
        return None
    hit = result.hits[0]
    if confidence_of(hit) < settings.min_confidence(channel):
        return None
    s = hit.section
    return ImpactTarget(
        article_id=s.article_id,
        locale=s.locale,
        section_id=s.section_id,
        heading_path=list(s.heading_path),
        version=s.version,
        confidence=confidence_of(hit),
    )


def _where(target: ImpactTarget | None) -> tuple[str, str, tuple[str, ...]] | None:
    """What counts as another answer: another article, locale or section (by its headings; a
    section whose text changed keeps its place and is the same section in a new version)."""
    if target is None:
        return None
    return target.article_id, target.locale, tuple(target.heading_path)
