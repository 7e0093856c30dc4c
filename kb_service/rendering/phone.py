"""Phone: a script for an agent or a voice bot, with an SSML twin.

Nothing in the script may need eyes: no URLs, no markup, the article key spelled out, lists
spoken as steps, and at most a minute of speech so the caller is not lost.
"""

from xml.sax.saxutils import escape, quoteattr

from ._spoken import (
    WORDS_PER_MINUTE,
    as_sentence,
    estimate_seconds,
    speakable,
    spell_key,
    spoken_segments,
    word_count,
)
from ._trim import sentences
from .markup import to_blocks
from .texts import Texts, texts_for
from .types import PhoneRendering, RenderInput

MAX_SECONDS = 60
MAX_WORDS = MAX_SECONDS * WORDS_PER_MINUTE // 60
MAX_TITLE_WORDS = 20  # keeps room for the answer itself even with an absurdly long title
STEP_BREAK = '<break time="500ms"/>'


def _fit(segments: list[str], budget: int) -> tuple[list[str], bool]:
    """Leading segments within budget words, the last one cut at a sentence boundary."""
    kept: list[str] = []
    used = 0
    for segment in segments:
        size = word_count(segment)
        if used + size <= budget:
            kept.append(segment)
            used += size
            continue
        head: list[str] = []
        for sentence in sentences(segment):
            used += word_count(sentence)
            if used > budget:
                break
            head.append(sentence)
        if head:
            kept.append(" ".join(head))
        return kept, True
    return kept, False


def _intro(inp: RenderInput, texts: Texts) -> str:
    title = " ".join(speakable(inp.article_title, texts).split()[:MAX_TITLE_WORDS])
    title = title.rstrip(".!?:;,")
    return as_sentence(f"{texts.found}: {title}" if title else texts.found)


def _body(inp: RenderInput, texts: Texts, budget: int) -> list[str]:
    segments = spoken_segments(to_blocks(inp.markdown), texts)
    kept, cut = _fit(segments, budget)
    if not cut:
        return kept
    kept, _ = _fit(segments, budget - word_count(texts.more_in_article))
    return [*kept, texts.more_in_article]


def ssml(segments: list[str], locale: str) -> str:
    body = STEP_BREAK.join(escape(segment) for segment in segments)
    return f"<speak xml:lang={quoteattr(locale.strip())}>{body}</speak>"


def _rendering(segments: list[str], locale: str, spoken_key: str) -> PhoneRendering:
    script = "\n".join(segments)
    return PhoneRendering(
        script=script,
        ssml=ssml(segments, locale),
        spoken_key=spoken_key,
        estimated_seconds=estimate_seconds(script),
    )


def render(inp: RenderInput) -> PhoneRendering:
    texts = texts_for(inp.locale)
    spoken_key = spell_key(inp.article_key, texts)
    outro = [texts.article_number.format(key=spoken_key)] if spoken_key else []
    intro = _intro(inp, texts)
    budget = MAX_WORDS - word_count(intro) - sum(word_count(line) for line in outro)
    return _rendering([intro, *_body(inp, texts, budget), *outro], inp.locale, spoken_key)


def render_no_answer(locale: str) -> PhoneRendering:
    return _rendering(sentences(texts_for(locale).handoff_phone), locale, "")
