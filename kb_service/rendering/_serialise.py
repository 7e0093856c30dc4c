"""Blocks back to Markdown or plain text.

The Markdown written here is regenerated from sanitised content and escaped, so a chat client
that renders it itself cannot be tricked into producing raw HTML or unsafe links.
"""

import re
from collections.abc import Iterable

from ._doc import Block, Run

_MD_SPECIAL = re.compile(r"([\\`*_\[\]])")
_ENTITY_START = re.compile(r"&(?=#?\w+;)")
_LINE_START = re.compile(r"^(\d+)\.|^([#+\-])")
_URL_UNSAFE = {" ": "%20", "(": "%28", ")": "%29", "<": "%3C", ">": "%3E"}


def escape_markdown(text: str) -> str:
    """Literal text that python-markdown (and CommonMark) will show verbatim."""
    text = _MD_SPECIAL.sub(r"\\\1", text)
    text = _ENTITY_START.sub("&amp;", text)
    return text.replace("<", "&lt;").replace(">", "&gt;")


def _escape_line_start(text: str) -> str:
    # A paragraph starting with "1." or "#" would otherwise turn into a list or a heading.
    return _LINE_START.sub(lambda m: f"{m[1]}\\." if m[1] else f"\\{m[2]}", text, count=1)


def markdown_url(url: str) -> str:
    return "".join(_URL_UNSAFE.get(char, char) for char in url)


def _code_span(text: str) -> str:
    fence = "``" if "`" in text else "`"
    return f"{fence} {text} {fence}" if fence == "``" else f"`{text}`"


def _run_markdown(run: Run) -> str:
    body = _code_span(run.text.strip()) if run.code else escape_markdown(run.text.strip())
    if not body:
        return run.text
    if run.italic:
        body = f"*{body}*"
    if run.bold:
        body = f"**{body}**"
    if run.href:
        body = f"[{body}]({markdown_url(run.href)})"
    lead = run.text[: len(run.text) - len(run.text.lstrip())]
    trail = run.text[len(run.text.rstrip()) :]
    return f"{lead}{body}{trail}"


def _inline_markdown(runs: Iterable[Run]) -> str:
    return _escape_line_start("".join(_run_markdown(run) for run in runs))


def _inline_text(runs: tuple[Run, ...], *, with_urls: bool) -> str:
    parts: list[str] = []
    for index, run in enumerate(runs):
        parts.append(run.text)
        following = runs[index + 1].href if index + 1 < len(runs) else None
        # Show a URL once, after the whole link text, and only when it adds information.
        if with_urls and run.href and run.href != following and run.href != run.text.strip():
            parts.append(f" ({run.href})")
    return "".join(parts)


def _item_prefix(block: Block, indent: str) -> str:
    marker = f"{block.number}." if block.ordered else "-"
    return f"{indent * block.depth}{marker} "


def _separator(previous: Block | None, block: Block) -> str:
    if previous is None:
        return ""
    same_list = previous.kind == block.kind == "item" and previous.list_id == block.list_id
    return "\n" if same_list else "\n\n"


def _code_fence(text: str) -> str:
    fence = "~~~~" if "~~~" in text else "~~~"
    return f"{fence}\n{text.strip(chr(10))}\n{fence}"


def _block_markdown(block: Block) -> str:
    if block.kind == "code":
        return _code_fence(block.text)
    if block.kind == "heading":
        return f"**{escape_markdown(block.text)}**"  # chat bubbles have no room for <h1>
    if block.kind == "item":
        return _item_prefix(block, "    ") + _inline_markdown(block.runs)
    return _inline_markdown(block.runs)


def _block_text(block: Block, *, with_urls: bool) -> str:
    if block.kind == "code":
        return block.text.strip("\n")
    text = _inline_text(block.runs, with_urls=with_urls)
    return _item_prefix(block, "  ") + text if block.kind == "item" else text


def blocks_to_markdown(blocks: list[Block]) -> str:
    parts: list[str] = []
    previous: Block | None = None
    for block in blocks:
        parts.append(_separator(previous, block) + _block_markdown(block))
        previous = block
    return "".join(parts)


def blocks_to_text(blocks: list[Block], *, with_urls: bool) -> str:
    parts: list[str] = []
    previous: Block | None = None
    for block in blocks:
        parts.append(_separator(previous, block) + _block_text(block, with_urls=with_urls))
        previous = block
    return "".join(parts)
