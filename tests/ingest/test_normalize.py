"""Canonical text: normalize_text and assemble_blocks."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from ingest.normalize import Block, assemble_blocks, heading_line, normalize_text


def test_line_endings_become_newlines() -> None:
    assert normalize_text("a\r\nb\rc\nd\x0ce") == "a\nb\nc\nd\ne"


def test_control_and_invisible_characters_are_removed_tabs_kept() -> None:
    assert normalize_text("a\x00b\x07c\x1b\td\u200be\ufefff\x85g") == "abc\tdef\ng"


def test_odd_spaces_become_plain_spaces() -> None:
    assert normalize_text("10\u00a0000\u202fруб.\u2009итого\u3000x") == "10 000 руб. итого x"


def test_nfc_composes_letters() -> None:
    assert normalize_text("e\u0301 и\u0306") == "é й"
    assert normalize_text("e\x00\u0301") == "é"  # removal must not leave a decomposed pair


def test_trailing_spaces_and_blank_lines() -> None:
    raw = "\n \n  Title  \t\n\n\n\n   \nbody line   \n\n\n\n"
    assert normalize_text(raw) == "  Title\n\nbody line"


def test_single_blank_line_is_kept() -> None:
    assert normalize_text("one\n\ntwo\nthree") == "one\n\ntwo\nthree"


def test_heading_line_flattens_whitespace() -> None:
    assert heading_line("  Partners\n and\u00a0 programmes ") == "Partners and programmes"


def test_assemble_blocks_offsets_and_separators() -> None:
    text, headings = assemble_blocks(
        [
            Block("Report", 1),
            Block("First  paragraph.\r\nSecond line.  "),
            Block("   ", 0),
            Block("Partners\nabroad", 2),
            Block("Cuba | Vietnam"),
        ]
    )
    assert text == "Report\n\nFirst  paragraph.\nSecond line.\n\nPartners abroad\n\nCuba | Vietnam"
    assert [(h.level, h.text) for h in headings] == [(1, "Report"), (2, "Partners abroad")]
    assert all(text[h.start : h.end] == h.text for h in headings)


def test_empty_heading_is_dropped() -> None:
    text, headings = assemble_blocks([Block(" \n", 1), Block("body")])
    assert (text, headings) == ("body", [])


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@given(st.text())
def test_normalize_text_is_idempotent_and_canonical(s: str) -> None:
    once = normalize_text(s)
    assert normalize_text(once) == once
    assert unicodedata.is_normalized("NFC", once)
    assert not _CONTROL.search(once)
    assert "\n\n\n" not in once
    assert not re.search(r"[ \t]$", once, re.MULTILINE)
    assert once == once.strip("\n")


_blocks = st.lists(
    st.builds(Block, st.text(), st.integers(min_value=0, max_value=6)),
    max_size=8,
)


@given(_blocks)
def test_assemble_blocks_headings_point_at_their_text(blocks: list[Block]) -> None:
    text, headings = assemble_blocks(blocks)
    assert normalize_text(text) == text
    assert len(headings) <= sum(1 for b in blocks if b.level > 0)
    for heading in headings:
        assert heading.text
        assert "\n" not in heading.text
        assert text[heading.start : heading.end] == heading.text
    assert [h.start for h in headings] == sorted(h.start for h in headings)
