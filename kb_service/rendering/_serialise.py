"""Blocks back to Markdown or plain text.

The Markdown written here is regenerated from sanitised content and escaped, so a chat client
that renders it itself (any CommonMark renderer, raw HTML on) cannot be tricked into producing
raw HTML or unsafe links:

- text: Markdown punctuation backslash-escaped, ``<``/``>``/entities as entities, a line start
  that would open a list, heading or code fence neutralised;
- code: fenced (blocks) or delimited (spans) by a run of "~" or "`" longer than any run of
  that character inside, so nothing in the code can close it early (CommonMark 4.5, 6.1);
- links: only http(s), mailto and site-relative destinations, with every character that could
  end or break the destination percent-encoded.
"""

import re
from collections.abc import Iterable
from urllib.parse import quote

from ._doc import Block, Run

_MD_SPECIAL = re.compile(r"([\\`*_\[\]])")
_ENTITY_START = re.compile(r"&(?=#?\w+;)")
_LINE_START = re.compile(r"^(\d+)([.)])|^([#+\-])|^(~)")
_URL_UNSAFE = {"(": "%28", ")": "%29", "<": "%3C", ">": "%3E", "\\": "%5C"}
_SAFE_LINK = re.compile(r"(?:https?://|mailto:|/(?!/))", re.IGNORECASE)


def escape_markdown(text: str) -> str:
    """Literal text that python-markdown (and CommonMark) will show verbatim."""
    text = _MD_SPECIAL.sub(r"\\\1", text)
    text = _ENTITY_START.sub("&amp;", text)
    return text.replace("<", "&lt;").replace(">", "&gt;")


def _line_start(match: re.Match[str]) -> str:
    if match[1]:
        return f"{match[1]}\\{match[2]}"
    if match[3]:
        return f"\\{match[3]}"
    # "~~~" would open a code fence that swallows (or, worse, closes) the fences that follow;
    # "\~" is not an escape in python-markdown, the entity is in both.
    return "&#126;"


def _escape_line_start(text: str) -> str:
    # A paragraph starting with "1.", "1)", "#" or "~~~" would otherwise turn into a list, a
    # heading or a code fence.
    return _LINE_START.sub(_line_start, text, count=1)


def _url_char(char: str) -> str:
    if char in _URL_UNSAFE:
        return _URL_UNSAFE[char]
    if char.isspace() or not char.isprintable():
        return quote(char, safe="", errors="replace")
    return char


def markdown_url(url: str) -> str:
    """A link destination that nothing in the URL can end early or spill onto a new line."""
    return "".join(_url_char(char) for char in url)


def _longest_run(text: str, char: str) -> int:
    return max((len(run) for run in re.findall(f"{re.escape(char)}+", text)), default=0)


def _code_span(text: str) -> str:
    fence = "`" * (_longest_run(text, "`") + 1)
    # Padding keeps a backtick at either end from joining the fence; one space is stripped.
    return f"{fence} {text} {fence}" if "`" in text else f"`{text}`"


def _run_markdown(run: Run) -> str:
    body = _code_span(run.text.strip()) if run.code else escape_markdown(run.text.strip())
    if not body:
        return run.text
    if run.italic:
        body = f"*{body}*"
    if run.bold:
        body = f"**{body}**"
    if run.href and _SAFE_LINK.match(run.href):
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
    # CommonMark closes a fence at any line of at least as many fence characters, python-
    # markdown at exactly the same fence: longer than every run of "~" inside satisfies both.
    fence = "~" * max(3, _longest_run(text, "~") + 1)
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
