"""An agreements registry (a .csv or .xlsx table) read row by row into `AgreementFact`s.

Columns are recognised by their header, in English or Russian (case, "ё" and punctuation do
not matter; a part in brackets may be dropped: "Действует до (дата)"). Columns that are not
recognised are kept in the fact's notes as "Header: value". A row that cannot be read fully
is reported in `ExtractedFacts.problems` as "row N: reason" and its bad cell ignored; a row
without a partner is skipped. Each fact's evidence is its row's line in the canonical text.

Dates are read as the period they denote ("March 2027" is the whole month): `signed_on` is the
first day of that period and `ends_on` the last one, with the precision written. `ends_on`
comes from the expiry column, else from the signing date plus the term; it is never guessed.
"""

from __future__ import annotations

import calendar
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from ingest.document import LoadedDocument, TableRow
from ingest.facts.dates import parse_date
from ingest.facts.models import AgreementFact, AgreementKind, ExtractedFacts, Precision

logger = logging.getLogger(__name__)

_FIELD_SYNONYMS: dict[str, tuple[str, ...]] = {
    "partner": (
        "partner", "partner organisation", "partner organization", "partner institution",
        "organisation", "organization", "counterparty", "партнер", "организация",
        "организация партнер", "партнер организация", "контрагент", "наименование партнера",
        "наименование организации",
    ),
    "country": ("country", "страна"),
    "kind": ("type", "kind", "document type", "type of document", "вид документа", "вид",
             "тип", "тип документа"),
    "signed": ("signed", "date signed", "signing date", "signed on", "date of signing",
               "дата подписания", "подписан", "подписано"),
    "expires": ("expires", "expires on", "expiry", "expiry date", "expiration date",
                "valid until", "valid till", "end date", "valid to", "действует до",
                "срок действия", "дата окончания", "дата окончания действия", "окончание",
                "срок окончания"),
    "term": ("term", "duration", "срок"),
    "status": ("status", "статус"),
    "responsible": ("responsible", "responsible person", "contact", "contact person",
                    "ответственный", "куратор", "контактное лицо"),
    "email": ("e mail", "email", "почта", "эл почта", "электронная почта"),
    "phone": ("phone", "telephone", "tel", "телефон", "тел"),
    "notes": ("notes", "note", "comment", "comments", "примечание", "примечания",
              "комментарий"),
}  # fmt: skip
_HEADER_FIELDS = {name: f for f, names in _FIELD_SYNONYMS.items() for name in names}
# A header naming a term in some unit ("Срок действия (лет)", "Term, months") is a term column.
_TERM_BASES = frozenset({*_FIELD_SYNONYMS["term"], "срок действия", "validity", "period"})
_MONTH_UNITS = ("мес", "month")
_YEAR_UNITS = ("лет", "год", "года", "years", "year", "yrs", "г")
_UNIT_WORDS = re.compile(
    r"\s+(?:in\s+)?(?:лет|годы|года|год|г|месяцев|месяца|месяц|мес|years?|yrs|months?)$"
)
_BRACKETS = re.compile(r"\([^)]*\)|\[[^]]*\]")
_PUNCTUATION = re.compile(r"[\W_]+")

_DATE_PREFIX = re.compile(r"^(?:до|по|с|until|till|by|from|on)\s+", re.IGNORECASE)
_DATE_SUFFIX = re.compile(r"\s*(?:г\.?|гг\.?|года|год|y\.)$", re.IGNORECASE)

_TERM = re.compile(
    r"(\d+(?:[.,]\d+)?)\s*(лет|года|год|г\.?|years?|yrs?\.?|y\.?|месяцев|месяца|месяц|мес\.?"
    r"|months?|mo\.?)?",
    re.IGNORECASE,
)
_NO_END = frozenset(
    {
        "бессрочно",
        "бессрочный",
        "бессрочное",
        "не ограничен",
        "не ограничено",
        "indefinite",
        "indefinitely",
        "unlimited",
        "open ended",
        "open-ended",
        "no end date",
    }
)
_BLANK = frozenset({"-", "—", "–", "н/д", "n/a", "na", "нет", "none", "?"})
_RENEWED = ("renewed", "extended", "prolonged", "продлен", "пролонг")


