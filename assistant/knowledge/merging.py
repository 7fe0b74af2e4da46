"""One row per agreement: a partner known from a registry row and from prose is merged.

Two mentions are the same agreement when their countries agree (or one is unknown; a mention
that states none is placed by a city or country in its partner's name) and one partner name,
or an alias in its brackets, is a word-for-word prefix of the other ("National Institute of
Workers' Health" and "National Institute of Workers' Health (Havana)"). The row shown is the
most informative mention (a known end date, then a signing date, then a registry row); the
others are cited alongside it.
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


@dataclass(frozen=True)
class _Mention:
    """An agreement mention with what matching needs, computed once."""

    item: StoredAgreement
    country: str | None
    aliases: tuple[tuple[str, ...], ...]

    @classmethod
    def of(cls, item: StoredAgreement) -> _Mention:
        # A mention in prose often states no country, but its name may place it: "Eastern
        # Centre of Nuclear Physics (Astana)" is not the one in Leipzig.
        fact = item.fact
        country = find_country(fact.country) if fact.country else None
        if fact.country is None:
            country = find_country(fact.partner)
        return cls(item, country, tuple(_aliases(fact.partner)))

    def same_partner(self, other: _Mention) -> bool:
        if self.country and other.country and self.country != other.country:
            return False
        return any(_prefix(a, b) or _prefix(b, a) for a in self.aliases for b in other.aliases)


def same_partner(one: StoredAgreement, other: StoredAgreement) -> bool:
    """Whether two mentions name the same partner (see the module docstring)."""
    return _Mention.of(one).same_partner(_Mention.of(other))


def _compatible(country: str | None, countries: set[str | None]) -> bool:
    """Whether a mention in `country` may be one of mentions in `countries` (an unknown
    country is compatible with any)."""
    return not country or country in countries or any(not known for known in countries)


def _information(stored: StoredAgreement) -> tuple[int, int, int]:
    fact = stored.fact
    return (fact.ends_on is not None, fact.signed_on is not None, fact.row is not None)


def merge_agreements(items: list[StoredAgreement]) -> list[MergedAgreement]:
    """Group mentions of the same agreement, keeping the input order of the groups' best rows.

    A mention joins the first group (in order of creation) holding a mention it matches, as
    comparing it with every group would decide. Which groups those are is looked up, not
    searched for: every alias of every grouped mention is indexed whole and by each of its
    prefixes of at least `MIN_PREFIX_WORDS` words, so an alias finds the grouped aliases it
    starts with and those that start with it (linear in the number of mentions: registries
    list hundreds of agreements, and a generated corpus of 100,000 chunks 21,000)."""
    groups: list[list[_Mention]] = []
    whole: dict[tuple[str, ...], dict[int, set[str | None]]] = {}  # alias -> group -> countries
    starts: dict[tuple[str, ...], dict[int, set[str | None]]] = {}  # prefix -> the same
    for item in items:
        mention = _Mention.of(item)
        matching: set[int] = set()
        for alias in mention.aliases:
            if len(alias) < MIN_PREFIX_WORDS:
                continue  # too short to match either way
            found = [whole.get(alias[:n]) for n in range(MIN_PREFIX_WORDS, len(alias) + 1)]
            found.append(starts.get(alias))
            for by_group in found:
                for index, countries in (by_group or {}).items():
                    if index not in matching and _compatible(mention.country, countries):
                        matching.add(index)
        if matching:
            index = min(matching)
            groups[index].append(mention)
        else:
            index = len(groups)
            groups.append([mention])
        for alias in mention.aliases:
            if len(alias) < MIN_PREFIX_WORDS:
                continue
            whole.setdefault(alias, {}).setdefault(index, set()).add(mention.country)
            for n in range(MIN_PREFIX_WORDS, len(alias) + 1):
                starts.setdefault(alias[:n], {}).setdefault(index, set()).add(mention.country)
    merged = []
    for group in groups:
        best = max((m.item for m in group), key=_information)
        merged.append(MergedAgreement(best, tuple(m.item for m in group if m.item is not best)))
    order = {id(item): index for index, item in enumerate(items)}
    return sorted(merged, key=lambda m: order[id(m.primary)])
