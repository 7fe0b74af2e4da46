"""The parsers fuzzed with hypothesis, beyond what tests/ingest/ already covers: the chunker on
any text (every Unicode category, NUL, CR/LF, line separators, huge words, no spaces) and on
documents from the real loaders; the date parser on any string and on dates formatted every
way the documents write them (EN/RU); the registry importer on any table bytes — random
headers, cells, delimiters, quoting, encodings, workbooks — which either import or fail with
`LoaderError`, never another exception."""

from __future__ import annotations

import calendar
import csv
import io
import itertools
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from ingest.chunker import ChunkSpan, chunk_document
from ingest.document import LoadedDocument, LoaderError
from ingest.document_builder import build_records
from ingest.facts.dates import MAX_YEAR, MIN_YEAR, find_dates, parse_date
from ingest.facts.extractor import extract_facts
from ingest.facts.registry import import_registry, parse_period
from ingest.loaders.markdown_loader import load_markdown
from ingest.loaders.table_loader import load_csv, load_xlsx
from ingest.loaders.text_loader import load_text

FAST = settings(
    max_examples=200, deadline=None, suppress_health_check=list(HealthCheck), database=None
)
SOME = settings(
    max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None
)

# --- the chunker --------------------------------------------------------------------------

# Characters that trip text handling: NUL and other controls, CR/LF, Unicode line and
# paragraph separators, odd spaces, combining marks, astral characters, RTL and zero-width.
_NASTY = "\x00\x01\x08\x0b\x0c\x1c\x1d\x1e\x1f\x7f\x85\xa0\u2028\u2029\u200b\u200e\u202e\ufeff"
_NASTY_CHARS = st.sampled_from(
    [*_NASTY, "\r\n", "\r", "\n", "\n\n", " ", "\t", "\u0301", "😀", "𝔘", "ё", "Ж", ".", "!"]
)
_HUGE_WORDS = st.builds(
    lambda char, n: char * n,
    st.sampled_from(["x", "Ж", "😀", ".", "\u0301", "a\u0301"]),
    st.integers(100, 5000),
)
_ANY_TEXT = st.lists(st.one_of(st.text(max_size=60), _NASTY_CHARS, _HUGE_WORDS), max_size=25).map(
    "".join
)
_SIZES = st.tuples(st.integers(1, 400), st.integers(1, 600), st.integers(0, 300))


def _check_chunks(text: str, chunks: list[ChunkSpan], max_chars: int) -> None:
    """Offsets inside the text, in order, trimmed, at most `max_chars`, and together covering
    every non-whitespace character."""
    assert [c.ord for c in chunks] == list(range(len(chunks)))
    for previous, current in itertools.pairwise(chunks):
        assert previous.start < current.start and previous.end <= current.end
    covered_to = 0
    for chunk in chunks:
        assert 0 <= chunk.start < chunk.end <= len(text)
        quote = text[chunk.start : chunk.end]
        assert len(quote) <= max_chars
        assert not quote[0].isspace() and not quote[-1].isspace()
        gap = text[covered_to : chunk.start] if chunk.start > covered_to else ""
        assert gap.strip() == "", f"{gap!r} before chunk {chunk.ord} is in no chunk"
        covered_to = max(covered_to, chunk.end)
    assert text[covered_to:].strip() == ""


@FAST
@given(text=_ANY_TEXT, sizes=_SIZES)
@example(text="\x00" * 3000, sizes=(10, 20, 5))
@example(text="a\r\nb\rc\u2028d\u2029e\x85f" * 300, sizes=(50, 60, 10))
@example(text="😀" * 4000, sizes=(100, 150, 30))
@example(text=" \n\t\x0b\x0c\x1c\u3000" * 100, sizes=(1, 1, 0))
def test_chunks_of_any_text_are_exact_ordered_and_cover_it(text, sizes):
    target, max_chars, overlap = sizes
    doc = LoadedDocument(text=text, format="txt")
    chunks = chunk_document(doc, target_chars=target, max_chars=max_chars, overlap_chars=overlap)
    _check_chunks(text, chunks, max_chars)


@SOME
@given(text=_ANY_TEXT)
def test_default_sizes_on_any_text(text):
    doc = LoadedDocument(text=text * 3, format="txt")
    _check_chunks(doc.text, chunk_document(doc), 1500)


