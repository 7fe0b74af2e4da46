"""Structured questions: relative periods, routing in both languages, cited list answers."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.knowledge.answers import KnowledgeAnswerer
from assistant.knowledge.listing import agreement_rows, contact_rows
from assistant.knowledge.periods import find_period, parse_option
from assistant.knowledge.router import route
from vectorstore.fact_records import AgreementFact, ContactFact, ExtractedFacts
from vectorstore.facts_db import FactsDB
from vectorstore.facts_store import replace_facts
from vectorstore.records import DocumentRecord, Visibility

TODAY = date(2026, 11, 25)

REGISTRY = (
    "Partner: Havana Institute; Country: Cuba; Expires: 2026-12-15\n"
    "Partner: Minsk Center; Country: Belarus; Expires: 2026-03-01\n"
    "Partner: Hanoi Institute; Country: Vietnam; Expires: 2027-05-01\n"
    "Partner: Karaganda Center; Country: Kazakhstan\n"
)
INTERNAL = "Partner: Zanzibar Polytechnic; Country: Tanzania; Expires: 2026-12-20\n"


def _line(text: str, needle: str) -> tuple[int, int]:
    start = text.index(needle)
    return start, text.index("\n", start)


def _registry(path: Path, language: str, text: str, ends: dict[str, date]) -> FactsDB:
    """A facts database holding one public registry `text` whose line for each partner in
    `ends` states that partner's end date."""
    db = FactsDB(path)
    with db.transaction() as conn:
        document = DocumentRecord("reg", "reg.csv", "reg", "csv", language, "public", text, "h")
        FactsDB.replace_document(conn, document, "/reg.csv", [], "now")
        agreements = [
            AgreementFact(name, *_line(text, name), ends_on=end, ends_precision="day")
            for name, end in ends.items()
        ]
        replace_facts(conn, "reg", "public", ExtractedFacts(agreements))
    return db


@pytest.fixture
def facts(tmp_path) -> FactsDB:
    db = FactsDB(tmp_path / "facts.sqlite3")
    with db.transaction() as conn:
        sources: tuple[tuple[str, str, Visibility], ...] = (
            ("reg", REGISTRY, "public"),
            ("int", INTERNAL, "internal"),
        )
        for doc_id, text, visibility in sources:
            document = DocumentRecord(
                doc_id, f"{doc_id}.csv", f"{doc_id} registry", "csv", "en", visibility, text, "h"
            )
            FactsDB.replace_document(conn, document, f"/{doc_id}.csv", [], "now")
        rows = [
            ("Havana Institute", "Cuba", date(2026, 12, 15)),
            ("Minsk Center", "Belarus", date(2026, 3, 1)),
            ("Hanoi Institute", "Vietnam", date(2027, 5, 1)),
            ("Karaganda Center", "Kazakhstan", None),
        ]
        agreements = [
            AgreementFact(partner, *_line(REGISTRY, partner), country=country, ends_on=end,
                          ends_precision="day" if end else None)
            for partner, country, end in rows
        ]  # fmt: skip
        contact = ContactFact(
            *_line(REGISTRY, "Havana"), person="Ana Perez", email="ana@example.org"
        )
        replace_facts(conn, "reg", "public", ExtractedFacts(agreements, [contact], []))
        replace_facts(
            conn,
            "int",
            "internal",
            ExtractedFacts(
                [
                    AgreementFact(
                        "Zanzibar Polytechnic",
                        *_line(INTERNAL, "Zanzibar"),
                        country="Tanzania",
                        ends_on=date(2026, 12, 20),
                        ends_precision="day",
                    )
                ]
            ),
        )
    return db


