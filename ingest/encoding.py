"""Guess the text encoding of a file's bytes, refusing rather than garbling.

The corpus is English and Russian, in UTF-8 and in single-byte Cyrillic code pages (mostly
cp1251, sometimes koi8-r, cp866 or mac-cyrillic). Those code pages all decode any byte string,
so the right one is chosen by how Russian the result looks: the share of its non-ASCII
characters that are letters or usual punctuation, how plausible the letter case inside words is
("пРИВЕТ" is not), and how frequent its letters are in Russian. Anything else goes to
charset_normalizer and is accepted only when it recognises a language with little noise.
"""

from __future__ import annotations

import codecs
import itertools
import logging
import math
import re
from dataclasses import dataclass

import charset_normalizer

from ingest.document import LoaderError

logger = logging.getLogger(__name__)

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

_BINARY_MAGIC: tuple[bytes, ...] = (
    b"\x89PNG",
    b"GIF8",
    b"\xff\xd8\xff",  # JPEG
    b"PK\x03\x04",  # zip, docx, xlsx
    b"%PDF-",
    b"\x1f\x8b",  # gzip
    b"\x7fELF",
    b"MZ\x90\x00",  # Windows executable
    b"\xd0\xcf\x11\xe0",  # old MS Office (.doc, .xls)
)

# Control bytes that never occur in text; \t \n \v \f \r, SUB (DOS end of file) and ESC can.
_TEXT_CONTROLS = frozenset(b"\t\n\x0b\x0c\r\x1a\x1b")
_CONTROL_BYTES = bytes(b for b in range(32) if b not in _TEXT_CONTROLS) + b"\x7f"
_MAX_CONTROL_SHARE = 0.02

# Candidate code pages with a prior penalty: the rarer the code page, the more it must win by.
_CYRILLIC_CANDIDATES: dict[str, float] = {
    "cp1251": 0.0,
    "koi8-r": 0.1,
    "cp866": 0.2,
    "mac-cyrillic": 0.2,
}
_RARE_CANDIDATES = frozenset({"cp866", "mac-cyrillic"})  # these must produce no odd characters

# Relative frequency of letters in Russian text (lower case), in percent.
_RUSSIAN_FREQUENCY: dict[str, float] = {
    "о": 10.97, "е": 8.45, "а": 8.01, "и": 7.35, "н": 6.70, "т": 6.26, "с": 5.47, "р": 4.73,
    "в": 4.54, "л": 4.40, "к": 3.49, "м": 3.21, "д": 2.98, "п": 2.81, "у": 2.62, "я": 2.01,
    "ы": 1.90, "ь": 1.74, "г": 1.70, "з": 1.65, "б": 1.59, "ч": 1.44, "й": 1.21, "х": 0.97,
    "ж": 0.94, "ш": 0.73, "ю": 0.64, "ц": 0.48, "щ": 0.36, "э": 0.32, "ф": 0.26, "ъ": 0.04,
    "ё": 0.2,
}  # fmt: skip
_OTHER_LETTERS = frozenset("іїєґўІЇЄҐЎ")  # Ukrainian and Belarusian: possible, unusual
_RARE_CYRILLIC_LOG = math.log(0.0002)
# The most frequent letter pairs in Russian; about a third of the pairs in real text.
_COMMON_BIGRAM_WORDS = (
    "ст но то на ен ов ни ра во ко ро ос пр не ет ер по ал ли ан ом ре ол ор ла ле ит ка ть "
    "от ин ва ск ел ат го ло ве од ил ес де ль ны ми тв ий ей ам ак ри ар че ог им та те ся "
    "ти ие об ма ки ив да ым ди мо ну ых ая ое их ую за ед ем ию ци ия ье ды ту ру ме вы ич "
    "ац уд ад бо"
)
_COMMON_BIGRAMS = frozenset(_COMMON_BIGRAM_WORDS.split())
_LOG_FREQUENCY = {letter: math.log(pct / 100) for letter, pct in _RUSSIAN_FREQUENCY.items()}
# Non-letters a Cyrillic code page legitimately produces in Russian text; only opening quotes
# may stand right before a letter ("€нститут" is a capital letter in the wrong code page).
_TEXT_PUNCTUATION = frozenset("«»—–…№‘’“”„•·°±§©®™€‰‹›¶\u00a0")
_OPENING_QUOTES = frozenset("«„“‘‹")

_MAX_ODD_SHARE = 0.05  # non-ASCII characters that are neither letters nor usual punctuation
_MAX_IMPLAUSIBLE_WORDS = 0.2  # words with mixed case ("пРИВЕТ") or mixed script ("cafй")
# Statistics that only mean something once there are enough letters:
_MIN_LETTERS_FOR_STATISTICS = 20
_MIN_MEAN_LOG_FREQUENCY = -4.0  # Russian text averages about -3.0, a pangram -3.8
_VOWEL_SHARE = (0.3, 0.6)  # Russian text has about 0.42; garbled text is far off
_VOWELS = frozenset("аеёиоуыэюя")
_MIN_COMMON_BIGRAM_SHARE = 0.15  # Russian text has about 0.35
_WORD = re.compile(r"[^\W\d_]+")

