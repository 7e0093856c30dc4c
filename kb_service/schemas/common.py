"""Shapes shared by several routers: a reference to one section of one immutable version."""

from __future__ import annotations

from pydantic import BaseModel, Field


class SectionRef(BaseModel):
    """Which section of which immutable article version: what every hit and answer cites."""

    article_id: str
    key: str = Field(description="The spoken key of the article, e.g. KB-0042.")
    version: int
    locale: str
    fallback_locale: bool = Field(
        description="True when the article has no translation in the question's language "
        "and another locale is returned."
    )
    section_id: str
    heading_path: list[str]
    title: str
    content_hash: str = Field(description="sha256 of the section's Markdown.")
    url: str = Field(description="The public article page, at the section.")


class FeedbackCounts(BaseModel):
    helpful: int
    not_helpful: int
    recent_reasons: list[str]