def test_periods_resolve_against_today_at_the_edges():
    new_years_eve = date(2026, 12, 31)
    assert find_period("this year", new_years_eve).last == new_years_eve  # type: ignore[union-attr]
    sixty = find_period("in the next 60 days", new_years_eve)
    assert sixty is not None and sixty.last == date(2027, 3, 1)
    leap = date(2028, 2, 29)
    assert parse_option("1d", leap).last == date(2028, 3, 1)
    assert parse_option("2028", TODAY).contains(leap)
    end_of_year = find_period("Какие договоры заканчиваются до конца года?", TODAY)
    assert end_of_year is not None and (end_of_year.first, end_of_year.last) == (
        TODAY,
        date(2026, 12, 31),
    )
    with pytest.raises(ValueError, match="unknown period"):
        parse_option("soon", TODAY)


@pytest.mark.parametrize(
    ("question", "intent"),
    [
        ("Which agreements expire this year?", "expiring"),
        ("What agreements run out in the next 60 days?", "expiring"),
        ("Which contracts end in 2027?", "expiring"),
        ("Which MOUs expire this year?", "expiring"),
        ("WHICH AGREEMENTS EXPIRE IN 2027?", "expiring"),
        ("Какие соглашения истекают в этом году?", "expiring"),
        ("У каких договоров срок действия заканчивается до конца года?", "expiring"),
        ("What did we sign in 2017?", "signed"),
        ("Что мы подписали в 2017 году?", "signed"),
        ("Which partners do we have in Belarus?", "country"),
        ("Какие у нас партнёры в Беларуси?", "country"),
        ("How many agreements are in force?", "count"),
        ("Сколько у нас действующих соглашений?", "count"),
        ("Whom do I contact about an internship?", "contacts"),
        ("К кому обратиться по поводу стажировки?", "contacts"),
    ],
)
def test_structured_questions_are_recognised_in_both_languages(question, intent):
    routed = route(question, TODAY)
    assert routed is not None and routed.intent == intent


@pytest.mark.parametrize(
    "question",
    [
        "Which international organisations does the institute work with?",
        "Who signed the agreement between the Ministry of Labor and Skolkovo?",
        "What is the REMPAN network?",
        "Где прошёл форум «Открытые инновации»?",
    ],
)
def test_other_questions_go_to_retrieval(question):
    assert route(question, TODAY) is None


def test_expiring_this_year_lists_each_agreement_with_days_left_and_citations(facts):
    answerer = KnowledgeAnswerer(facts, lambda: TODAY)
    routed = route("Which agreements expire this year?", TODAY)
    assert routed is not None
    answer = answerer.answer(routed, "en", "public")
    assert answer is not None and answer.found and answer.mode == "structured"
    assert "Havana Institute (Cuba)" in answer.answer and "expires in 20 days" in answer.answer
    assert "Minsk Center (Belarus)" in answer.answer and "expired on 1 March 2026" in answer.answer
    assert "Hanoi" not in answer.answer
    assert "1 agreement in the documents has no known end date" in answer.answer
    for citation in answer.citations:
        document = facts.get_document(citation.doc_id)
        assert document is not None
        text = document.text
        assert text[citation.start : citation.end] == citation.quote
        assert f"[{citation.n}]" in answer.answer


def test_one_day_left_reads_tomorrow_in_both_languages(facts):
    day_before = TODAY + timedelta(days=19)  # Havana ends 20 days after TODAY
    answerer = KnowledgeAnswerer(facts, lambda: day_before)
    routed = route("Which agreements expire this year?", day_before)
    assert routed is not None
    english = answerer.answer(routed, "en", "public")
    russian = answerer.answer(routed, "ru", "public")
    assert english is not None and "expires tomorrow" in english.answer
    assert "1 days" not in english.answer
    assert russian is not None and "истекает завтра" in russian.answer


