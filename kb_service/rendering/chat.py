"""Chat: a short answer bubble with the steps kept as a list and a link to the full article."""

from ._serialise import escape_markdown, markdown_url
from ._trim import trim_blocks
from .markup import blocks_to_markdown, safe_url, to_blocks, to_html
from .texts import texts_for
from .types import ChatRendering, RenderInput

MAX_SECTION_CHARS = 700  # longer bubbles get scrolled past; the link carries the rest


def render(inp: RenderInput) -> ChatRendering:
    texts = texts_for(inp.locale)
    blocks, _ = trim_blocks(to_blocks(inp.markdown), MAX_SECTION_CHARS)
    title = escape_markdown(" ".join(inp.article_title.split()))
    parts = [f"{escape_markdown(texts.found)}: **{title}**", blocks_to_markdown(blocks)]
    link = safe_url(inp.article_url)
    if link:
        parts.append(f"[{escape_markdown(texts.read_full)}]({markdown_url(link)})")
    markdown = "\n\n".join(part for part in parts if part)
    return ChatRendering(markdown=markdown, html=to_html(markdown), link=link or "")


def render_no_answer(locale: str) -> ChatRendering:
    message = texts_for(locale).handoff_chat
    markdown = escape_markdown(message)
    return ChatRendering(markdown=markdown, html=to_html(markdown), link="")
