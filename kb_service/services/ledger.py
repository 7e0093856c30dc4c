"""The answer ledger: every answer is stored, durably, before its response leaves.

It is what lets an agent on any channel see what the customer was already told, and what the
gap report reads. Erasure removes a customer's records and keeps only anonymous counts.

Reads take ``include_internal`` (decided per caller in ``services.access``): without it, an
answer that names an internal article anywhere is not found, and a timeline leaves such
answers out. Visibility is the article's visibility now, as for every other read.
"""

from __future__ import annotations

import json

from sqlmodel import Session, col, select

from kb_service.errors import NotFoundError
from kb_service.models import (
    AnonymousAnswerCount,
    AnswerRecord,
    Article,
    Feedback,
    QuestionTopic,
    Status,
    Visibility,
)
from kb_service.schemas.answers import AnswerResponse
from kb_service.schemas.customers import PreviouslyTold
from kb_service.services import phrasings
from kb_service.services.articles import find_translation
from kb_service.services.group_commit import GroupCommitter


def record(
    session: Session,
    response: AnswerResponse,
    *,
    customer_id: str | None,
    conversation_id: str | None,
    committer: GroupCommitter | None = None,
) -> str:
    """Store the answer and the exact JSON sent; returns that JSON once it is committed (with
    ``committer``, in one transaction with concurrent answers' records)."""
    body = response.model_dump_json()
    answer = response.answer
    row = AnswerRecord(
        id=response.answer_id,
        created_at=response.created_at,
        channel=response.channel,
        customer_id=customer_id,
        conversation_id=conversation_id,
        question=response.question,
        locale=answer.locale if answer else response.language,
        status=response.status,
        confidence=response.confidence,
        article_id=answer.article_id if answer else None,
        version=answer.version if answer else None,
        section_id=answer.section_id if answer else None,
        content_hash=answer.content_hash if answer else None,
        kb_revision=response.kb_revision,
        response_json=body,
    )
    if committer is not None:
        committer.commit(row)
    else:
        session.add(row)
        session.commit()
    return body


def get_record(session: Session, answer_id: str, *, include_internal: bool) -> AnswerRecord:
    """An answer; without ``include_internal``, only one that names no internal article."""
    row = session.get(AnswerRecord, answer_id)
    if row is None or not (include_internal or _names_only_public(session, row)):
        raise NotFoundError(f"No answer with id {answer_id!r} (or it was erased).")
    return row


def _names_only_public(session: Session, row: AnswerRecord) -> bool:
    """True when every article the stored answer names (its answer, its alternatives, what
    the customer was told before) is public now."""
    sent = json.loads(row.response_json)
    named = {ref["article_id"] for ref in sent.get("alternatives", [])}
    named |= {told["article_id"] for told in sent.get("previously_told", [])}
    if sent.get("answer"):
        named.add(sent["answer"]["article_id"])
    if not named:
        return True
    public = session.exec(
        select(Article.id).where(
            col(Article.id).in_(named), Article.visibility == Visibility.public
        )
    ).all()
    return set(public) == named


def timeline(
    session: Session, customer_id: str, *, include_internal: bool, limit: int = 50
) -> list[PreviouslyTold]:
    """What this customer was told, newest first, marking articles changed since; without
    ``include_internal``, answers from internal articles are left out (filtered in SQL)."""
    query = select(AnswerRecord).where(
        AnswerRecord.customer_id == customer_id, AnswerRecord.status == "answered"
    )
    if not include_internal:
        query = query.join(
            Article,
            Article.id == AnswerRecord.article_id,  # type: ignore[arg-type]
        ).where(Article.visibility == Visibility.public)
    rows = session.exec(query.order_by(col(AnswerRecord.created_at).desc()).limit(limit)).all()
    return [_told(session, row) for row in rows]


def _told(session: Session, row: AnswerRecord) -> PreviouslyTold:
    assert row.article_id is not None and row.version is not None
    translation = find_translation(session, row.article_id, row.locale or "")
    current = None
    if translation and translation.status != Status.archived:
        current = translation.live_version
    article = session.get(Article, row.article_id)
    return PreviouslyTold(
        answer_id=row.id,
        channel=row.channel,
        created_at=row.created_at,
        question=row.question,
        article_id=row.article_id,
        key=article.key if article else None,
        version=row.version,
        locale=row.locale,
        content_hash=row.content_hash,
        current_version=current,
        changed_since=current != row.version,
    )


def add_feedback(
    session: Session, row: AnswerRecord, *, helpful: bool, reason: str | None, channel: str | None
) -> Feedback:
    """Rate an answer the caller may see (fetch it with ``get_record``)."""
    feedback = Feedback(
        answer_id=row.id,
        article_id=row.article_id,
        channel=channel or row.channel,
        helpful=helpful,
        reason=reason,
    )
    session.add(feedback)
    session.commit()
    return feedback


def erase_customer(session: Session, customer_id: str) -> tuple[int, int]:
    """Right to erasure: delete the records and the phrasings learned from their questions, keep
    anonymous per-day counts."""
    rows = session.exec(select(AnswerRecord).where(AnswerRecord.customer_id == customer_id)).all()
    if not rows:
        raise NotFoundError(f"No records for customer {customer_id!r}.")
    phrasings.delete_for_answers(session, [row.id for row in rows])
    feedback_count = 0
    for row in rows:
        _count_anonymously(session, row)
        for feedback in session.exec(select(Feedback).where(Feedback.answer_id == row.id)):
            session.delete(feedback)
            feedback_count += 1
        link = session.get(QuestionTopic, row.id)  # its topic keeps only the counts of others
        if link is not None:
            session.delete(link)
    session.flush()
    for row in rows:
        session.delete(row)
    session.commit()
    return len(rows), feedback_count


def _count_anonymously(session: Session, row: AnswerRecord) -> None:
    day = row.created_at.date().isoformat()
    counter = session.exec(
        select(AnonymousAnswerCount).where(
            AnonymousAnswerCount.day == day,
            AnonymousAnswerCount.channel == row.channel,
            AnonymousAnswerCount.status == row.status,
            AnonymousAnswerCount.article_id == row.article_id,
        )
    ).first()
    if counter is None:
        counter = AnonymousAnswerCount(
            day=day, channel=row.channel, status=row.status, article_id=row.article_id
        )
    counter.count += 1
    session.add(counter)
    session.flush()
