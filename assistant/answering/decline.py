"""Deciding whether the evidence answers the question at all, and saying so when it does not.

Three checks, all of which must pass:
- the names, acronyms and numbers the question is about appear in what was found ("Brazil",
  "3rd forum"); terms in another script than the documents are not checked (a Russian question
  over English documents);
- when the question expects a kind of answer (a person, a date, an amount, an e-mail), some
  sentence that holds one is close enough to the question;
- the best sentence (with its neighbours) is close enough in meaning and words.
Thresholds are per embedding model, set from the gold set (`coop eval`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from assistant.answering.models import Language
from assistant.retrieval.evidence import Evidence, text_words
from assistant.retrieval.hybrid import ScoredChunk
from assistant.retrieval.question_analysis import (
    QuestionProfile,
    WordIndex,
    has_cyrillic,
    has_latin,
    name_present_across_scripts,
)


@dataclass(frozen=True)
class DeclinePolicy:
    """Minimum context scores for an answer, for an English question over English text and for
    any other pair (similarities across languages run lower and words cannot help)."""

    min_context_en: float = 0.45
    min_typed_en: float = 0.40
    min_context_other: float = 0.45
    min_typed_other: float = 0.40

    def answers(self, evidence: list[Evidence], profile: QuestionProfile, language: str) -> bool:
        """Whether the evidence answers a question with this profile, in this language."""
        if not evidence:
            return False
        if not focus_covered(profile, evidence):
            return False
        english = language == "en" and evidence[0].chunk.language == "en"
        if profile.answer_type is not None:
            typed = [item for item in evidence if item.typed and item.focus_ok]
            floor = self.min_typed_en if english else self.min_typed_other
            return bool(typed) and typed[0].context >= floor
        floor = self.min_context_en if english else self.min_context_other
        return max(item.context for item in evidence) >= floor


def focus_covered(profile: QuestionProfile, evidence: list[Evidence]) -> bool:
    """Every focus term occurs in the evidence (sentences, sections, titles).

    A term is looked for among words of its own script. A Russian term missing there may still
    be named in English text: a name is then compared by transliterated first letters, and an
    acronym or common word (ВОЗ is WHO) cannot be checked and is let through. A Latin term or a
    number missing from Latin text is missing.
    """
    if not profile.focus:
        return True
    words: set[str] = set()
    capitalised: set[str] = set()  # names are compared across scripts with these only
    for item in evidence:
        if item.words:  # worked out with the chunk's sentences (with the heading's words)
            words |= item.words
            capitalised |= item.capitalised
        else:
            lower, upper = _words_of(item.text)
            words |= lower
            capitalised |= upper
        for text in (item.chunk.section, item.chunk.title):
            lower, upper = _words_of(text)
            words |= lower
            capitalised |= upper
    latin = any(has_latin(word) for word in words)
    index: WordIndex | None = None  # made when a term is not there word for word
    for term in profile.focus:
        if term in words:
            continue
        index = index or WordIndex(words)
        if index.matching(term):
            continue
        if not has_cyrillic(term):
            if latin or term.isdigit():
                return False
            continue  # a Latin term asked of Russian-only text: not checkable word for word
        if not latin:
            return False
        if term in profile.names and name_present_across_scripts(term, capitalised) is False:
            return False
    return True


# The sentences, sections and titles of the best chunks come back question after question.
_words_of = functools.lru_cache(maxsize=8192)(text_words)


# Per embedding model: their similarity scales differ.
# Measured on the gold set plus off-topic probes (see README, "Answer quality").
POLICIES: dict[str, DeclinePolicy] = {
    "minilm-l6-v2--use-multilingual-v3": DeclinePolicy(0.31, 0.20, 0.21, 0.19),
    "minilm-l6-v2": DeclinePolicy(0.43, 0.35, 0.43, 0.35),
    "use-multilingual-v3": DeclinePolicy(0.30, 0.20, 0.21, 0.19),
}


def policy_for(model_key: str) -> DeclinePolicy:
    """The measured policy of a model, else the default."""
    return POLICIES.get(model_key, DeclinePolicy())


def decline_text(language: Language, hits: list[ScoredChunk]) -> str:
    """ "The documents don't say", in the question's language, with the nearest topics."""
    topics: list[str] = []
    for hit in hits:
        topic = hit.chunk.section.split(" > ")[-1] if hit.chunk.section else hit.chunk.title
        if topic and topic not in topics:
            topics.append(topic)
        if len(topics) == 3:
            break
    if language == "ru":
        text = "В документах об этом не сказано."
        return f"{text} Ближайшие темы: {'; '.join(topics)}." if topics else text
    text = "The documents don't say."
    return f"{text} The nearest topics they cover: {'; '.join(topics)}." if topics else text
