"""Dates in English and Russian prose: find_dates and parse_date."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.facts.dates import find_dates, parse_date

D = date


@pytest.mark.parametrize(
    ("text", "written", "first", "last", "precision"),
    [
        ("signed on 15 March 2022.", "15 March 2022", D(2022, 3, 15), D(2022, 3, 15), "day"),
        ("on March 15, 2022 we", "March 15, 2022", D(2022, 3, 15), D(2022, 3, 15), "day"),
        ("on the 1st of May 2019", "1st of May 2019", D(2019, 5, 1), D(2019, 5, 1), "day"),
        ("от 15.03.2022 №5", "15.03.2022", D(2022, 3, 15), D(2022, 3, 15), "day"),
        ("dated 05/03/2022", "05/03/2022", D(2022, 3, 5), D(2022, 3, 5), "day"),
        ("as of 2022-03-15", "2022-03-15", D(2022, 3, 15), D(2022, 3, 15), "day"),
        ("in March 2022", "March 2022", D(2022, 3, 1), D(2022, 3, 31), "month"),
        ("In 2017, our Institute", "2017", D(2017, 1, 1), D(2017, 12, 31), "year"),
        ("7 - 10 April, 2020, Sochi", "7 - 10 April, 2020", D(2020, 4, 7), D(2020, 4, 10), "day"),
        ("April 7-10, 2020 in", "April 7-10, 2020", D(2020, 4, 7), D(2020, 4, 10), "day"),
        ("On 21 and 22 August 2017, the", "21 and 22 August 2017", D(2017, 8, 21), D(2017, 8, 22),
         "day"),
        ("in late May — early June 2017.", "late May — early June 2017", D(2017, 5, 1),
         D(2017, 6, 30), "month"),
        ("In 2015-2017, the program", "2015-2017", D(2015, 1, 1), D(2017, 12, 31), "year"),
        ("In the autumn of 2017, the", "autumn of 2017", D(2017, 9, 1), D(2017, 11, 30), "month"),
        ("from 1 January 2024 to 31 December 2025", "1 January 2024 to 31 December 2025",
         D(2024, 1, 1), D(2025, 12, 31), "day"),
        ("31 December 2025", "31 December 2025", D(2025, 12, 31), D(2025, 12, 31), "day"),
    ],
)  # fmt: skip
def test_english_dates(text: str, written: str, first: date, last: date, precision: str) -> None:
    [match] = find_dates(text)
    assert (match.text, match.first, match.last, match.precision) == (
        written,
        first,
        last,
        precision,
    )
    assert text[match.start : match.end] == written


@pytest.mark.parametrize(
    ("text", "written", "first", "last", "precision"),
    [
        ("подписан 15 марта 2022 г. в Минске", "15 марта 2022 г.", D(2022, 3, 15), D(2022, 3, 15),
         "day"),
        ("в марте 2022 года", "марте 2022 года", D(2022, 3, 1), D(2022, 3, 31), "month"),
        ("март 2022", "март 2022", D(2022, 3, 1), D(2022, 3, 31), "month"),
        ("в мае 2019 г.", "мае 2019 г.", D(2019, 5, 1), D(2019, 5, 31), "month"),
        ("МАЙ 2019", "МАЙ 2019", D(2019, 5, 1), D(2019, 5, 31), "month"),
        ("до 31 декабря 2025 года", "31 декабря 2025 года", D(2025, 12, 31), D(2025, 12, 31),
         "day"),
        ("с 1 января по 31 декабря 2024", "1 января по 31 декабря 2024", D(2024, 1, 1),
         D(2024, 12, 31), "day"),
        ("конец мая — начало июня 2017 года", "конец мая — начало июня 2017 года", D(2017, 5, 1),
         D(2017, 6, 30), "month"),
        ("прошёл в конце мая 2017", "в конце мая 2017", D(2017, 5, 1), D(2017, 5, 31), "month"),
        ("с 2015 по 2017 год", "с 2015 по 2017 год", D(2015, 1, 1), D(2017, 12, 31), "year"),
        ("в 2015–2017 гг. проект", "2015–2017 гг.", D(2015, 1, 1), D(2017, 12, 31), "year"),
        ("осенью 2017 года", "осенью 2017 года", D(2017, 9, 1), D(2017, 11, 30), "month"),
        ("7–10 апреля 2020 г., Сочи", "7–10 апреля 2020 г.", D(2020, 4, 7), D(2020, 4, 10), "day"),
        ("в 2019 году", "2019 году", D(2019, 1, 1), D(2019, 12, 31), "year"),
        ("20 февраля 2020", "20 февраля 2020", D(2020, 2, 20), D(2020, 2, 20), "day"),
        ("3 сентября 2021", "3 сентября 2021", D(2021, 9, 3), D(2021, 9, 3), "day"),
    ],
)  # fmt: skip
def test_russian_dates_in_any_case(
    text: str, written: str, first: date, last: date, precision: str
) -> None:
    [match] = find_dates(text)
    assert (match.text, match.first, match.last, match.precision) == (
        written,
        first,
        last,
        precision,
    )


@pytest.mark.parametrize(
    ("month", "number"),
    [
        ("января", 1), ("февраля", 2), ("марта", 3), ("апреля", 4), ("мая", 5), ("июня", 6),
        ("июля", 7), ("августа", 8), ("сентября", 9), ("октября", 10), ("ноября", 11),
        ("декабря", 12),
    ],
)  # fmt: skip
def test_every_russian_month_in_the_genitive(month: str, number: int) -> None:
    [match] = find_dates(f"до 1 {month} 2030 года")
    assert match.first == date(2030, number, 1)


def test_leap_day_only_in_leap_years() -> None:
    assert find_dates("29 February 2024")[0].first == date(2024, 2, 29)
    assert find_dates("29.02.2000")[0].first == date(2000, 2, 29)
    assert find_dates("29 February 2023") == []  # not "February 2023" either
    assert find_dates("29.02.1900") == []
    assert find_dates("29 февраля 2023 г.") == []


def test_impossible_dates_are_not_dates() -> None:
    assert find_dates("31.02.2022") == []
    assert find_dates("31 April 2021") == []
    assert find_dates("2022-13-01") == []
    assert parse_date("32.01.2022") is None


def test_month_and_year_precision_span_the_whole_period() -> None:
    [feb] = find_dates("February 2024")
    assert (feb.first, feb.last) == (date(2024, 2, 1), date(2024, 2, 29))
    [dec] = find_dates("December 2025")
    assert (dec.first, dec.last) == (date(2025, 12, 1), date(2025, 12, 31))
    [year] = find_dates("in 2030")
    assert (year.first, year.last, year.precision) == (date(2030, 1, 1), date(2030, 12, 31), "year")


@pytest.mark.parametrize(
    "text",
    [
        "the Framework Program “Horizon 2020”",
        "Vision 2030 strategy",
        "certified to ISO 9001",
        "more than 2000 participants",
        "около 2000 человек",
        "in 1850 the",
        "in 2150 the",
        "Телефон: +7 (909) 641-42-09",
        "room No. 2017",
        "version 2.2021",
    ],
)
def test_numbers_that_are_not_years(text: str) -> None:
    assert find_dates(text) == []


def test_offsets_and_window() -> None:
    text = "Signed on 1 May 2019; valid until 30 April 2024."
    dates = find_dates(text)
    assert [d.text for d in dates] == ["1 May 2019", "30 April 2024"]
    assert all(text[d.start : d.end] == d.text for d in dates)
    later = find_dates(text, start=20)
    assert [d.text for d in later] == ["30 April 2024"]
    assert find_dates(text, 0, 15) == []  # the window cuts "1 May 2019"


def test_parse_date_reads_a_whole_string() -> None:
    assert parse_date("15.03.2022") is not None
    stamp = parse_date("2022-03-15 00:00:00")
    assert stamp is not None and stamp.first == date(2022, 3, 15) and stamp.precision == "day"
    year = parse_date(" 2025 ")
    assert year is not None and (year.start, year.end, year.precision) == (1, 5, "year")
    assert parse_date("до 31 декабря 2025 года") is None  # more than a date
    assert parse_date("no date here") is None
    assert parse_date("") is None
    march = parse_date("March 2022.")
    assert march is not None and march.last == date(2022, 3, 31)


_PIECES = st.sampled_from(
    [
        "15", "31", "29", "February", "марта", "мая", "2017", "2024", "2100", "1949", ".", "/",
        "-", " - ", "—", " ", ", ", "and", "по", "с", "late", "конец", "autumn", "г.", "года",
        "Horizon", "in", "12.03.", "2020-02-30", "Май", "\n",
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=80), st.lists(_PIECES, max_size=14).map("".join)))
def test_find_dates_never_crashes_and_matches_are_exact_slices(text: str) -> None:
    previous_end = 0
    for match in find_dates(text):
        assert text[match.start : match.end] == match.text
        assert match.first <= match.last
        assert match.start >= previous_end  # in order, no overlaps
        previous_end = match.end
