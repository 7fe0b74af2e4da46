"""What structured answers search, built once per index generation instead of per question.

Reading every agreement from SQLite and merging the mentions costs time that grows with the
corpus (at 10,000 chunks, tens of milliseconds per question). A `Catalog` holds the merged
agreements of one set of visibilities, with indexes over partner-name words and countries, and
the contacts with the text each is matched on. It is rebuilt when an ingest switches what is
served: the facts database records a new lexical-index generation for every visibility whose
documents changed, in the same transaction as the facts, so those generations name the facts.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from assistant.knowledge.countries import find_country
from assistant.knowledge.merging import MergedAgreement, merge_agreements
from assistant.knowledge.partner_names import (
    cross_script_keys,
    names_across_scripts,
    partner_term_present,
)
from assistant.lru import Lru
from assistant.retrieval.question_analysis import WordIndex, latin_key
from ingest.sync import lexical_key
from vectorstore.facts_db import FactsDB
from vectorstore.facts_store import (
    StoredAgreement,
    StoredContact,
    list_agreements,
    list_contacts_with_evidence,
)
from vectorstore.records import Visibility

_WORD = re.compile(r"\w+")
STEMS_KEPT = 1024  # stems whose matching contacts a catalog keeps (at most 8 bytes a contact)

CatalogKey = tuple[tuple[Visibility, ...], tuple[str | None, ...]]


def partner_words(stored: StoredAgreement) -> set[str]:
    """The lower-cased words of a mention's partner name."""
    return set(_WORD.findall(stored.fact.partner.lower()))


def names_partner(stored: StoredAgreement, terms: tuple[str, ...]) -> bool:
    """Whether the partner's name contains every name the question gives (in either script:
    see `partner_names`)."""
    words = partner_words(stored)
    return all(partner_term_present(term, words) for term in terms)


def resolved_country(stored: StoredAgreement) -> str | None:
    """The country a mention is in: the one it states, else one named in the partner's name."""
    fact = stored.fact
    if fact.country:
        return find_country(fact.country)
    if fact.country is None:
        return find_country(fact.partner)
    return None


def _end_order(merged: MergedAgreement) -> tuple[bool, date]:
    ends_on = merged.primary.fact.ends_on
    return ends_on is None, ends_on or date.min


