"""Helpers for text that is read aloud: keys spelled out, lists as spoken steps, no markup."""

import re
from collections import Counter

from ._doc import Block, strip_tag_like
from .texts import Texts

WORDS_PER_MINUTE = 150
_KEY_GROUPS = re.compile(r"[^\W\d_]+|\d+")
# Trailing punctuation belongs to the sentence, not to the URL.
_URL = re.compile(r"(?:https?://|www\.)\S*[^\s.,;:!?)\]]", re.IGNORECASE)
# Characters that are Markdown/HTML syntax and meaningless (or harmful) when spoken.
_SYNTAX = re.compile(r"[*#\[\]`<>_|~{}\\]")
_SPACES = re.compile(r"[ \t]+")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?])")
_TERMINAL = (".", "!", "?", "…", ":")


def spell_key(key: str, texts: Texts) -> str:
    """ "KB-0042" -> "K B, zero zero four two": letters one by one, digits as words."""
    groups = []
    for group in _KEY_GROUPS.findall(key):
        if group.isdigit():
            groups.append(" ".join(texts.digits[int(digit)] for digit in group))
        else:
            groups.append(" ".join(group.upper()))
    return ", ".join(groups)


def speakable(text: str, texts: Texts) -> str:
    """One line without URLs, tags or Markdown syntax."""
    text = _URL.sub(texts.link_placeholder, strip_tag_like(text))
    text = _SYNTAX.sub(" ", text.replace("\n", " "))
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", _SPACES.sub(" ", text))
    return text.strip()


def as_sentence(text: str) -> str:
    return text if not text or text.endswith(_TERMINAL) else f"{text}."


def _lower_first(text: str) -> str:
    # "Open Settings" -> "open Settings" after "First, "; acronyms such as "SMS" stay intact.
    word = text.split(" ", 1)[0]
    if len(word) > 1 and word[0].isupper() and word[1:] == word[1:].lower():
        return text[0].lower() + text[1:]
    return text


def _step(text: str, position: int, count: int, texts: Texts) -> str:
    if count == 1:
        return text
    if position == 0:
        template = texts.step_first
    elif position == count - 1 and count > 2:
        template = texts.step_finally
    else:
        template = texts.step_then
    return template.format(step=_lower_first(text))


def spoken_segments(blocks: list[Block], texts: Texts) -> list[str]:
    """One spoken sentence group per block; list items become "First, … Then, … Finally, …"."""
    spoken = [(block, as_sentence(speakable(block.text, texts))) for block in blocks]
    spoken = [(block, text) for block, text in spoken if text]
    sizes = Counter(block.list_id for block, _ in spoken if block.kind == "item")
    positions: Counter[int] = Counter()
    segments: list[str] = []
    for block, text in spoken:
        if block.kind == "item":
            position = positions[block.list_id]
            positions[block.list_id] += 1
            text = _step(text, position, sizes[block.list_id], texts)
        segments.append(text)
    return segments


def word_count(text: str) -> int:
    return len(text.split())


def estimate_seconds(text: str) -> float:
    return round(word_count(text) * 60 / WORDS_PER_MINUTE, 1)
