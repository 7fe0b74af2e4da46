"""Organisation names in English or Russian prose, found by rules over word tokens.

A name is a capitalised run (with connectors such as "of", "for", "и") that has a head word
(Institute, Centre, University, институт, центр, ...), an acronym, or is a quoted name;
"X and the Y" names two organisations. A lone head word ("the Institute") is the writer's own
organisation, not a partner.
"""

from __future__ import annotations

import re
from typing import NamedTuple


def _words(s: str) -> list[str]:
    return s.split()


class Token(NamedTuple):
    """A word, initial, punctuation mark or quoted name, with its offsets in the text."""

    start: int
    end: int
    text: str


_TOKEN = re.compile(
    r"«[^»\n]{1,150}»|“[^”\n]{1,150}”|„[^“”\n]{1,150}[“”]|\"[^\"\n]{1,150}\""
    r"|[A-ZА-ЯЁ]\.(?=\s?[A-ZА-ЯЁ])|\w[\w'’]*(?:-\w[\w'’]*)*|\S"
)
_HEADS_EN = frozenset(
    _words(
        "institute institution center centre university ministry foundation agency organization "
        "organisation association academy college hospital clinic company society council fund "
        "laboratory school commission corporation bank union network office service department "
        "committee authority consortium faculty board bureau chamber administration government "
        "federation inc ltd llc gmbh group"
    )
)
_HEADS_RU = re.compile(
    r"(?i)(?:институт|центр|университет|министерств|фонд|агентств|организаци|ассоциаци|академи"
    r"|колледж|больниц|клиник|компани|обществ|совет|лаборатори|школ|комисси|корпораци|банк"
    r"|служб|управлени|департамент|комитет|союз|учреждени|предприяти|факультет|бюро|палат"
    r"|администраци|правительств|госпитал|консорциум)"
)
_CONNECTORS = frozenset(_words("of for and the on de du des la le der für und & - named"))
_RU_STOP = re.compile(
    r"(?i)(?:о|об|на|до|от|в|во|с|со|по|к|за|из|а|но|что|как|также|ещё|еще|уже|был\w*|будет"
    r"|котор\w+|сроком|срок\w*|год\w*|г|подпис\w+|продл\w+|заключ\w+|пролонг\w+|действ\w+"
    r"|исте\w+|истё\w+|растор\w+|прекра\w+|являет\w*|стал\w*|предусм\w+|направл\w+)"
)


def is_capitalised(token: str) -> bool:
    """True for a word that starts in upper case, or a quoted name."""
    return token[:1].isupper() or token[:1] in '«“„"'


def is_cyrillic(token: str) -> bool:
    """True when the token has a Cyrillic letter."""
    return any("а" <= ch.lower() <= "я" or ch in "ёЁ" for ch in token)


def _acronym(token: str) -> bool:
    return len(token) >= 2 and token.isalpha() and token.isupper()


def _has_head(tokens: list[Token]) -> bool:
    for t in tokens:
        if t.text.lower() in _HEADS_EN or t.text[:1] in '«“„"' or _acronym(t.text):
            return True
        if is_cyrillic(t.text) and _HEADS_RU.match(t.text):
            return True
    return False


def tokenize(text: str, start: int, end: int) -> list[Token]:
    """Tokens of text[start:end]; a quoted name is one token."""
    return [Token(m.start(), m.end(), m[0]) for m in _TOKEN.finditer(text, start, end)]


def run_end(tokens: list[Token], i: int) -> int:
    """Index of the last content token of the name that starts at tokens[i]."""
    russian = is_cyrillic(tokens[i].text)
    last = i
    for j in range(i + 1, len(tokens)):
        word = tokens[j].text
        if is_capitalised(word) or (word[:1].isdigit() and tokens[j - 1].text == "№"):
            last = j
        elif russian and word[:1].islower() and is_cyrillic(word):
            if word == "и":
                continue
            if _RU_STOP.fullmatch(word):
                break
            last = j
        elif word.lower() in _CONNECTORS:
            continue
        else:
            break
    return last


def _split_run(tokens: list[Token], i: int, j: int) -> list[tuple[int, int]]:
    """Split one capitalised run into the organisations it lists ("X and the Y")."""
    parts: list[tuple[int, int]] = []
    current = i
    for k in range(i + 1, j):
        if tokens[k].text not in {"and", "и"} or k <= current:
            continue
        following = tokens[k + 1].text
        if following == "the":
            split, nxt = True, k + 2
        elif following == "и" or tokens[k].text == "и":
            split, nxt = is_capitalised(following), k + 1
        else:
            chunk_end = k + 1
            while chunk_end <= j and tokens[chunk_end].text.lower() not in _CONNECTORS:
                chunk_end += 1
            left, right = tokens[current:k], tokens[k + 1 : chunk_end]
            split, nxt = _has_head(left) and _has_head(right), k + 1
        if split:
            parts.append((current, k - 1))
            current = nxt
    parts.append((current, j))
    return parts


def find_organisations(tokens: list[Token], k: int, limit: int) -> list[tuple[int, int]]:
    """Organisations named from tokens[k] on, skipping up to a dozen words before the first."""
    found: list[tuple[int, int]] = []
    skipped = 0
    while k < limit and skipped <= 12:
        word = tokens[k].text
        if word in {",", ";", ".", "(", ")", "!", "?"} or word[:1].isdigit():
            if not found or word != "," or k + 1 >= limit:
                break
            k += 1
            continue
        if found and word in {"and", "и", "the", "as", "well"}:
            k += 1
            continue
        if not is_capitalised(word):
            if found:
                break
            k += 1
            skipped += 1
            continue
        j = min(run_end(tokens, k), limit - 1)
        parts = [
            (a, b)
            for a, b in _split_run(tokens, k, j)
            if a <= b and _has_head(tokens[a : b + 1]) and not _self_reference(tokens[a : b + 1])
        ]
        if not parts and found:
            break
        found.extend(parts)
        skipped += 1
        k = j + 1
    return found


def _self_reference(tokens: list[Token]) -> bool:
    """ "Institute" or "Центром" alone is the writer's own organisation, not a partner."""
    return (
        len(tokens) == 1
        and not _acronym(tokens[0].text)
        and is_capitalised(tokens[0].text)
        and (tokens[0].text.lower() in _HEADS_EN or bool(_HEADS_RU.match(tokens[0].text)))
    )
