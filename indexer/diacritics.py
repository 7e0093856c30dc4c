"""Put back the diacritics a customer left out, using the knowledge base's own words.

Many people type Polish, Slovenian, Czech or Croatian without diacritics ("jak zaplacic
rachunek" for "jak zapłacić rachunek"). The keyword side does not care: it folds diacritics
on both sides (:func:`indexer.analysis.fold_diacritics`). The embedding model does: to its tokenizer
"zaplacic" is a different, rarer string than "zapłacić", and retrieval fell when every question
was asked without diacritics (``kb bench retrieval --strip-diacritics``; figures in the README).

So before the question is searched, each plain-ASCII word that folds to a word of the indexed
sections, and that the sections (almost) never write without diacritics, is replaced by its
most frequent spelling there. No dictionary and no language model: the vocabulary is the KB's,
so it works for whatever languages the editors write, and a question typed correctly has
(almost) nothing to restore: the rare change puts a word into the KB's commonest form.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable

from indexer.analysis import fold_diacritics

__all__ = ["DiacriticRestorer"]

_WORD = re.compile(r"[^\W\d_]+")
# A word is restored only if the KB writes it without diacritics at most this share of the time.
_MAX_PLAIN_SHARE = 0.05


class DiacriticRestorer:
    """Maps diacritic-free words to their spelling in the indexed text."""

    def __init__(self, texts: Iterable[str]) -> None:
        # C-level counting text by text, then work per distinct word only: a few seconds for
        # 100k sections, done once per index generation. (All the text joined into one string
        # first was no faster, and its list of every word cost the process ~90 MB for good.)
        counts: Counter[str] = Counter()
        for text in texts:
            counts.update(_WORD.findall(text.casefold()))
        spellings: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for word, count in counts.items():
            folded = fold_diacritics(word)
            if folded.isascii():  # Latin script; Cyrillic and Greek words are left out
                spellings[folded].append((count, word))
        # Restore only where the KB (almost) never writes the word without diacritics: Polish
        # "dodatkowa" and "dodatkową" are both words, and a question that says "dodatkowa"
        # must keep it; "sprzedazy" next to 300 "sprzedaży" is a slip worth undoing.
        self._restore: dict[str, str] = {}
        for folded, options in spellings.items():
            total = sum(count for count, _ in options)
            plain = sum(count for count, word in options if word == folded)
            _, best = max(options)
            if best != folded and plain <= _MAX_PLAIN_SHARE * total:
                self._restore[folded] = best

    def restore(self, question: str) -> str:
        """``question`` with the diacritics of the KB's spelling put back where it had none."""
        if not self._restore:
            return question

        def put_back(match: re.Match[str]) -> str:
            word = match.group(0)
            spelled = self._restore.get(word.casefold()) if word.isascii() else None
            if spelled is None:
                return word
            # keep the customer's capitalisation of the first letter
            return spelled[0].upper() + spelled[1:] if word[0].isupper() else spelled

        return _WORD.sub(put_back, question)