def test_visitors_never_see_internal_agreements_and_staff_do(facts):
    answerer = KnowledgeAnswerer(facts, lambda: TODAY)
    routed = route("Which agreements expire this year?", TODAY)
    assert routed is not None
    visitor = answerer.answer(routed, "en", "public")
    staff = answerer.answer(routed, "en", "staff")
    assert visitor is not None and "Zanzibar" not in visitor.answer
    assert staff is not None and "Zanzibar Polytechnic" in staff.answer
    public_rows = agreement_rows(facts, "public", TODAY, parse_option("this-year", TODAY))
    assert [r["partner"] for r in public_rows["agreements"]] == ["Minsk Center", "Havana Institute"]
    assert public_rows["without_end_date"] == 1
    staff_rows = agreement_rows(facts, "staff", TODAY, parse_option("60d", TODAY))
    assert [r["partner"] for r in staff_rows["agreements"]] == [
        "Havana Institute",
        "Zanzibar Polytechnic",
    ]
    assert staff_rows["agreements"][0]["days_left"] == 20


def test_russian_answers_speak_russian(facts):
    answerer = KnowledgeAnswerer(facts, lambda: TODAY)
    routed = route("Какие соглашения истекают в этом году?", TODAY)
    assert routed is not None
    answer = answerer.answer(routed, "ru", "public")
    assert answer is not None and answer.language == "ru"
    assert "истекает через 20 дн." in answer.answer and "истекло 01.03.2026" in answer.answer


def test_with_no_known_end_dates_it_says_so_and_lists_what_it_knows(tmp_path):
    db = FactsDB(tmp_path / "f.sqlite3")
    text = "In 2017 our Institute signed an agreement with the Havana Institute.\n"
    with db.transaction() as conn:
        document = DocumentRecord("d", "d.txt", "d", "txt", "en", "public", text, "h")
        FactsDB.replace_document(conn, document, "/d.txt", [], "now")
        fact = AgreementFact("Havana Institute", 0, len(text) - 1, signed_on=date(2017, 1, 1),
                             signed_precision="year")  # fmt: skip
        replace_facts(conn, "d", "public", ExtractedFacts([fact]))
    routed = route("Which agreements expire this year?", TODAY)
    assert routed is not None
    answer = KnowledgeAnswerer(db, lambda: TODAY).answer(routed, "en", "public")
    assert answer is not None
    assert answer.answer.startswith("No agreement in the documents has a known end date this year.")
    assert "Havana Institute" in answer.answer and "signed 2017" in answer.answer
    assert answer.citations[0].quote == text.strip()


def test_country_and_contact_questions(facts):
    answerer = KnowledgeAnswerer(facts, lambda: TODAY)
    belarus = answerer.answer(route("Which partners do we have in Belarus?", TODAY), "en", "public")  # type: ignore[arg-type]
    assert (
        belarus is not None and "Minsk Center" in belarus.answer and "Havana" not in belarus.answer
    )
    nowhere = answerer.answer(route("Do we have partners in Brazil?", TODAY), "en", "public")  # type: ignore[arg-type]
    assert nowhere is None  # nothing in the facts: similarity search answers or declines
    assert [row["person"] for row in contact_rows(facts, "public", "havana")] == ["Ana Perez"]
    assert contact_rows(facts, "public", "nobody-here") == []


def test_a_named_partner_narrows_the_list_or_leaves_it_to_retrieval(facts):
    answerer = KnowledgeAnswerer(facts, lambda: TODAY)
    havana = route("When does the agreement with the Havana Institute expire?", TODAY)
    assert havana is not None and havana.partner_terms == ("havana", "institute")
    answer = answerer.answer(havana, "en", "public")
    assert (
        answer is not None and "Havana Institute" in answer.answer and "Minsk" not in answer.answer
    )
    unknown = route("When does the agreement with Quokkaville University expire?", TODAY)
    assert unknown is not None and answerer.answer(unknown, "en", "public") is None