@FAST
@given(data=st.one_of(st.binary(max_size=3000), _ANY_TEXT.map(lambda t: t.encode("utf-8"))))
@example(data=b"# Title\r\n\r\nText\x00 with NUL.\r\n\r\n## Sub\rmore\r")
def test_documents_from_the_loaders_chunk_into_exact_records(data):
    """Through the real text and markdown loaders into the records the stores keep: every
    stored chunk text is exactly `document text[start:end]`."""
    for loader, fmt in ((load_text, "txt"), (load_markdown, "md")):
        try:
            loaded = loader(data)
        except LoaderError:
            continue
        assert "\x00" not in loaded.text and "\r" not in loaded.text
        chunks = chunk_document(loaded, target_chars=200, max_chars=300, overlap_chars=50)
        _check_chunks(loaded.text, chunks, 300)
        document, records = build_records(
            path=Path(f"/fuzz/doc.{fmt}"),
            source=f"doc.{fmt}",
            loaded=loaded,
            spans=chunks,
            visibility="public",
        )
        assert document.text == loaded.text
        for record in records:
            assert record.text == document.text[record.start : record.end]
        for heading in loaded.headings:
            assert loaded.text[heading.start : heading.end] == heading.text


# --- the date parser ----------------------------------------------------------------------


def _sane(first: date, last: date) -> None:
    assert date(MIN_YEAR, 1, 1) <= first <= last <= date(MAX_YEAR, 12, 31)


@FAST
@given(
    text=st.one_of(
        st.text(max_size=200),
        st.lists(
            st.sampled_from(
                [
                    "31",
                    "29",
                    "00",
                    "0",
                    "99",
                    "2100",
                    "2101",
                    "1949",
                    "1950",
                    "9999",
                    "0000",
                    "-",
                    "/",
                    ".",
                    " ",
                    "г.",
                    "года",
                    "мая",
                    "February",
                    "Feb.",
                    "Sept",
                    "late",
                    "конце",
                    "autumn",
                    "осенью",
                    "to",
                    "по",
                    "from",
                    "с",
                    "\u2028",
                    "\x00",
                    "–",
                    "—",
                    "2020-02-29",
                    "2021-02-29",
                    "T",
                    ":",
                    "00:00:00",
                ]
            ),
            max_size=20,
        ).map("".join),
    ),
    window=st.tuples(st.integers(-50, 300), st.integers(-50, 300)),
)
def test_the_date_parser_never_raises_and_returns_sane_dates(text, window):
    parsed = parse_date(text)
    if parsed is not None:
        _sane(parsed.first, parsed.last)
        assert text[parsed.start : parsed.end] == parsed.text
        assert text.strip().rstrip(".,;").rstrip().startswith(parsed.text)
    start, end = window
    low, high, _ = slice(start, end).indices(len(text))  # the window as text[start:end] is
    for match in find_dates(text, start, end):
        _sane(match.first, match.last)
        assert low <= match.start < match.end <= high
        assert text[match.start : match.end] == match.text
    period = parse_period(text)
    if period is not None:
        _sane(period.first, period.last)


_EN_MONTHS = list(calendar.month_name)[1:]
_RU_GENITIVE = [
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
]
_RU_NOMINATIVE = [
    "январь",
    "февраль",
    "март",
    "апрель",
    "май",
    "июнь",
    "июль",
    "август",
    "сентябрь",
    "октябрь",
    "ноябрь",
    "декабрь",
]
_DAYS = st.dates(min_value=date(MIN_YEAR, 1, 1), max_value=date(MAX_YEAR, 12, 31))


def _day_formats(d: date) -> list[str]:
    en, ru = _EN_MONTHS[d.month - 1], _RU_GENITIVE[d.month - 1]
    return [
        f"{d.day} {en} {d.year}",
        f"{d.day:02d} {en} {d.year}",
        f"{en} {d.day}, {d.year}",
        f"{en} {d.day} {d.year}",
        f"{d.day} {en[:3]} {d.year}",
        f"{d.day} {en.upper()} {d.year}",
        f"{d.day:02d}.{d.month:02d}.{d.year}",
        f"{d.day}/{d.month}/{d.year}",
        d.isoformat(),
        f"{d.isoformat()} 00:00:00",
        f"{d.isoformat()}T12:30",
        f"{d.day} {ru} {d.year}",
        f"{d.day} {ru} {d.year} г.",
        f"{d.day} {ru} {d.year} года",
        f"{d.day:02d}.{d.month:02d}.{d.year} г.",
        f"  {d.day} {en} {d.year}.  ",
    ]


