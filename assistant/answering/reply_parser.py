"""Reading an LLM's reply: only sentences that cite a source survive, markers renumbered.

`ReplyParser` reads the reply as it streams in: `feed` returns the text that is final so far
(whole sentences only, each checked), `finish` returns the rest, and `draft` the answer with its
citations. `parse_reply` does the same for a whole reply at once, so both paths keep exactly the
same sentences.
"""

from __future__ import annotations

import re

from assistant.answering.drafts import DraftAnswer, DraftCitation
from assistant.retrieval.evidence import Evidence

NOT_FOUND = "NOT_FOUND"

MARKER_GROUP = re.compile(r"\[\s*(\d+(?:\s*(?:[,;]|[-–])\s*\d+)*)\s*\]")
_MARKER_RUN = re.compile(r"(?:\s*\[\s*\d+(?:\s*(?:[,;]|[-–])\s*\d+)*\s*\])+")
# A sentence ends at . ! ? … (with closing quotes/brackets and any markers that follow), before
# whitespace and a capital, a digit, an opening quote or the end of the line.
_SENTENCE_END = re.compile(
    r"[.!?…]+[\"'»”’)]*"
    r"(?:\s*\[\s*\d+(?:\s*(?:[,;]|[-–])\s*\d+)*\s*\])*"
    r"(?=\s+[\"'«“(]?[A-ZА-ЯЁ0-9]|\s*$)"
)
_ABBREVIATION = re.compile(
    r"(?:\b(?:Dr|Mr|Mrs|Ms|Prof|St|Acad|No|vs|etc|e\.g|i\.e|Jr|Sr|Inc|Ltd|Co|"
    r"проф|акад|им|ул|г|гг|т\.д|т\.п|т\.е|др|пр|д|стр|рис)|\b[A-ZА-ЯЁ])\.$",
)
_LIST_PREFIX = re.compile(r"^\s*(?:[-*•–]|\d{1,2}[.)])\s+")
_THINKING = re.compile(r"<think>.*?(?:</think>|$)", re.DOTALL | re.IGNORECASE)
_MARKDOWN_LINK = re.compile(r"\[([^\]\n]+)\]\([^)\s]*\)")
_HTML_TAG = re.compile(r"</?[A-Za-z][^<>\n]*>")
_EMPHASIS = re.compile(r"\*\*|__|`+|^#+\s*", re.MULTILINE)


class ReplyParser:
    """Turns a reply, streamed in pieces, into validly cited text.

    Markers such as [1], [1][2], [1, 2] and [1-3] are read; a number that names no source is
    dropped, and so is a sentence with no valid marker left. Markers are renumbered 1..m in the
    order they first appear. A sentence is released only once the next one has begun (or the
    reply ended), so released text never changes. `NOT_FOUND` gives no text at all.
    """

    def __init__(self, sources: list[Evidence], *, mode: str = "llm") -> None:
        self._sources = sources
        self._mode = mode
        self._raw = ""
        self._numbers: dict[int, int] = {}  # source number in the prompt → marker in the answer
        self._line = 0  # index of the first line of the plain reply not yet closed
        self._sentence = 0  # sentences of that line already decided
        self._kept_in_line = 0
        self._text = ""  # what has been released
        self._declined = False

    def feed(self, piece: str) -> str:
        """Add a piece of the reply; return the newly final answer text (may be empty)."""
        self._raw += piece
        return self._advance(final=False)

    def finish(self) -> str:
        """The reply is complete: return the rest of the answer text."""
        return self._advance(final=True)

    def draft(self) -> DraftAnswer:
        """The answer released so far with the evidence its markers point at."""
        if self._declined or not self._numbers:
            return DraftAnswer(text="", citations=[], mode=self._mode)
        citations = [
            DraftCitation(n, self._sources[source - 1])
            for source, n in sorted(self._numbers.items(), key=lambda pair: pair[1])
        ]
        return DraftAnswer(text=self._text, citations=citations, mode=self._mode)

    def _advance(self, *, final: bool) -> str:
        if self._declined:
            return ""
        plain = _plain(self._raw)
        head = plain.strip(" \t\n\"'`.«»“”").upper()
        if head.startswith(NOT_FOUND):
            self._declined = True
            return ""
        if not final and NOT_FOUND.startswith(head):
            return ""  # could still become NOT_FOUND
        lines = plain.split("\n")
        released: list[str] = []
        while self._line < len(lines):
            closed = final or self._line < len(lines) - 1
            started = bool(self._text) or any(released)
            released.extend(self._advance_line(lines[self._line], closed=closed, started=started))
            if not closed:
                break
            self._line += 1
            self._sentence = 0
            self._kept_in_line = 0
        text = "".join(released)
        self._text += text
        return text

    def _advance_line(self, raw_line: str, *, closed: bool, started: bool) -> list[str]:
        """The released pieces of one line: its newly complete, validly cited sentences."""
        prefix_match = _LIST_PREFIX.match(raw_line)
        line = raw_line[prefix_match.end() :] if prefix_match else raw_line
        sentences = split_sentences(line)
        complete = len(sentences) if closed else max(0, len(sentences) - 1)
        pieces: list[str] = []
        for sentence in sentences[self._sentence : complete]:
            cited = _cite(sentence, len(self._sources), self._numbers)
            if cited is None:
                continue
            if self._kept_in_line:
                pieces.append(" " + cited)
            else:
                separator = "\n" if started else ""
                pieces.append(separator + ("- " if prefix_match else "") + cited)
            self._kept_in_line += 1
        self._sentence = max(self._sentence, complete)
        return pieces


