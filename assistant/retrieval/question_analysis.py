"""What a question asks for: the kind of answer (a person, a date, an amount, an e-mail...) and
its focus terms (names, acronyms, numbers) that an answer must be about."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass
from typing import Literal

import Stemmer

AnswerType = Literal["person", "date", "count", "money", "email", "phone"]

_TYPE_PATTERNS: tuple[tuple[AnswerType, re.Pattern[str]], ...] = (
    ("email", re.compile(r"\b(e-?mail|email address|mail)\b|почт\w*|e-?mail|имейл", re.I)),
    ("phone", re.compile(r"\b(phone|telephone|call)\b|телефон\w*|позвонить", re.I)),
    (
        "money",
        re.compile(
            r"\bhow much\b.*\b(cost|fund\w*|budget|invest\w*|pay|price|money|worth)\b|"
            r"\b(cost|costs|budget|funding|price|fee)\b|"
            r"сколько\s+стои\w*|бюджет\w*|стоимост\w*|финансирован\w*|цен[аыу]\b",
            re.I,
        ),
    ),
    ("count", re.compile(r"\bhow many\b|\bhow big\b|\bсколько\b", re.I)),
    (
        "date",
        re.compile(
            r"^\s*(when)\b|\b(what|which) (year|month|date|day)s?\b|\bsince when\b|"
            r"\b(what|which) (are|were) the dates\b|\bhow long ago\b|"
            r"\buntil when\b|\b(valid|expires?|runs?) until\b|\bwhen does .* (expire|end)\b|"
            r"\bкогда\b|в как\w+ году|как\w+ числа|в как\w+ месяц\w*|с какого года|\bсроки\b|"
            r"до как\w+ (года|числа|даты|срока)|какого года",
            re.I,
        ),
    ),
    (
        "person",
        re.compile(
            r"^\s*(and\s+)?(who|whom|whose)\b|\bwho (is|was|are|were|won|heads|leads|signed)\b|"
            r"^\s*(а\s+|и\s+)?(кто|кого|кому|кем|чей|чья)\b",
            re.I,
        ),
    ),
)

_MONTHS = (
    r"january|february|march|april|may|june|july|august|september|october|november|december|"
    r"январ\w*|феврал\w*|март\w*|апрел\w*|ма[йяе]\b|июн\w*|июл\w*|август\w*|сентябр\w*|"
    r"октябр\w*|ноябр\w*|декабр\w*"
)
_HAS_TYPE: dict[str, re.Pattern[str]] = {
    "email": re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"),
    "phone": re.compile(r"\+?\d[\d\s()\-]{7,}\d"),
    "money": re.compile(
        r"[$€£₽]\s?\d|\d[\d\s,.]*\s?(rub\w*|руб\w*|euro\w*|евро|dollar\w*|долл\w*|usd|eur|"
        r"million|billion|thousand|млн|млрд|тыс)",
        re.I,
    ),
    # A lookahead for the first letters of the words listed lets the search skip, at one
    # test, every position where no listed word can begin (twice as fast on a sentence).
    "count": re.compile(
        r"\b\d+\b|\b(?=[otfsenhdдтчпшсв])(one|two|three|four|five|six|seven|eight|nine|ten|"
        r"eleven|twelve|dozen|hundred|thousand|два|две|три|четыре|пять|шесть|семь|восемь|"
        r"девять|десять)\b",
        re.I,
    ),
    "date": re.compile(
        rf"\b(1[89]\d\d|20\d\d)\b|\b(?=[jfmasondяфмаисонд])({_MONTHS})\b|"
        r"\b\d{1,2}\.\d{1,2}\.\d{2,4}\b",
        re.I,
    ),
}

# Capitalised words so common in this domain that they say nothing about what is asked: kinds
# of organisation and fields (which still tell one partner from another, see `name_terms`)...
_ORGANISATION_WORDS = frozenset(
    " ".join(
        (
            "institute institution center centre ministry",
            "national international occupational health research organization organisation",
            "organizations organisations university department foundation program programme",
            "scientific medical centre's center's",
            "институт института институте центр центра центре министерство",
        )
    ).split()
)
# ... and words that are never part of a name: questions, pronouns, parts of country names.
_QUESTION_WORDS = frozenset(
    " ".join(
        (
            "republic federation russian russia what which who whom whose when where why how does",
            "did do is are was were can could the a an and or in of for with at by on to from our",
            "its their your and also what's who's i i'm i've me my и а в во на с со о об по для из",
            "к у как какой какие какая каком каких кто что где когда ли же это этот эта эти его её",
            "их они он она россии российской федерации",
        )
    ).split()
)
_GENERIC = _ORGANISATION_WORDS | _QUESTION_WORDS
MIN_PREFIX = 4  # a focus term or word shorter than this (or a number) matches whole words only
_WORD = re.compile(r"[\w-]+", re.UNICODE)
_PLAIN_WORD = re.compile(r"\w+")  # "ZQX-42" is the acronym "zqx" (partner names split so)
_ORDINAL_OR_NUMBER = re.compile(r"^\d+(st|nd|rd|th|-?[а-я]{1,3})?$", re.I)


@dataclass(frozen=True)
class QuestionProfile:
    """The answer type a question expects (if any) and its distinctive focus terms."""

    answer_type: AnswerType | None
    focus: tuple[str, ...]
    names: tuple[str, ...] = ()
    full_names: tuple[str, ...] = ()  # every word of the names given (see `name_terms`)


def analyse(question: str) -> QuestionProfile:
    """Profile a question in English or Russian (its Russian terms by their stems, see
    `match_form`)."""
    answer_type: AnswerType | None = None
    for kind, pattern in _TYPE_PATTERNS:
        if pattern.search(question):
            answer_type = kind
            break
    return QuestionProfile(
        answer_type,
        match_forms(focus_terms(question)),
        match_forms(focus_names(question)),
        match_forms(name_terms(question)),
    )


_RUSSIAN_STEMMER = Stemmer.Stemmer("russian")
_CYRILLIC_LETTER = re.compile(r"[а-яё]")
_LATIN_LETTER = re.compile(r"[a-z]", re.IGNORECASE)


def match_form(term: str) -> str:
    """The form a lower-cased term is looked for by: a Russian word by its stem, since its
    ending changes with its case ("с Восточным университетом" asks about the "Восточный
    университет"; found as a prefix, the stem finds every form), other words as they are."""
    if len(term) > MIN_PREFIX and _CYRILLIC_LETTER.search(term):
        stem = _RUSSIAN_STEMMER.stemWord(term)
        if len(stem) >= MIN_PREFIX:
            return str(stem)
    return term


def match_forms(terms: Iterable[str]) -> tuple[str, ...]:
    """`match_form` of each term, without repeats."""
    return tuple(dict.fromkeys(match_form(term) for term in terms))


def focus_names(question: str) -> tuple[str, ...]:
    """Capitalised words not at the start that are not acronyms (names of places, people,
    organisations), lower-cased."""
    names: list[str] = []
    for index, match in enumerate(_WORD.finditer(question)):
        word = match.group().strip("-")
        if index > 0 and word[:1].isupper() and not word.isupper() and word.lower() not in _GENERIC:
            names.append(word.lower())
    return tuple(dict.fromkeys(names))


_NAME_JOINERS = frozenset({"of", "for", "the", "de"})


def name_runs(question: str) -> list[tuple[str, ...]]:
    """Runs of capitalised words not at the start (joined by "of", "for", "the", "de"),
    lower-cased without the joiners: the names a question gives ("When does the agreement
    with the Federal University of Occupational Health (Leipzig) expire?" gives one run,
    federal ... leipzig). Acronyms and question words end a run."""
    runs: list[tuple[str, ...]] = []
    current: list[str] = []
    for index, match in enumerate(_WORD.finditer(question)):
        word = match.group().strip("-")
        lowered = word.lower()
        if index > 0 and word[:1].isupper() and not word.isupper():
            if lowered not in _QUESTION_WORDS:
                current.append(lowered)
                continue
        elif current and lowered in _NAME_JOINERS:
            continue
        if current:
            runs.append(tuple(current))
            current = []
    if current:
        runs.append(tuple(current))
    return runs


def name_terms(question: str) -> tuple[str, ...]:
    """Every word of the names the question gives, made singular ("Universities" finds
    "University").

    A name is a run of capitalised words (`name_runs`). A run that holds a word saying which
    one it is ("Federal", "Leipzig"; see `focus_names`) is a name, and then all its words
    count, the kind of organisation and its field too: that is what tells the "Federal
    University of Occupational Health (Leipzig)" from the "Federal Research Centre of Materials
    Science (Leipzig)". A run of such words alone ("the Institute of Occupational Health", the
    asking institution) names nothing in particular."""
    distinctive = set(focus_names(question))
    terms = [
        singular(word)
        for run in name_runs(question)
        if distinctive.intersection(run)
        for word in run
    ]
    return tuple(dict.fromkeys(terms))


def singular(word: str) -> str:
    """An English plural made singular, roughly ("centres" → "centre", "universities" →
    "university"); other words as they are."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def focus_terms(question: str) -> tuple[str, ...]:
    """Names, acronyms and numbers in the question (lower-cased): capitalised words not at
    the start, all-caps words, digits and ordinals — minus domain-generic words. An acronym
    that spells a question word ("the agreement with WHO") is kept (`acronyms`)."""
    terms: list[str] = []
    spelled = set(acronyms(question)) & _QUESTION_WORDS
    for index, match in enumerate(_WORD.finditer(question)):
        word = match.group().strip("-")
        if not word:
            continue
        is_name = word[0].isupper() and index > 0
        is_acronym = len(word) >= 2 and word.isupper()
        if not (is_name or is_acronym or _ORDINAL_OR_NUMBER.match(word)):
            continue
        lowered = word.lower()
        if lowered in _GENERIC and not (index > 0 and word.isupper() and lowered in spelled):
            continue
        terms.append(lowered)
    return tuple(dict.fromkeys(terms))


def acronyms(question: str) -> list[str]:
    """The acronyms of a question, lower-cased: words of two letters or more in capitals
    (none when most of its words are: a question typed in capitals). Of those that spell a
    common word ("WHO", "AND"), only ones of three letters or more not at the start count: "IS"
    or a shouted first word is more likely the word than a name."""
    words = [w for w in _PLAIN_WORD.findall(question) if len(w) >= 2 and not w.isdigit()]
    found: list[str] = []
    for index, word in enumerate(words):
        if not word.isupper():
            continue
        lowered = word.lower()
        if lowered in _QUESTION_WORDS and (index == 0 or len(word) < 3):
            continue
        found.append(lowered)
    capitals = sum(word.isupper() for word in words)
    return found if capitals * 2 <= len(words) else []


_INITIAL_SURNAME = re.compile(r"\b[A-ZА-ЯЁ]\.\s?(?:[A-ZА-ЯЁ]\.\s?)?[A-ZА-ЯЁ][a-zа-яё]{2,}")
_CAPITALISED_RUN = re.compile(r"(?:[A-ZА-ЯЁ][\w’'-]*\s+)*[A-ZА-ЯЁ][\w’'-]*")
_NAME_WORD = re.compile(r"^[A-ZА-ЯЁ][a-zа-яёé’'-]{1,}$")
# Words that make a run of capitalised words an organisation, a title or an event, not a person.
_NOT_NAME_WORDS = frozenset(
    " ".join(
        (
            "the our its this that these a an in on at of for and with by from",
            "department institute",
            "institution center centre ministry republic university organization organisation",
            "agency association foundation society societies program programme forum congress",
            "committee school health research federation union partnership network national",
            "international world medical scientific state european russian countries country",
            "oncology hygiene occupational diseases vice first deputy director head president",
            "professor general chief member day week conference meeting seminar group",
            "collaborating",
            "main media open innovations january february march april may june july august",
            "september october november december monday tuesday wednesday thursday friday saturday",
            "sunday",
        )
    ).split()
)


def mentions_person(text: str) -> bool:
    """Whether `text` names a person: an initial and a surname ("N. Rubtsova"), or a run of two
    or three capitalised words that are not an organisation, a title or a quoted name."""
    if _INITIAL_SURNAME.search(text):
        return True
    for match in _CAPITALISED_RUN.finditer(text):
        words = match.group().split()
        if not 2 <= len(words) <= 4:
            continue
        before = text[max(0, match.start() - 2) : match.start()]
        if any(quote in before for quote in "“«\"'„"):
            continue
        if text[match.end() : match.end() + 4] == " of ":
            continue
        if all(_NAME_WORD.match(w) and w.lower() not in _NOT_NAME_WORDS for w in words[:2]):
            return True
    return False


def has_answer_type(text: str, answer_type: AnswerType | None) -> bool:
    """Whether `text` contains something of the expected kind (always true without a type)."""
    if answer_type is None:
        return True
    if answer_type == "person":
        return mentions_person(text)
    return bool(_HAS_TYPE[answer_type].search(text))


# Every kind of answer, in the order of their bits in `answer_types_in`.
ANSWER_TYPES: tuple[AnswerType, ...] = ("person", "date", "count", "money", "email", "phone")
_TYPE_BIT = {kind: 1 << number for number, kind in enumerate(ANSWER_TYPES)}


def answer_types_in(text: str) -> int:
    """The kinds of answer `text` contains, one bit each (`ANSWER_TYPES` order): worked out
    once per sentence and kept, so a question's check is a bit test."""
    return sum(bit for kind, bit in _TYPE_BIT.items() if has_answer_type(text, kind))


def has_type_bit(types: int, answer_type: AnswerType | None) -> bool:
    """`has_answer_type` read from `answer_types_in`'s bits."""
    return answer_type is None or bool(types & _TYPE_BIT[answer_type])


_TRANSLIT = str.maketrans(
    {
        "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh",
        "з": "z", "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
        "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts",
        "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
        "я": "ya",
    }
)  # fmt: skip
TRANSLIT_PREFIX = 4


def transliterate(word: str) -> str:
    """Latin letters for a Russian word (a simple scheme, for matching names)."""
    return word.lower().translate(_TRANSLIT)


def has_cyrillic(word: str) -> bool:
    """Whether a lower-cased word has a Russian letter."""
    return _CYRILLIC_LETTER.search(word) is not None


def has_latin(text: str) -> bool:
    """Whether a text has a Latin letter."""
    return _LATIN_LETTER.search(text) is not None


def latin_key(word: str) -> str:
    """The first letters of a lower-cased word in Latin script (a Russian word transliterated):
    a name written in either script begins the same way in both."""
    return (transliterate(word) if has_cyrillic(word) else word)[:TRANSLIT_PREFIX]


def name_present_across_scripts(term: str, words: set[str]) -> bool | None:
    """Whether a Cyrillic name ("Измерова", "Бразилии") occurs in Latin text, by the first
    letters of its transliteration; None when the term cannot be checked that way (an
    acronym, whose Latin form is another word: ВОЗ is WHO, or a short word)."""
    if term.isupper() or len(term) < TRANSLIT_PREFIX + 1:
        return None
    prefix = latin_key(term.lower())
    return any(word.startswith(prefix) for word in words)


def terms_present(terms: Iterable[str], word_sets: Sequence[Set[str]]) -> dict[str, list[bool]]:
    """`term_present(term, words)` for every term and every set of words, computed by looking
    up each term's matching words once rather than at every word of every set."""
    index = WordIndex(set().union(*word_sets) if word_sets else ())
    found: dict[str, list[bool]] = {}
    for term in terms:
        matching = index.matching(term)
        found[term] = [not words.isdisjoint(matching) for words in word_sets]
    return found


class WordIndex:
    """The words of a vocabulary that `term_present` accepts for a term, found without looking
    at every word: a term and a word that prefix each other (four letters or more) share their
    first four letters, so the words are kept by those."""

    def __init__(self, words: Iterable[str]) -> None:
        self.words = frozenset(words)
        by_head: dict[str, list[str]] = {}
        for word in self.words:
            if len(word) >= MIN_PREFIX:
                by_head.setdefault(word[:MIN_PREFIX], []).append(word)
        self._by_head = by_head

    def matching(self, term: str) -> set[str]:
        """The words `w` of the vocabulary with `term_present(term, {w})`."""
        found = {term} if term in self.words else set()
        if _by_prefix(term):
            found.update(
                word
                for word in self._by_head.get(term[:MIN_PREFIX], ())
                if word.startswith(term) or term.startswith(word)
            )
        return found


def term_present(term: str, words: Set[str]) -> bool:
    """A focus term is present when a word starts with it or it starts with a word (≥ 4 letters):
    "Kazakh" finds "Kazakhstan", "Cuban" finds "Cuba"."""
    if term in words:
        return True
    return _by_prefix(term) and any(_prefix_match(term, word) for word in words)


def _by_prefix(term: str) -> bool:
    """Whether a term may be found by prefix (a word, not a number, of 4 letters or more)."""
    return len(term) >= MIN_PREFIX and not term.isdigit()


def _prefix_match(term: str, word: str) -> bool:
    return len(word) >= MIN_PREFIX and (word.startswith(term) or term.startswith(word))