@FAST
@given(day=_DAYS)
def test_every_day_round_trips_in_every_written_form(day):
    for written in _day_formats(day):
        parsed = parse_date(written)
        assert parsed is not None, written
        assert (parsed.first, parsed.last, parsed.precision) == (day, day, "day"), written
    for written in (
        f"до {day:%d.%m.%Y} г.",
        f"until {day.day} {_EN_MONTHS[day.month - 1]} {day.year}",
        f"с {day.day} {_RU_GENITIVE[day.month - 1]} {day.year}",
    ):
        period = parse_period(written)
        assert period is not None and (period.first, period.last) == (day, day), written


@FAST
@given(day=_DAYS)
def test_months_and_years_round_trip_as_whole_periods(day):
    last_day = date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])
    for written in (
        f"{_EN_MONTHS[day.month - 1]} {day.year}",
        f"{_RU_NOMINATIVE[day.month - 1]} {day.year}",
        f"{_RU_NOMINATIVE[day.month - 1].capitalize()} {day.year} г.",
    ):
        parsed = parse_date(written)
        assert parsed is not None, written
        assert (parsed.first, parsed.last, parsed.precision) == (
            day.replace(day=1),
            last_day,
            "month",
        ), written
    year = parse_date(f"{day.year}")
    assert year is not None and (year.first, year.last, year.precision) == (
        date(day.year, 1, 1),
        date(day.year, 12, 31),
        "year",
    )


@FAST
@given(
    year=st.one_of(st.integers(0, MIN_YEAR - 1), st.integers(MAX_YEAR + 1, 99999)),
    month=st.integers(1, 12),
    day=st.integers(1, 28),
)
def test_years_outside_the_sane_range_are_not_dates(year, month, day):
    for written in (
        f"{day} {_EN_MONTHS[month - 1]} {year}",
        f"{day:02d}.{month:02d}.{year:04d}",
        f"{year:04d}-{month:02d}-{day:02d}",
        f"{day} {_RU_GENITIVE[month - 1]} {year} года",
        f"{year}",
    ):
        assert parse_date(written) is None, written


# --- the registry importer ----------------------------------------------------------------

_HEADERS = st.one_of(
    st.sampled_from(
        [
            "Partner",
            "Партнёр",
            "Организация-партнер",
            "Country",
            "Страна",
            "Type",
            "Вид документа",
            "Signed",
            "Дата подписания",
            "Expires",
            "Действует до (дата)",
            "Term",
            "Срок (лет)",
            "Term, months",
            "Срок действия",
            "Status",
            "Responsible",
            "E-mail",
            "Phone",
            "Notes",
            "",
            " ",
            "Partner",
            "Column 3",
        ]
    ),
    st.text(max_size=20),
)
_CELLS = st.one_of(
    st.sampled_from(
        [
            "",
            "-",
            "н/д",
            "бессрочно",
            "Indefinite",
            "5",
            "5 лет",
            "2,5 года",
            "36 мес.",
            "0",
            "-3",
            "1e9",
            "99999999999999999999",
            "12 months",
            "2027",
            "до 31.12.2026 г.",
            "15 марта 2022",
            "March 2027",
            "2022-03-15 00:00:00",
            "31.02.2022",
            "29.02.2023",
            "2101",
            "1949",
            "MoU",
            "договор",
            "renewed",
            "продлён",
            "=SUM(A1:A2)",
            "😀",
            "a;b,c\td",
            '"quoted"',
            "line\nbreak",
            "\x00nul",
            "\u2028",
            "x" * 300,
        ]
    ),
    st.text(max_size=30),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31)).map(str),
)
_TABLES = st.tuples(
    st.lists(_HEADERS, min_size=1, max_size=8),
    st.lists(st.lists(_CELLS, max_size=9), max_size=12),
)


def _csv_bytes(header: list[str], rows: list[list[str]], delimiter: str, quoting: Any, enc: str):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, quoting=quoting, lineterminator="\r\n")
    try:
        writer.writerow(header)
        writer.writerows(rows)
    except csv.Error:
        assume(False)  # QUOTE_NONE cannot write a delimiter without an escape character
    text = buffer.getvalue()
    try:
        return text.encode(enc)
    except UnicodeEncodeError:
        return text.encode("utf-8")


def _import(loaded: LoadedDocument) -> None:
    """Import as the ingest does, and check what came out."""
    extract_facts(loaded)  # registry or prose: never raises
    facts = import_registry(loaded)
    if facts is None:
        return
    for fact in facts.agreements:
        assert fact.partner.strip()
        assert 0 <= fact.evidence_start < fact.evidence_end <= len(loaded.text)
        for day in (fact.signed_on, fact.ends_on):
            assert day is None or date(MIN_YEAR, 1, 1) <= day <= date(MAX_YEAR + 100, 12, 31)
        assert fact.term_months is None or 0 < fact.term_months <= 1200
    for problem in facts.problems:
        assert problem.strip()


