"""What answerers receive and return, before citations are numbered for the user."""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.answering.models import Language
from assistant.retrieval.evidence import Evidence
from assistant.retrieval.question_analysis import QuestionProfile


@dataclass(frozen=True)
class AnswerRequest:
    """A question with its evidence, best first."""

    question: str
    language: Language
    evidence: list[Evidence]
    profile: QuestionProfile = field(default_factory=lambda: QuestionProfile(None, ()))


@dataclass(frozen=True)
class DraftCitation:
    """Marker `n` in the answer text points at this evidence sentence."""

    n: int
    evidence: Evidence


@dataclass
class DraftAnswer:
    """An answer text with markers [n] and what they point at."""

    text: str
    citations: list[DraftCitation] = field(default_factory=list)
    mode: str = "extractive"