def parse_reply(reply: str, sources: list[Evidence], *, mode: str = "llm") -> DraftAnswer:
    """Keep the reply's sentences that cite a source; renumber their markers 1..m.

    `NOT_FOUND` or nothing kept gives an empty draft.
    """
    parser = ReplyParser(sources, mode=mode)
    parser.feed(reply)
    parser.finish()
    return parser.draft()


def split_sentences(line: str) -> list[str]:
    """The sentences of one line; markers after a full stop stay with their sentence."""
    sentences: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(line):
        head = line[start : match.start() + 1].rstrip()
        if _ABBREVIATION.search(head) and not MARKER_GROUP.search(match.group()):
            continue
        sentences.append(line[start : match.end()].strip())
        start = match.end()
    sentences.append(line[start:].strip())
    return [sentence for sentence in sentences if sentence]


def _cite(sentence: str, count: int, numbers: dict[int, int]) -> str | None:
    """`sentence` with its valid markers renumbered, or None when none is valid."""
    if NOT_FOUND in sentence.upper():
        return None
    found: list[int] = []

    def replace(run: re.Match[str]) -> str:
        valid = [n for n in _marker_numbers(run.group()) if 1 <= n <= count]
        valid = list(dict.fromkeys(valid))
        found.extend(valid)
        if not valid:
            return ""
        for source in valid:
            numbers.setdefault(source, len(numbers) + 1)
        return " " + "".join(f"[{numbers[source]}]" for source in valid)

    cited = _MARKER_RUN.sub(replace, sentence)
    if not found:
        return None
    cited = re.sub(r"\]\s+([.,;:!?…])", r"]\1", cited)
    return " ".join(cited.split())


def _marker_numbers(run: str) -> list[int]:
    """Source numbers in a run of marker groups, ranges expanded (at most 50 wide)."""
    numbers: list[int] = []
    for group in MARKER_GROUP.findall(run):
        for part in re.split(r"\s*[,;]\s*", group):
            bounds = re.split(r"\s*[-–]\s*", part)
            low, high = int(bounds[0]), int(bounds[-1])
            if len(bounds) == 2 and low <= high <= low + 50:
                numbers.extend(range(low, high + 1))
            else:
                numbers.extend(int(bound) for bound in bounds)
    return numbers


def _plain(reply: str) -> str:
    """The reply as plain text: no reasoning block, HTML tags, link targets or emphasis."""
    text = _THINKING.sub("", reply.replace("\r\n", "\n"))
    text = _MARKDOWN_LINK.sub(_link_text, text)
    text = _HTML_TAG.sub("", text)
    return _EMPHASIS.sub("", text).strip()


def _link_text(link: re.Match[str]) -> str:
    """A markdown link's text; a marker stays a marker (`[1](url)` → `[1]`)."""
    label = f"[{link.group(1)}]"
    return label if MARKER_GROUP.fullmatch(label) else link.group(1)
