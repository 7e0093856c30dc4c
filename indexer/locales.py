"""Locales and languages, in one place: BCP 47 checks, language detection, language <-> locale.

A *locale* is a BCP 47 tag as editors write it (``pl-PL``, ``uk``); a *language* is its primary
subtag (``pl``), the unit that retrieval, lemmatisation and the channel texts work in.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from functools import lru_cache

from py3langid.langid import MODEL_FILE, LanguageIdentifier

__all__ = [
    "DEFAULT_LOCALE_OF_LANGUAGE",
    "detect_language",
    "is_locale",
    "language_of",
    "locale_for_language",
]

# Language, then optional subtags (region, script, variant) of 2-8 letters or digits.
_LOCALE_PATTERN = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,4}")
MAX_LOCALE_CHARS = 35
# The same rule as a JSON Schema ``pattern`` (anchored: JSON Schema patterns search).
LOCALE_JSON_PATTERN = f"^{_LOCALE_PATTERN.pattern}$"

# The locale a reply takes when only the question's language is known (no locale given).
DEFAULT_LOCALE_OF_LANGUAGE = {"en": "en-GB", "pl": "pl-PL", "sl": "sl-SI", "uk": "uk-UA"}

# Languages we let the detector choose from. Restricting the set keeps the detector from
# answering with an exotic look-alike (e.g. Occitan for a short Catalan-ish question) and
# makes its probabilities meaningful among the languages a European contact centre meets.
_DETECTABLE = (
    "en", "pl", "sl", "uk", "de", "fr", "es", "it", "pt", "nl", "cs", "sk", "hr", "sr", "bs",
    "ru", "hu", "ro", "bg", "lt", "lv", "et", "fi", "sv", "da", "no", "el", "tr", "ga", "mt",
    "is", "sq", "mk", "be", "ca", "eu", "gl", "ar", "he", "zh", "ja", "ko", "hi", "vi", "id",
)  # fmt: skip
# Below this posterior the question is too short or too mixed to trust the guess
# (e.g. "Kje je moj paket" splits ~0.28/0.27/0.26 between hr/sr/sl).
_MIN_CONFIDENCE = 0.5
# A preferred (KB) language needs at least this posterior to win an unsure call.
_MIN_PREFERRED_SHARE = 0.15
# Fewer letters than this carry no usable signal ("ok", "?", an order number).
_MIN_LETTERS = 3


def is_locale(text: str) -> bool:
    """True for a BCP 47 tag such as ``pl-PL`` (whole string: no spaces, no trailing newline)."""
    return len(text) <= MAX_LOCALE_CHARS and _LOCALE_PATTERN.fullmatch(text) is not None


def language_of(locale: str) -> str:
    """Primary language subtag of a locale: ``"pl-PL"`` -> ``"pl"``; tolerates ``"pl_PL"``."""
    return locale.replace("_", "-").split("-", 1)[0].strip().lower()


def locale_for_language(language: str | None, default: str) -> str:
    """The usual locale of a language (``"pl"`` -> ``"pl-PL"``), else ``default``."""
    return DEFAULT_LOCALE_OF_LANGUAGE.get(language or "", default)


@lru_cache(maxsize=1)
def _identifier() -> LanguageIdentifier:
    # Loading the model takes a while; do it once per process. norm_probs gives posteriors
    # we can threshold on.
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(_DETECTABLE))
    return identifier


def detect_language(text: str, prefer: Collection[str] = ()) -> str | None:
    """ISO 639-1 code of a short question, or ``None`` when the guess is not trustworthy.

    ``prefer`` names the languages the knowledge base is written in. When the detector is
    unsure between close languages ("Kje je moj paket": hr/sr/sl ~0.28/0.27/0.26), the best
    preferred language wins if it has a fair share of the probability.
    """
    if sum(ch.isalpha() for ch in text) < _MIN_LETTERS:
        return None
    ranked = [(str(lang), float(p)) for lang, p in _identifier().rank(text)]
    lang, probability = ranked[0]
    if probability >= _MIN_CONFIDENCE:
        return lang
    preferred = [(lang, p) for lang, p in ranked if lang in prefer]
    if preferred and preferred[0][1] >= _MIN_PREFERRED_SHARE:
        mass = sum(p for _, p in preferred)
        if preferred[0][1] >= 0.5 * mass:
            return preferred[0][0]
    return None
