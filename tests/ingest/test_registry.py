"""Agreements registries (.csv, .xlsx) read into AgreementFacts, through the real loaders."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pytest

from ingest.document import LoadedDocument
from ingest.facts.models import AgreementFact, ExtractedFacts
from ingest.facts.registry import header_field, import_registry, parse_period, parse_term
from ingest.loaders import load_file

CAP = 1_000_000
SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample" / "agreements_registry.csv"


def load(tmp_path: Path, name: str, data: bytes | str) -> LoadedDocument:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return load_file(path, max_bytes=CAP)


def registry(doc: LoadedDocument) -> ExtractedFacts:
    facts = import_registry(doc)
    assert facts is not None
    return facts


def by_partner(facts: ExtractedFacts) -> dict[str, AgreementFact]:
    return {fact.partner: fact for fact in facts.agreements}


def check_provenance(doc: LoadedDocument, facts: ExtractedFacts) -> None:
    """Each fact cites exactly its row's whole line, which names the partner."""
    lines = doc.text.split("\n")
    for fact in facts.agreements:
        cited = doc.text[fact.evidence_start : fact.evidence_end]
        assert cited in lines
        assert fact.partner in cited
        row = next(r for r in doc.rows if r.start == fact.evidence_start)
        assert (row.end, row.number) == (fact.evidence_end, fact.row)


# --- csv: delimiters, encodings, headers -------------------------------------------------------

RUSSIAN = (
    "Партнёр;Страна;Вид документа;Дата подписания;Действует до;Ответственный;Эл. почта\r\n"
    "Национальный институт здоровья трудящихся;Куба;Соглашение о сотрудничестве;"
    "15.03.2017;31.12.2026;Иванов И.И.;intl@example.org\r\n"
    "Сербский институт медицины труда;Сербия;Меморандум;2019-04-10;10 апреля 2025 г.;;\r\n"
)


def test_semicolon_utf8_with_bom_russian_headers(tmp_path: Path) -> None:
    doc = load(tmp_path, "reestr.csv", RUSSIAN.encode("utf-8-sig"))
    assert doc.encoding == "utf-8-sig"
    facts = registry(doc)
    assert facts.problems == []
    cuba, serbia = facts.agreements
    assert cuba == AgreementFact(
        partner="Национальный институт здоровья трудящихся",
        evidence_start=0,
        evidence_end=doc.text.index("\n"),
        kind="agreement",
        country="Куба",
        signed_on=dt.date(2017, 3, 15),
        signed_precision="day",
        ends_on=dt.date(2026, 12, 31),
        ends_precision="day",
        responsible="Иванов И.И.",
        email="intl@example.org",
        row=1,
    )
    assert (serbia.kind, serbia.ends_on, serbia.row) == ("memorandum", dt.date(2025, 4, 10), 2)
    assert serbia.responsible is None
    check_provenance(doc, facts)


def test_comma_delimited_cp1251(tmp_path: Path) -> None:
    raw = (
        "Организация-партнёр,Страна,Тип,Подписан,Окончание\r\n"
        '"Институт гигиены, Минск",Беларусь,Договор,мая 2016,2028\r\n'
    )
    doc = load(tmp_path, "cp1251.csv", raw.encode("cp1251"))
    assert doc.encoding == "cp1251"
    (fact,) = registry(doc).agreements
    assert (fact.partner, fact.country, fact.kind) == (
        "Институт гигиены, Минск",
        "Беларусь",
        "contract",
    )
    assert (fact.signed_on, fact.signed_precision) == (dt.date(2016, 5, 1), "month")
    assert (fact.ends_on, fact.ends_precision) == (dt.date(2028, 12, 31), "year")


def test_tab_delimited_english_headers(tmp_path: Path) -> None:
    raw = (
        "Partner organisation\tCOUNTRY\tDocument type\tSigning date\tValid until\tStatus\t"
        "Contact person\tE-mail\tTelephone\tComment\n"
        "Hanoi Institute\tVietnam\tMoU\t15 March 2022\tMarch 2027\tRenewed in 2024\t"
        "Anna Petrova\ta@example.org\t+7 495 000-00-00\tjoint research\n"
        "Skolkovo Foundation\tRussia\tLetter of intent\t2018\t\tin force\t\t\t\t\n"
    )
    doc = load(tmp_path, "tab.csv", raw)
    facts = registry(doc)
    hanoi, skolkovo = facts.agreements
    assert hanoi.kind == "memorandum"
    assert (hanoi.signed_on, hanoi.ends_on, hanoi.ends_precision) == (
        dt.date(2022, 3, 15),
        dt.date(2027, 3, 31),
        "month",
    )
    assert (hanoi.status, hanoi.renewed) == ("Renewed in 2024", True)
    assert (hanoi.responsible, hanoi.email, hanoi.phone) == (
        "Anna Petrova",
        "a@example.org",
        "+7 495 000-00-00",
    )
    assert hanoi.notes == "joint research"
    assert (skolkovo.kind, skolkovo.notes) == ("other", "Document type: Letter of intent")
    assert (skolkovo.signed_on, skolkovo.signed_precision) == (dt.date(2018, 1, 1), "year")
    assert (skolkovo.ends_on, skolkovo.renewed) == (None, False)


