"""The structured-answer catalog: its indexes find exactly what a scan would, and an ingest that
changes the facts is seen by the next question (no stale cache)."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.answering.factory import build_assistant
from assistant.knowledge.answers import _by_end, _ending_before, _ending_by
from assistant.knowledge.catalog import Catalog, names_partner, resolved_country
from assistant.resources import Resources
from ingest.sync import IngestService
from tests.conftest import SAMPLE_DIR, FakeEmbedder
from vectorstore.fact_records import AgreementFact
from vectorstore.facts_store import StoredAgreement

WORDS = ["havana", "hanoi", "institute", "inst", "health", "national", "nat", "minsk", "2021",
         "center", "centre", "kazakh", "kazakhstan", "of", "cuba", "cuban", "foundation", "fund",
         "skolkovo", "фонд", "фондом", "сколково", "центр", "институт", "гавана", "минск",
         "объединь", "объе"]  # fmt: skip
COUNTRIES = [None, "", "Cuba", "Vietnam", "Kazakhstan", "Республика Беларусь"]


def _stored(partner: str, country: str | None, n: int) -> StoredAgreement:
    fact = AgreementFact(partner, n, n + 1, country=country)
    return StoredAgreement(fact, f"doc{n}", "public", "t", "s")


partners = st.lists(st.sampled_from(WORDS), min_size=1, max_size=4).map(" ".join)


@settings(max_examples=150, deadline=None)
@given(
    names=st.lists(st.tuples(partners, st.sampled_from(COUNTRIES)), min_size=1, max_size=25),
    terms=st.lists(
        st.sampled_from([*WORDS, "health", "kaza", "hav", "xyz", "сколков", "гаван", "foun"]),
        max_size=3,
    ),
    country=st.sampled_from(["Cuba", "Vietnam", "Kazakhstan", "Belarus"]),
)
def test_indexes_find_exactly_what_a_scan_finds(names, terms, country):
    stored = [_stored(name, where, n) for n, (name, where) in enumerate(names)]
    catalog = Catalog.build(((("public",)), (None,)), stored, [], [])
    wanted = tuple(terms)
    scanned = [
        m for m in catalog.merged if any(names_partner(a, wanted) for a in (m.primary, *m.others))
    ]
    assert [id(m) for m in catalog.with_partner(wanted)] == [id(m) for m in scanned]
    in_country = [
        i
        for i, m in enumerate(catalog.merged)
        if any(resolved_country(a) == country for a in (m.primary, *m.others))
    ]
    assert sorted(catalog.country_ids(country)) == in_country


def test_a_reingest_that_changes_the_registry_is_seen_by_the_next_question(
    resources: Resources, fake_embedder: FakeEmbedder, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(SAMPLE_DIR, corpus)
    service = IngestService(
        resources.settings, resources.facts, resources.vectors, resources.lexical, fake_embedder
    )
    service.ingest([corpus], "public")
    resources.settings.today = date(2026, 11, 25)
    assistant = build_assistant(resources)
    question = "Which agreements expire in 2027?"
    before = assistant.ask(question, "public")
    assert before.mode == "structured"
    assert "Atlantis" not in before.answer
    registry = corpus / "agreements_registry.csv"
    with registry.open("a", encoding="utf-8") as handle:
        handle.write(
            "Atlantis Institute of Marine Health;Greece;Соглашение о сотрудничестве;"
            "01.03.2022;01.03.2027;действует;Отдел;atl@example.org;test row\n"
        )
    service.ingest([corpus], "public")
    after = assistant.ask(question, "public")
    assert "Atlantis Institute of Marine Health" in after.answer
    assert any("Atlantis" in citation.quote for citation in after.citations)
    registry.unlink()
    service.ingest([corpus], "public")
    assert "Atlantis" not in assistant.ask(question, "public").answer


DAYS = [None, date(2025, 3, 1), date(2026, 1, 1), date(2026, 6, 30), date(2026, 12, 31),
        date(2027, 2, 15)]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    ends=st.lists(st.tuples(partners, st.sampled_from(DAYS)), min_size=0, max_size=25),
    first=st.sampled_from(DAYS[1:]),
    last=st.sampled_from(DAYS[1:]),
)
def test_bisecting_by_end_date_finds_exactly_what_a_scan_finds(ends, first, last):
    """Whatever order the facts arrive in, the catalog is in end-date order (unknown last), so
    the period and in-force bisections of the structured answers equal a pass over all."""
    stored = [
        StoredAgreement(AgreementFact(name, n, n + 1, ends_on=day), f"doc{n}", "public", "t", "s")
        for n, (name, day) in enumerate(ends)
    ]
    catalog = Catalog.build(((("public",)), (None,)), stored, [], [])
    primaries = catalog.primaries
    known, unknown = _by_end(primaries)
    assert known == [a for a in primaries if a.fact.ends_on is not None]
    assert unknown == [a for a in primaries if a.fact.ends_on is None]
    chosen = known[_ending_before(known, first) : _ending_by(known, last)]
    assert chosen == [a for a in known if first <= a.fact.ends_on <= last]
    assert known[_ending_before(known, first) :] == [a for a in known if a.fact.ends_on >= first]


@settings(max_examples=150, deadline=None)
@given(
    texts=st.lists(
        st.lists(
            st.sampled_from(["contact", "internat", "intern", "stage", "стажир", "relat", "x"]),
            max_size=5,
        ).map(" ".join),
        max_size=30,
    ),
    stems=st.lists(
        st.sampled_from(["conta", "inter", "stag", "стажи", "relat", "zzzz"]), max_size=4
    ),
)
def test_contacts_are_found_and_ranked_exactly_as_a_scan_would(texts, stems):
    """Most stems contained first, ties in catalog order; asked twice (the kept stems), the
    same."""
    catalog = Catalog.build(((("public",)), (None,)), [], [object()] * len(texts), texts)  # type: ignore[list-item]
    scan = [(sum(stem in text for stem in set(stems)), i) for i, text in enumerate(texts)]
    expected = sorted([hit for hit in scan if hit[0]], key=lambda hit: (-hit[0], hit[1]))
    assert catalog.contacts_matching(stems) == expected
    assert catalog.contacts_matching(stems) == expected
