"""Behaviour of the section-aware chunker: exact offsets, sections, sizes, overlap, coverage."""

from __future__ import annotations

import itertools
import re
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.chunker import ChunkSpan, chunk_document, detect_headings
from ingest.document import Heading, LoadedDocument

SAMPLES = sorted((Path(__file__).resolve().parents[2] / "data" / "sample").glob("*.txt"))
_WORD_START = re.compile(r"\S+")


def _load(path: Path) -> LoadedDocument:
    text = path.read_text(encoding="utf-8").replace("\r\n", "\n").replace("\r", "\n")
    return LoadedDocument(text=text, format="txt")


def _chunk_texts(doc: LoadedDocument, chunks: list[ChunkSpan]) -> list[str]:
    return [doc.text[chunk.start : chunk.end] for chunk in chunks]


def _assert_invariants(
    text: str, chunks: list[ChunkSpan], max_chars: int, headings: list[Heading]
) -> None:
    """What every consumer of chunks relies on, checked on one chunking."""
    assert [chunk.ord for chunk in chunks] == list(range(len(chunks)))
    assert [chunk.start for chunk in chunks] == sorted(chunk.start for chunk in chunks)
    for chunk in chunks:
        assert 0 <= chunk.start < chunk.end <= len(text)
        quote = text[chunk.start : chunk.end]
        assert not quote[0].isspace() and not quote[-1].isspace(), repr(quote)
        assert len(quote) <= max_chars
    marks = [0] * (len(text) + 1)
    for chunk in chunks:
        marks[chunk.start] += 1
        marks[chunk.end] -= 1
    depth = 0
    for index, char in enumerate(text):
        depth += marks[index]
        assert depth > 0 or char.isspace(), f"character {index} ({char!r}) is in no chunk"
    starts = {heading.start for heading in headings}
    for chunk in chunks:
        inside = [s for s in starts if chunk.start < s < chunk.end]
        assert not inside, f"chunk {chunk.ord} crosses the section starting at {inside[0]}"
    chunk_starts = {chunk.start for chunk in chunks}
    assert starts <= chunk_starts, "a section's first chunk must start with its heading"


# --- the sample documents -------------------------------------------------------------------


@pytest.mark.parametrize("path", SAMPLES, ids=[p.name for p in SAMPLES])
def test_sample_documents_chunk_into_exact_trimmed_spans(path: Path) -> None:
    doc = _load(path)
    chunks = chunk_document(doc)
    assert chunks, "a non-empty document must give chunks"
    _assert_invariants(doc.text, chunks, 1500, detect_headings(doc.text))
    assert chunks == chunk_document(_load(path)), "chunking must be deterministic"


def test_sample_has_at_least_three_samples() -> None:
    assert len(SAMPLES) >= 3


def test_sample_title_lines_become_sections() -> None:
    doc = _load(SAMPLES[0])
    chunks = chunk_document(doc)
    sections = {chunk.section for chunk in chunks}
    assert {
        "The World Health Organization (WHO)",
        "The International Agency for Research on Cancer (IARC)",
        "The International Labor Organization (ILO)",
    } <= sections
    # A sentence-like line ending with '.' is body text, not a section.
    assert not any(s.startswith("Bilateral contracts") for s in sections)
    # The heading line opens the first chunk of its section, so retrieval sees it.
    iarc = [c for c in chunks if c.section.endswith("(IARC)")]
    assert doc.text[iarc[0].start : iarc[0].end].startswith("The\xa0International Agency for")
    asbestos = [c for c in chunks if "chrysotile" in doc.text[c.start : c.end]]
    assert [c.section for c in asbestos] == [
        "The International Agency for Research on Cancer (IARC)"
    ]
    # Text before the first title belongs to no section.
    assert chunks[0].section == ""


def test_sample_document_title_is_the_root_of_the_section_path() -> None:
    doc = _load(SAMPLES[1])
    sections = [chunk.section for chunk in chunk_document(doc)]
    title = "National Medical Research Radiological Centre of the Ministry of Health"
    assert all(section.startswith(title) for section in sections)
    assert any(s.endswith(" > Cooperation with International Organizations") for s in sections)
    # A parenthesised subtitle is not a title of its own.
    assert not any(s.endswith("(expert work") or "> (" in s for s in sections)


def test_sample_chunks_overlap_only_within_a_section() -> None:
    doc = _load(SAMPLES[0])
    chunks = chunk_document(doc, target_chars=400, max_chars=800, overlap_chars=150)
    overlapping = 0
    for previous, current in itertools.pairwise(chunks):
        if current.section != previous.section:
            assert current.start >= previous.end
        elif current.start < previous.end:
            overlapping += 1
            assert previous.end - current.start <= 150
    assert overlapping >= 3


