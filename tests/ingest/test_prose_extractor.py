"""Facts from prose: a labelled set of English and Russian sentences (precision and recall of
agreements), traps, and the three sample documents.

`measure()` returns the numbers; `pytest -s` prints them.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path
from typing import NamedTuple

import pytest

from ingest.facts.models import AgreementFact
from ingest.facts.prose_extractor import extract_from_prose, sentences
from ingest.normalize import normalize_text

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "data" / "sample"


class Expected(NamedTuple):
    """An agreement a reader finds in the snippet: partner (a substring of the extracted
    partner), signing date and end date (None where the text states none)."""

    partner: str
    signed: date | None = None
    ends: date | None = None


D = date
# (language, snippet, the agreements in it)
LABELLED: list[tuple[str, str, list[Expected]]] = [
    ("en", "In 2017, within the framework of the cooperation between the Ministry of Education "
     "and Science of the Russian Federation and the Republic of Cuba, our Institute signed a "
     "two-sided agreement with the National Institute of Workers' Health in Havana.",
     [Expected("National Institute of Workers' Health", D(2017, 1, 1))]),
    ("en", "The memorandum of understanding with the University of Tartu was signed on "
     "15 March 2022 for a period of five years.",
     [Expected("University of Tartu", D(2022, 3, 15), D(2027, 3, 15))]),
    ("en", "The agreement with the Karolinska Institute is valid until 31 December 2025.",
     [Expected("Karolinska Institute", None, D(2025, 12, 31))]),
    ("en", "The contract with the Kazakh Medical University has been renewed.",
     [Expected("Kazakh Medical University")]),
    ("en", "The agreement with the University of Helsinki was extended until 31 December 2026.",
     [Expected("University of Helsinki", None, D(2026, 12, 31))]),
    ("en", "At the meeting on 12 May 2021, the parties discussed the agreement with the "
     "Institute of Occupational Health of Finland.",
     [Expected("Institute of Occupational Health of Finland")]),
    ("en", "We signed an agreement with the University of Oslo in 2019 and a memorandum with "
     "the Latvian Institute of Public Health in 2021.",
     [Expected("University of Oslo", D(2019, 1, 1)),
      Expected("Latvian Institute of Public Health", D(2021, 1, 1))]),
    ("en", "A cooperation agreement was concluded with the Belarusian State Medical University "
     "for 3 years.",
     [Expected("Belarusian State Medical University")]),
    ("en", "The agreement with the Serbian Institute of Occupational Health, signed in 2016, is "
     "in force until 2026.",
     [Expected("Serbian Institute of Occupational Health", D(2016, 1, 1), D(2026, 12, 31))]),
    ("en", "The memorandum with the Tashkent Medical Academy expires on 30 June 2024.",
     [Expected("Tashkent Medical Academy", None, D(2024, 6, 30))]),
    ("en", "For several years the agreement on cooperation with the Serbian Institute of "
     "Occupational Health has been continuing.",
     [Expected("Serbian Institute of Occupational Health")]),
    ("en", "On 21 and 22 August 2017 a delegation visited Moscow to discuss the agreement with "
     "the National Center of Oncology.",
     [Expected("National Center of Oncology")]),
    ("en", "The agreement with Charles University was signed on 1 March 2020 and remains valid "
     "until 1 March 2025.",
     [Expected("Charles University", D(2020, 3, 1), D(2025, 3, 1))]),
    ("en", "The Institute has contracts with the Republican Center for Labor Protection and the "
     "Scientific and Practical Center for Hygiene of the Republic of Belarus.",
     [Expected("Republican Center for Labor Protection"),
      Expected("Scientific and Practical Center for Hygiene")]),
    ("en", "A memorandum with the Vietnamese Institute of Occupational Health and Environment "
     "was signed in September 2018 for a term of 5 years.",
     [Expected("Vietnamese Institute", D(2018, 9, 1), D(2023, 9, 30))]),
    ("en", "The agreement with the World Health Organization (WHO) is valid from 1 January 2024 "
     "to 31 December 2027.",
     [Expected("World Health Organization", None, D(2027, 12, 31))]),
    ("en", "The 2nd meeting of the joint working group under the agreement with the Cuban "
     "Ministry of Public Health was held on 5 October 2019.",
     [Expected("Cuban Ministry of Public Health")]),
    ("en", "Our MoU with the Finnish Institute of Occupational Health was prolonged until "
     "December 2025.",
     [Expected("Finnish Institute of Occupational Health", None, D(2025, 12, 31))]),
    ("en", "The agreement with the University of Hamburg, signed in 2015 for five years, "
     "expired in 2020.",
     [Expected("University of Hamburg", D(2015, 1, 1), D(2020, 12, 31))]),
    ("en", "The agreement with the Polish Nofer Institute of Occupational Medicine expires at "
     "the end of 2024.",
     [Expected("Nofer Institute of Occupational Medicine", None, D(2024, 12, 31))]),
    ("en", "Bilateral contracts on cooperation with foreign scientific institutions.", []),
    ("en", "The parties agreed to participate jointly in various events such as conferences.",
     []),
    ("en", "Since 2017, our Institute has become a participant in the Framework Program for "
     "Scientific Research “Horizon 2020”.", []),
    ("ru", "Соглашение о сотрудничестве с Белорусским государственным медицинским "
     "университетом подписано 15.03.2022 сроком на пять лет.",
     [Expected("Белорусским государственным медицинским университетом", D(2022, 3, 15),
               D(2027, 3, 15))]),
    ("ru", "Соглашение с Казахским национальным медицинским университетом продлено до "
     "31.12.2026.",
     [Expected("Казахским национальным медицинским университетом", None, D(2026, 12, 31))]),
    ("ru", "Меморандум с Ташкентской медицинской академией действует до 31 декабря 2025 года.",
     [Expected("Ташкентской медицинской академией", None, D(2025, 12, 31))]),
    ("ru", "В 2019 году Институт заключил соглашение с Национальным центром гигиены труда "
     "Республики Казахстан.",
     [Expected("Национальным центром гигиены труда", D(2019, 1, 1))]),
    ("ru", "Договор с Республиканским научно-практическим центром гигиены был пролонгирован.",
     [Expected("Республиканским научно-практическим центром гигиены")]),
    ("ru", "Соглашение с Университетом Тарту заключено на 3 года.",
     [Expected("Университетом Тарту")]),
    ("ru", "На встрече 12 мая 2021 года обсуждалось соглашение с Институтом медицины труда "
     "Финляндии.",
     [Expected("Институтом медицины труда")]),
    ("ru", "С 1 января по 31 декабря 2024 года действует договор с Сербским институтом "
     "медицины труда.",
     [Expected("Сербским институтом медицины труда", None, D(2024, 12, 31))]),
    ("ru", "Договор от 20.05.2021 № 15 с Гомельским медицинским университетом действует до "
     "20.05.2026.",
     [Expected("Гомельским медицинским университетом", D(2021, 5, 20), D(2026, 5, 20))]),
    ("ru", "Меморандум о взаимопонимании между Институтом и Национальным институтом здоровья "
     "Кубы подписан в 2018 году.",
     [Expected("Национальным институтом здоровья Кубы", D(2018, 1, 1))]),
    ("ru", "Соглашения с Вьетнамским институтом гигиены труда и Монгольским национальным "
     "университетом медицинских наук продлены до 2027 года.",
     [Expected("Вьетнамским институтом гигиены труда", None, D(2027, 12, 31)),
      Expected("Монгольским национальным университетом", None, D(2027, 12, 31))]),
    ("ru", "В рамках соглашения с Гаванским университетом в марте 2019 года прошёл семинар.",
     [Expected("Гаванским университетом")]),
    ("ru", "Срок действия договора с Киргизской государственной медицинской академией — до "
     "1 сентября 2025 г.",
     [Expected("Киргизской государственной медицинской академией", None, D(2025, 9, 1))]),
    ("ru", "Договор о сотрудничестве с Белорусским институтом безопасности труда подписан "
     "1 марта 2020 г. на 5 лет.",
     [Expected("Белорусским институтом безопасности труда", D(2020, 3, 1), D(2025, 3, 1))]),
    ("ru", "Стороны договорились о проведении совместных семинаров в 2024 году.", []),
    ("ru", "Соглашение с ФГБУ «НИИ медицины труда» от 10 июня 2018 г. продлено.",
     [Expected("ФГБУ «НИИ медицины труда»", D(2018, 6, 10))]),
]  # fmt: skip


def _matches(fact: AgreementFact, expected: Expected) -> bool:
    return (
        expected.partner in fact.partner
        and fact.signed_on == expected.signed
        and fact.ends_on == expected.ends
    )


def measure() -> dict[str, tuple[float, float]]:
    """Precision and recall of extracted agreements over LABELLED, per language and overall:
    a fact counts when its partner contains the expected partner and its signing and end
    dates are exactly the expected ones; each expected agreement is matched at most once."""
    counts = {lang: [0, 0, 0] for lang in ("en", "ru", "all")}  # matched, extracted, expected
    for lang, snippet, expected in LABELLED:
        text = normalize_text(snippet)
        facts = extract_from_prose(text).agreements
        unmatched = list(expected)
        matched = 0
        for fact in facts:
            hit = next((e for e in unmatched if _matches(fact, e)), None)
            if hit is not None:
                unmatched.remove(hit)
                matched += 1
        for key in (lang, "all"):
            counts[key][0] += matched
            counts[key][1] += len(facts)
            counts[key][2] += len(expected)
    return {
        key: (m / extracted if extracted else 1.0, m / wanted if wanted else 1.0)
        for key, (m, extracted, wanted) in counts.items()
    }


def test_labelled_set_precision_and_recall() -> None:
    assert len(LABELLED) >= 30
    scores = measure()
    for key, (precision, recall) in scores.items():
        print(f"agreements {key}: precision {precision:.3f} recall {recall:.3f}")
    assert scores["en"][0] >= 0.95 and scores["en"][1] >= 0.95
    assert scores["ru"][0] >= 0.95 and scores["ru"][1] >= 0.95


@pytest.mark.parametrize(("lang", "snippet", "expected"), LABELLED)
def test_every_fact_cites_its_sentence(lang: str, snippet: str, expected: list[Expected]) -> None:
    text = normalize_text(snippet)
    for fact in extract_from_prose(text).agreements:
        cited = text[fact.evidence_start : fact.evidence_end]
        assert fact.partner in cited


def _one(text: str) -> AgreementFact:
    [fact] = extract_from_prose(normalize_text(text)).agreements
    return fact


def test_renewed_without_a_date_has_no_end() -> None:
    fact = _one("The contract with the Kazakh Medical University has been renewed.")
    assert fact.renewed and fact.status == "renewed" and fact.ends_on is None
    ru = _one("Договор с Республиканским научно-практическим центром гигиены был пролонгирован.")
    assert ru.renewed and ru.ends_on is None


def test_a_long_standing_agreement_is_not_a_renewed_one() -> None:
    fact = _one("The agreement with the second institution — the Republican Center of Hygiene — "
                "is more prolonged.")  # fmt: skip
    assert fact.partner == "Republican Center of Hygiene" and not fact.renewed


def test_term_with_a_signing_date_gives_an_end_at_that_precision() -> None:
    day = _one("Соглашение с Белорусским государственным медицинским университетом подписано "
               "15.03.2022 сроком на пять лет.")  # fmt: skip
    assert (day.term_months, day.ends_on, day.ends_precision) == (60, D(2027, 3, 15), "day")
    month = _one("A memorandum with the Vietnamese Institute of Occupational Health and "
                 "Environment was signed in September 2018 for a term of 5 years.")  # fmt: skip
    assert (month.ends_on, month.ends_precision, month.kind) == (
        D(2023, 9, 30),
        "month",
        "memorandum",
    )


def test_term_without_a_signing_date_leaves_the_end_unknown() -> None:
    fact = _one("A cooperation agreement was concluded with the Belarusian State Medical "
                "University for 3 years.")  # fmt: skip
    assert (fact.term_months, fact.signed_on, fact.ends_on) == (36, None, None)
    ru = _one("Соглашение с Университетом Тарту заключено на 3 года.")
    assert (ru.term_months, ru.ends_on) == (36, None)


def test_a_duration_of_cooperation_is_not_a_term() -> None:
    fact = _one("The agreement with the Serbian Institute of Occupational Health has been "
                "continuing for 5 years.")  # fmt: skip
    assert fact.term_months is None and fact.status == "continuing"


def test_meeting_date_next_to_an_agreement_is_neither_signing_nor_end() -> None:
    for snippet in (
        "At the meeting on 12 May 2021, the parties discussed the agreement with the Institute "
        "of Occupational Health of Finland.",
        "На встрече 12 мая 2021 года обсуждалось соглашение с Институтом медицины труда Финляндии.",
        "The agreement with the Cuban Ministry of Public Health was discussed at a seminar held "
        "on 5 October 2019.",
    ):
        fact = _one(snippet)
        assert (fact.signed_on, fact.ends_on) == (None, None), snippet


def test_two_agreements_in_one_sentence_are_two_facts() -> None:
    text = normalize_text(
        "We signed an agreement with the University of Oslo in 2019 and a memorandum with the "
        "Latvian Institute of Public Health in 2021."
    )
    oslo, riga = extract_from_prose(text).agreements
    assert (oslo.kind, oslo.signed_on, oslo.country) == ("agreement", D(2019, 1, 1), "Norway")
    assert (riga.kind, riga.signed_on, riga.country) == ("memorandum", D(2021, 1, 1), "Latvia")
    assert oslo.evidence_start == riga.evidence_start == 0


def test_extended_until_gives_the_end_in_both_languages() -> None:
    en = _one("The agreement with the University of Helsinki was extended until 31 December 2026.")
    assert (en.ends_on, en.ends_precision, en.renewed) == (D(2026, 12, 31), "day", True)
    ru = _one("Соглашение с Казахским национальным медицинским университетом продлено до "
              "31.12.2026.")  # fmt: skip
    assert (ru.ends_on, ru.renewed, ru.country) == (D(2026, 12, 31), True, "Kazakhstan")


def test_countries_come_from_the_name_a_city_or_the_sentence() -> None:
    assert (
        _one("A memorandum with the University of Tartu was signed in 2019.").country == "Estonia"
    )
    assert _one("A memorandum with Charles University was signed in 2019.").country is None
    assert _one("Меморандум о взаимопонимании между Институтом и Национальным институтом "
                "здоровья Кубы подписан в 2018 году.").country == "Cuba"  # fmt: skip
    zurich = _one("Work continues on a contract for creative cooperation with the Foundation for "
                  "Information Technology Research in a society located in Zurich.")  # fmt: skip
    assert (zurich.partner, zurich.country, zurich.kind) == (
        "Foundation for Information Technology Research",
        "Switzerland",
        "contract",
    )


# --- the sample documents -------------------------------------------------------------------


def _sample(prefix: str) -> str:
    [path] = SAMPLE_DIR.glob(f"{prefix}_*.txt")
    return normalize_text(path.read_text(encoding="utf-8"))


def _partner(facts: list[AgreementFact], name: str) -> AgreementFact:
    [fact] = [f for f in facts if name in f.partner]
    return fact


def test_sample_institute_of_occupational_health_agreements() -> None:
    text = _sample("000")
    facts = extract_from_prose(text).agreements
    for fact in facts:
        assert fact.partner in text[fact.evidence_start : fact.evidence_end]
    cuba = _partner(facts, "National Institute of Workers' Health")
    assert (cuba.country, cuba.signed_on, cuba.signed_precision) == ("Cuba", D(2017, 1, 1), "year")
    assert cuba.ends_on is None
    kazakhstan = _partner(facts, "National Center of Hygiene and Occupational Diseases")
    assert (kazakhstan.country, kazakhstan.kind, kazakhstan.renewed) == (
        "Kazakhstan",
        "contract",
        True,
    )
    assert kazakhstan.ends_on is None
    assert "Karaganda" in text[kazakhstan.evidence_start : kazakhstan.evidence_end]
    serbia = _partner(facts, "Serbian Institute of Occupational Health")
    assert (serbia.country, serbia.status, serbia.ends_on) == ("Serbia", "continuing", None)
    belarus = [f for f in facts if f.country == "Belarus"]
    assert {f.partner.split(" of ")[0] for f in belarus} >= {
        "Republican Center for Labor Protection",
        "Scientific and Practical Center for Hygiene",
    }
    assert all(f.ends_on is None for f in facts)
    assert not [f for f in facts if "Horizon" in f.partner or "Ministry of Education" in f.partner]


def test_sample_institute_events_and_contact() -> None:
    facts = extract_from_prose(_sample("000"))
    forum = next(e for e in facts.events if "Modern Issues of Health and Safety" in e.name)
    assert (forum.starts_on, forum.ends_on, forum.precision) == (
        D(2017, 5, 1),
        D(2017, 6, 30),
        "month",
    )
    meeting = next(e for e in facts.events if "Russian-Cuban Working Group" in e.name)
    assert (meeting.starts_on, meeting.ends_on, meeting.place) == (
        D(2017, 8, 21),
        D(2017, 8, 22),
        "Moscow",
    )
    [rubtsova] = [c for c in facts.contacts if c.person == "N. Rubtsova"]
    assert rubtsova.role is not None and rubtsova.role.startswith("coordinator")


def test_sample_radiological_centre_contact_is_one_block() -> None:
    text = _sample("001")
    facts = extract_from_prose(text)
    [contact] = [c for c in facts.contacts if c.person == "Pavel Konovalchuk"]
    assert (contact.role, contact.phone, contact.email) == (
        "Department Head",
        "+7 (909) 641-42-09",
        "inter.mnioi@mail.ru",
    )
    cited = text[contact.evidence_start : contact.evidence_end]
    assert cited.startswith("Department Head:") and cited.endswith("inter.mnioi@mail.ru")
    assert facts.agreements == []


def test_sample_dateline_is_the_sochi_event() -> None:
    text = _sample("002")
    facts = extract_from_prose(text)
    [event] = facts.events
    assert (event.starts_on, event.ends_on, event.precision, event.place) == (
        D(2020, 4, 7),
        D(2020, 4, 10),
        "day",
        "Sochi",
    )
    assert text[event.evidence_start : event.evidence_end].startswith("7 - 10 April, 2020")


# --- contacts and events --------------------------------------------------------------------


def test_russian_contact_lines_group_into_one_contact() -> None:
    text = normalize_text(
        "Отдел международного сотрудничества.\n\nРуководитель отдела: Иванов И.И.\n"
        "Тел.: 8 (495) 365-02-09\nE-mail: ivanov@niimt.ru\n\nДругой абзац текста."
    )
    [contact] = extract_from_prose(text).contacts
    assert (contact.person, contact.role, contact.phone, contact.email) == (
        "Иванов И.И.",
        "Руководитель отдела",
        "8 (495) 365-02-09",
        "ivanov@niimt.ru",
    )
    assert text[contact.evidence_start : contact.evidence_end].endswith("ivanov@niimt.ru")


def test_two_heads_are_two_contacts_with_their_organisation() -> None:
    text = normalize_text(
        "Head of the International Relations Department: Anna Petrova\nTel.: +7 495 123-45-67\n"
        "Deputy Director: Ivan Sidorov\nE-mail: sidorov@example.org"
    )
    first, second = extract_from_prose(text).contacts
    assert (first.person, first.organisation, first.phone, first.email) == (
        "Anna Petrova",
        "International Relations Department",
        "+7 495 123-45-67",
        None,
    )
    assert (second.person, second.email, second.phone) == (
        "Ivan Sidorov",
        "sidorov@example.org",
        None,
    )


def test_russian_congress_in_minsk() -> None:
    text = normalize_text(
        "XIV Международный конгресс «Профессия и здоровье» пройдёт 7–10 апреля 2020 г. в Минске."
    )
    [event] = extract_from_prose(text).events
    assert event.name == "XIV Международный конгресс «Профессия и здоровье»"
    assert (event.starts_on, event.ends_on, event.place) == (D(2020, 4, 7), D(2020, 4, 10), "Minsk")


def test_sentences_keep_initials_and_join_dash_items() -> None:
    text = "The coordinator is N. Rubtsova. Next one.\n\nWe have contracts with\n\n— the A Center."
    spans = [text[a:b] for a, b in sentences(text)]
    assert spans == [
        "The coordinator is N. Rubtsova.",
        "Next one.",
        "We have contracts with\n\n— the A Center.",
    ]


def test_a_megabyte_of_prose_is_fast() -> None:
    text = "\n\n".join(_sample(p) for p in ("000", "001", "002"))
    big = (text + "\n\n") * (1_000_000 // len(text) + 1)
    started = time.perf_counter()
    facts = extract_from_prose(big)
    elapsed = time.perf_counter() - started
    print(f"1 MB of prose: {elapsed:.2f} s, {len(facts.agreements)} agreements")
    assert len(facts.agreements) > 100
    assert elapsed < 5.0  # well under a second on an idle machine; CI boxes are shared
