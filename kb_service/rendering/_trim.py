"""Shortening text and blocks at sentence, list or word boundaries (never mid-word)."""

import re
from dataclasses import replace

from ._doc import Block, Run

ELLIPSIS = "…"
# A sentence ends at . ! ? or … optionally followed by closing quotes/brackets, then space/end.
_SENTENCE_END = re.compile(r"[.!?…][\"'”’»)\]]*(?=\s|$)")
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?…])\s+")


def sentences(text: str) -> list[str]:
    return [part for part in _SENTENCE_SPLIT.split(text.strip()) if part]


def sentence_cut(text: str, limit: int) -> int:
    """Length of the longest prefix of whole sentences within limit (0 if none)."""
    ends = [match.end() for match in _SENTENCE_END.finditer(text) if match.end() <= limit]
    return ends[-1] if ends else 0


def word_cut(text: str, limit: int) -> int:
    """Length of the longest prefix of whole words within limit (0 if none)."""
    if len(text) <= limit:
        return len(text)
    head = text[: limit + 1]
    space = max(head.rfind(" "), head.rfind("\n"))
    return len(head[:space].rstrip()) if space > 0 else 0


def shorten(text: str, limit: int) -> str:
    """Whole sentences if any fit, else whole words plus an ellipsis; never cuts a word."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = sentence_cut(text, limit)
    if cut:
        return text[:cut]
    cut = word_cut(text, limit - len(ELLIPSIS))
    return text[:cut].rstrip(" ,;:-–—") + ELLIPSIS if cut else ""


def _slice_runs(runs: tuple[Run, ...], length: int) -> tuple[Run, ...]:
    kept: list[Run] = []
    for run in runs:
        if length <= 0:
            break
        kept.append(replace(run, text=run.text[:length]))
        length -= len(run.text)
    return tuple(kept)


def _cut_block(block: Block, room: int, *, allow_words: bool) -> Block | None:
    text = block.text
    cut = sentence_cut(text, room) if block.kind != "code" else 0
    if not cut and allow_words:
        cut = word_cut(text, room - len(ELLIPSIS))
        if cut:
            runs = (*_slice_runs(block.runs, cut), Run(ELLIPSIS))
            return replace(block, runs=runs)
    return replace(block, runs=_slice_runs(block.runs, cut)) if cut else None


def trim_blocks(blocks: list[Block], limit: int) -> tuple[list[Block], bool]:
    """Leading blocks totalling at most ~limit characters, and whether anything was dropped.

    Whole blocks (paragraphs, list items) are kept while they fit; the first one that does not
    is cut at its last fitting sentence. Words are only cut when nothing else would remain.
    """
    kept: list[Block] = []
    used = 0
    for block in blocks:
        size = len(block.text) + (1 if kept else 0)
        if used + size <= limit:
            kept.append(block)
            used += size
            continue
        partial = _cut_block(block, limit - used - 1, allow_words=not kept)
        if partial is not None:
            kept.append(partial)
        return kept, True
    return kept, False
