"""Tests for indexer.keyword: BM25 ranking, empty queries, save/load."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from indexer.analysis import analyze
from indexer.keyword import KeywordIndex

PASSAGES = [
    "Zwrot pieniędzy za zamówienie otrzymasz w ciągu 14 dni.",
    "Opłaty za wysyłkę zależą od wybranej metody dostawy.",
    "Hasło do konta możesz zmienić w ustawieniach konta.",
    "Reklamację towaru zgłosisz w zakładce Moje zakupy.",
]


def build() -> KeywordIndex:
    return KeywordIndex.build([analyze(text, "pl") for text in PASSAGES])


def test_ranks_the_matching_passage_first() -> None:
    index = build()
    scores = index.scores(analyze("jak zmienić hasło", "pl"))
    assert scores.dtype == np.float32 and scores.shape == (len(PASSAGES),)
    assert int(np.argmax(scores)) == 2
    assert int(np.argmax(index.scores(analyze("ile kosztuje wysylka", "pl")))) == 1


def test_unmatched_docs_score_zero() -> None:
    scores = build().scores(analyze("hasło", "pl"))
    assert scores[2] > 0
    assert np.all(scores[[0, 1, 3]] == 0)


def test_empty_and_unknown_queries_give_zeros() -> None:
    index = build()
    for query in ([], [""], ["zupełnienieznanesłowo"], analyze("Як змінити пароль?", "uk")):
        scores = index.scores(query)
        assert scores.shape == (len(PASSAGES),)
        assert not scores.any()


def test_len() -> None:
    assert len(build()) == len(PASSAGES)


def test_save_load_round_trip(tmp_path: Path) -> None:
    index = build()
    index.save(tmp_path / "kw")
    loaded = KeywordIndex.load(tmp_path / "kw")
    assert len(loaded) == len(index)
    for query in ("zwrot pieniędzy", "reklamacja towaru", "konto"):
        tokens = analyze(query, "pl")
        assert index.scores(tokens).any(), query  # all zeros would match an empty index too
        np.testing.assert_array_equal(loaded.scores(tokens), index.scores(tokens))


def test_empty_corpus(tmp_path: Path) -> None:
    index = KeywordIndex.build([])
    assert len(index) == 0
    assert index.scores(["cokolwiek"]).shape == (0,)
    index.save(tmp_path / "empty")
    assert len(KeywordIndex.load(tmp_path / "empty")) == 0


def test_document_without_tokens() -> None:
    index = KeywordIndex.build([[], ["konto"], ["hasło", "konto"]])
    scores = index.scores(["hasło"])
    assert scores.shape == (3,)
    assert int(np.argmax(scores)) == 2 and scores[0] == 0
