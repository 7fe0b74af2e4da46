"""Language detection by the share of Cyrillic letters."""

from __future__ import annotations

import pytest

from ingest.language import detect_language


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "en"),
        ("   \n\t 12345 !?", "en"),
        ("International cooperation with the WHO.", "en"),
        ("Международное сотрудничество с ВОЗ.", "ru"),
        ("Ёлка и ёж", "ru"),
        # Mostly Russian with English names and abbreviations is still Russian.
        ("Институт сотрудничает с WHO, ILO и IARC с 2015 года.", "ru"),
        # An English page quoting one Russian word stays English.
        ("The Institute, known in Russian as Институт, works with the WHO.", "en"),
    ],
)
def test_detect_language(text: str, expected: str) -> None:
    assert detect_language(text) == expected


def test_threshold_is_thirty_percent_of_letters() -> None:
    # Digits, spaces and punctuation do not count as letters.
    assert detect_language("жжж" + "a" * 7 + " 0123456789 ... ") == "ru"  # 3 of 10 letters
    assert detect_language("жж" + "a" * 8 + " 0123456789 ... ") == "en"  # 2 of 10 letters


def test_other_scripts_count_as_letters_but_not_as_cyrillic() -> None:
    assert detect_language("ж" + "中" * 9) == "en"
    assert detect_language("жжжж" + "ü" * 6) == "ru"
