"""API shapes (requests and responses). Tables live in ``models.py``."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from kb_service.models import Role, Status, Visibility

_EXAMPLE_MD = "Your bill arrives on the 3rd of each month.\n\n## Paying by card\n1. Open the app\n"


class ArticleCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
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
    id: str | None = Field(None, description="Stable id; derived from the title when omitted.")
    locale: str = Field(description="BCP 47 locale of the first translation, e.g. pl-PL.")
    title: str = Field(max_length=200)
    markdown: str
    tags: list[str] = Field(default_factory=list)
    visibility: Visibility = Visibility.public


class ArticleMetaUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"tags": ["sim"]}]})
    tags: list[str] | None = None
    visibility: Visibility | None = None


class DraftUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"title": "Metody płatności", "markdown": _EXAMPLE_MD}]},
    )
    title: str = Field(max_length=200)
    markdown: str


class ReviewComment(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"comment": "Fix the price in step 2."}]}
    )
    comment: str | None = Field(None, max_length=4000)


class RollbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"to_version": 1}]})
    to_version: int = Field(ge=1)


class TranslationPublic(BaseModel):
    locale: str
    status: Status
    live_version: int | None
    draft_title: str
    draft_author: str
    review_comment: str | None
    updated_at: datetime


class FeedbackCounts(BaseModel):
    helpful: int
    not_helpful: int
    recent_reasons: list[str]


class ArticlePublic(BaseModel):
    id: str
    key: str
    tags: list[str]
    visibility: Visibility
    translations: list[TranslationPublic]
    feedback: FeedbackCounts = Field(description="Ratings of answers from this article.")
    kb_revision: int


class ArticleSummary(BaseModel):
    id: str
    key: str
    tags: list[str]
    visibility: Visibility
    locales: list[str]


class ArticleList(BaseModel):
    items: list[ArticleSummary]
    total: int


class VersionPublic(BaseModel):
    article_id: str
    locale: str
    version: int
    title: str
    markdown: str
    content_hash: str
    author: str
    kb_revision: int
    note: str
    created_at: datetime


class VersionSummary(BaseModel):
    version: int
    title: str
    content_hash: str
    author: str
    kb_revision: int
    note: str
    created_at: datetime


class KeyCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"role": "agent", "name": "chat-team"}]}
    )
    role: Role
    name: str = Field(min_length=1, max_length=100)


class KeyPublic(BaseModel):
    id: int
    name: str
    role: Role
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


class KeyCreated(KeyPublic):
    key: str = Field(description="The key itself: shown this once, store it safely.")


class SearchHitPublic(BaseModel):
    article_id: str
    key: str
    version: int
    locale: str
    fallback_locale: bool = Field(
        description="True when the article has no translation in "
        "the question's language and another locale is returned."
    )
    section_id: str
    heading_path: list[str]
    title: str
    snippet: str
    score: float
    confidence: float
    url: str


class SearchResponse(BaseModel):
    query: str
    searched_as: str = Field(
        description="The question as searched: diacritics the customer left out are put back "
        'from the knowledge base\'s own spelling ("zaplacic" -> "zapłacić").'
    )
    language: str | None = Field(description="The question's language, given or detected.")
    kb_revision: int
    hits: list[SearchHitPublic]


class Health(BaseModel):
    status: str
    kb_revision: int
    index_revision: int | None
    sections: int
    model: str