# --- headings -------------------------------------------------------------------------------


def test_detect_headings_accepts_title_lines_and_rejects_sentences_and_list_items() -> None:
    lines = [
        "Annual Report 2017",
        "Body paragraph. It ends with a period.",
        "International Cooperation",
        "- a bulleted item",
        "1) a numbered item",
        "lowercase line without end",
        "Contacts:",
        "This colon ending line is much too long to be a heading at all:",
        "A clause, ending with a comma,",
        "Международное сотрудничество",
        "X" * 120,
        "2. Participation in Programs",
        "Trailing body text.",
    ]
    text = "\n\n".join(lines)
    found = [(h.text, h.level) for h in detect_headings(text)]
    assert found == [
        ("Annual Report 2017", 1),
        ("International Cooperation", 2),
        ("Contacts:", 2),
        ("Международное сотрудничество", 2),
        ("2. Participation in Programs", 2),
    ]
    for heading in detect_headings(text):
        assert text[heading.start : heading.end] == heading.text


def test_detect_headings_ignores_lines_inside_paragraphs_and_a_trailing_line() -> None:
    text = "First line of a paragraph\nwrapped onto a second line.\n\nBody.\n\nBack to the list"
    assert detect_headings(text) == []


def test_markdown_headings_from_the_loader_split_sections() -> None:
    text = (
        "# Cooperation\n\nIntro paragraph about partners.\n\n"
        "## The World Health Organization (WHO)\n\nWHO work continues.\n\n"
        "Standalone Title Like Line\n\nMore WHO text.\n\n"
        "## ILO\n\nILO work."
    )
    headings = [
        Heading(m.start(), m.end(), len(m.group(1)), m.group(0))
        for m in re.finditer(r"^(#+) .*$", text, re.MULTILINE)
    ]
    doc = LoadedDocument(text=text, format="md", headings=headings)
    chunks = chunk_document(doc)
    _assert_invariants(text, chunks, 1500, headings)
    assert [(c.section, doc.text[c.start : c.end].split("\n")[0]) for c in chunks] == [
        ("Cooperation", "# Cooperation"),
        (
            "Cooperation > The World Health Organization (WHO)",
            "## The World Health Organization (WHO)",
        ),
        ("Cooperation > ILO", "## ILO"),
    ]
    # The loader's headings win: a title-like line it did not mark stays body text.
    assert "Standalone Title Like Line" in doc.text[chunks[1].start : chunks[1].end]


def test_malformed_loader_headings_are_sorted_and_filtered() -> None:
    text = "Intro text.\n\nPart A\n\nBody of A.\n\nPart B\n\nBody of B."
    a, b = text.index("Part A"), text.index("Part B")
    headings = [
        Heading(b, b + 6, 1, "Part B"),
        Heading(a, a + 6, 1, "Part A"),
        Heading(a + 2, a + 12, 2, "rt A\n\nBody"),  # overlaps "Part A": dropped
        Heading(len(text) + 5, len(text) + 9, 1, "gone"),  # out of range: dropped
        Heading(a + 6, a + 8, 1, "\n\n"),  # whitespace only: dropped
    ]
    doc = LoadedDocument(text=text, format="html", headings=headings)
    chunks = chunk_document(doc)
    assert [(c.section, doc.text[c.start : c.end]) for c in chunks] == [
        ("", "Intro text."),
        ("Part A", "Part A\n\nBody of A."),
        ("Part B", "Part B\n\nBody of B."),
    ]


def test_sections_never_mix_even_when_small() -> None:
    text = "Alpha Section\n\nOne short line.\n\nBeta Section\n\nAnother short line."
    chunks = chunk_document(LoadedDocument(text=text, format="txt"))
    assert _chunk_texts(LoadedDocument(text=text, format="txt"), chunks) == [
        "Alpha Section\n\nOne short line.",
        "Beta Section\n\nAnother short line.",
    ]
    assert [c.section for c in chunks] == ["Alpha Section", "Alpha Section > Beta Section"]


# --- sizes and splitting --------------------------------------------------------------------


