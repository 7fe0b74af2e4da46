"""A partner named in one script and asked about in the other.

A registry may list "Skolkovo Foundation" while a visitor asks "Когда истекает соглашение с
Фондом Сколково?". A proper name is compared by the first letters of its transliteration
("сколков" and "skolkovo" both begin "skol"); a word for a kind of organisation is compared by
its counterpart in the other language ("фонд" and "foundation"), since its transliteration is
another word ("fond"). Anything else (an adjective such as "восточный", a city whose names
differ, "Женева" and "Geneva") does not match: the question then goes on to the pages, as it did
before, rather than risk another partner's agreement.
"""

from __future__ import annotations

import functools
from collections.abc import Set

from assistant.retrieval.question_analysis import (
    TRANSLIT_PREFIX,
    has_cyrillic,
    latin_key,
    match_form,
    singular,
    term_present,
)

# Kinds of organisation in Russian (the noun, any case: compared by stem, so "Центральный" is
# not a "центр") and in English (the noun, singular or plural: "Central" is not a "Centre").
_KINDS: tuple[tuple[str, str], ...] = (
    ("фонд", "foundation"), ("фонд", "fund"), ("университет", "university"),
    ("институт", "institute"), ("центр", "centre"), ("центр", "center"),
    ("академия", "academy"), ("ассоциация", "association"), ("общество", "society"),
    ("министерство", "ministry"), ("агентство", "agency"), ("организация", "organization"),
    ("организация", "organisation"), ("федерация", "federation"), ("союз", "union"),
    ("комитет", "committee"), ("школа", "school"), ("больница", "hospital"),
    ("клиника", "clinic"), ("лаборатория", "laboratory"), ("колледж", "college"),
    ("консорциум", "consortium"), ("корпорация", "corporation"), ("компания", "company"),
)  # fmt: skip
_KIND_STEMS = tuple((match_form(russian), english) for russian, english in _KINDS)


@functools.lru_cache(maxsize=65536)
def _kinds_of(word: str) -> frozenset[int]:
    """Which of the `_KINDS` a lower-cased word (or a question's stem of one) is a form of."""
    if has_cyrillic(word):
        stem = match_form(word)
        return frozenset(i for i, (russian, _) in enumerate(_KIND_STEMS) if russian == stem)
    noun = singular(word)
    return frozenset(i for i, (_, english) in enumerate(_KIND_STEMS) if english == noun)


@functools.lru_cache(maxsize=4096)
def cross_script_keys(term: str) -> frozenset[str]:
    """The `latin_key`s of the words of the other script that `term` may name: its own
    transliteration's (a name of five letters or more), and its kind's counterpart's."""
    if term.isdigit():
        return frozenset()
    cyrillic = has_cyrillic(term)
    keys = {latin_key(term)} if len(term) > TRANSLIT_PREFIX else set()
    for kind in _kinds_of(term):
        russian, english = _KIND_STEMS[kind]
        keys.add(latin_key(english if cyrillic else russian))
    return frozenset(keys)


def names_across_scripts(term: str, word: str) -> bool:
    """Whether a lower-cased question term and a partner-name word of the other script are
    the same name: by transliteration, or as the same kind of organisation."""
    cyrillic = has_cyrillic(term)
    if cyrillic == has_cyrillic(word) or latin_key(word) not in cross_script_keys(term):
        return False
    long_enough = len(term) > TRANSLIT_PREFIX and len(word) >= TRANSLIT_PREFIX
    if long_enough and latin_key(term) == latin_key(word):
        return True
    return bool(_kinds_of(term) & _kinds_of(word))


def partner_term_present(term: str, words: Set[str]) -> bool:
    """Whether a partner name's words hold a question term: in the same script as
    `term_present` finds it, or in the other (`names_across_scripts`)."""
    return term_present(term, words) or any(names_across_scripts(term, word) for word in words)