@dataclass
class Catalog:
    """Merged agreements and contacts of some visibilities, with lookup indexes."""

    key: CatalogKey
    merged: list[MergedAgreement]
    contacts: list[StoredContact]
    contact_texts: list[str]
    _by_word: dict[str, frozenset[int]] = field(default_factory=dict)
    _index: WordIndex = field(default_factory=lambda: WordIndex(()))
    _by_latin_key: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _by_country: dict[str, list[int]] = field(default_factory=dict)
    primaries: list[StoredAgreement] = field(default_factory=list)
    others: dict[int, tuple[StoredAgreement, ...]] = field(default_factory=dict)
    _stem_hits: Lru[str, np.ndarray] = field(default_factory=lambda: Lru(STEMS_KEPT))

    @classmethod
    def build(
        cls,
        key: CatalogKey,
        agreements: list[StoredAgreement],
        contacts: list[StoredContact],
        contact_texts: list[str],
    ) -> Catalog:
        # By end date, unknown last (what `list_agreements` gives; a stable sort keeps its
        # order otherwise): the structured answers bisect this order.
        catalog = cls(
            key, sorted(merge_agreements(agreements), key=_end_order), contacts, contact_texts
        )
        # Read-only once built: shared by every question on this generation.
        catalog.primaries = [group.primary for group in catalog.merged]
        catalog.others = {id(group.primary): group.others for group in catalog.merged}
        by_word: dict[str, set[int]] = {}
        by_country: dict[str, set[int]] = {}
        for index, merged in enumerate(catalog.merged):
            for stored in (merged.primary, *merged.others):
                for word in partner_words(stored):
                    by_word.setdefault(word, set()).add(index)
                country = resolved_country(stored)
                if country:
                    by_country.setdefault(country, set()).add(index)
        catalog._by_word = {word: frozenset(ids) for word, ids in by_word.items()}
        catalog._index = WordIndex(by_word)
        by_latin_key: dict[str, list[str]] = {}
        for word in by_word:
            by_latin_key.setdefault(latin_key(word), []).append(word)
        catalog._by_latin_key = {key: tuple(words) for key, words in by_latin_key.items()}
        catalog._by_country = {country: sorted(ids) for country, ids in by_country.items()}
        return catalog

    def with_partner(self, terms: tuple[str, ...]) -> list[MergedAgreement]:
        """Agreements one of whose mentions names every term, in catalog order. The rarest
        term gives the candidates; the others only narrow them (a common word such as
        "university" names thousands of agreements at 100k chunks)."""
        if not terms:
            return list(self.merged)
        options = sorted(
            ([self._by_word[word] for word in self._words_naming(term)] for term in terms),
            key=lambda sets: sum(map(len, sets)),
        )
        candidates: set[int] = set().union(*options[0])
        for sets in options[1:]:
            if not candidates:
                break
            if len(sets) == 1:
                candidates = candidates & sets[0]  # looks at the smaller of the two
            else:
                candidates = {i for i in candidates if any(i in found for found in sets)}
        return [
            self.merged[i]
            for i in sorted(candidates)
            if any(
                names_partner(s, terms) for s in (self.merged[i].primary, *self.merged[i].others)
            )
        ]

    def _words_naming(self, term: str) -> set[str]:
        """The partner-name words that hold `term` (`partner_term_present`)."""
        found = self._index.matching(term)
        for key in cross_script_keys(term):
            found.update(
                word for word in self._by_latin_key.get(key, ()) if names_across_scripts(term, word)
            )
        return found

    def contacts_matching(self, stems: Iterable[str]) -> list[tuple[int, int]]:
        """(how many of `stems` a contact's text contains, its position) for every contact
        containing one, most first, then in catalog order. Which contacts contain a stem is
        found once per catalog and kept for the next questions (the stems of questions
        repeat: "contact", "inter", "соглаш")."""
        hits = [self._contacts_with(stem) for stem in dict.fromkeys(stems)]
        if not hits or not self.contacts:
            return []
        counts = np.bincount(np.concatenate(hits), minlength=len(self.contacts))
        found = np.flatnonzero(counts)
        order = np.lexsort((found, -counts[found]))
        return [(int(counts[found[i]]), int(found[i])) for i in order]

    def contacts_naming(self, terms: tuple[str, ...]) -> list[int]:
        """Positions of the contacts whose text (with their document's title) holds every
        partner term as a word, or a Russian stem as the start of one, in catalog order."""
        if not terms or not self.contacts:
            return []
        found = set(self._contacts_with(terms[0]).tolist())
        for term in terms[1:]:
            found &= set(self._contacts_with(term).tolist())
        return [
            position
            for position in sorted(found)
            if all(
                partner_term_present(term, set(_WORD.findall(self.contact_texts[position])))
                for term in terms
            )
        ]

    def _contacts_with(self, stem: str) -> np.ndarray:
        hit = self._stem_hits.get(stem)
        if hit is None:
            hit = np.array(
                [i for i, text in enumerate(self.contact_texts) if stem in text], dtype=np.int64
            )
            self._stem_hits.put(stem, hit)
        return hit

    def country_ids(self, country: str) -> set[int]:
        """Positions of the agreements with a mention in `country`."""
        return set(self._by_country.get(country, ()))


class CatalogCache:
    """The current catalog per set of visibilities; thread-safe, rebuilt after an ingest."""

    def __init__(self, facts: FactsDB) -> None:
        self._facts = facts
        self._catalogs: dict[tuple[Visibility, ...], Catalog] = {}
        self._lock = threading.Lock()

    def key(self, visibilities: tuple[Visibility, ...]) -> CatalogKey:
        return visibilities, self._facts.get_metas([lexical_key(v) for v in visibilities])

    def get(self, visibilities: tuple[Visibility, ...]) -> Catalog:
        """The catalog for what `visibilities` serve now."""
        key = self.key(visibilities)
        cached = self._catalogs.get(visibilities)
        if cached is not None and cached.key == key:
            return cached
        with self._lock:  # one build at a time; others wait for it rather than repeat it
            cached = self._catalogs.get(visibilities)
            if cached is not None and cached.key == key:
                return cached
            catalog = self._build(key)
            self._catalogs[visibilities] = catalog
            return catalog

    def _build(self, key: CatalogKey) -> Catalog:
        visibilities = key[0]
        agreements = list_agreements(self._facts, visibilities)
        contacts, contact_texts = [], []
        for contact, evidence in list_contacts_with_evidence(self._facts, visibilities):
            fact = contact.fact
            haystack = " ".join(
                filter(None, [evidence, fact.role, fact.organisation, contact.title])
            )
            contacts.append(contact)
            contact_texts.append(haystack.lower())
        return Catalog.build(key, agreements, contacts, contact_texts)
