"""Shapes of ``/v1/render``: a draft rendered as a channel would show it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from kb_service.rendering import Channel, Rendering
from kb_service.schemas.common import RequestBody
from kb_service.validation import ArticleId, Locale, Markdown, Title


class RenderRequest(RequestBody):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "markdown": "Your bill arrives on the 3rd.\n\n## Paying by card\n1. Open it",
                    "title": "Payment methods",
                    "locale": "en-GB",
                    "channel": "chat",
                    "article_id": "billing-payment-methods",
                }
            ]
        }
    )
    markdown: Markdown
    title: Title
    locale: Locale
    channel: Channel = "chat"
    article_id: ArticleId | None = Field(
        None, description="The article the draft belongs to (its key and page link); optional."
    )


class RenderedSection(BaseModel):
    heading_path: list[str]
    anchor: str
    rendering: Rendering


class RenderResult(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "channel": "chat",
                    "sections": [
                        {
                            "heading_path": ["Paying by card"],
                            "anchor": "paying-by-card",
                            "rendering": {
                                "channel": "chat",
                                "markdown": "Found it: **Payment methods**\n\n1. Open the app",
                                "html": "<p>Found it: <strong>Payment methods</strong></p>",
                                "link": "http://localhost:8000/kb/billing/en-GB#paying-by-card",
                            },
                        }
                    ],
                }
            ]
        }
    )
    channel: Channel
    sections: list[RenderedSection] = Field(
        description="One per section the index would cut the draft into, each rendered as an "
        "answer from that section would be."
    )
