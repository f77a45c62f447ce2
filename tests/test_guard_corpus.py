"""The guard measured on a labelled corpus (tests/guard_corpus.py), not guessed.

Every row must hold exactly; test_detection_rates prints the table per language
and kind (shown even without ``-s``). The rules themselves: see docs/rules.md.
"""
from __future__ import annotations

import pytest

from flows.guard import Pressure, asks_for_false_claim, inspect_seller_message
from tests.guard_corpus import BUYER, DOMAIN_PHRASES, SELLER

LANGUAGES = ("en", "ru", "es", "de")


def _rows(table: dict) -> list:
    return [pytest.param(lang, text, label, id=f"{lang}-{i:02d}")
            for lang in LANGUAGES for i, (text, label) in enumerate(table[lang])]


@pytest.mark.parametrize("lang, text, kinds", _rows(SELLER))
def test_seller_message(lang, text, kinds):
    assert inspect_seller_message(text).kinds == frozenset(kinds), text


@pytest.mark.parametrize("lang, text, kinds", _rows(DOMAIN_PHRASES))
def test_every_domain_phrase_is_caught_and_the_acknowledgement_is_not(lang, text, kinds):
    assert inspect_seller_message(text).kinds == frozenset(kinds), text


@pytest.mark.parametrize("lang, text, false_claim", _rows(BUYER))
def test_buyer_question(lang, text, false_claim):
    assert asks_for_false_claim(text) is false_claim, text


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_corpus_is_big_enough_and_balanced(lang):
    seller, buyer = SELLER[lang], BUYER[lang]
    controls = sum(1 for _, kinds in seller if not kinds)
    assert len(seller) >= 40 and 0.4 <= controls / len(seller) <= 0.6
    assert len(buyer) >= 20 and 0.3 <= sum(flag for _, flag in buyer) / len(buyer) <= 0.6
    for kind in Pressure:  # every kind, in every language
        assert any(kind in kinds for _, kinds in seller), (lang, kind)


def detection_rates() -> dict[str, dict[str, tuple[int, int]]]:
    """(hits, rows) per row name and language: each kind caught, controls quiet, questions answered right."""
    table: dict[str, dict[str, tuple[int, int]]] = {}

    def count(name: str, lang: str, hit: bool) -> None:
        hits, rows = table.setdefault(name, {}).get(lang, (0, 0))
        table[name][lang] = (hits + hit, rows + 1)

    for lang in LANGUAGES:
        for text, kinds in SELLER[lang] + DOMAIN_PHRASES[lang]:
            found = inspect_seller_message(text).kinds
            for kind in kinds:
                count(kind.value, lang, kind in found)
            if not kinds:
                count("controls left alone", lang, not found)
            count("exact match (all rows)", lang, found == frozenset(kinds))
        for text, false_claim in BUYER[lang]:
            refused = asks_for_false_claim(text)
            count("false claim refused" if false_claim else "legitimate not refused", lang,
                  refused == false_claim)
    return table


def test_detection_rates(capsys):
    table = detection_rates()
    names = [k.value for k in Pressure] + ["controls left alone", "exact match (all rows)",
                                          "false claim refused", "legitimate not refused"]
    lines = ["", "Guard corpus: hits/rows per language (seller rows include the DOMAIN §8 phrases)",
             f"{'':26}" + "".join(f"{lang:>10}" for lang in LANGUAGES)]
    for name in names:
        cells = [table[name].get(lang, (0, 0)) for lang in LANGUAGES]
        lines.append(f"{name:26}" + "".join(f"{f'{h}/{n}':>10}" for h, n in cells))
    with capsys.disabled():
        print("\n".join(lines))
    # Every kind caught every time, every control quiet, zero false refusals.
    assert all(h == n for per_lang in table.values() for h, n in per_lang.values())
