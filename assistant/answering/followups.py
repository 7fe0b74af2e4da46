"""Resolve an elliptical follow-up ("and their e-mail?") against the previous turn."""

from __future__ import annotations

import re

from assistant.answering.sessions import Turn
from assistant.retrieval.question_analysis import focus_terms

_FOLLOW_UP_START = re.compile(
    r"^\s*(and|also|what about|how about|but|then|и|а|также|ещё|еще|а\s+что|что\s+насчёт|"
    r"что\s+насчет)\b",
    re.IGNORECASE,
)
_ANAPHORA = re.compile(
    r"\b(it|its|they|them|their|theirs|he|him|his|she|her|this|that|these|those|there|then|"
    r"он|она|оно|они|его|её|ее|их|ему|ей|им|этот|эта|это|эти|этого|этой|этих|там|тогда|туда)\b",
    re.IGNORECASE,
)
_SHORT = 6


def is_follow_up(question: str) -> bool:
    """Whether a question leans on the previous one (starts like a continuation, or is short
    and refers back with a pronoun)."""
    words = re.findall(r"\w+", question)
    if not words:
        return False
    if _FOLLOW_UP_START.search(question) and len(words) <= 2 * _SHORT:
        return True
    if len(words) <= _SHORT and bool(_ANAPHORA.search(question)):
        return True
    # "What's the phone number?": too short to stand on its own, and naming nothing.
    return len(words) <= 5 and not focus_terms(question)


def resolve(question: str, history: list[Turn]) -> str:
    """The text to retrieve with: the question, prefixed by the previous turn's when it is a
    follow-up. Only the last turn is used, so topics do not pile up."""
    if not history or not is_follow_up(question):
        return question
    return f"{history[-1].resolved} {question}"
