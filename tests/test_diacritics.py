"""Diacritics a customer left out come back from the knowledge base's own spelling."""

from __future__ import annotations

from indexer.diacritics import DiacriticRestorer

KB = [
    "Rachunek możesz zapłacić w aplikacji. Płatność kartą jest natychmiastowa.",
    "Opłata za roaming w Unii Europejskiej: zapłacisz tyle, co w kraju.",
    "Račun lahko plačate v aplikaciji. Plačilo s kartico je takojšnje.",
    "Оплатити рахунок можна в застосунку.",
    "Dodatkowa opłata nie obowiązuje. Usługa dodatkowa jest bezpłatna.",
    "Dodatkową kartę SIM zamówisz w salonie.",
]


def test_a_question_without_diacritics_gets_the_kb_spelling_back() -> None:
    restorer = DiacriticRestorer(KB)
    assert restorer.restore("Jak zaplacic rachunek karta?") == "Jak zapłacić rachunek kartą?"
    assert restorer.restore("Kako placate racun") == "Kako plačate račun"
    # "placam" has no spelling in the KB to come back from: left as typed
    assert restorer.restore("Kako placam racun") == "Kako placam račun"
    assert restorer.restore("Oplata za roaming") == "Opłata za roaming"  # capital kept


def test_a_question_typed_correctly_is_left_alone() -> None:
    restorer = DiacriticRestorer(KB)
    for question in ("Jak zapłacić rachunek kartą?", "Kako plačate račun?", "Як оплатити рахунок?"):
        assert restorer.restore(question) == question


def test_a_word_the_kb_also_writes_without_diacritics_is_kept() -> None:
    # "dodatkowa" and "dodatkową" are both Polish words: the question's choice stands
    restorer = DiacriticRestorer(KB)
    assert restorer.restore("Czy usluga dodatkowa kosztuje?") == "Czy usługa dodatkowa kosztuje?"


def test_a_rare_plain_spelling_in_the_kb_does_not_block_the_fix() -> None:
    # one editor's slip ("oplata") next to many "opłata" must not stop the restoration
    restorer = DiacriticRestorer([*KB * 10, "Oplata miesieczna"])
    assert restorer.restore("oplata") == "opłata"


def test_an_empty_kb_changes_nothing() -> None:
    assert DiacriticRestorer([]).restore("zaplacic") == "zaplacic"
