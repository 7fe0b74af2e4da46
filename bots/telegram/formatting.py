"""Telegram HTML: escaping, links, and splitting a long message into messages Telegram accepts.

Telegram limits a message to 4,096 characters of text *after* entity parsing (tags do not
count, `&amp;` counts as one character). `split_html` cuts at paragraph boundaries first, then
at line ends, sentence ends, spaces, and only then anywhere; it never cuts inside a tag or an
entity, and closes the tags open at a cut and reopens them in the next message, so every part is
well-formed on its own. Lengths are counted in UTF-16 code units, as Telegram counts entity
offsets (never less than the number of characters).
"""

from __future__ import annotations

import html
import re
from bisect import bisect_right
from dataclasses import dataclass

MAX_MESSAGE_CHARS = 4096

_ATOM = re.compile(
    r"(?P<tag><(?P<close>/?)(?P<name>[a-zA-Z][a-zA-Z0-9-]*)[^>]*>)"
    r"|(?P<entity>&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[a-zA-Z][a-zA-Z0-9]*);)"
    r"|(?P<char>.)",
    re.DOTALL,
)
_SENTENCE_END = re.compile(r"[.!?…](?=\s)")


def escape(value: str) -> str:
    """Text made safe for `parse_mode=HTML` (`<`, `>` and `&`, as Telegram asks)."""
    return html.escape(value, quote=False)


def link(href: str, label_html: str) -> str:
    """`<a href>` around already-escaped `label_html` (the URL escaped for an attribute)."""
    return f'<a href="{html.escape(href, quote=True)}">{label_html}</a>'


def absolute_url(public_url: str | None, path: str) -> str | None:
    """`path` made absolute with the configured public URL; None when there is none (or it is
    not http(s)), so callers show plain text instead of a link that cannot work."""
    if not public_url or not public_url.startswith(("https://", "http://")):
        return None
    return public_url.rstrip("/") + "/" + path.lstrip("/")


def utf16_len(value: str) -> int:
    """Length in UTF-16 code units (characters outside the BMP count twice)."""
    return len(value.encode("utf-16-le")) // 2


def visible_text(html_text: str) -> str:
    """What the user reads: tags removed, entities decoded."""
    return "".join(atom.visible for atom in _atoms(html_text))


@dataclass(frozen=True)
class _Atom:
    raw: str
    visible: str  # "" for tags
    tag: str | None = None  # tag name for tags
    closing: bool = False


def _atoms(html_text: str) -> list[_Atom]:
    atoms: list[_Atom] = []
    for match in _ATOM.finditer(html_text):
        raw = match.group(0)
        if match.group("tag"):
            name = match.group("name").lower()
            atoms.append(_Atom(raw, "", name, bool(match.group("close"))))
        elif match.group("entity"):
            atoms.append(_Atom(raw, html.unescape(raw)))
        else:
            atoms.append(_Atom(raw, raw))
    return atoms


def split_html(html_text: str, limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """Well-formed messages of at most `limit` visible UTF-16 units, cut at the best boundary
    (paragraph, line, sentence, space, anywhere); blank parts are dropped."""
    if limit < 2:
        raise ValueError("limit must be at least 2")
    atoms = _atoms(html_text)
    # cumulative[k] = visible length of atoms[:k]
    cumulative = [0]
    for atom in atoms:
        cumulative.append(cumulative[-1] + utf16_len(atom.visible))
    stacks = _open_tag_stacks(atoms)
    parts: list[str] = []
    start = 0
    while start < len(atoms):
        if cumulative[-1] - cumulative[start] <= limit:
            end = len(atoms)
        else:
            furthest = bisect_right(cumulative, cumulative[start] + limit) - 1
            end = _best_cut(atoms, start, max(furthest, start + 1))
        part = _render(atoms, start, end, stacks)
        if visible_text(part).strip():
            parts.append(part)
        start = end
    return parts


def _open_tag_stacks(atoms: list[_Atom]) -> list[tuple[_Atom, ...]]:
    """For each position k, the opening tags still open before atoms[k] (outermost first)."""
    stacks: list[tuple[_Atom, ...]] = []
    stack: list[_Atom] = []
    for atom in atoms:
        stacks.append(tuple(stack))
        if atom.tag is None:
            continue
        if not atom.closing:
            stack.append(atom)
        else:
            for index in range(len(stack) - 1, -1, -1):
                if stack[index].tag == atom.tag:
                    del stack[index:]
                    break
    stacks.append(tuple(stack))
    return stacks


def _best_cut(atoms: list[_Atom], start: int, end: int) -> int:
    """The best position in (start, end] to cut before; closing tags that follow the cut stay
    with the part they close."""
    text = "".join(atom.visible[:1] or "\x00" for atom in atoms[start:end])
    # each atom is one character of `text` (tags as NUL), so offsets map back directly
    cut: int | None = None
    for pattern in ("\n\n", "\n"):
        found = text.rfind(pattern)
        if found > 0:
            cut = found + len(pattern)
            break
    if cut is None:
        sentences = [m.end() + 1 for m in _SENTENCE_END.finditer(text) if m.end() + 1 <= len(text)]
        if sentences:
            cut = sentences[-1]
    if cut is None:
        space = max(text.rfind(" "), text.rfind("\t"))
        cut = space + 1 if space > 0 else len(text)
    position = start + cut
    while position < len(atoms) and atoms[position].tag is not None and atoms[position].closing:
        position += 1
    return position


def _render(atoms: list[_Atom], start: int, end: int, stacks: list[tuple[_Atom, ...]]) -> str:
    reopened = "".join(atom.raw for atom in stacks[start])
    body = "".join(atom.raw for atom in atoms[start:end])
    closing = "".join(f"</{atom.tag}>" for atom in reversed(stacks[end]))
    return reopened + body + closing
