"""Sentence spans of prose: lines joined where they continue, then split after . ! ?

A period that ends an initial ("N. Rubtsova") or an abbreviation ("Dr.", "г. Минск") does not
end a sentence.
"""

from __future__ import annotations

import re


def _words(s: str) -> list[str]:
    return s.split()


LINE = re.compile(r"[^\n]+")  # one line of text, without its newline
_BULLET = re.compile(r"[-–—•·*]\s+(\S)")
_SENTENCE_END = re.compile(r"[.!?…]+[\"”»)]*(\s+)(?=[\"“«(]?[A-ZА-ЯЁ0-9—–])")
_WORD_BEFORE_DOT = re.compile(r"([\w.]+?)[.!?…]+[\"”»)]*$")
_NO_SPLIT_AFTER = frozenset(
    _words(
        "mr mrs ms dr prof st no nr vs inc ltd co jr sr e.g i.e им ул д проф акад т обл пр тел "
        "стр т.д т.е т.к см"
    )
)


def sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans of `text`. A line is joined to the one before when it continues it (it
    starts in lower case, or is a dash item after an unfinished line); then lines are split
    after . ! ? unless the period ends an initial ("N. Rubtsova") or an abbreviation."""
    blocks: list[tuple[int, int]] = []
    for m in LINE.finditer(text):
        start = m.start() + len(m[0]) - len(m[0].lstrip())
        end = m.start() + len(m[0].rstrip())
        if start >= end:
            continue
        if blocks and _continues(text[blocks[-1][1] - 1], text[start:end]):
            blocks[-1] = (blocks[-1][0], end)
        else:
            blocks.append((start, end))
    spans: list[tuple[int, int]] = []
    for block_start, block_end in blocks:
        start = block_start
        for m in _SENTENCE_END.finditer(text, block_start, block_end):
            word = _WORD_BEFORE_DOT.search(text, max(start, m.start() - 30), m.start(1))
            token = word.group(1).lower() if word else ""
            if len(token) == 1 and token.isalpha() and token != "г":
                continue  # an initial
            if token in _NO_SPLIT_AFTER:
                continue
            if token in {"г", "гг"} and not re.search(r"\d{4}\s*гг?\.$", text[start : m.end()]):
                continue  # "г. Минск", not "2025 г."
            spans.append((start, m.start(1)))
            start = m.end(1)
        spans.append((start, block_end))
    return spans


def _continues(last_char: str, line: str) -> bool:
    if last_char in '.!?»”"':
        return False
    if line[0].islower():
        return True
    bullet = _BULLET.match(line)
    return bullet is not None and (bullet.group(1).islower() or last_char in ":;,")