def test_long_paragraph_is_split_at_sentence_boundaries() -> None:
    sentences = [
        f"Sentence number {i} talks about cooperation with partner {i}." for i in range(60)
    ]
    text = " ".join(sentences)
    doc = LoadedDocument(text=text, format="txt")
    chunks = chunk_document(doc, target_chars=300, max_chars=500, overlap_chars=0)
    assert len(chunks) > 5
    for quote in _chunk_texts(doc, chunks):
        assert len(quote) <= 500
        assert quote.startswith("Sentence number ") and quote.endswith(".")
    assert " ".join(_chunk_texts(doc, chunks)) == text


def test_sentence_splitting_respects_abbreviations_and_initials() -> None:
    sentences = [
        "Partners include e.g. Moscow and Geneva.",
        "The report was signed by A. Kaprin in Obninsk.",
        "Договор подписан в 2015 г. Москва подтвердила участие.",
        "Лаборатория им. Н. Пирогова открыта!",
        "Is the work finished?",
        "«Next» steps follow.",
    ]
    text = " ".join(sentences)
    doc = LoadedDocument(text=text, format="txt")
    chunks = chunk_document(doc, target_chars=1, max_chars=60, overlap_chars=0)
    assert _chunk_texts(doc, chunks) == sentences


def test_a_ten_thousand_character_word_is_still_split() -> None:
    text = "x" * 10_000
    chunks = chunk_document(LoadedDocument(text=text, format="txt"))
    _assert_invariants(text, chunks, 1500, [])
    assert len(chunks) == 7
    assert sum(c.end - c.start for c in chunks) == 10_000


def test_long_sentence_is_cut_between_words() -> None:
    text = " ".join(f"word{i}" for i in range(1_000))  # one "sentence", about 6,900 characters
    doc = LoadedDocument(text=text, format="txt")
    chunks = chunk_document(doc, target_chars=500, max_chars=700)
    _assert_invariants(text, chunks, 700, [])
    for chunk in chunks:
        assert chunk.start == 0 or text[chunk.start - 1] == " "
        assert chunk.end == len(text) or text[chunk.end] == " "


def test_short_paragraphs_are_merged_up_to_target() -> None:
    paragraphs = [f"Paragraph {i} is short." for i in range(40)]  # about 22 characters each
    text = "\n\n".join(paragraphs)
    doc = LoadedDocument(text=text, format="txt")
    chunks = chunk_document(doc, target_chars=200, max_chars=400, overlap_chars=0)
    lengths = [c.end - c.start for c in chunks]
    assert all(length <= 200 for length in lengths)
    assert len(chunks) < 10
    assert all(length > 150 for length in lengths[:-1])


def test_paragraph_between_target_and_max_stays_whole() -> None:
    paragraph = "This paragraph is long. " * 40  # 960 characters
    text = f"Short intro.\n\n{paragraph.strip()}\n\nShort outro."
    doc = LoadedDocument(text=text, format="txt")
    quotes = _chunk_texts(doc, chunk_document(doc, overlap_chars=0))
    assert paragraph.strip() in quotes


def test_invalid_sizes_are_refused() -> None:
    doc = LoadedDocument(text="Some text.", format="txt")
    with pytest.raises(ValueError, match="max_chars"):
        chunk_document(doc, max_chars=0)
    with pytest.raises(ValueError, match="overlap_chars"):
        chunk_document(doc, overlap_chars=-1)


def test_empty_and_blank_documents_have_no_chunks() -> None:
    assert chunk_document(LoadedDocument(text="", format="txt")) == []
    assert chunk_document(LoadedDocument(text=" \n\n\t \xa0", format="txt")) == []


# --- overlap --------------------------------------------------------------------------------


def _long_section(title: str, count: int) -> str:
    body = " ".join(f"Fact {i} about {title} is recorded." for i in range(count))
    return f"{title}\n\n{body}"


def test_overlap_repeats_last_sentences_of_previous_chunk() -> None:
    text = _long_section("First Part", 60) + "\n\n" + _long_section("Second Part", 60)
    doc = LoadedDocument(text=text, format="txt")
    chunks = chunk_document(doc, target_chars=300, max_chars=500, overlap_chars=80)
    _assert_invariants(text, chunks, 500, detect_headings(text))
    pairs = list(itertools.pairwise(chunks))
    same = [(a, b) for a, b in pairs if a.section == b.section]
    crossing = [(a, b) for a, b in pairs if a.section != b.section]
    assert len(same) >= 4 and len(crossing) == 1
    for previous, current in same:
        assert previous.start < current.start < previous.end
        assert previous.end - current.start <= 80
        assert text[current.start :].startswith("Fact ")  # starts at a sentence
    for previous, current in crossing:
        assert current.start >= previous.end
        assert text[current.start :].startswith("Second Part")


