"""Database tables. API shapes live in ``schemas/``; never inherit API models from these."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class Status(StrEnum):
    """Workflow of one translation. ``published`` means no pending draft."""

    draft = "draft"
    in_review = "in_review"
    approved = "approved"
    published = "published"
    archived = "archived"


class Role(StrEnum):
    editor = "editor"
    reviewer = "reviewer"
    agent = "agent"
    bot = "bot"
    widget = "widget"
    admin = "admin"


class Visibility(StrEnum):
    public = "public"
    internal = "internal"


class KbState(SQLModel, table=True):
    """A single row: the KB revision rises by one on every publish or archive."""

    id: int = Field(default=1, primary_key=True)
    revision: int = 0
    # Rises by one whenever the set of active phrasings changes (the index picks them up).
    phrasing_revision: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class Article(SQLModel, table=True):
    id: str = Field(primary_key=True, max_length=120)
    key: str = Field(unique=True, index=True, max_length=20)
    tags: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    # Words customers use for the article that its text may lack (front matter ``keywords``,
    # ``synonyms``); indexed with its sections like the tags, but not used to filter.
    keywords: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )
    synonyms: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )
    visibility: Visibility = Visibility.public
    # Front matter fields we do not interpret (source, ...), kept so export round-trips.
    meta: dict[str, object] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    # The date by which an editor should review the article again (``None``: no date).
    review_by: date | None = None


class Translation(SQLModel, table=True):
    """One locale of an article: its workflow state, its pending draft and its live version."""

    __table_args__ = (UniqueConstraint("article_id", "locale"),)
    id: int | None = Field(default=None, primary_key=True)
    article_id: str = Field(foreign_key="article.id", index=True)
    locale: str = Field(max_length=35)
    translation_of_locale: str | None = None
    status: Status = Status.draft
    draft_title: str = ""
    draft_markdown: str = Field(default="", sa_column=Column(Text, nullable=False))
    draft_author: str = ""
    review_comment: str | None = None
    live_version: int | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class ArticleVersion(SQLModel, table=True):
    """An immutable published version: rows are inserted, never updated."""

    __table_args__ = (UniqueConstraint("article_id", "locale", "version"),)
    id: int | None = Field(default=None, primary_key=True)
    article_id: str = Field(foreign_key="article.id", index=True)
    locale: str
    version: int
    title: str
    markdown: str = Field(sa_column=Column(Text, nullable=False))
    content_hash: str
    author: str
    kb_revision: int
    note: str = ""
    created_at: datetime = Field(default_factory=utcnow)


class WorkflowEvent(SQLModel, table=True):
    """Audit trail: who moved which translation from where to where, and why.

    A visibility change applies to the whole article: ``locale`` is ``*``, ``from_status`` and
    ``to_status`` are the visibilities, ``comment`` is ``visibility``."""

    id: int | None = Field(default=None, primary_key=True)
    article_id: str = Field(index=True)
    locale: str
    from_status: str
    to_status: str
    actor: str
    comment: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class ApiKey(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    role: Role
    key_hash: str = Field(unique=True, index=True)
    prefix: str
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None
    # Web origins a widget key may be used from (its CORS allow-list); empty for other roles.
    origins: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False, server_default="[]")
    )


class AnswerRecord(SQLModel, table=True):
    """The answer ledger: one row per answer, written before the response leaves."""

    id: str = Field(primary_key=True)
    created_at: datetime = Field(default_factory=utcnow, index=True)
    channel: str
    customer_id: str | None = Field(default=None, index=True)
    conversation_id: str | None = None
    question: str = Field(sa_column=Column(Text, nullable=False))
    locale: str | None = None
    status: str
    confidence: float
    article_id: str | None = Field(default=None, index=True)
    version: int | None = None
    section_id: str | None = None
    content_hash: str | None = None
    kb_revision: int
    response_json: str = Field(sa_column=Column(Text, nullable=False))


class Feedback(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    answer_id: str = Field(foreign_key="answerrecord.id", index=True)
    article_id: str | None = Field(default=None, index=True)
    channel: str
    helpful: bool
    reason: str | None = None
    created_at: datetime = Field(default_factory=utcnow)


class AnonymousAnswerCount(SQLModel, table=True):
    """What is left of erased customers' answers: counts only, no person, no question."""

    __table_args__ = (UniqueConstraint("day", "channel", "status", "article_id"),)
    id: int | None = Field(default=None, primary_key=True)
    day: str
    channel: str
    status: str
    article_id: str | None = None
    count: int = 0


class SectionEmbedding(SQLModel, table=True):
    """A section's vectors, stored once per model and passage (replicas share them).

    ``passage_hash`` is the sha256 of exactly what the model embedded; ``vector`` and ``view``
    are float32 bytes (``view``: the model's second view, when it has one)."""

    model: str = Field(primary_key=True, max_length=200)
    passage_hash: str = Field(primary_key=True, max_length=64)
    dimension: int
    vector: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    view: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    created_at: datetime = Field(default_factory=utcnow)


class Topic(SQLModel, table=True):
    """A group of questions about one thing, in any language (``services.topics``).

    ``centroid`` is the mean of its questions' unit vectors (JSON list of floats); a topic keeps
    its id while new questions join it. ``label`` is the title of the article it is most often
    answered from, else its first question; ``article_id`` that article (the strong hint)."""

    id: int | None = Field(default=None, primary_key=True)
    label: str = Field(sa_column=Column(Text, nullable=False))
    article_id: str | None = Field(default=None, index=True)
    centroid: list[float] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    size: int = 0
    model: str = ""
    created_at: datetime = Field(default_factory=utcnow)


class QuestionTopic(SQLModel, table=True):
    """Which topic an answered (or abstained) question belongs to; one row per ledger row."""

    answer_id: str = Field(primary_key=True, foreign_key="answerrecord.id")
    topic_id: int = Field(foreign_key="topic.id", index=True)


class PhrasingStatus(StrEnum):
    active = "active"  # used by retrieval
    suggested = "suggested"  # from a customer-facing key: waits for an editor
    rejected = "rejected"


class Phrasing(SQLModel, table=True):
    """A customer's question, masked, learned as another way to ask for one section (or, with
    no ``section_id``, one article). No customer id: ``answer_id`` links it to the ledger
    record it came from, so erasing the customer removes it."""

    id: int | None = Field(default=None, primary_key=True)
    article_id: str = Field(index=True, max_length=120)
    locale: str | None = None  # the answered section's locale
    section_id: str | None = None  # None: the article as a whole
    anchor: str | None = None  # the section's anchor, to find it again after a republish
    text: str = Field(sa_column=Column(Text, nullable=False))  # masked question
    language: str | None = None  # the question's language
    status: PhrasingStatus = Field(default=PhrasingStatus.active, index=True)
    source: str  # how it was learned: confirmed | corrected | imported
    role: str  # the role of the key that taught it
    answer_id: str | None = Field(default=None, index=True)
    model: str | None = None  # the embedder of ``vector``
    vector: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    created_at: datetime = Field(default_factory=utcnow)
    reviewed_by: str | None = None
