"""The streamed reply parser releases exactly what the whole-reply parser keeps, in order, and
never takes back text it released."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.answering.reply_parser import NOT_FOUND, ReplyParser, parse_reply
from assistant.answering.service import text_pieces
from tests.assistant.test_llm_answerer import sentence

SOURCES = [sentence("cuba", "Havana", 0.9), sentence("cuba", "2019", 0.8)]

REPLIES = [
    "The agreement with the University of Havana was signed in 2019 [1]. It runs to 2027 [2].",
    "No marker here. Dr. Ivanov signed it [1][2]. A forged one [7].\n- First item [2].\n- Second.",
    "<think>reasoning [1].</think>**Bold** claim [1]. [Link](http://x) text [2].",
    "Соглашение подписано в 2019 году [1]. Оно действует до 2027 года [2].",
    f"{NOT_FOUND}",
    "Ranges work [1-2]. And lists [1, 2].\n\nA new paragraph [2].",
]


def _split(text: str, cuts: list[int]) -> list[str]:
    points = sorted({min(c, len(text)) for c in cuts} | {0, len(text)})
    return [text[a:b] for a, b in itertools.pairwise(points)]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(REPLIES), st.lists(st.integers(min_value=0, max_value=200), max_size=30))
def test_streaming_in_any_pieces_gives_the_whole_reply_answer(reply, cuts):
    whole = parse_reply(reply, SOURCES)
    parser = ReplyParser(SOURCES)
    released = "".join(parser.feed(piece) for piece in _split(reply, cuts)) + parser.finish()
    assert released == whole.text
    draft = parser.draft()
    assert draft.text == whole.text
    assert [(c.n, c.evidence) for c in draft.citations] == [
        (c.n, c.evidence) for c in whole.citations
    ]


def test_a_sentence_is_released_once_the_next_one_begins():
    parser = ReplyParser(SOURCES)
    assert parser.feed("Signed in 2019 [1].") == ""
    assert parser.feed(" It") == "Signed in 2019 [1]."
    assert parser.feed(" runs to 2027 [2].") == ""
    assert parser.finish() == " It runs to 2027 [2]."


def test_not_found_releases_nothing_even_in_pieces():
    parser = ReplyParser(SOURCES)
    assert parser.feed("NOT_") == ""
    assert parser.feed("FOUND. Something [1]. More") == ""
    assert parser.finish() == ""
    assert parser.draft().citations == []


@given(st.text())
def test_text_pieces_join_to_the_text(text):
    assert "".join(text_pieces(text)) == text
