"""Shapes shared by several routers: the base of every request body, and a reference to one
section of one immutable version."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kb_service.validation import nested_text_problem


class RequestBody(BaseModel):
    """The base of every request body: unknown fields are refused, and no string anywhere in
    it may be unstorable (a lone surrogate, NUL or another control character but tab and line
    breaks), even in a field typed plain ``str``. Fields use the stricter types of
    ``kb_service.validation`` (``Line``, ``Tag``, ``ArticleId`` ...) on top of this."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: object) -> object:
        if (problem := nested_text_problem(value)) is not None:
            raise ValueError(problem)
        return value


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
