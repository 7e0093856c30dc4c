"""A tiny document model read back from *sanitised* HTML.

Every channel is derived from this model instead of from the raw Markdown, so whatever the
sanitiser removed (scripts, event handlers, `javascript:` links) cannot reappear in the chat
Markdown, the plain-text bodies or the phone script.
"""

import re
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from typing import Literal

BlockKind = Literal["paragraph", "heading", "item", "code"]

# Text that merely *looks* like a tag (e.g. from "&lt;img&gt;" in the source) is dropped too:
# plain-text channels must never show tags, and customers cannot act on them anyway.
_TAG_LIKE = re.compile(r"</?[A-Za-z!][^<>]*>")
_SPACES = re.compile(r"\s+")
_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_BLOCK_TAGS = _HEADINGS | {"pre", "blockquote", "li"}


@dataclass(frozen=True)
class Run:
    """A stretch of inline text with uniform formatting."""

    text: str
    bold: bool = False
    italic: bool = False
    code: bool = False
    href: str | None = None


@dataclass(frozen=True)
class Block:
    """A paragraph, heading, list item or code block."""

    kind: BlockKind
    runs: tuple[Run, ...]
    list_id: int = -1  # items of one top-level list (including nested items) share an id
    ordered: bool = False
    depth: int = 0
    number: int = 0  # 1-based position in its own list

    @property
    def text(self) -> str:
        return "".join(run.text for run in self.runs)


@dataclass
class _ListState:
    ordered: bool
    count: int = 0


@dataclass
class _Marks:
    bold: int = 0
    italic: int = 0
    code: int = 0
    hrefs: list[str | None] = field(default_factory=list)


def strip_tag_like(text: str) -> str:
    """Text without anything tag-like, repeated until none is left: one pass over
    "<scr<x>ipt>" would put "<script>" back together."""
    while True:
        stripped = _TAG_LIKE.sub("", text)
        if stripped == text:
            return text
        text = stripped


def _merge(runs: list[Run]) -> tuple[Run, ...]:
    merged: list[Run] = []
    for run in runs:
        last = merged[-1] if merged else None
        if last and replace(last, text="") == replace(run, text=""):
            merged[-1] = replace(last, text=last.text + run.text)
        elif run.text:
            merged.append(run)
    return tuple(merged)


def _trim_ends(runs: tuple[Run, ...]) -> tuple[Run, ...]:
    if not runs:
        return runs
    first = replace(runs[0], text=runs[0].text.lstrip())
    runs = (first, *runs[1:])
    last = replace(runs[-1], text=runs[-1].text.rstrip())
    return tuple(run for run in (*runs[:-1], last) if run.text)


class _Reader(HTMLParser):
    """Turns the sanitiser's (well-formed, allowlisted) HTML into blocks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self._runs: list[Run] = []
        self._kind: BlockKind = "paragraph"
        self._lists: list[_ListState] = []
        self._list_id = -1
        self._marks = _Marks()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("ul", "ol"):
            self._open_list(ordered=tag == "ol")
        elif tag in _BLOCK_TAGS or (tag == "p" and not self._lists):
            self._flush()
            self._kind = self._kind_for(tag)
            if tag == "li" and self._lists:
                self._lists[-1].count += 1
        elif tag == "br":
            self._add("\n" if self._kind == "code" else " ")
        else:
            self._mark(tag, +1, dict(attrs).get("href"))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("ul", "ol"):
            self._flush()
            self._lists.pop()
            self._kind = self._kind_for("li")
        elif tag in _BLOCK_TAGS or (tag == "p" and not self._lists):
            self._flush()
            self._kind = self._kind_for("li")
        elif tag == "p":
            self._add(" ")  # paragraphs inside a loose list item stay in that item
        else:
            self._mark(tag, -1, None)

    def handle_data(self, data: str) -> None:
        self._add(data)

    def close(self) -> None:
        super().close()
        self._flush()

    def _kind_for(self, tag: str) -> BlockKind:
        if tag in _HEADINGS:
            return "heading"
        if tag == "pre":
            return "code"
        return "item" if tag == "li" and self._lists else "paragraph"

    def _open_list(self, *, ordered: bool) -> None:
        self._flush()  # the parent item's own text ends where its nested list begins
        if not self._lists:
            self._list_id += 1
        self._lists.append(_ListState(ordered=ordered))

    def _mark(self, tag: str, delta: int, href: str | None) -> None:
        marks = self._marks
        if tag in ("strong", "b"):
            marks.bold = max(0, marks.bold + delta)
        elif tag in ("em", "i"):
            marks.italic = max(0, marks.italic + delta)
        elif tag == "code":
            marks.code = max(0, marks.code + delta)
        elif tag == "a" and delta > 0:
            marks.hrefs.append(href)
        elif tag == "a" and marks.hrefs:
            marks.hrefs.pop()

    def _add(self, data: str) -> None:
        data = strip_tag_like(data)
        if self._kind != "code":
            data = _SPACES.sub(" ", data)
            if data.startswith(" ") and self._runs and self._runs[-1].text.endswith(" "):
                data = data[1:]
        marks = self._marks
        href = marks.hrefs[-1] if marks.hrefs else None
        run = Run(data, marks.bold > 0, marks.italic > 0, marks.code > 0, href)
        self._runs.append(run)

    def _flush(self) -> None:
        runs, self._runs = self._runs, []
        merged = _merge(runs) if self._kind == "code" else _trim_ends(_merge(runs))
        if not "".join(run.text for run in merged).strip():
            return
        self.blocks.append(self._block(merged))

    def _block(self, runs: tuple[Run, ...]) -> Block:
        if self._kind != "item" or not self._lists:
            return Block(kind=self._kind, runs=runs)
        top = self._lists[-1]
        depth = len(self._lists) - 1
        return Block("item", runs, self._list_id, top.ordered, depth, max(top.count, 1))


def read_blocks(safe_html: str) -> list[Block]:
    """Blocks of already-sanitised HTML, in document order."""
    reader = _Reader()
    reader.feed(safe_html)
    reader.close()
    return reader.blocks