def test_a_partner_named_by_its_acronym_is_that_partner_or_left_to_retrieval(facts):
    """ "When does the contract with AMST expire?" is about AMST, not the year's list; an
    acronym the facts do not know (WHO here) leaves the question to the pages. A question typed
    in capitals has no acronyms."""
    text = "Partner: AMST-System Technician; Expires: 2027-02-28\nPartner: Havana Institute\n"
    ends = {"AMST-System Technician": date(2027, 2, 28), "Havana Institute": date(2026, 12, 15)}
    db = _registry(facts.path.parent / "acronyms.sqlite3", "en", text, ends)
    answerer = KnowledgeAnswerer(db, lambda: TODAY)
    for question in ("When does the contract with AMST expire?", "Когда истекает договор с AMST?"):
        routed = route(question, TODAY)
        assert routed is not None and routed.partner_terms == ("amst",)
        answer = answerer.answer(routed, "en", "public")
        assert answer is not None and "AMST" in answer.answer and "Havana" not in answer.answer
    who = route("When does the agreement with WHO expire?", TODAY)
    assert who is not None and answerer.answer(who, "en", "public") is None
    shouted = route("WHEN DOES THE AGREEMENT WITH THE HAVANA INSTITUTE EXPIRE?", TODAY)
    assert shouted is not None and shouted.partner_terms == ()


def test_a_named_partner_is_not_answered_with_a_sibling_of_a_similar_name(tmp_path):
    """At scale many partners share words: "Federal University of Occupational Health
    (Leipzig)" and "Federal Research Centre of Materials Science (Leipzig)". A question about
    one gets that one's end date, whenever it is (not only the coming year's), or, when the
    facts do not know it, is left to retrieval; never the other one's."""
    text = (
        "Partner: Federal Research Centre of Materials Science (Leipzig); Expires: 2026-12-01\n"
        "Partner: Federal University of Occupational Health (Leipzig); Expires: 2028-12-04\n"
        "Partner: Eastern Academy of Oncology (Astana); Expires: 2029-08-25\n"
    )
    db = _registry(
        tmp_path / "f.sqlite3",
        "en",
        text,
        {
            "Federal Research Centre of Materials Science (Leipzig)": date(2026, 12, 1),
            "Federal University of Occupational Health (Leipzig)": date(2028, 12, 4),
            "Eastern Academy of Oncology (Astana)": date(2029, 8, 25),
        },
    )
    answerer = KnowledgeAnswerer(db, lambda: TODAY)

    def ask(question: str) -> Any:
        routed = route(question, TODAY)
        assert routed is not None and routed.intent == "expiring"
        return answerer.answer(routed, "en", "public")

    university = ask(
        "When does the agreement with the Federal University of Occupational Health (Leipzig) "
        "expire?"
    )
    assert university is not None and university.found
    assert "4 December 2028" in university.answer and "Materials" not in university.answer
    # A partner the facts do not know, whose words other partners share: not theirs.
    assert (
        ask("When does the agreement with the Eastern Centre of Oncology (Astana) expire?") is None
    )
    # Plural kinds of organisation still find them, and a list question keeps the coming year.
    centres = ask("Which agreements with Research Centres expire?")
    assert centres is not None and "Materials Science" in centres.answer
    assert "Occupational" not in centres.answer
    coming = route("Which agreements expire?", TODAY)
    assert coming is not None and coming.period is not None


