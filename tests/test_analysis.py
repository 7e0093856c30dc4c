"""Tests for indexer.analysis: locales, language detection, keyword tokens."""

from __future__ import annotations

import time

import pytest

from indexer.analysis import analyze, fold_diacritics
from indexer.locales import detect_language, language_of


def shared(a: str, b: str, lang: str | None) -> set[str]:
    return set(analyze(a, lang)) & set(analyze(b, lang))


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("pl-PL", "pl"), ("uk", "uk"), ("sl_SI", "sl"), ("EN-gb", "en"), ("zh-Hant-TW", "zh")],
)
def test_language_of(locale: str, expected: str) -> None:
    assert language_of(locale) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Jak mogę zwrócić towar kupiony na Allegro?", "pl"),
        ("Kdaj bom prejel vračilo denarja za vrnjen izdelek?", "sl"),
        ("Чи можна змінити адресу доставки після оплати?", "uk"),
        ("How can I change the delivery address of my order?", "en"),
    ],
)
def test_detect_language(text: str, expected: str) -> None:
    assert detect_language(text) == expected


@pytest.mark.parametrize("text", ["", "ok", "?!", "12345"])
def test_detect_language_abstains_on_too_little_text(text: str) -> None:
    assert detect_language(text) is None


def test_polish_inflected_forms_share_a_lemma() -> None:
    # "opłaty" / "opłatę" / "opłatą": cases of one noun must meet in the index.
    forms = [analyze(word, "pl")[0] for word in ("opłaty", "opłatę", "opłatą", "opłata")]
    assert len(set(forms)) == 1
    assert shared("Kiedy dostanę zwrot pieniędzy?", "Zwroty pieniędzy realizujemy", "pl")


def test_case_folding() -> None:
    assert analyze("ALLEGRO Smart", "pl") == analyze("allegro smart", "pl")


def test_question_without_diacritics_matches() -> None:
    # Customers often skip Polish letters: "oplata" must still meet "opłata"/"opłaty".
    # simplemma cannot lemmatise the undotted forms, so the folded prefix tokens carry them.
    for typed, written in [("oplata", "Opłata"), ("oplaty", "opłatę"), ("zwrocic", "zwrócić")]:
        assert shared(typed, written, "pl"), (typed, written)
    assert shared("przesylki", "Przesyłka", "pl")


def test_fold_diacritics() -> None:
    assert fold_diacritics("zażółć gęślą jaźń") == "zazolc gesla jazn"
    assert fold_diacritics("Čšž Straße") == "Csz Strasse"


def test_digits_kept_and_punctuation_dropped() -> None:
    tokens = analyze("Zwrot w ciągu 14 dni, kod: PL-2024!", "pl")
    assert "14" in tokens and "2024" in tokens
    assert "kod" in tokens and "pl" in tokens  # "kod:" and "PL-2024" lose the punctuation
    assert all(token.isalnum() for token in tokens), tokens


def test_unknown_or_missing_language_still_tokenises() -> None:
    assert analyze("Hello World", None)[:1] == ["hello"]
    assert analyze("Hello World", "xx")[:1] == ["hello"]


@pytest.mark.parametrize(
    ("lang", "a", "b"),
    [
        ("sl", "Kako vrnem izdelke?", "Vračilo izdelka"),
        ("uk", "Як змінити адресу?", "Зміна адреси доставки"),
        ("en", "returning items", "How to return an item"),
    ],
)
def test_other_languages_match_across_inflection(lang: str, a: str, b: str) -> None:
    assert shared(a, b, lang)


def test_empty_text() -> None:
    assert analyze("", "pl") == []
    assert analyze(" \n\t ", None) == []


def test_analysis_is_fast_once_warm() -> None:
    analyze("rozgrzewka słownika", "pl")  # loads simplemma's Polish dictionary once
    passages = [f"Przesyłki numer {i} wysyłamy w ciągu dwóch dni roboczych." for i in range(1000)]
    start = time.perf_counter()
    for passage in passages:
        analyze(passage, "pl")
    assert time.perf_counter() - start < 2.0