@dataclass(frozen=True)
class DatePeriod:
    """A written date as the period it denotes."""

    first: date
    last: date
    precision: Precision


def import_registry(loaded: LoadedDocument) -> ExtractedFacts | None:
    """One `AgreementFact` per registry row of a table document, or None when no table (sheet)
    in it looks like an agreements registry: a partner column and at least one more recognised
    column. In a workbook, sheets that are not registries are skipped with a problem noted."""
    sheets: dict[str | None, list[TableRow]] = {}
    for row in loaded.rows:
        sheets.setdefault(row.sheet, []).append(row)
    facts = ExtractedFacts()
    found = False
    for sheet, rows in sheets.items():
        columns = _map_columns(_headers(rows))
        if "partner" not in columns.values() or len(columns) < 2:
            if sheet is not None:
                facts.problems.append(f"sheet '{sheet}': not an agreements registry; skipped")
            continue
        found = True
        for row in rows:
            fact = _read_row(row, columns, facts.problems)
            if fact is not None:
                facts.agreements.append(fact)
    if not found:
        return None
    logger.debug("registry: %d agreements, %d problems", len(facts.agreements),
                 len(facts.problems))  # fmt: skip
    return facts


def header_field(header: str) -> str | None:
    """The registry field a column header names ("Действует до" → "expires"), or None."""
    in_unit = _term_unit(header) is not None
    for key in (_header_key(header), _header_key(_BRACKETS.sub(" ", header))):
        if in_unit and _UNIT_WORDS.sub("", key) in _TERM_BASES:
            return "term"  # "Срок действия (лет)", "Term, months"
        if key in _HEADER_FIELDS:
            return _HEADER_FIELDS[key]
    return None


def _fold(text: str) -> str:
    return text.casefold().replace("ё", "е")


def _header_key(header: str) -> str:
    folded = _fold(header)
    return " ".join(_PUNCTUATION.sub(" ", folded).split())


def _term_unit(header: str) -> str | None:
    words = _header_key(header).split()
    if any(w.startswith(_MONTH_UNITS) for w in words):
        return "months"
    if any(w in _YEAR_UNITS for w in words):
        return "years"
    return None


def _headers(rows: Iterable[TableRow]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(row.cells))
    return list(seen)


def _map_columns(headers: list[str]) -> dict[str, str]:
    """Header → field for the recognised headers; a field's first column wins, later ones
    stay unrecognised (their values go to notes)."""
    columns: dict[str, str] = {}
    for header in headers:
        name = header_field(header)
        if name is not None and name not in columns.values():
            columns[header] = name
    return columns


