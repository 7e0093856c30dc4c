"""Email: a reply draft with greeting, sanitised HTML and plain-text bodies, link and reference."""

from html import escape

from ._doc import strip_tag_like
from .markup import safe_url, sanitize_html, to_html, to_text
from .texts import Texts, texts_for
from .types import EmailRendering, RenderInput


def _one_line(text: str) -> str:
    # Subjects are headers: no line breaks (header injection) and no markup.
    return " ".join(strip_tag_like(text).split())


def _paragraph(*lines: str) -> str:
    return "<p>" + "<br>".join(escape(line) for line in lines) + "</p>"


def _html(inp: RenderInput, texts: Texts, link: str | None) -> str:
    parts = [_paragraph(texts.greeting), to_html(inp.markdown)]
    if link:
        parts.append(f'<p><a href="{escape(link)}">{escape(texts.read_full)}</a></p>')
    parts.append(_paragraph(f"{texts.reference}: {_one_line(inp.article_key)}"))
    parts.append(_paragraph(*texts.sign_off))
    return sanitize_html("\n".join(parts))  # second pass: the frame is sanitised as well


def _text(inp: RenderInput, texts: Texts, link: str | None) -> str:
    parts = [texts.greeting, to_text(inp.markdown, with_urls=True)]
    if link:
        parts.append(f"{texts.read_full}: {link}")
    parts.append(f"{texts.reference}: {_one_line(inp.article_key)}")
    parts.append("\n".join(texts.sign_off))
    return "\n\n".join(part for part in parts if part)


def render(inp: RenderInput) -> EmailRendering:
    texts = texts_for(inp.locale)
    link = safe_url(inp.article_url)
    subject = f"{texts.subject_prefix}: {_one_line(inp.article_title)}"
    html, text = _html(inp, texts, link), _text(inp, texts, link)
    return EmailRendering(subject=subject, html=html, text=text)


def render_no_answer(locale: str) -> EmailRendering:
    """A draft addressed to the agent, not the customer: it must not be sent as is."""
    texts = texts_for(locale)
    body = texts.handoff_email_body
    return EmailRendering(subject=texts.handoff_email_subject, html=_paragraph(body), text=body)
