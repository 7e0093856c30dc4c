"""Input and output shapes of the rendering layer.

One canonical section (`RenderInput`) is rendered into exactly one of four channel shapes;
`Rendering` is a discriminated union so API responses round-trip through pydantic unambiguously.
"""

from typing import Annotated, Literal

from pydantic import BaseModel, Field

Channel = Literal["chat", "email", "phone", "social"]


class RenderInput(BaseModel):
    """The canonical knowledge-base section to render."""

    locale: str  # BCP 47 of the answer; unsupported languages fall back to English texts
    article_key: str  # short key an agent reads aloud, e.g. "KB-0042"
    article_title: str
    heading_path: list[str]
    markdown: str  # untrusted: may contain raw HTML that has to be neutralised
    article_url: str  # link to the full article


class ChatRendering(BaseModel):
    channel: Literal["chat"] = "chat"
    markdown: str
    html: str
    link: str


class EmailRendering(BaseModel):
    channel: Literal["email"] = "email"
    subject: str
    html: str
    text: str


class PhoneRendering(BaseModel):
    channel: Literal["phone"] = "phone"
    script: str
    ssml: str
    spoken_key: str
    estimated_seconds: float


class SocialRendering(BaseModel):
    channel: Literal["social"] = "social"
    text: str


Rendering = Annotated[
    ChatRendering | EmailRendering | PhoneRendering | SocialRendering,
    Field(discriminator="channel"),
]