def _read_row(row: TableRow, columns: dict[str, str], problems: list[str]) -> AgreementFact | None:
    where = f"row {row.number}"
    suffix = f" (sheet '{row.sheet}')" if row.sheet is not None else ""

    def problem(reason: str) -> None:
        problems.append(f"{where}: {reason}{suffix}")

    values: dict[str, tuple[str, str]] = {}  # field → (header, value)
    notes: list[str] = []
    for header, value in row.cells.items():
        name = columns.get(header)
        if name is None:
            notes.append(f"{header}: {value}")
        elif name == "notes":
            notes.append(value)
        elif value.strip().casefold() not in _BLANK:
            values[name] = (header, value)
    if "partner" not in values:
        problem("no partner; row skipped")
        return None

    def text(name: str) -> str | None:
        return values[name][1] if name in values else None

    def period(name: str) -> DatePeriod | None:
        if name not in values:
            return None
        header, value = values[name]
        parsed = parse_period(value)
        if parsed is None:
            problem(f"cannot read the date '{value}' in column '{header}'; cell ignored")
        return parsed

    signed = period("signed")
    no_end = False
    if "expires" in values and _is_no_end(values["expires"][1]):
        no_end = True
        header, value = values.pop("expires")
        notes.append(f"{header}: {value}")
    term_months: int | None = None
    if "term" in values:
        header, value = values["term"]
        if _is_no_end(value):
            no_end = True
            notes.append(f"{header}: {value}")
        else:
            term_months = parse_term(value, _term_unit(header))
            if term_months is None:
                as_date = parse_period(value) if "expires" not in values else None
                if as_date is not None:  # "Срок: 2026" means until 2026
                    values["expires"] = values.pop("term")
                else:
                    problem(
                        f"term '{value}' in column '{header}' is not a number of years or "
                        "months; cell ignored"
                    )
    expires = period("expires")
    ends_on: date | None = None
    ends_precision: Precision | None = None
    if expires is not None:
        ends_on, ends_precision = expires.last, expires.precision
    elif signed is not None and term_months is not None and not no_end:
        ends_on = end_after(signed, term_months)
        if ends_on is None:
            problem("the end date cannot be computed from a signing year and a term in months")
        ends_precision = signed.precision if ends_on is not None else None
    kind_text = text("kind")
    kind = agreement_kind(kind_text) if kind_text else "agreement"
    if kind_text and kind == "other":
        notes.insert(0, f"{values['kind'][0]}: {kind_text}")
    status = text("status")
    return AgreementFact(
        partner=values["partner"][1],
        evidence_start=row.start,
        evidence_end=row.end,
        kind=kind,
        country=text("country"),
        signed_on=signed.first if signed else None,
        signed_precision=signed.precision if signed else None,
        term_months=term_months,
        ends_on=ends_on,
        ends_precision=ends_precision,
        status=status,
        renewed=status is not None and any(w in _fold(status) for w in _RENEWED),
        responsible=text("responsible"),
        email=text("email"),
        phone=text("phone"),
        notes="; ".join(notes) or None,
        row=row.number,
    )


def agreement_kind(value: str) -> AgreementKind:
    """The kind of agreement a "type" cell names: memorandum (MoU), contract, agreement, other."""
    folded = _fold(value)
    if "memorand" in folded or "меморандум" in folded or re.search(r"\bmou\b", folded):
        return "memorandum"
    if "contract" in folded or "договор" in folded:
        return "contract"
    if "agreement" in folded or "соглашени" in folded:
        return "agreement"
    return "other"


def _is_no_end(value: str) -> bool:
    return " ".join(value.casefold().split()).rstrip(".") in _NO_END


def parse_term(value: str, unit: str | None) -> int | None:
    """A term cell in months: "5", "5 лет", "3 years", "36 мес.", "2,5 года". A number without
    a unit is in `unit` ("months" or "years", the header's), else in years. None if unreadable."""
    match = _TERM.fullmatch(value.strip())
    if match is None:
        return None
    amount = float(match.group(1).replace(",", "."))
    written = (match.group(2) or "").casefold()
    in_months = written.startswith(("мес", "mo")) if written else unit == "months"
    months = amount if in_months else amount * 12
    if months <= 0 or not months.is_integer() or months > 1200:
        return None
    return int(months)


def parse_period(value: str) -> DatePeriod | None:
    """A date cell as a period: ISO, dd.mm.yyyy, dd/mm/yyyy, "15 March 2022", "15 марта 2022",
    "March 15, 2022", "March 2022", "03.2022", "2027" (with "г." or "до ..." allowed)."""
    text = _DATE_SUFFIX.sub("", _DATE_PREFIX.sub("", " ".join(value.split())))
    written = parse_date(text)
    if written is None:
        return None
    return DatePeriod(written.first, written.last, written.precision)


def end_after(signed: DatePeriod, months: int) -> date | None:
    """The last day of a term of `months` from a signing date, to the signing date's
    precision: the same day, the end of the month, the end of the year (whole years only)."""
    if signed.precision == "year":
        return None if months % 12 else date(signed.first.year + months // 12, 12, 31)
    total = signed.first.year * 12 + signed.first.month - 1 + months
    year, month = divmod(total, 12)
    last = calendar.monthrange(year, month + 1)[1]
    day = signed.first.day if signed.precision == "day" else last
    return date(year, month + 1, min(day, last))