def test_concurrent_staff_and_visitor_questions_never_mix_citations(tmp_path):
    """An internal note about a public partner merges with it for staff only, also when staff
    and visitors are answered at the same time by one answerer (as the API's threads do).
    The answerer keeps no per-request state, so no interleaving can mix audiences; this checks
    the audience rule under that use, it cannot force a particular interleaving."""
    from concurrent.futures import ThreadPoolExecutor

    db = FactsDB(tmp_path / "f.sqlite3")
    public_text = "Partner: Havana Institute of Hygiene; Expires: 2026-12-15\n"
    internal_text = (
        "Internal: the Havana Institute agreement ZQX-42 renegotiation is confidential.\n"
    )
    with db.transaction() as conn:
        for doc_id, text, visibility in (
            ("pub", public_text, "public"),
            ("int", internal_text, "internal"),
        ):
            document = DocumentRecord(doc_id, doc_id, doc_id, "txt", "en", visibility, text, "h")  # type: ignore[arg-type]
            FactsDB.replace_document(conn, document, f"/{doc_id}", [], "now")
        replace_facts(
            conn, "pub", "public",
            ExtractedFacts([AgreementFact("Havana Institute of Hygiene", 0, len(public_text) - 1,
                                          ends_on=date(2026, 12, 15), ends_precision="day")]),
        )  # fmt: skip
        replace_facts(
            conn, "int", "internal",
            ExtractedFacts([AgreementFact("Havana Institute of Hygiene", 0, len(internal_text))]),
        )  # fmt: skip
    answerer = KnowledgeAnswerer(db, lambda: TODAY)
    routed = route("Which agreements expire this year?", TODAY)
    assert routed is not None

    def ask(audience: str) -> tuple[str, list[str]]:
        answer = answerer.answer(routed, "en", audience)  # type: ignore[arg-type]
        assert answer is not None
        return audience, [c.quote for c in answer.citations]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(ask, ["staff", "public"] * 150))
    for audience, quotes in results:
        leaked = any("ZQX-42" in quote for quote in quotes)
        assert leaked == (audience == "staff"), (audience, quotes)


def test_merging_many_mentions_groups_exactly_as_comparing_every_pair():
    import random

    from assistant.knowledge.merging import merge_agreements
    from vectorstore.fact_records import AgreementFact
    from vectorstore.facts_store import StoredAgreement

    rng = random.Random(7)
    stems = [
        "National Institute of Workers' Health",
        "Institute of Occupational Medicine",
        "Centre for Radiation Safety Research",
        "University of Applied Hygiene",
    ]
    places = [("Havana", "Cuba"), ("Minsk", "Belarus"), ("Hanoi", "Vietnam"), (None, None)]
    items = []
    for n in range(300):
        stem = rng.choice(stems)
        city, country = rng.choice(places)
        partner = f"{stem} ({city})" if city and rng.random() < 0.5 else stem
        if rng.random() < 0.3:
            partner = f"{partner} No {n}"  # a longer name: still a prefix match of the stem
        if rng.random() < 0.2:
            partner = f"Agency {n} for Testing"  # unique
        fact = AgreementFact(partner=partner, evidence_start=0, evidence_end=1, country=country)
        items.append(StoredAgreement(fact, f"d{n}", "public", "t", "s"))

    merged = merge_agreements(items)
    groups = sorted(sorted(id(x) for x in (m.primary, *m.others)) for m in merged)
    assert groups == _reference_groups(items)


def _reference_groups(items: list[Any]) -> list[list[int]]:
    from assistant.knowledge.merging import same_partner

    groups: list[list[Any]] = []  # the definition: the first group with a matching mention
    for item in items:
        for group in groups:
            if any(same_partner(item, member) for member in group):
                group.append(item)
                break
        else:
            groups.append([item])
    return sorted(sorted(id(x) for x in group) for group in groups)


@settings(max_examples=200, deadline=None)
@given(
    mentions=st.lists(
        st.tuples(
            st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=6),
            st.sampled_from(["", " (b c d e)", " (a b c)", " (x)"]),
            st.sampled_from([None, "", "Cuba", "Belarus"]),
        ),
        max_size=30,
    )
)
def test_merging_groups_exactly_as_comparing_with_every_group(mentions):
    """Short and long names, bracketed aliases, unknown and conflicting countries: the
    indexed merge forms the groups the definition does."""
    from assistant.knowledge.merging import merge_agreements
    from vectorstore.fact_records import AgreementFact
    from vectorstore.facts_store import StoredAgreement

    items = [
        StoredAgreement(
            AgreementFact(
                partner=" ".join(words) + alias, evidence_start=0, evidence_end=1, country=country
            ),
            f"d{n}",
            "public",
            "t",
            "s",
        )
        for n, (words, alias, country) in enumerate(mentions)
    ]
    merged = merge_agreements(items)
    groups = sorted(sorted(id(x) for x in (m.primary, *m.others)) for m in merged)
    assert groups == _reference_groups(items)


