"""What the questions from all channels say about the knowledge base: feedback and gaps."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlmodel import Session, col, select

from kb_service.models import AnswerRecord, Article, Feedback, utcnow
from kb_service.schemas.common import FeedbackCounts
from kb_service.schemas.insights import ArticleFeedback, GapReport, UnansweredQuestion

MAX_REASONS = 5


def feedback_summary(session: Session, article_id: str) -> FeedbackCounts:
    rows = session.exec(select(Feedback).where(Feedback.article_id == article_id)).all()
    reasons = [
        r.reason
        for r in sorted(rows, key=lambda r: r.created_at, reverse=True)
        if r.reason and not r.helpful
    ]
    return FeedbackCounts(
        helpful=sum(r.helpful for r in rows),
        not_helpful=sum(not r.helpful for r in rows),
        recent_reasons=reasons[:MAX_REASONS],
    )


def gap_report(session: Session, *, days: int, limit: int) -> GapReport:
    """Questions we abstained on, and the articles agents or customers found unhelpful."""
    since = utcnow() - timedelta(days=days)
    unanswered = session.exec(
        select(AnswerRecord)
        .where(AnswerRecord.status == "no_answer", col(AnswerRecord.created_at) >= since)
        .order_by(col(AnswerRecord.created_at).desc())
        .limit(limit)
    ).all()
    feedback = session.exec(select(Feedback).where(col(Feedback.created_at) >= since)).all()
    unhelpful = Counter(f.article_id for f in feedback if not f.helpful and f.article_id)
    articles = []
    for article_id, _count in unhelpful.most_common(limit):
        article = session.get(Article, article_id)
        summary = feedback_summary(session, article_id)
        articles.append(
            ArticleFeedback(
                article_id=article_id, key=article.key if article else None, **summary.model_dump()
            )
        )
    return GapReport(
        days=days,
        unanswered=[
            UnansweredQuestion(
                question=r.question,
                channel=r.channel,
                locale=r.locale,
                confidence=r.confidence,
                created_at=r.created_at,
            )
            for r in unanswered
        ],
        unhelpful_articles=articles,
        unanswered_by_channel=dict(Counter(r.channel for r in unanswered)),
    )