def test_zero_overlap_disables_overlap() -> None:
    text = _long_section("Only Part", 80)
    chunks = chunk_document(
        LoadedDocument(text=text, format="txt"), target_chars=300, max_chars=500, overlap_chars=0
    )
    assert len(chunks) > 3
    for previous, current in itertools.pairwise(chunks):
        assert current.start > previous.end


# --- Russian --------------------------------------------------------------------------------


def test_russian_text_with_title_lines() -> None:
    text = (
        "Международное сотрудничество института\n\n"
        "Институт сотрудничает с ВОЗ с 2015 г. Работа продолжается. "
        "Директор им. Н. Пирогова подписал договор.\n\n"
        "Сотрудничество с ВОЗ\n\n"
        + " ".join(f"Предложение {i} о сотрудничестве с партнёрами." for i in range(40))
        + "\n\nСотрудничество с МОТ\n\nМОТ проводит семинары."
    )
    doc = LoadedDocument(text=text, format="txt")
    chunks = chunk_document(doc, target_chars=400, max_chars=600, overlap_chars=100)
    _assert_invariants(text, chunks, 600, detect_headings(text))
    assert [h.text for h in detect_headings(text)] == [
        "Международное сотрудничество института",
        "Сотрудничество с ВОЗ",
        "Сотрудничество с МОТ",
    ]
    sections = [c.section for c in chunks]
    assert sections[0] == "Международное сотрудничество института"
    assert "Международное сотрудничество института > Сотрудничество с ВОЗ" in sections
    assert sections[-1] == "Международное сотрудничество института > Сотрудничество с МОТ"
    for quote in _chunk_texts(doc, chunks):
        if quote.startswith("Предложение"):
            assert quote.endswith(".")


# --- speed ----------------------------------------------------------------------------------


def test_five_megabytes_chunk_quickly() -> None:
    text = (_load(SAMPLES[0]).text + "\n\n") * 480  # about 5 MB
    began = time.perf_counter()
    chunks = chunk_document(LoadedDocument(text=text, format="txt"))
    assert time.perf_counter() - began < 5
    assert len(chunks) > 1_000


# --- properties over arbitrary text ---------------------------------------------------------

_PIECES = st.one_of(
    st.text(alphabet="abcXYZ абвГДЁ019 .,;:!?…«»\"'()-—\n\t\xa0", max_size=40),
    st.sampled_from(["\n\n", "\n", "   ", "\n \n\t\n", "Title Line\n\n", "Заголовок раздела\n\n"]),
    st.sampled_from([". ", "e.g. ", "A. ", "г. ", "! ", "? Next", ". Ещё"]),
    st.builds(lambda char, n: char * n, st.sampled_from("xЖ.- \n"), st.integers(30, 700)),
)
_TEXTS = st.lists(_PIECES, max_size=30).map("".join)
_SIZES = st.tuples(st.integers(1, 300), st.integers(1, 400), st.integers(0, 200))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_TEXTS, sizes=_SIZES)
def test_property_invariants_on_plain_text(text: str, sizes: tuple[int, int, int]) -> None:
    target, max_chars, overlap = sizes
    doc = LoadedDocument(text=text, format="txt")
    chunks = chunk_document(doc, target_chars=target, max_chars=max_chars, overlap_chars=overlap)
    _assert_invariants(text, chunks, max_chars, detect_headings(text))
    assert chunks == chunk_document(
        doc, target_chars=target, max_chars=max_chars, overlap_chars=overlap
    )
    if overlap == 0:
        for previous, current in itertools.pairwise(chunks):
            assert current.start >= previous.end


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_TEXTS, sizes=_SIZES, picks=st.lists(st.integers(0, 10_000), max_size=6))
def test_property_invariants_with_loader_headings(
    text: str, sizes: tuple[int, int, int], picks: list[int]
) -> None:
    lines = [m for m in _WORD_START.finditer(text) if m.start() == 0 or text[m.start() - 1] == "\n"]
    chosen = sorted({lines[p % len(lines)].start() for p in picks}) if lines else []
    headings = []
    for start in chosen:
        end = text.find("\n", start)
        end = len(text) if end == -1 else end
        end = len(text[:end].rstrip())
        headings.append(Heading(start, end, 1 + start % 3, text[start:end]))
    target, max_chars, overlap = sizes
    doc = LoadedDocument(text=text, format="md", headings=headings)
    chunks = chunk_document(doc, target_chars=target, max_chars=max_chars, overlap_chars=overlap)
    _assert_invariants(text, chunks, max_chars, headings)