_MAX_CHAOS = 0.1
_MIN_COHERENCE = 0.3
# charset_normalizer ties cp1250 and cp1252 on Western text; these are the likelier ones.
_PREFERRED_FALLBACKS = ("cp1252", "iso8859_15", "cp1250")


@dataclass(frozen=True)
class _CyrillicScore:
    encoding: str
    odd_share: float
    implausible_share: float
    mean_log_frequency: float
    vowel_share: float
    common_bigram_share: float
    cyrillic_letters: int

    @property
    def convincing(self) -> bool:
        if self.cyrillic_letters == 0 or self.implausible_share > _MAX_IMPLAUSIBLE_WORDS:
            return False
        max_odd = 0.0 if self.encoding in _RARE_CANDIDATES else _MAX_ODD_SHARE
        if self.odd_share > max_odd:
            return False
        if self.cyrillic_letters < _MIN_LETTERS_FOR_STATISTICS:
            return True
        low, high = _VOWEL_SHARE
        return (
            self.mean_log_frequency >= _MIN_MEAN_LOG_FREQUENCY
            and low <= self.vowel_share <= high
            and self.common_bigram_share >= _MIN_COMMON_BIGRAM_SHARE
        )

    @property
    def value(self) -> float:
        return (
            self.mean_log_frequency
            + 3.0 * self.common_bigram_share
            - 3.0 * self.implausible_share
            - 20.0 * self.odd_share
            - _CYRILLIC_CANDIDATES[self.encoding]
        )


def decode_bytes(data: bytes) -> tuple[str, str]:
    """Decode `data` and return `(text, encoding name)`.

    Order: a byte order mark; UTF-16 without one; binary data (refused; NUL padding at the end
    is dropped first); strict UTF-8; UTF-8 lines mixed with lines in one Cyrillic code page;
    single-byte Cyrillic code pages; other encodings charset_normalizer is sure of.
    Raises `LoaderError` for binary data and for bytes no encoding explains convincingly.
    """
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding), encoding
            except UnicodeDecodeError as exc:
                raise LoaderError(
                    f"the file starts with a {encoding} byte order mark but is not valid "
                    f"{encoding} (byte {exc.start + len(bom)}); re-save it as UTF-8"
                ) from exc
    utf16 = _utf16_without_bom(data)
    if utf16 is not None:
        return utf16
    padded = len(data)
    data = data.rstrip(b"\x00")  # NUL padding, as a crash or a preallocating writer leaves
    if not data:
        raise LoaderError("the file holds only NUL bytes, no text")
    if len(data) < padded:
        logger.debug("ignored %d NUL bytes at the end of the file", padded - len(data))
    if _looks_binary(data):
        raise LoaderError("looks like a binary file, not text")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    mixed = _utf8_and_cyrillic_lines(data)
    if mixed is not None:
        return mixed
    cyrillic = _best_cyrillic(data)
    if cyrillic is not None:
        return cyrillic
    fallback = _charset_normalizer_guess(data)
    if fallback is not None:
        return fallback
    raise LoaderError(
        "could not determine the text encoding (not UTF-8 and no Cyrillic or other code page "
        "fits convincingly); re-save the file as UTF-8"
    )


def _utf16_without_bom(data: bytes) -> tuple[str, str] | None:
    """Recognise BOM-less UTF-16 by its high bytes.

    In Latin text every other byte is NUL; in Russian text it is 0x04 or NUL (spaces, digits).
    """
    if len(data) < 4 or len(data) % 2:
        return None
    even, odd = data[0::2], data[1::2]
    half = len(data) // 2
    for high, low, encoding in ((odd, even, "utf-16-le"), (even, odd, "utf-16-be")):
        mostly_nul = high.count(0) >= 0.6 * half
        one_script = 0 in high and len(set(high)) <= 3 and half >= 4
        if (mostly_nul or one_script) and low.count(0) <= 0.02 * half:
            try:
                text = data.decode(encoding)
            except UnicodeDecodeError:
                return None
            if _control_share(text.encode("utf-8", "surrogatepass")) <= _MAX_CONTROL_SHARE:
                return text, encoding
    return None


