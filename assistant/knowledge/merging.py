"""One row per agreement: a partner known from a registry row and from prose is merged.

Two mentions are the same agreement when their countries agree (or one is unknown) and one
partner name, or an alias in its brackets, is a word-for-word prefix of the other ("National
Institute of Workers' Health" and "National Institute of Workers' Health (Havana)"). The row
shown is the most informative mention (a known end date, then a signing date, then a registry
row); the others are cited alongside it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.knowledge.countries import find_country
from vectorstore.facts_store import StoredAgreement

_BRACKETS = re.compile(r"\(([^)]*)\)")
_WORD = re.compile(r"\w+")
MIN_PREFIX_WORDS = 3


@dataclass(frozen=True)
class MergedAgreement:
    """The mention to show and the other mentions of the same agreement."""

    primary: StoredAgreement
    others: tuple[StoredAgreement, ...] = ()


def _aliases(name: str) -> list[tuple[str, ...]]:
    outer = _BRACKETS.sub(" ", name)
    names = [outer, *_BRACKETS.findall(name)]
    return [tuple(_WORD.findall(n.lower().replace("'", ""))) for n in names if n.strip()]


def _prefix(short: tuple[str, ...], long: tuple[str, ...]) -> bool:
    return len(short) >= MIN_PREFIX_WORDS and long[: len(short)] == short


def same_partner(one: StoredAgreement, other: StoredAgreement) -> bool:
    """Whether two mentions name the same partner (see the module docstring)."""
    first, second = find_country(one.fact.country or ""), find_country(other.fact.country or "")
    if first and second and first != second:
        return False
    return any(
        _prefix(a, b) or _prefix(b, a)
        for a in _aliases(one.fact.partner)
        for b in _aliases(other.fact.partner)
    )


def _information(stored: StoredAgreement) -> tuple[int, int, int]:
    fact = stored.fact
    return (fact.ends_on is not None, fact.signed_on is not None, fact.row is not None)


def merge_agreements(items: list[StoredAgreement]) -> list[MergedAgreement]:
    """Group mentions of the same agreement, keeping the input order of the groups' best rows."""
    groups: list[list[StoredAgreement]] = []
    for item in items:
        for group in groups:
            if any(same_partner(item, member) for member in group):
                group.append(item)
                break
        else:
            groups.append([item])
    merged = []
    for group in groups:
        best = max(group, key=_information)
        merged.append(MergedAgreement(best, tuple(m for m in group if m is not best)))
    order = {id(item): index for index, item in enumerate(items)}
    return sorted(merged, key=lambda m: order[id(m.primary)])
