"""Cut Markdown articles into heading-scoped sections that fit the embedding model.

The pipeline is: parse ATX headings into drafts -> drop empty parent headings -> merge tiny
drafts into a neighbour -> split oversized drafts -> number them and derive stable ids.

Only ATX headings (``#`` .. ``######``) cut sections. Setext headings (a line underlined with
``===`` or ``---``) are deliberately ignored and stay in the text: ``---`` is far more often a
thematic break in our articles, and telling the two apart needs a full paragraph parser.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

__all__ = ["MarkdownSplitter", "Section", "slugify"]

# CommonMark allows up to three spaces before an ATX heading; four or more is indented code.
# The optional closing run of '#' (``## Title ##``) is not part of the title.
_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
# Fences are accepted at any indentation, because fences nested in list items are indented by
# the item's content width; a backtick fence's info string may not contain a backtick.
_FENCE_OPEN = re.compile(r"^[ \t]*(`{3,}(?=[^`]*$)|~{3,})")
_FENCE_CLOSE = re.compile(r"^[ \t]*(`{3,}|~{3,})[ \t]*$")
_LIST_ITEM = re.compile(r"^ {0,3}(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)", re.MULTILINE)
# Sentence ends work for Latin and Cyrillic text alike; CJK full stops need no space after.
_SENTENCE_END = re.compile(r"[.!?…][\"'”’»)\]]*\s+|[。！？]\s*")
_WHITESPACE = re.compile(r"\s+")
_MARKDOWN_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")


@dataclass(frozen=True)
class Section:
    """One embeddable piece of an article."""

    section_id: str
    heading_path: tuple[str, ...]
    text: str
    anchor: str
    position: int


@dataclass(frozen=True)
class _Heading:
    # The line number gives each heading an identity, so two headings with the same title
    # (e.g. two "Details" sections) are never mistaken for one another when merging.
    line: int
    level: int
    title: str


@dataclass(frozen=True)
class _Draft:
    headings: tuple[_Heading, ...]
    text: str

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(heading.title for heading in self.headings)


class _Fence:
    """Tracks whether consecutive lines are inside a fenced code block."""

    def __init__(self) -> None:
        self._open: tuple[str, int] | None = None

    @property
    def is_open(self) -> bool:
        return self._open is not None

    def feed(self, line: str) -> bool:
        """Consume one line; return True if it belongs to a fenced code block."""
        if self._open is None:
            match = _FENCE_OPEN.match(line)
            if match is not None:
                self._open = (match[1][0], len(match[1]))
            return match is not None
        char, length = self._open
        match = _FENCE_CLOSE.match(line)
        # Only the same character, at least as long, closes: ```` is not closed by ```.
        if match is not None and match[1][0] == char and len(match[1]) >= length:
            self._open = None
        return True


def _estimate_tokens(text: str) -> int:
    # Subword tokenizers produce roughly 1.3-2 tokens per word for our languages; erring high
    # keeps sections within the model window when no real tokenizer is supplied.
    return math.ceil(len(text.split()) * 1.6)


def slugify(title: str) -> str:
    """URL anchor for a heading, as python-markdown's toc ``slugify_unicode`` makes it.

    Letters of every script are kept, so Polish and Ukrainian headings get readable anchors.
    NFC first, because decomposed accents would otherwise be dropped as punctuation.
    """
    text = _MARKDOWN_LINK.sub(r"\1", unicodedata.normalize("NFC", title))
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def _split_lines(markdown: str) -> list[str]:
    # str.splitlines() would also break at form feeds and U+2028, which Markdown does not.
    return markdown.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _match_heading(line_number: int, line: str) -> _Heading | None:
    match = _ATX_HEADING.match(line)
    if match is None:
        return None
    return _Heading(line_number, len(match[1]), (match[2] or "").strip())


def _parse(markdown: str) -> list[_Draft]:
    """One draft per heading (plus the intro), in document order, texts stripped."""
    drafts: list[_Draft] = []
    stack: list[_Heading] = []
    body: list[str] = []
    fence = _Fence()
    for line_number, line in enumerate(_split_lines(markdown)):
        heading = None if fence.feed(line) else _match_heading(line_number, line)
        if heading is None:
            body.append(line)
            continue
        drafts.append(_Draft(tuple(stack), "\n".join(body).strip()))
        stack = [*(h for h in stack if h.level < heading.level), heading]
        body = []
    drafts.append(_Draft(tuple(stack), "\n".join(body).strip()))
    return drafts


def _is_descendant(child: _Draft, parent: _Draft) -> bool:
    depth = len(parent.headings)
    return len(child.headings) > depth and child.headings[:depth] == parent.headings


def _drop_empty_parents(drafts: list[_Draft]) -> list[_Draft]:
    """Drop text-less drafts whose heading lives on in the path of the draft right after."""
    kept: list[_Draft] = []
    for index, draft in enumerate(drafts):
        following = drafts[index + 1] if index + 1 < len(drafts) else None
        if not draft.text and following is not None and _is_descendant(following, draft):
            continue
        kept.append(draft)
    return kept


def _shared_depth(first: Sequence[_Heading], second: Sequence[_Heading]) -> int:
    depth = 0
    while depth < min(len(first), len(second)) and first[depth] == second[depth]:
        depth += 1
    return depth


def _join(first: _Draft, second: _Draft) -> _Draft:
    """Append ``second`` to ``first``; its own headings survive as bold lines."""
    depth = _shared_depth(first.headings, second.headings)
    bold = [f"**{heading.title}**" for heading in second.headings[depth:] if heading.title]
    text = "\n\n".join(part for part in (first.text, *bold, second.text) if part)
    return _Draft(first.headings, text)


def _may_absorb(previous: _Draft, small: _Draft) -> bool:
    # Merging backwards is only safe into the parent or a sibling: the merged text keeps the
    # previous path, and a nephew's path would misplace the small section in the outline.
    parent = small.headings[:-1]
    return parent in (previous.headings, previous.headings[:-1])


def _code_spans(text: str) -> list[tuple[int, int]]:
    """Character ranges of fenced code blocks, each from its opening line to past its close."""
    spans: list[tuple[int, int]] = []
    fence = _Fence()
    start: int | None = None
    offset = 0
    for line in text.split("\n"):
        if fence.feed(line) and start is None:
            start = offset
        offset += len(line) + 1
        if start is not None and not fence.is_open:
            spans.append((start, offset))
            start = None
    if start is not None:
        spans.append((start, len(text)))
    return spans


def _segments(text: str, cuts: list[int]) -> list[str]:
    """Cut ``text`` at ``cuts``, skipping any cut that falls inside a fenced code block."""
    spans = _code_spans(text)
    allowed = {c for c in cuts if 0 < c < len(text) and not any(s < c < e for s, e in spans)}
    bounds = [0, *sorted(allowed), len(text)]
    return [text[start:end] for start, end in pairwise(bounds)]


def _paragraph_cuts(text: str) -> list[int]:
    # A line after a blank line starts a new block unless it is indented: indented lines after
    # a blank line continue the current list item (or its nested list), so we never cut there.
    cuts: list[int] = []
    offset = 0
    previous_blank = False
    for line in text.split("\n"):
        if previous_blank and line.strip() and not line[0].isspace():
            cuts.append(offset)
        previous_blank = not line.strip()
        offset += len(line) + 1
    return cuts


def _list_item_cuts(text: str) -> list[int]:
    return [match.start() for match in _LIST_ITEM.finditer(text)]


def _sentence_cuts(text: str) -> list[int]:
    return [match.end() for match in _SENTENCE_END.finditer(text)]


def _word_cuts(text: str) -> list[int]:
    return [match.end() for match in _WHITESPACE.finditer(text)]


# From coarse to fine; a finer level is only used on a piece the coarser one left too long.
# Tight lists have no blank lines, so list items come before sentences; words are the last
# resort for a single run-on sentence. Fenced code is never cut, so it may stay oversized.
_CUT_LEVELS: tuple[Callable[[str], list[int]], ...] = (
    _paragraph_cuts,
    _list_item_cuts,
    _sentence_cuts,
    _word_cuts,
)


def _section_id(namespace: str, path: tuple[str, ...], text: str, repeat: int) -> str:
    # JSON makes the encoding unambiguous (no separator can be forged by the content). The
    # repeat counter is only added for exact duplicates within one article, so ids stay unique
    # without depending on position, and inserting a section does not change the others' ids.
    payload: list[object] = [namespace, list(path), text]
    if repeat:
        payload.append(repeat)
    encoded = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()


def _to_sections(drafts: list[_Draft], namespace: str) -> list[Section]:
    seen: dict[tuple[tuple[str, ...], str], int] = {}
    sections: list[Section] = []
    for position, draft in enumerate(drafts):
        key = (draft.path, draft.text)
        repeat = seen.get(key, 0)
        seen[key] = repeat + 1
        anchor = slugify(draft.path[-1]) if draft.path else ""
        section_id = _section_id(namespace, draft.path, draft.text, repeat)
        sections.append(Section(section_id, draft.path, draft.text, anchor, position))
    return sections


class MarkdownSplitter:
    """Splits one article body (front matter already removed) into sections."""

    def __init__(
        self,
        *,
        max_tokens: int = 450,
        min_chars: int = 120,
        count_tokens: Callable[[str], int] | None = None,
    ) -> None:
        if max_tokens < 1:
            raise ValueError("max_tokens must be at least 1")
        if min_chars < 0:
            raise ValueError("min_chars must not be negative")
        self._max_tokens = max_tokens
        self._min_chars = min_chars
        self._count_tokens = count_tokens or _estimate_tokens

    def split(self, markdown: str, *, namespace: str = "") -> list[Section]:
        drafts = self._merge_small(_drop_empty_parents(_parse(markdown)))
        pieces = [piece for draft in drafts for piece in self._split_large(draft)]
        # A heading-less empty draft carries nothing worth embedding (e.g. an empty article).
        return _to_sections([p for p in pieces if p.text or p.headings], namespace)

    def _is_small(self, draft: _Draft) -> bool:
        return len(draft.text) < self._min_chars

    def _merge_small(self, drafts: list[_Draft]) -> list[_Draft]:
        """Merge each too-short draft backwards into its parent/sibling, else forwards."""
        merged: list[_Draft] = []
        pending: _Draft | None = None
        for draft in drafts:
            if pending is not None:
                # The forward merge keeps the small (first) draft's path.
                draft, pending = _join(pending, draft), None
            if not self._is_small(draft):
                merged.append(draft)
            elif merged and _may_absorb(merged[-1], draft):
                merged[-1] = _join(merged[-1], draft)
            else:
                pending = draft
        if pending is not None:
            # Nothing follows: any previous draft beats leaving a fragment on its own.
            merged[-1:] = [_join(merged[-1], pending)] if merged else [pending]
        return merged

    def _split_large(self, draft: _Draft) -> list[_Draft]:
        parts = self._fit(draft.text, _CUT_LEVELS)
        return [_Draft(draft.headings, part) for part in parts if part] or [draft]

    def _fits(self, text: str) -> bool:
        return self._count_tokens(text.strip()) <= self._max_tokens

    def _fit(self, text: str, levels: Sequence[Callable[[str], list[int]]]) -> list[str]:
        """Pieces of ``text`` (stripped, original wording) that each fit, where possible."""
        if self._fits(text) or not levels:
            return [text.strip()]
        segments = _segments(text, levels[0](text))
        if len(segments) < 2:
            return self._fit(text, levels[1:])
        return self._pack(segments, levels[1:])

    def _pack(self, segments: list[str], finer: Sequence[Callable[[str], list[int]]]) -> list[str]:
        """Greedily join consecutive segments while they fit; cut unfit ones further."""
        parts: list[str] = []
        current = ""
        for segment in segments:
            if self._fits(current + segment):
                current += segment
                continue
            parts.append(current)
            current = segment if self._fits(segment) else ""
            if not current:
                parts.extend(self._fit(segment, finer))
        parts.append(current)
        return [part.strip() for part in parts if part.strip()]