def test_a_mention_placed_by_its_name_is_not_merged_with_a_namesake_elsewhere():
    """A registry row in Cuba and a page about the namesake in Astana (no country stated, the
    city in its name) are two partners; a page naming no place still joins the row."""
    from assistant.knowledge.merging import merge_agreements
    from vectorstore.fact_records import AgreementFact
    from vectorstore.facts_store import StoredAgreement

    def mention(partner: str, country: str | None, n: int) -> StoredAgreement:
        fact = AgreementFact(partner=partner, evidence_start=0, evidence_end=1, country=country)
        return StoredAgreement(fact, f"d{n}", "public", "t", "s")

    row = mention("Eastern Centre of Nuclear Physics (Havana)", "Cuba", 0)
    astana = mention("Eastern Centre of Nuclear Physics (Astana)", None, 1)
    unplaced = mention("Eastern Centre of Nuclear Physics", None, 2)
    merged = merge_agreements([row, astana, unplaced])
    groups = sorted(sorted(item.doc_id for item in (m.primary, *m.others)) for m in merged)
    assert groups == [["d0", "d2"], ["d1"]]


def test_a_partner_named_in_another_russian_case_is_found(tmp_path):
    """A Russian question names the partner in the case its grammar asks for ("с Восточным
    университетом … (Анкара)"); the facts have it as the document does ("Восточный
    университет … (Анкара)"). It is the same partner; a sibling in the same city is not."""
    text = (
        "Партнёр: Восточный университет реабилитационной медицины (Анкара); до 2027-01-15\n"
        "Партнёр: Государственный фонд авиационной медицины (Анкара); до 2026-12-20\n"
    )
    db = _registry(
        tmp_path / "f.sqlite3",
        "ru",
        text,
        {
            "Восточный университет реабилитационной медицины (Анкара)": date(2027, 1, 15),
            "Государственный фонд авиационной медицины (Анкара)": date(2026, 12, 20),
        },
    )
    routed = route(
        "Когда истекает соглашение с Восточным университетом реабилитационной медицины (Анкара)?",
        TODAY,
    )
    assert routed is not None and routed.intent == "expiring"
    answer = KnowledgeAnswerer(db, lambda: TODAY).answer(routed, "ru", "public")
    assert answer is not None and answer.found
    assert "15.01.2027" in answer.answer and "авиационной" not in answer.answer


