"""Social: one public, plain-text post of at most 280 characters including the link."""

from ._doc import Block
from ._trim import shorten
from .markup import safe_url, to_blocks
from .texts import texts_for
from .types import RenderInput, SocialRendering

MAX_CHARS = 280  # the link counts at its full length, not as a platform-shortened URL


def _prose(blocks: list[Block]) -> str:
    # A post is one paragraph: list items are run together as sentences, links as their text.
    return " ".join(" ".join(block.text.split()) for block in blocks if block.kind != "code")


def render(inp: RenderInput) -> SocialRendering:
    link = safe_url(inp.article_url)
    if link and len(link) >= MAX_CHARS // 2:
        link = None  # a link that crowds out the answer is worse than none
    room = MAX_CHARS - (len(link) + 1 if link else 0)
    snippet = shorten(_prose(to_blocks(inp.markdown)), room)
    return SocialRendering(text=" ".join(part for part in (snippet, link) if part))


def render_no_answer(locale: str) -> SocialRendering:
    return SocialRendering(text=texts_for(locale).handoff_social)