def test_unknown_columns_are_kept_as_notes(tmp_path: Path) -> None:
    raw = (
        "Partner;Budget, EUR;Country;Notes;Topic\n"
        "University of Havana;12000;Cuba;priority;toxicology\n"
    )
    (fact,) = registry(load(tmp_path, "extra.csv", raw)).agreements
    assert fact.country == "Cuba"
    assert fact.notes == "Budget, EUR: 12000; priority; Topic: toxicology"


# --- bad rows, terms and ends ------------------------------------------------------------------


def test_broken_rows_are_reported_and_good_rows_import(tmp_path: Path) -> None:
    raw = (
        "Партнёр;Дата подписания;Срок;Действует до\n"
        "Good One;01.02.2020;5;\n"
        ";01.02.2020;5;2030\n"
        "Bad Date;31.02.2020;;скоро\n"
        "Bad Term;01.02.2020;пять лет;\n"
        "Good Two;;;2027\n"
    )
    doc = load(tmp_path, "broken.csv", raw)
    facts = registry(doc)
    assert facts.problems == [
        "row 2: no partner; row skipped",
        "row 3: cannot read the date '31.02.2020' in column 'Дата подписания'; cell ignored",
        "row 3: cannot read the date 'скоро' in column 'Действует до'; cell ignored",
        "row 4: term 'пять лет' in column 'Срок' is not a number of years or months; cell ignored",
    ]
    found = by_partner(facts)
    assert list(found) == ["Good One", "Bad Date", "Bad Term", "Good Two"]
    assert (found["Good One"].term_months, found["Good One"].ends_on) == (60, dt.date(2025, 2, 1))
    assert (found["Bad Date"].signed_on, found["Bad Date"].ends_on) == (None, None)
    assert (found["Bad Term"].signed_on, found["Bad Term"].term_months) == (
        dt.date(2020, 2, 1),
        None,
    )
    assert found["Bad Term"].ends_on is None
    assert [f.row for f in facts.agreements] == [1, 3, 4, 5]
    check_provenance(doc, facts)


@pytest.mark.parametrize(
    ("row", "ends"),
    [
        ("Срок действия (лет);15.03.2022;5", (dt.date(2027, 3, 15), "day")),
        ("Term, months;March 2022;18", (dt.date(2023, 9, 30), "month")),
        ("Duration;2021;3 years", (dt.date(2024, 12, 31), "year")),
        ("Срок;31.01.2024;13 мес.", (dt.date(2025, 2, 28), "day")),
    ],
)
def test_term_gives_the_end(tmp_path: Path, row: str, ends: tuple[dt.date, str]) -> None:
    header, signed, term = row.split(";")
    raw = f"Partner;Signed;{header}\nHavana;{signed};{term}\n"
    facts = registry(load(tmp_path, "term.csv", raw))
    (fact,) = facts.agreements
    assert (fact.ends_on, fact.ends_precision) == ends
    assert facts.problems == []


def test_expiry_wins_over_term(tmp_path: Path) -> None:
    raw = "Partner;Signed;Term;Expires\nHavana;01.01.2020;5;30.06.2026\n"
    (fact,) = registry(load(tmp_path, "both.csv", raw)).agreements
    assert (fact.term_months, fact.ends_on, fact.ends_precision) == (
        60,
        dt.date(2026, 6, 30),
        "day",
    )


def test_no_end_is_never_guessed(tmp_path: Path) -> None:
    raw = (
        "Partner;Signed;Term, months;Valid until\n"
        "Havana;01.01.2020;;бессрочно\n"  # stated: no end
        "Hanoi;01.01.2020;;\n"  # no term, no expiry
        "Minsk;;5;\n"  # a term without a signing date
        "Kazan;2020;18;\n"  # a signing year and a term in months
    )
    facts = registry(load(tmp_path, "open.csv", raw))
    found = by_partner(facts)
    assert all(fact.ends_on is None for fact in facts.agreements)
    assert found["Havana"].notes == "Valid until: бессрочно"
    assert found["Minsk"].term_months == 5
    assert facts.problems == [
        "row 4: the end date cannot be computed from a signing year and a term in months"
    ]


