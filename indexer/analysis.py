"""Text analysis for the keyword side: keyword tokens (languages live in :mod:`indexer.locales`).

Both passages and questions go through :func:`analyze`, so whatever it does to one it does
to the other; the keyword index only ever sees its output.

Token stream for each Unicode word (``\\w+``, digits kept), case-folded:

* the **lemma** (simplemma, when it knows the language), diacritic-folded, so
  "opłaty", "opłatę", "oplata" all meet at ``oplata``;
* a **truncation prefix** of the folded surface form (``~`` + first 5 letters) for words longer
  than that. It is a language-agnostic crude stemmer: it catches derivations the lemmatiser
  keeps apart ("zwrot" / "zwrócić" / "zwrotu"), and it is what lets a question typed without
  diacritics, which simplemma cannot lemmatise, still meet the inflected forms. ``~`` is never
  part of a ``\\w`` token, so prefixes cannot collide with words.

No stopword list: BM25's IDF already gives function words almost no weight, and a list per
language is one more thing to get wrong for the languages we do not read. (On the tuning
split, dropping frequent query terms changed nothing or lost quality.)
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

import simplemma
from simplemma.strategies.default import DefaultStrategy
from simplemma.strategies.dictionaries.dictionary_factory import SUPPORTED_LANGUAGES

from indexer.locales import language_of

__all__ = ["analyze", "fold_diacritics", "PREFIX_LENGTH"]

PREFIX_LENGTH = 5
"""Length of the truncation-prefix token (5 beat 6 and 7 on the tuning split and is the
usual sweet spot for truncation stemming in inflected European languages)."""

_PREFIX_MARK = "~"
_WORD = re.compile(r"\w+")

# Letters that NFKD does not decompose into base letter + combining mark, but that people
# still type as the plain letter when they skip diacritics.
_FOLD_EXTRA = str.maketrans(
    {"ł": "l", "đ": "d", "ø": "o", "ß": "ss", "æ": "ae", "œ": "oe", "ı": "i", "ħ": "h",
     "Ł": "L", "Đ": "D", "Ø": "O", "Æ": "AE", "Œ": "OE", "Ħ": "H"}
)  # fmt: skip


def fold_diacritics(token: str) -> str:
    """Strip diacritics (``"opłatę"`` -> ``"oplate"``), so questions typed without them match."""
    decomposed = unicodedata.normalize("NFKD", token.translate(_FOLD_EXTRA))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=1)
def _lemmatizer() -> simplemma.Lemmatizer:
    # One lemmatiser per process: it keeps an LRU cache of looked-up words, which is what
    # makes re-analysing a corpus cheap (simplemma's dictionary load is the one slow step).
    # Its low-memory dictionaries (front-coded streams, decoded per lookup) give the same lemmas
    # in 61 MB for en, pl, sl and uk where Python dicts took 472 MB of every serving process;
    # an uncached lookup costs ~5 us instead of ~2.
    return simplemma.Lemmatizer(
        cache_max_size=262_144, lemmatization_strategy=DefaultStrategy(low_memory=True)
    )


def _lemma_language(lang: str | None) -> str | None:
    """The simplemma language to use, or ``None`` when it has no dictionary for ``lang``."""
    if lang is None:
        return None
    code = language_of(lang)
    return code if code in SUPPORTED_LANGUAGES else None


@lru_cache(maxsize=262_144)
def _word_tokens(word: str, lemma_lang: str | None) -> tuple[str, ...]:
    """Keyword tokens of one case-folded word (cached: vocabularies are small, texts are not)."""
    lemma = word
    if lemma_lang is not None:
        lemma = _lemmatizer().lemmatize(word, lemma_lang).casefold()
    folded_surface = fold_diacritics(word)
    tokens = [fold_diacritics(lemma)]
    if len(folded_surface) > PREFIX_LENGTH:
        tokens.append(_PREFIX_MARK + folded_surface[:PREFIX_LENGTH])
    return tuple(tokens)


def preload(languages: Iterable[str]) -> None:
    """Load the lemma dictionaries of ``languages`` now. simplemma loads one on its first use,
    which takes seconds; loaded by the first questions instead, every concurrent request that
    needs it would load its own copy (its cache does not lock), all of them slowly."""
    for lang in languages:
        lemma_lang = _lemma_language(lang)
        if lemma_lang is not None:
            _lemmatizer().lemmatize("a", lemma_lang)


def analyze(text: str, lang: str | None) -> list[str]:
    """Keyword tokens of ``text`` in language ``lang`` (a code or locale; ``None`` if unknown).

    Without a language (or one simplemma lacks) words are only case- and diacritic-folded;
    the prefix tokens still give some tolerance to inflection.
    """
    lemma_lang = _lemma_language(lang)
    tokens: list[str] = []
    for word in _WORD.findall(text.casefold()):
        tokens.extend(_word_tokens(word, lemma_lang))
    return tokens