def test_a_partner_named_in_the_other_script_is_found_by_its_name_and_kind(tmp_path):
    """A registry in English, a question in Russian (and the other way round): a name is
    compared by its transliteration ("Сколково", "Skolkovo"), a kind of organisation by its
    counterpart ("фонд", "Foundation"). A partner of the same name and another kind, or of a
    name that only translates ("Восточный", "Eastern"), is not taken for it: such a question is
    left to retrieval."""
    text = (
        "Partner: Skolkovo Foundation; Expires: 2029-10-16\n"
        "Partner: Skolkovo Institute of Science and Technology; Expires: 2027-03-01\n"
        "Partner: Eastern University of Medicine (Ankara); Expires: 2027-01-15\n"
        "Partner: Фонд «Росатом»; Expires: 2028-02-02\n"
        "Partner: Provincial Research Centre of Industrial Safety (Samarkand); "
        "Expires: 2026-03-02\n"
    )
    db = _registry(
        tmp_path / "f.sqlite3",
        "en",
        text,
        {
            "Skolkovo Foundation": date(2029, 10, 16),
            "Skolkovo Institute of Science and Technology": date(2027, 3, 1),
            "Eastern University of Medicine (Ankara)": date(2027, 1, 15),
            "Фонд «Росатом»": date(2028, 2, 2),
            "Provincial Research Centre of Industrial Safety (Samarkand)": date(2026, 3, 2),
        },
    )
    answerer = KnowledgeAnswerer(db, lambda: TODAY)

    def ask(question: str, language: str = "ru") -> Any:
        routed = route(question, TODAY)
        assert routed is not None and routed.intent == "expiring"
        return answerer.answer(routed, language, "public")  # type: ignore[arg-type]

    foundation = ask("Когда истекает соглашение с Фондом Сколково?")
    assert foundation is not None and foundation.found
    assert "16.10.2029" in foundation.answer and "Technology" not in foundation.answer
    institute = ask("Когда истекает соглашение с Институтом Сколково?")
    assert institute is not None and "01.03.2027" in institute.answer
    assert "Foundation" not in institute.answer
    rosatom = ask("When does the agreement with the Rosatom Foundation expire?", "en")
    assert rosatom is not None and "2 February 2028" in rosatom.answer
    assert ask("Когда истекает соглашение с Восточным университетом медицины (Анкара)?") is None
    assert ask("Когда истекает соглашение с Фондом Женевы?") is None
    # "Центральным" is not a kind of organisation ("центр"): not the Centre in Samarkand.
    assert ask("Когда истекает соглашение с Центральным фондом безопасности (Самарканд)?") is None
    samarkand = ask("Когда истекает соглашение с Центром промышленной безопасности (Самарканд)?")
    assert samarkand is not None and "02.03.2026" in samarkand.answer


CONTACTS_REGISTRY = (
    "Partner: Hanoi Institute of Occupational Health; Country: Vietnam; Responsible: Asia Desk; "
    "E-mail: asia@example.org\n"
    "Partner: Havana Institute of Hygiene; Country: Cuba; Responsible: Americas Desk; "
    "E-mail: americas@example.org\n"
    "Partner: Minsk Institute of Hygiene; Country: Belarus\n"
    "The coordinator of the work with the Hanoi Institute of Occupational Health is Dr. Lan Vu, "
    "lan.vu@example.org.\n"
    "The internship coordinator is Dr. Ivan Petrov, interns@example.org.\n"
)


@pytest.fixture
def contacts_db(tmp_path) -> FactsDB:
    """A registry naming who is responsible for two agreements (not a third), and two people
    with contact details: one for the Hanoi partner, one for internships."""
    text = CONTACTS_REGISTRY
    db = FactsDB(tmp_path / "contacts.sqlite3")
    with db.transaction() as conn:
        document = DocumentRecord("reg", "reg.csv", "reg", "csv", "en", "public", text, "h")
        FactsDB.replace_document(conn, document, "/reg.csv", [], "now")
        rows = [
            ("Hanoi Institute of Occupational Health", "Vietnam", "Asia Desk", "asia@example.org"),
            ("Havana Institute of Hygiene", "Cuba", "Americas Desk", "americas@example.org"),
            ("Minsk Institute of Hygiene", "Belarus", None, None),
        ]
        agreements = [
            AgreementFact(partner, *_line(text, f"Partner: {partner}"), country=country,
                          responsible=responsible, email=email)
            for partner, country, responsible, email in rows
        ]  # fmt: skip
        people = [
            ContactFact(*_line(text, "The coordinator"), person="Lan Vu", role="coordinator",
                        email="lan.vu@example.org"),
            ContactFact(*_line(text, "The internship"), person="Ivan Petrov",
                        role="internship coordinator", email="interns@example.org"),
        ]  # fmt: skip
        replace_facts(conn, "reg", "public", ExtractedFacts(agreements, people, []))
    return db


