"""Customer-typing noise for benchmark questions: typos and missing diacritics.

Benchmark questions are usually clean; real ones are not. Customers type in a hurry on a
phone, and many Polish, Slovenian or Czech speakers leave out diacritics altogether. The
retrieval bench can replay its questions with this noise (``--typo-rate``,
``--strip-diacritics``) so robustness is a number, not a hope.

The noise is deterministic: it is seeded by the question's id, so two runs (or two systems)
see exactly the same misspelt questions and their scores can be compared query by query.
"""

from __future__ import annotations

import random
import re
import unicodedata

from indexer.analysis import fold_diacritics

__all__ = ["add_noise"]

# Only words of at least this many letters get a typo: short words ("do", "na", "jak") are
# rarely mistyped in a way that survives, and changing them says little about retrieval.
_MIN_WORD = 4
_WORD = re.compile(r"[^\W\d_]+")


def _strip_latin_diacritics(text: str) -> str:
    """ "Opłata za zwrot" -> "Oplata za zwrot". Only Latin letters: in Cyrillic, й and ї are
    letters of their own that nobody drops, so a Ukrainian question is left as it is."""
    return "".join(
        fold_diacritics(ch) if unicodedata.name(ch, "").startswith("LATIN") else ch for ch in text
    )


def _typo(word: str, rng: random.Random) -> str:
    """One keyboard slip inside ``word``; the first letter is kept, as people rarely miss it."""
    i = rng.randrange(1, len(word) - 1)
    slip = rng.choice(("swap", "drop", "double"))
    if slip == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if slip == "drop":
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


def add_noise(
    text: str, *, key: str, typo_rate: float = 0.0, strip_diacritics: bool = False
) -> str:
    """``text`` as a hurried customer might type it.

    ``typo_rate`` is the chance that each word of at least four letters gets one slip (two
    letters swapped, one dropped or one doubled); ``strip_diacritics`` writes "oplata" for
    "opłata". ``key`` (the question id) seeds the randomness.
    """
    if not 0.0 <= typo_rate <= 1.0:
        raise ValueError(f"typo_rate must be between 0 and 1, not {typo_rate}")
    if strip_diacritics:
        text = _strip_latin_diacritics(text)
    if typo_rate == 0.0:
        return text
    rng = random.Random(f"typos:{key}")

    def slip(match: re.Match[str]) -> str:
        word = match.group(0)
        if len(word) >= _MIN_WORD and rng.random() < typo_rate:
            return _typo(word, rng)
        return word

    return _WORD.sub(slip, text)
