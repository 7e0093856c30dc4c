"""What the questions from all channels say about the knowledge base: feedback, topics,
gaps and articles past their review date.

Questions are grouped into topics by ``services.topics`` (lazily, here, before each report);
a gap is a topic's unanswered, low-confidence or unhelpfully rated questions.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, case
from sqlmodel import Session, col, func, select

from kb_service.config import Settings
from kb_service.errors import NotFoundError
from kb_service.models import (
    AnswerRecord,
    Article,
    ArticleVersion,
    Feedback,
    QuestionTopic,
    Status,
    Topic,
    Translation,
    utcnow,
)
from kb_service.schemas.common import FeedbackCounts
from kb_service.schemas.insights import (
    AnsweredReport,
    AnsweredShare,
    ArticleFeedback,
    Gap,
    GapReport,
    NearestArticle,
    StaleArticle,
    StaleReport,
    TopicDetail,
    TopicQuestion,
    TopicReport,
    TopicSummary,
    Trend,
    UnansweredQuestion,
)
from kb_service.services import topics as topic_service

if TYPE_CHECKING:
    from kb_service.services.indexing import IndexService

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


LOW_CONFIDENCE_MARGIN = 0.1
"""An answer this close above its channel's abstention threshold counts as low confidence."""
MAX_EXAMPLES = 3
STALE_WINDOW_DAYS = 30


def _as_utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=utcnow().tzinfo)


def _linked(session: Session, since: datetime) -> list[tuple[AnswerRecord, int]]:
    rows = session.exec(
        select(AnswerRecord, QuestionTopic.topic_id)
        .join(QuestionTopic, QuestionTopic.answer_id == AnswerRecord.id)  # type: ignore[arg-type]
        .where(col(AnswerRecord.created_at) >= since)
        .order_by(col(AnswerRecord.created_at).desc())
    ).all()
    return [(record, topic_id) for record, topic_id in rows]


def _trend(records: list[AnswerRecord], since: datetime, days: int) -> Trend:
    middle = since + timedelta(days=days) / 2
    per_day = Counter(_as_utc(r.created_at).date().isoformat() for r in records)
    first = sum(1 for r in records if _as_utc(r.created_at) < middle)
    return Trend(
        per_day=dict(sorted(per_day.items())), first_half=first, second_half=len(records) - first
    )


def _label(session: Session, topic: Topic, records: list[AnswerRecord]) -> str:
    """The title of the article the topic's questions were most answered from, else its most
    asked question (the most recent of those)."""
    answered = Counter(r.article_id for r in records if r.status == "answered" and r.article_id)
    if answered:
        article_id = answered.most_common(1)[0][0]
        locales = Counter(r.locale for r in records if r.article_id == article_id and r.locale)
        title = _live_title(session, article_id, locales.most_common(1)[0][0] if locales else None)
        if title:
            return title
    if records:
        asked = Counter(" ".join(r.question.split()) for r in records)
        return asked.most_common(1)[0][0][:200]
    return topic.label


def _live_title(session: Session, article_id: str, locale: str | None) -> str | None:
    rows = session.exec(
        select(ArticleVersion.title, ArticleVersion.locale)
        .join(
            Translation,
            (Translation.article_id == ArticleVersion.article_id)  # type: ignore[arg-type]
            & (Translation.locale == ArticleVersion.locale)
            & (Translation.live_version == ArticleVersion.version),
        )
        .where(ArticleVersion.article_id == article_id, Translation.status != Status.archived)
    ).all()
    by_locale = {loc: title for title, loc in rows}
    if locale and locale in by_locale:
        return by_locale[locale]
    return next(iter(sorted(by_locale.items())), (None, None))[1]


def _summary(
    session: Session,
    topic: Topic,
    records: list[AnswerRecord],
    since: datetime,
    days: int,
) -> TopicSummary:
    examples: list[str] = []
    for record in records:  # newest first
        if record.question not in examples:
            examples.append(record.question)
        if len(examples) >= MAX_EXAMPLES:
            break
    assert topic.id is not None
    return TopicSummary(
        topic_id=topic.id,
        label=_label(session, topic, records),
        count=len(records),
        by_channel=dict(Counter(r.channel for r in records).most_common()),
        by_locale=dict(Counter(r.locale or "unknown" for r in records).most_common()),
        examples=examples,
        trend=_trend(records, since, days),
    )


def _grouped(
    session: Session, index: IndexService, days: int
) -> tuple[datetime, dict[int, list[AnswerRecord]]]:
    topic_service.assign_pending(session, index)
    since = utcnow() - timedelta(days=days)
    grouped: dict[int, list[AnswerRecord]] = defaultdict(list)
    for record, topic_id in _linked(session, since):
        grouped[topic_id].append(record)
    return since, grouped


def topic_report(session: Session, index: IndexService, *, days: int, limit: int) -> TopicReport:
    """The topics asked about in the last ``days``, most asked first."""
    since, grouped = _grouped(session, index, days)
    ranked = sorted(grouped.items(), key=lambda item: (-len(item[1]), item[0]))[:limit]
    summaries = []
    for topic_id, records in ranked:
        topic = session.get(Topic, topic_id)
        assert topic is not None
        summaries.append(_summary(session, topic, records, since, days))
    return TopicReport(days=days, topics=summaries)