def _ask(db: FactsDB, question: str, language: str = "en") -> Any:
    routed = route(question, TODAY)
    assert routed is not None and routed.intent == "contacts", question
    answer = KnowledgeAnswerer(db, lambda: TODAY).answer(routed, language, "public")  # type: ignore[arg-type]
    if answer is not None:
        for citation in answer.citations:  # every quote is the served text's span
            assert citation.quote == CONTACTS_REGISTRY[citation.start : citation.end]
    return answer


def test_who_is_responsible_for_an_agreement_is_that_agreements_responsible_and_people(
    contacts_db,
):
    """Asked who is responsible for the agreement with a partner, the answer gives who the
    registry says is (with its e-mail) and the people whose details name that partner, each
    cited; not the contacts of other partners or topics (it listed any contact sharing a word
    with the question: "agreement", "health")."""
    answer = _ask(
        contacts_db,
        "Who is responsible for the agreement with the Hanoi Institute of Occupational Health?",
    )
    assert answer is not None and answer.found
    assert "Asia Desk" in answer.answer and "asia@example.org" in answer.answer
    assert "Lan Vu" in answer.answer and "lan.vu@example.org" in answer.answer
    for other in ("Americas", "Havana", "Petrov", "Minsk"):
        assert other not in answer.answer
    quotes = [c.quote for c in answer.citations]
    assert quotes[0].startswith("Partner: Hanoi") and quotes[1].startswith("The coordinator")
    russian = _ask(contacts_db, "Кто отвечает за соглашение с Havana Institute of Hygiene?", "ru")
    assert russian is not None and "ответственный: Americas Desk" in russian.answer
    assert "Asia" not in russian.answer


def test_contact_questions_about_a_country_a_silent_registry_and_an_unknown_partner(
    contacts_db,
):
    cuba = _ask(contacts_db, "Who is responsible for our agreements with Cuba?")
    assert cuba is not None and "Americas Desk" in cuba.answer and "Asia" not in cuba.answer
    # Recorded, but nobody named: said so (found is false), with what is known of it.
    silent = _ask(contacts_db, "Who is responsible for the agreement with the Minsk Institute?")
    assert silent is not None and not silent.found
    assert "do not say who is responsible" in silent.answer and "Minsk" in silent.answer
    assert "Asia" not in silent.answer and "Americas" not in silent.answer
    # A partner the facts do not know: the pages may still say (never another's contacts).
    assert _ask(contacts_db, "Who is responsible for the agreement with Quokka University?") is None


def test_a_contact_question_about_a_topic_finds_the_contacts_by_their_words(contacts_db):
    answer = _ask(contacts_db, "Whom do I contact about an internship?")
    assert answer is not None and answer.found
    assert answer.answer.splitlines()[1].startswith("- Ivan Petrov")


def test_a_visitor_asking_who_is_responsible_for_an_internal_agreement_learns_nothing(facts):
    """The internal registry's Zanzibar agreement names nobody responsible: staff are told so,
    with its row; a visitor's question goes on to the public pages (nothing about it here)."""
    answerer = KnowledgeAnswerer(facts, lambda: TODAY)
    routed = route("Who is responsible for the agreement with Zanzibar Polytechnic?", TODAY)
    assert routed is not None and routed.intent == "contacts"
    assert answerer.answer(routed, "en", "public") is None
    staff = answerer.answer(routed, "en", "staff")
    assert staff is not None and not staff.found and "Zanzibar Polytechnic" in staff.answer


def test_a_russian_name_keeps_its_capitalised_first_word_whatever_it_means():
    """A Russian name writes only its first word with a capital: "Национальным институтом
    ядерной физики (Белград)". That word is what tells it from the other partners in Belgrade,
    so it is a partner term even though "National" is a generic word in English (taking it
    out answered with two other Belgrade partners' rows, at 1k chunks)."""
    routed = route(
        "Когда истекает соглашение с Национальным институтом ядерной физики (Белград)?", TODAY
    )
    assert routed is not None and "национальн" in routed.partner_terms
