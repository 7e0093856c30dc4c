"""Shapes of ``/v1/articles``: articles, translations, the workflow and versions."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from kb_service.models import Status, Visibility
from kb_service.schemas.common import FeedbackCounts, RequestBody
from kb_service.validation import ArticleId, DbInt, Locale, Markdown, Tag, Text, Title

_EXAMPLE_MD = "Your bill arrives on the 3rd of each month.\n\n## Paying by card\n1. Open the app\n"
_CREATED_AT = "2026-11-23T10:00:00Z"
_KEYWORDS = "Words customers use for this article; searchable like the tags, never shown."
_SYNONYMS = "Other names for the article's subject; searchable like the tags, never shown."


class ArticleCreate(RequestBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "billing-payment-methods",
                    "locale": "en-GB",
                    "title": "Payment methods",
                    "markdown": _EXAMPLE_MD,
                    "tags": ["billing"],
                    "visibility": "public",
                }
            ]
        },
    )
    id: ArticleId | None = Field(
        None, description="Stable id; derived from the title when omitted."
    )
    locale: Locale = Field(description="BCP 47 locale of the first translation, e.g. pl-PL.")
    title: Title
    markdown: Markdown
    tags: list[Tag] = Field(default_factory=list)
    keywords: list[Tag] = Field(default_factory=list, description=_KEYWORDS)
    synonyms: list[Tag] = Field(default_factory=list, description=_SYNONYMS)
    visibility: Visibility = Visibility.public


class ArticleMetaUpdate(RequestBody):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"tags": ["sim"], "review_by": "2027-03-31"}]}
    )
    tags: list[Tag] | None = None
    keywords: list[Tag] | None = Field(None, description=_KEYWORDS)
    synonyms: list[Tag] | None = Field(None, description=_SYNONYMS)
    visibility: Visibility | None = None
    review_by: date | None = Field(
        default=None,
        description="Review the article again by this date; send null to clear it, leave it "
        "out to keep it.",
    )


class DraftUpdate(RequestBody):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"title": "Metody płatności", "markdown": _EXAMPLE_MD}]},
    )
    title: Title
    markdown: Markdown


class ReviewComment(RequestBody):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"comment": "Fix the price in step 2."}]}
    )
    comment: Text | None = Field(None, max_length=4000)


class RollbackRequest(RequestBody):
    model_config = ConfigDict(json_schema_extra={"examples": [{"to_version": 1}]})
    to_version: DbInt = Field(ge=1)


_BEHIND = (
    "True when this translation's source locale was published after this translation's live "
    "version (or it has none yet): the translation may be out of date."
)


class TranslationState(BaseModel):
    """Where one translation stands, as the article list shows it."""

    locale: str
    status: Status
    live_version: int | None
    translation_of_locale: str | None = Field(
        None, description="The locale it was translated from; null for the original."
    )
    published_at: datetime | None = Field(None, description="When its live version was made.")
    behind_source: bool = Field(False, description=_BEHIND)


class TranslationPublic(TranslationState):
    draft_title: str
    draft_markdown: str = Field("", description="The pending draft (or the live text).")
    draft_author: str
    review_comment: str | None
    updated_at: datetime


_TRANSLATION_EXAMPLE: dict[str, JsonValue] = {
    "locale": "pl-PL",
    "status": "published",
    "live_version": 3,
    "draft_title": "Metody płatności",
    "draft_author": "editor-anna",
    "review_comment": None,
    "updated_at": _CREATED_AT,
}


class ArticlePublic(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "billing-payment-methods",
                    "key": "KB-0003",
                    "tags": ["billing"],
                    "visibility": "public",
                    "translations": [_TRANSLATION_EXAMPLE],
                    "feedback": {"helpful": 12, "not_helpful": 1, "recent_reasons": []},
                    "kb_revision": 57,
                }
            ]
        }
    )
    id: str
    key: str
    tags: list[str]
    keywords: list[str] = Field(default_factory=list)
    synonyms: list[str] = Field(default_factory=list)
    visibility: Visibility
    review_by: date | None = None
    translations: list[TranslationPublic]
    feedback: FeedbackCounts = Field(description="Ratings of answers from this article.")
    kb_revision: int


class ArticleSummary(BaseModel):
    id: str
    key: str
    title: str = Field("", description="The first translation's draft title.")
    tags: list[str]
    visibility: Visibility
    review_by: date | None = None
    locales: list[str]
    translations: list[TranslationState] = Field(default_factory=list)


class ArticleList(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "id": "billing-payment-methods",
                            "key": "KB-0003",
                            "tags": ["billing"],
                            "visibility": "public",
                            "locales": ["en-GB", "pl-PL", "sl-SI", "uk-UA"],
                        }
                    ],
                    "total": 30,
                }
            ]
        }
    )
    items: list[ArticleSummary]
    total: int


class VersionSummary(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "version": 3,
                    "title": "Metody płatności",
                    "content_hash": "3f5a…",
                    "author": "editor-anna",
                    "kb_revision": 57,
                    "note": "",
                    "created_at": _CREATED_AT,
                }
            ]
        }
    )
    version: int
    title: str
    content_hash: str
    author: str
    kb_revision: int
    note: str
    created_at: datetime


class VersionPublic(VersionSummary):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "article_id": "billing-payment-methods",
                    "locale": "pl-PL",
                    "version": 3,
                    "title": "Metody płatności",
                    "markdown": _EXAMPLE_MD,
                    "content_hash": "3f5a…",
                    "author": "editor-anna",
                    "kb_revision": 57,
                    "note": "",
                    "created_at": _CREATED_AT,
                }
            ]
        }
    )
    article_id: str
    locale: str
    markdown: str


class ImpactTarget(BaseModel):
    """Where an answer would come from."""

    article_id: str
    locale: str
    section_id: str
    heading_path: list[str]
    version: int
    confidence: float


class ImpactChange(BaseModel):
    question: str
    channel: str
    before: ImpactTarget | None  # None: the service would abstain
    after: ImpactTarget | None


class ImpactReport(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "checked": 50,
                    "changed": [
                        {
                            "question": "Ile kosztuje roaming w USA?",
                            "channel": "chat",
                            "before": None,
                            "after": {
                                "article_id": "mobile-roaming",
                                "locale": "pl-PL",
                                "section_id": "9b1f0c2d7e4a",
                                "heading_path": ["Poza UE"],
                                "version": 4,
                                "confidence": 0.81,
                            },
                        }
                    ],
                }
            ]
        }
    )
    checked: int
    changed: list[ImpactChange]
