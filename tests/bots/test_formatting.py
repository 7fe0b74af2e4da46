"""Telegram HTML: escaping, footnotes, and splitting long messages into valid ones."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.answering.models import Answer, Citation
from bots.telegram.formatting import (
    absolute_url,
    escape,
    link,
    split_html,
    utf16_len,
    visible_text,
)
from bots.telegram.rendering import render_answer
from tests.bots.botapi_standin import HtmlError, check_html


def citation(n: int, title: str = "Registry <2026>", section: str = "Part A > Terms") -> Citation:
    return Citation(
        n=n,
        doc_id="doc1",
        source="registry.md",
        title=title,
        section=section,
        quote="q",
        start=10,
        end=20,
        url="/sources/doc1?start=10&end=20",
    )


def answer(text: str, *citations: Citation, found: bool = True) -> Answer:
    return Answer(
        answer=text, citations=list(citations), found=found, mode="extractive", language="en"
    )


def test_escape_leaves_nothing_telegram_would_read_as_markup():
    value = "a < b && c > d <b>bold</b> &amp; 'q' \"qq\""
    escaped = escape(value)
    assert check_html(escaped) == value
    assert "<" not in escaped and ">" not in escaped


def test_the_stand_in_refuses_what_telegram_refuses():
    for bad in ("<br>", "<b>open", "<b><i>x</b></i>", "a < b", "&nbsp;", '<a title="x">y</a>',
                "<blockquote><blockquote>x</blockquote></blockquote>", "<pre><b>x</b></pre>",
                '<span class="big">x</span>'):  # fmt: skip
        try:
            check_html(bad)
        except HtmlError:
            continue
        raise AssertionError(f"accepted {bad!r}")
    good = (
        '<b>x</b> <a href="https://e.org/?a=1&amp;b=2">l</a> <pre><code class="py">c</code></pre>'
    )
    assert check_html(good) == "x l c"


def test_links_escape_their_url_and_need_an_http_public_url():
    assert absolute_url(None, "/sources/x") is None
    assert absolute_url("ftp://example.org", "/sources/x") is None
    assert absolute_url("https://e.org/base/", "/sources/x") == "https://e.org/base/sources/x"
    anchor = link("https://e.org/s?a=1&b=<2>", "label")
    assert anchor == '<a href="https://e.org/s?a=1&amp;b=&lt;2&gt;">label</a>'
    check_html(anchor)


def test_footnotes_are_numbered_titles_linked_only_with_a_public_url():
    reply = answer("Signed in 2020 [1]; renewed [2].", citation(2, "Annex"), citation(1))
    plain = render_answer(reply, "en", None)
    assert plain.endswith("<b>Sources</b>\n[1] Registry &lt;2026&gt; — Terms\n[2] Annex — Terms")
    linked = render_answer(reply, "en", "https://coop.example.org")
    assert '[1] <a href="https://coop.example.org/sources/doc1?start=10&amp;end=20">' in linked
    assert check_html(linked).endswith("[1] Registry <2026> — Terms\n[2] Annex — Terms")
    russian = render_answer(reply, "ru", None)
    assert "<b>Источники</b>" in russian


def test_a_section_equal_to_the_title_is_not_repeated():
    rendered = render_answer(answer("x [1]", citation(1, "Title", "Title")), "en", None)
    assert rendered.endswith("[1] Title")


def test_an_answer_the_documents_do_not_give_is_marked():
    rendered = render_answer(answer("The documents don't say.", found=False), "en", None)
    assert check_html(rendered) == "ℹ️ Not in the documents\nThe documents don't say."


def test_short_messages_are_left_whole():
    assert split_html("<b>hello</b> world") == ["<b>hello</b> world"]
    assert split_html("   \n\n ") == []


def test_split_prefers_paragraphs_then_lines_then_sentences():
    paragraphs = "\n\n".join(["a" * 30, "b" * 30, "c" * 30])
    assert [visible_text(p).strip() for p in split_html(paragraphs, 70)] == [
        "a" * 30 + "\n\n" + "b" * 30,
        "c" * 30,
    ]
    lines = "\n".join(["a" * 30, "b" * 30, "c" * 30])
    assert [visible_text(p).strip() for p in split_html(lines, 70)] == [
        "a" * 30 + "\n" + "b" * 30,
        "c" * 30,
    ]
    sentences = "First one here. Second one here. Third one."
    assert [visible_text(p).strip() for p in split_html(sentences, 36)] == [
        "First one here. Second one here.",
        "Third one.",
    ]
    words = "word " * 20
    assert all(len(visible_text(p)) <= 12 for p in split_html(words, 12))
    assert [visible_text(p) for p in split_html("x" * 25, 10)] == ["x" * 10, "x" * 10, "x" * 5]


def test_a_cut_inside_a_tag_closes_and_reopens_it():
    text = '<a href="https://e.org/?a=1&amp;b=2"><b>' + "word " * 10 + "</b></a> tail"
    parts = split_html(text, 22)
    assert len(parts) > 2
    for part in parts:
        check_html(part)
        assert part.startswith('<a href="https://e.org/?a=1&amp;b=2"><b>') or part == " tail"
    assert "".join(visible_text(p) for p in parts) == visible_text(text)


def test_entities_count_as_one_character_and_are_never_cut():
    text = "&amp;" * 10
    parts = split_html(text, 4)
    assert [visible_text(p) for p in parts] == ["&&&&", "&&&&", "&&"]
    assert all(p.count("&amp;") * 5 == len(p) for p in parts)


def test_characters_outside_the_bmp_count_twice():
    parts = split_html("😀" * 5, 4)
    assert [utf16_len(visible_text(p)) for p in parts] == [4, 4, 2]


_words = st.text(alphabet=st.sampled_from(list("abcdеж <>&'\"😀.!?")), min_size=1, max_size=40)
_blocks = st.lists(
    st.tuples(st.sampled_from(["", "b", "i", "code", "a", "blockquote"]), _words,
              st.sampled_from([" ", "\n", "\n\n", ". "])),
    min_size=1,
    max_size=60,
)  # fmt: skip


def _html(blocks: list[tuple[str, str, str]]) -> str:
    out = []
    for tag, words, separator in blocks:
        inner = escape(words)
        if tag == "a":
            out.append(link("https://e.org/?q=1&r=2", inner))
        elif tag:
            out.append(f"<{tag}>{inner}</{tag}>")
        else:
            out.append(inner)
        out.append(separator)
    return "".join(out)


@settings(max_examples=200, deadline=None)
@given(blocks=_blocks, limit=st.integers(min_value=8, max_value=300))
def test_every_part_is_valid_within_the_limit_and_nothing_is_lost(blocks, limit):
    text = _html(blocks)
    parts = split_html(text, limit)
    for part in parts:
        visible = check_html(part)  # well-formed, allowed tags, known entities
        assert utf16_len(visible) <= limit
        assert visible.strip()
    joined = "".join(visible_text(part) for part in parts)
    assert "".join(joined.split()) == "".join(visible_text(text).split())  # only blanks dropped