def test_a_term_column_holding_a_year_is_the_end(tmp_path: Path) -> None:
    raw = "Партнёр;Страна;Срок\nУниверситет Гаваны;Куба;2026\n"
    facts = registry(load(tmp_path, "srok.csv", raw))
    (fact,) = facts.agreements
    assert (fact.ends_on, fact.ends_precision, fact.term_months) == (
        dt.date(2026, 12, 31),
        "year",
        None,
    )
    assert facts.problems == []


@pytest.mark.parametrize(
    "raw",
    [
        "Name;Phone\nIvanov;+7 495 123\n",  # no partner column
        "Partner;Budget\nHavana;1000\n",  # a partner column alone
        "Country;Status;Valid until\nCuba;in force;2026\n",
        "Партнёр;Страна\n",  # a header only: no rows
    ],
)
def test_not_a_registry(tmp_path: Path, raw: str) -> None:
    assert import_registry(load(tmp_path, "other.csv", raw)) is None


def test_prose_document_is_not_a_registry(tmp_path: Path) -> None:
    doc = load(tmp_path, "notes.txt", "Partner: Havana; Country: Cuba")
    assert doc.rows == []
    assert import_registry(doc) is None


# --- xlsx -------------------------------------------------------------------------------------


def test_xlsx_sheets_datetimes_and_rows(tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    current = workbook.active
    assert current is not None
    current.title = "Действующие"
    current.append([None])  # a blank first row: the header is the first non-empty one
    current.append(["Партнёр", "Страна", "Дата подписания", "Действует до", "Срок (лет)"])
    current.append(
        ["Havana Institute", "Cuba", dt.datetime(2021, 12, 15), dt.datetime(2026, 12, 15), 5.0]
    )
    current.append([None, None, None, None, None])
    current.append(["Karaganda Center", "Kazakhstan", dt.datetime(2021, 12, 31), None, 5])
    archive = workbook.create_sheet("Archive")
    archive.append(["Partner", "Expires"])
    archive.append(["Serbian Institute", dt.date(2025, 4, 10)])
    contacts = workbook.create_sheet("Contacts")
    contacts.append(["Name", "Phone"])
    contacts.append(["Ivanov", "+7 495 123"])
    path = tmp_path / "registry.xlsx"
    workbook.save(str(path))

    doc = load_file(path, max_bytes=CAP)
    assert "Дата подписания: 2021-12-15; Действует до: 2026-12-15; Срок (лет): 5" in doc.text
    assert [(r.sheet, r.number) for r in doc.rows] == [
        ("Действующие", 1),
        ("Действующие", 2),
        ("Archive", 1),
        ("Contacts", 1),
    ]
    assert doc.rows[1].cells == {
        "Партнёр": "Karaganda Center",
        "Страна": "Kazakhstan",
        "Дата подписания": "2021-12-31",
        "Срок (лет)": "5",
    }
    facts = registry(doc)
    found = by_partner(facts)
    assert list(found) == ["Havana Institute", "Karaganda Center", "Serbian Institute"]
    assert found["Havana Institute"].ends_on == dt.date(2026, 12, 15)
    assert (found["Karaganda Center"].ends_on, found["Karaganda Center"].term_months) == (
        dt.date(2026, 12, 31),
        60,
    )
    assert (found["Serbian Institute"].ends_on, found["Serbian Institute"].row) == (
        dt.date(2025, 4, 10),
        1,
    )
    assert facts.problems == ["sheet 'Contacts': not an agreements registry; skipped"]
    check_provenance(doc, facts)


# --- rows from the loader -----------------------------------------------------------------------


def test_rows_point_at_their_lines(tmp_path: Path) -> None:
    raw = 'Partner,Note,Note\n"  Havana\u00a0 Institute ",a\tb,\n\n,,\nHanoi,,second\n'
    doc = load(tmp_path, "rows.csv", raw)
    assert doc.text == "Partner: Havana Institute; Note: a b\nPartner: Hanoi; Note: second"
    assert [(r.number, doc.text[r.start : r.end]) for r in doc.rows] == [
        (1, "Partner: Havana Institute; Note: a b"),
        (2, "Partner: Hanoi; Note: second"),
    ]
    assert doc.rows[0].cells == {"Partner": "Havana Institute", "Note": "a b"}
    assert doc.rows[1].cells == {"Partner": "Hanoi", "Note (column 3)": "second"}
    assert doc.rows[0].sheet is None


# --- the sample registry ------------------------------------------------------------------------


def test_sample_registry() -> None:
    doc = load_file(SAMPLE, max_bytes=CAP)
    facts = registry(doc)
    assert facts.problems == []
    assert len(facts.agreements) == 9
    assert all("ILLUSTRATIVE SAMPLE DATA" in (fact.notes or "") for fact in facts.agreements)
    ending_2026 = {
        f.partner: f.ends_on for f in facts.agreements if f.ends_on and f.ends_on.year == 2026
    }
    assert ending_2026 == {
        "National Institute of Workers' Health (Havana)": dt.date(2026, 12, 15),
        "National Center of Hygiene and Occupational Diseases (Karaganda)": dt.date(2026, 12, 31),
    }
    today = dt.date(2026, 11, 25)
    expired = [f.partner for f in facts.agreements if f.ends_on and f.ends_on < today]
    assert expired == ["Serbian Institute of Occupational Health"]
    assert [f.partner for f in facts.agreements if f.ends_on is None] == [
        "Republican Center for Labor Protection"
    ]
    assert by_partner(facts)[
        "National Center of Hygiene and Occupational Diseases (Karaganda)"
    ].renewed
    assert {f.kind for f in facts.agreements} == {"agreement", "contract", "memorandum"}
    check_provenance(doc, facts)


# --- cell readers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "first", "last", "precision"),
    [
        ("2026-12-31", dt.date(2026, 12, 31), dt.date(2026, 12, 31), "day"),
        ("2026-12-31 10:30:00", dt.date(2026, 12, 31), dt.date(2026, 12, 31), "day"),
        ("31.12.2026", dt.date(2026, 12, 31), dt.date(2026, 12, 31), "day"),
        ("05/01/2026", dt.date(2026, 1, 5), dt.date(2026, 1, 5), "day"),
        ("15 March 2022", dt.date(2022, 3, 15), dt.date(2022, 3, 15), "day"),
        ("15 марта 2022 г.", dt.date(2022, 3, 15), dt.date(2022, 3, 15), "day"),
        ("March 15, 2022", dt.date(2022, 3, 15), dt.date(2022, 3, 15), "day"),
        ("March 2022", dt.date(2022, 3, 1), dt.date(2022, 3, 31), "month"),
        ("февраль 2024", dt.date(2024, 2, 1), dt.date(2024, 2, 29), "month"),
        ("Sept. 2025", dt.date(2025, 9, 1), dt.date(2025, 9, 30), "month"),
        ("2027", dt.date(2027, 1, 1), dt.date(2027, 12, 31), "year"),
        ("до 2027 года", dt.date(2027, 1, 1), dt.date(2027, 12, 31), "year"),
    ],
)
def test_parse_period(value: str, first: dt.date, last: dt.date, precision: str) -> None:
    period = parse_period(value)
    assert period is not None
    assert (period.first, period.last, period.precision) == (first, last, precision)