def _utf8_and_cyrillic_lines(data: bytes) -> tuple[str, str] | None:
    """Recognise UTF-8 lines and lines in one Cyrillic code page pasted into one file.

    Needs lines that are valid UTF-8 and hold letters beyond ASCII (in a real cp1251 line that
    never happens by chance), and the other lines must read convincingly in one code page.
    """
    lines = data.split(b"\n")
    decoded: list[str | None] = []
    utf8_letters = 0
    for line in lines:
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            decoded.append(None)
            continue
        decoded.append(text)
        if not line.isascii():
            extra = [ch for ch in text if not ch.isascii()]
            if sum(1 for ch in extra if ch.isalpha() or ch in _TEXT_PUNCTUATION) < len(extra):
                return None  # not clean UTF-8 text: leave it to the code page guess
            utf8_letters += len(extra)
    others = [line for line, text in zip(lines, decoded, strict=True) if text is None]
    if not utf8_letters or not others:
        return None
    cyrillic = _best_cyrillic(b"\n".join(others))
    if cyrillic is None:
        return None
    rest = iter(cyrillic[0].split("\n"))  # every candidate code page keeps \n as it is
    text = "\n".join(line if line is not None else next(rest) for line in decoded)
    return text, f"utf-8+{cyrillic[1]}"


def _control_share(data: bytes) -> float:
    controls = len(data) - len(data.translate(None, _CONTROL_BYTES))
    return controls / max(len(data), 1)


def _looks_binary(data: bytes) -> bool:
    if data.startswith(_BINARY_MAGIC):
        return True
    return b"\x00" in data[:8192] or _control_share(data[:65536]) > _MAX_CONTROL_SHARE


def _best_cyrillic(data: bytes) -> tuple[str, str] | None:
    best: tuple[_CyrillicScore, str] | None = None
    for encoding in _CYRILLIC_CANDIDATES:  # cp1251 first: it wins ties
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        score = _score_cyrillic(text, data, encoding)
        logger.debug("encoding candidate %s", score)
        if score.convincing and (best is None or score.value > best[0].value):
            best = (score, text)
    if best is None:
        return None
    return best[1], best[0].encoding


def _score_cyrillic(text: str, data: bytes, encoding: str) -> _CyrillicScore:
    """Score a single-byte decoding; `text[i]` comes from `data[i]`."""
    non_ascii = [i for i, byte in enumerate(data) if byte >= 0x80]
    letters = [text[i] for i in non_ascii if _is_cyrillic(text[i])]
    odd = sum(1 for i in non_ascii if _is_odd(text, i))
    log_sum = sum(_LOG_FREQUENCY.get(ch.lower(), _RARE_CYRILLIC_LOG) for ch in letters)
    vowels = sum(1 for ch in letters if ch.lower() in _VOWELS)
    words = [w for w in _WORD.findall(text) if any(_is_cyrillic(ch) for ch in w)]
    implausible = sum(1 for w in words if not _plausible_word(w))
    pairs = [w[i : i + 2].lower() for w in words for i in range(len(w) - 1)]
    common = sum(1 for pair in pairs if pair in _COMMON_BIGRAMS)
    return _CyrillicScore(
        encoding=encoding,
        odd_share=odd / max(len(non_ascii), 1),
        implausible_share=implausible / max(len(words), 1),
        mean_log_frequency=log_sum / len(letters) if letters else -math.inf,
        vowel_share=vowels / max(len(letters), 1),
        common_bigram_share=common / max(len(pairs), 1),
        cyrillic_letters=len(letters),
    )


def _is_cyrillic(ch: str) -> bool:
    """A letter of Russian (or Ukrainian, Belarusian); other Cyrillic letters count as odd."""
    return ch.lower() in _LOG_FREQUENCY or ch in _OTHER_LETTERS


def _is_odd(text: str, i: int) -> bool:
    ch = text[i]
    if _is_cyrillic(ch):
        return False
    if ch not in _TEXT_PUNCTUATION:
        return True
    followed_by_letter = i + 1 < len(text) and _is_cyrillic(text[i + 1])
    return followed_by_letter and ch not in _OPENING_QUOTES


def _plausible_word(word: str) -> bool:
    """Cyrillic only, and lower case, Capitalised or UPPER case ("ВКонтакте" passes too)."""
    if not all(_is_cyrillic(ch) for ch in word):
        return False
    return not any(a.islower() and b.isupper() for a, b in itertools.pairwise(word))


def _charset_normalizer_guess(data: bytes) -> tuple[str, str] | None:
    matches = [
        m
        for m in charset_normalizer.from_bytes(data)
        if m.chaos <= _MAX_CHAOS and m.coherence >= _MIN_COHERENCE
    ]
    if not matches:
        return None
    top = min(matches, key=lambda m: (m.chaos, -m.coherence))
    tied = {m.encoding: m for m in matches if (m.chaos, m.coherence) == (top.chaos, top.coherence)}
    preferred = [tied[name] for name in _PREFERRED_FALLBACKS if name in tied]
    if preferred:
        top = preferred[0]
    logger.debug("charset_normalizer chose %s (chaos %s)", top.encoding, top.chaos)
    return str(top), top.encoding