def topic_detail(
    session: Session, index: IndexService, topic_id: int, *, days: int, limit: int
) -> TopicDetail:
    """One topic and its questions of the last ``days`` (newest first, at most ``limit``)."""
    topic = session.get(Topic, topic_id)
    if topic is None:
        raise NotFoundError(f"No topic with id {topic_id}.")
    since, grouped = _grouped(session, index, days)
    records = grouped.get(topic_id, [])
    summary = _summary(session, topic, records, since, days)
    return TopicDetail(
        **summary.model_dump(),
        days=days,
        questions=[
            TopicQuestion(
                answer_id=r.id,
                question=r.question,
                channel=r.channel,
                locale=r.locale,
                status=r.status,
                created_at=r.created_at,
            )
            for r in records[:limit]
        ],
    )


def gap_report(
    session: Session, index: IndexService, settings: Settings, *, days: int, limit: int
) -> GapReport:
    """Topics with unanswered, low-confidence or unhelpfully rated questions, most first; plus
    the flat lists of earlier versions (unanswered questions, unhelpful articles)."""
    since, grouped = _grouped(session, index, days)
    rated_down = set(
        session.exec(
            select(Feedback.answer_id).where(
                col(Feedback.created_at) >= since, col(Feedback.helpful).is_(False)
            )
        ).all()
    )

    def is_gap(record: AnswerRecord) -> bool:
        if record.status != "answered" or record.id in rated_down:
            return True
        return record.confidence < settings.min_confidence(record.channel) + LOW_CONFIDENCE_MARGIN

    gaps: list[tuple[int, list[AnswerRecord], int]] = []
    for topic_id, records in grouped.items():
        missed = [r for r in records if is_gap(r)]
        if not missed:
            continue
        good = [_as_utc(r.created_at) for r in records if not is_gap(r)]
        last_good = max(good) if good else None
        still_open = sum(
            1 for r in missed if last_good is None or _as_utc(r.created_at) > last_good
        )
        gaps.append((topic_id, missed, still_open))
    gaps.sort(key=lambda g: (-len(g[1]), g[0]))
    out = []
    for topic_id, missed, still_open in gaps[:limit]:
        topic = session.get(Topic, topic_id)
        assert topic is not None
        summary = _summary(session, topic, missed, since, days)
        out.append(
            Gap(
                **summary.model_dump(),
                open=still_open,
                closed=len(missed) - still_open,
                nearest_article=_nearest(index, missed),
            )
        )
    unanswered = [r for records in grouped.values() for r in records if r.status == "no_answer"]
    unanswered.sort(key=lambda r: _as_utc(r.created_at), reverse=True)
    return GapReport(
        days=days,
        gaps=out,
        unanswered=[
            UnansweredQuestion(
                question=r.question,
                channel=r.channel,
                locale=r.locale,
                confidence=r.confidence,
                created_at=r.created_at,
            )
            for r in unanswered[:limit]
        ],
        unhelpful_articles=_unhelpful(session, since, limit),
        unanswered_by_channel=dict(Counter(r.channel for r in unanswered)),
    )


def _nearest(index: IndexService, records: list[AnswerRecord]) -> NearestArticle | None:
    """The article the gap's most asked question comes closest to, however weakly."""
    question = Counter(r.question for r in records).most_common(1)[0][0]
    result = index.search(question, locale=None, limit=1, include_internal=True)
    if not result.hits:
        return None
    hit = result.hits[0]
    return NearestArticle(
        article_id=hit.section.article_id,
        key=hit.section.key,
        title=hit.section.title,
        locale=hit.section.locale,
        confidence=round(hit.confidence, 4),
    )


def _unhelpful(session: Session, since: datetime, limit: int) -> list[ArticleFeedback]:
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
    return articles


def overdue_by(today: date) -> ColumnElement[bool]:
    """Articles past their review-by date: the one rule, for this report and the article list."""
    return col(Article.review_by).is_not(None) & (col(Article.review_by) < today)


def stale_articles(session: Session, *, today: date | None = None, limit: int) -> StaleReport:
    """Articles past their review-by date, the ones serving most answers (30 days) first."""
    today = today or utcnow().date()
    since = utcnow() - timedelta(days=STALE_WINDOW_DAYS)
    overdue = session.exec(select(Article).where(overdue_by(today))).all()
    served = dict(
        session.exec(
            select(AnswerRecord.article_id, func.count())
            .where(AnswerRecord.status == "answered", col(AnswerRecord.created_at) >= since)
            .group_by(col(AnswerRecord.article_id))
        ).all()
    )
    rows = []
    for article in overdue:
        assert article.review_by is not None
        rows.append(
            StaleArticle(
                article_id=article.id,
                key=article.key,
                title=_live_title(session, article.id, None) or article.id,
                review_by=article.review_by,
                answers_30d=int(served.get(article.id, 0)),
            )
        )
    rows.sort(key=lambda a: (-a.answers_30d, a.review_by, a.article_id))
    return StaleReport(today=today, articles=rows[:limit])


def answered_report(session: Session, *, days: int) -> AnsweredReport:
    """How many questions of the period were answered (not abstained), per channel and locale,
    from the ledger (erased customers' answers are counts elsewhere and are left out)."""
    since = utcnow() - timedelta(days=days)
    answered = func.sum(case((col(AnswerRecord.status) == "answered", 1), else_=0))
    rows = session.exec(
        select(AnswerRecord.channel, AnswerRecord.locale, answered, func.count())
        .where(col(AnswerRecord.created_at) >= since)
        .group_by(col(AnswerRecord.channel), col(AnswerRecord.locale))
        .order_by(col(AnswerRecord.channel), col(AnswerRecord.locale))
    ).all()
    return AnsweredReport(
        days=days,
        rows=[
            AnsweredShare(channel=channel, locale=locale, answered=int(done or 0), total=int(n))
            for channel, locale, done, n in rows
        ],
    )
