"""Recognising countries and cities by name."""

from __future__ import annotations

import pytest

from ingest.facts.places import _COUNTRIES, _COUNTRY_ANY_CASE, is_country_name

SPELLINGS = [
    *(name for name, _ in _COUNTRIES),
    "Kazakhstan", "казахстана", "Республики Беларусь", "cubans", "Minsk", "Kiev", "university",
    "Russia", "России", "USA", "us", "south korea", "Czech", "Leipzig", "", "Cuba Cuba",
]  # fmt: skip


@pytest.mark.parametrize("word", [f(w) for w in SPELLINGS for f in (str, str.lower, str.upper)])
def test_a_country_name_is_recognised_as_each_country_pattern_would(word):
    alone = any(pattern.fullmatch(word) for _, pattern in _COUNTRY_ANY_CASE)
    assert is_country_name(word) == alone


def test_cities_and_common_words_are_not_countries():
    assert is_country_name("Cuba") and is_country_name("беларуси")
    assert not is_country_name("Minsk") and not is_country_name("University")
