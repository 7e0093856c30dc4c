"""Markdown in, safe HTML / plain text / blocks out.

The section Markdown is untrusted (authors paste HTML, imports carry junk), so everything goes
Markdown -> HTML -> nh3 allowlist first; plain text and blocks are read from that sanitised HTML.
"""

import functools
import re
from urllib.parse import urlsplit

import markdown as md
import nh3

from ._doc import Block, read_blocks
from ._serialise import blocks_to_markdown, blocks_to_text

__all__ = [
    "Block",
    "blocks_to_markdown",
    "blocks_to_text",
    "safe_url",
    "sanitize_html",
    "to_blocks",
    "to_html",
    "to_text",
]

_TAGS = {
    "p",
    "br",
    "ul",
    "ol",
    "li",
    "strong",
    "b",
    "em",
    "i",
    "code",
    "pre",
    "blockquote",
    "a",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
}
_SCHEMES = {"http", "https", "mailto"}
_CLEANER = nh3.Cleaner(
    tags=_TAGS,
    # Script and style bodies are code, not content: drop them rather than show them as text.
    clean_content_tags={"script", "style"},
    attributes={"a": {"href"}},
    url_schemes=_SCHEMES,
    link_rel="noopener noreferrer",
    strip_comments=True,
)
_EXTENSIONS = ["sane_lists", "fenced_code"]
RENDERED_SECTIONS_KEPT = 4096  # a few MB of HTML at most
_EMPTY_PARAGRAPH = re.compile(r"<p>\s*</p>\n?")


def sanitize_html(html: str) -> str:
    """Allowlisted, inert HTML; links carry rel="noopener noreferrer"."""
    return _CLEANER.clean(html)


@functools.lru_cache(maxsize=RENDERED_SECTIONS_KEPT)
def to_html(markdown: str) -> str:
    """Sanitised HTML of a section. Kept for the most recent sections: answers quote the same
    published sections again and again, and parsing Markdown was ~1 ms of every answer."""
    html = sanitize_html(str(md.markdown(markdown, extensions=_EXTENSIONS)))
    return _EMPTY_PARAGRAPH.sub("", html)  # left behind where only removed content stood


def to_blocks(markdown: str) -> list[Block]:
    """Paragraphs, headings, list items and code blocks of the sanitised section."""
    return read_blocks(to_html(markdown))


def to_text(markdown: str, *, with_urls: bool = True) -> str:
    """Plain text without markup; each list item stays on its own line."""
    return blocks_to_text(to_blocks(markdown), with_urls=with_urls)


def safe_url(url: str) -> str | None:
    """The URL if it is http(s) or site-relative and has nothing that could break out of markup."""
    url = url.strip()
    if not url or any(char.isspace() or char in "<>\"'`" for char in url):
        return None
    if url.startswith("/") and not url.startswith("//"):
        return url
    parts = urlsplit(url)
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None
