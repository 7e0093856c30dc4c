"""The public page of one live article: where links in chat, email and social answers lead.

Headings carry the same anchors as the indexer's sections (``indexer.split.slugify``), so an
answer can link straight to its section.
"""

from __future__ import annotations

import base64
import hashlib
from html import escape

import markdown as md
import nh3
from markdown.extensions.toc import TocExtension

from indexer.split import slugify
from kb_service.rendering.markup import _SCHEMES, _TAGS

_HEADINGS = {f"h{n}" for n in range(1, 7)}
_PAGE_CLEANER = nh3.Cleaner(
    tags=_TAGS,
    clean_content_tags={"script", "style"},
    attributes={"a": {"href"}, **{h: {"id"} for h in _HEADINGS}},
    url_schemes=_SCHEMES,
    link_rel="noopener noreferrer",
    strip_comments=True,
)
_STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:42rem;margin:2rem auto;padding:0 1rem;"
    "color:#1b1b1b}h1{font-size:1.6rem}.meta{color:#555;font-size:.9rem}"
)
# The page's Content-Security-Policy allows its one <style> element by this hash, no other.
STYLE_SHA256 = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()


def article_page(*, title: str, markdown: str, locale: str, key: str, version: int) -> str:
    """A complete, self-contained HTML page (no scripts, sanitised body)."""
    toc = TocExtension(slugify=lambda value, _sep: slugify(value), toc_depth="2-6")
    body = md.markdown(markdown, extensions=["sane_lists", "fenced_code", toc])
    return (
        f'<!doctype html><html lang="{escape(locale)}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
        f'<h1>{escape(title)}</h1><p class="meta">{escape(key)} · v{version}</p>'
        f"{_PAGE_CLEANER.clean(body)}</body></html>"
    )