@FAST
@given(
    table=_TABLES,
    delimiter=st.sampled_from([",", ";", "\t"]),
    quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "cp1251", "utf-16", "koi8-r", "latin-1"]),
)
def test_any_csv_table_imports_or_fails_with_a_loader_error(table, delimiter, quoting, encoding):
    header, rows = table
    data = _csv_bytes(header, rows, delimiter, quoting, encoding)
    try:
        loaded = load_csv(data)
    except LoaderError as error:
        assert str(error)
        return
    for row in loaded.rows:
        assert loaded.text[row.start : row.end].strip()
    _import(loaded)


@FAST
@given(data=st.binary(max_size=4000))
@example(data=b"Partner;Expires\r\nX;\x00\r\n")
@example(data=b'Partner,Expires\n"unterminated,2027\n')
@example(data=b"\xef\xbb\xbfPartner\tSigned\n\xff\xfe\n")
def test_any_bytes_as_csv_import_or_fail_with_a_loader_error(data):
    try:
        loaded = load_csv(data)
    except LoaderError:
        return
    _import(loaded)


def test_a_csv_field_over_the_csv_module_limit_is_a_loader_error():
    data = b"Partner;Notes\r\nKestrel;" + b"x" * 140_000 + b"\r\n"
    with pytest.raises(LoaderError):
        load_csv(data)


def test_a_table_that_is_no_registry_is_read_as_prose_without_crashing():
    """Found by the CSV fuzzing above: a table that is not a registry goes to the prose
    extractor, whose keyword search looks for a token at or after a keyword inside a word."""
    loaded = load_csv(b"Notes\r\nSigned a contract'contract\r\n")
    extract_facts(loaded)


_XLSX_VALUES = st.one_of(
    _CELLS.map(lambda s: ILLEGAL_CHARACTERS_RE.sub("", s)),
    st.integers(-(10**15), 10**15),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.dates(min_value=date(1900, 3, 1), max_value=date(2200, 12, 31)),
    st.datetimes(min_value=datetime(1900, 3, 1), max_value=datetime(2200, 12, 31)),
)
_SHEET_TITLES = st.text(
    alphabet=st.characters(blacklist_characters="\\/*?:[]'", blacklist_categories=["Cs", "Cc"]),
    min_size=1,
    max_size=25,
)


def _xlsx_bytes(sheets: list[tuple[str, list[list[object]]]]) -> bytes:
    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    used: set[str] = set()
    for title, rows in sheets:
        name = title if title.casefold() not in used else f"{title[:20]}{len(used)}"
        used.add(name.casefold())
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
@given(
    sheets=st.lists(
        st.tuples(
            _SHEET_TITLES,
            st.tuples(
                st.lists(_HEADERS.map(lambda s: ILLEGAL_CHARACTERS_RE.sub("", s)), max_size=7),
                st.lists(st.lists(_XLSX_VALUES, max_size=8), max_size=8),
            ).map(lambda t: [list(t[0]), *t[1]]),
        ),
        min_size=1,
        max_size=3,
    ),
    damage=st.one_of(st.none(), st.tuples(st.integers(0, 10**6), st.integers(0, 255))),
)
def test_any_workbook_imports_or_fails_with_a_loader_error(sheets, damage):
    try:
        data = _xlsx_bytes(sheets)
    except (ValueError, TypeError):
        assume(False)  # openpyxl refuses to write it: not a workbook anyone could send
    if damage is not None:  # a byte changed or the file cut short
        position, value = damage
        position %= len(data)
        data = (
            data[:position]
            if value == 0
            else data[:position] + bytes([value]) + data[position + 1 :]
        )
    try:
        loaded = load_xlsx(data)
    except LoaderError as error:
        assert str(error)
        return
    _import(loaded)


def test_a_workbook_needing_an_unknown_zip_version_is_a_loader_error():
    """Found by the fuzzing above: `zipfile` raises NotImplementedError for such an archive."""
    data = bytearray(_xlsx_bytes([("Sheet", [["Partner", "Expires"], ["Kestrel", "2027"]])]))
    directory = data.index(b"PK\x01\x02")
    data[directory + 6 : directory + 8] = (64).to_bytes(2, "little")  # "needs zip version 6.4"
    with pytest.raises(LoaderError, match="xlsx"):
        load_xlsx(bytes(data))