@pytest.mark.parametrize("value", ["31.02.2026", "скоро", "TBD", "marketing 2022", "12345", "1850"])
def test_parse_period_refuses(value: str) -> None:
    assert parse_period(value) is None


@pytest.mark.parametrize(
    ("value", "unit", "months"),
    [
        ("5", None, 60),
        ("5", "months", 5),
        ("5 лет", "months", 60),
        ("3 years", None, 36),
        ("36 мес.", None, 36),
        ("2,5 года", None, 30),
        ("пять", None, None),
        ("0", None, None),
    ],
)
def test_parse_term(value: str, unit: str | None, months: int | None) -> None:
    assert parse_term(value, unit) == months


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("  ПАРТНЁР ", "partner"),
        ("Организация-партнер", "partner"),
        ("Counterparty", "partner"),
        ("Valid to", "expires"),
        ("Срок действия", "expires"),
        ("Действует до (дата)", "expires"),
        ("Срок действия (лет)", "term"),
        ("Term, months", "term"),
        ("Signed on", "signed"),
        ("e-mail", "email"),
        ("Эл. почта", "email"),
        ("Куратор", "responsible"),
        ("Тип документа", "kind"),
        ("Примечание", "notes"),
        ("Budget", None),
    ],
)
def test_header_field(header: str, field: str | None) -> None:
    assert header_field(header) == field
