"""The assistant: question → retrieval → evidence → answer with verified citations."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol, cast, runtime_checkable

from assistant.answering.decline import DeclinePolicy, decline_text
from assistant.answering.drafts import AnswerRequest, DraftAnswer
from assistant.answering.followups import resolve
from assistant.answering.models import Answer, Citation, Language, viewer_url
from assistant.answering.sessions import SessionStore, Turn
from assistant.knowledge.answers import KnowledgeAnswerer
from assistant.knowledge.router import route
from assistant.retrieval.audience import Audience, visibilities_for
from assistant.retrieval.evidence import EvidenceSelector
from assistant.retrieval.hybrid import HybridSearcher
from assistant.retrieval.question_analysis import QuestionProfile, analyse
from ingest.language import detect_language
from vectorstore.facts_db import FactsDB
from vectorstore.records import ChunkRecord

logger = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000


class Answerer(Protocol):
    """Turns a question and its evidence into a cited answer."""

    mode: str

    def answer(self, request: AnswerRequest) -> DraftAnswer:
        """The answer text with markers [n] and the evidence each marker cites."""
        ...


@runtime_checkable
class StreamingAnswerer(Protocol):
    """An answerer that can release its answer as it is written (an LLM)."""

    def stream(
        self, request: AnswerRequest, cancelled: Callable[[], bool]
    ) -> Iterator[str | DraftAnswer]:
        """Pieces of the final answer text, in order, then the whole `DraftAnswer` last
        (nothing more once `cancelled()` is true)."""
        ...


@dataclass(frozen=True)
class Started:
    """The answer has begun: its ids and language."""

    session_id: str
    answer_id: str
    language: Language


@dataclass(frozen=True)
class Delta:
    """The next piece of the answer text (the pieces, joined, are the answer)."""

    text: str


@dataclass(frozen=True)
class Cited:
    """The answer's verified citations, and whether the documents answered at all."""

    found: bool
    citations: list[Citation] = field(default_factory=list)


@dataclass(frozen=True)
class Finished:
    """The whole answer, as `ask` returns it."""

    answer: Answer


AnswerEvent = Started | Delta | Cited | Finished
# An answer's text, its verified citations, whether it answers, and the answerer's mode.
_Outcome = tuple[str, list[Citation], bool, str]


class AnswerCancelledError(RuntimeError):
    """The caller stopped waiting for the answer."""


def _never() -> bool:
    return False


def text_pieces(text: str, words: int = 6) -> Iterator[str]:
    """`text` in pieces of a few words each; joined, they are exactly `text`."""
    tokens = re.findall(r"\s*\S+|\s+$", text)
    for start in range(0, len(tokens), words):
        yield "".join(tokens[start : start + words])


class AssistantService:
    """Answers questions for an audience; every citation is checked against the served text."""

    def __init__(
        self,
        *,
        facts: FactsDB,
        searcher: HybridSearcher,
        selector: EvidenceSelector,
        answerer: Answerer,
        sessions: SessionStore,
        policy: DeclinePolicy,
        knowledge: KnowledgeAnswerer | None = None,
        today: Callable[[], date] = date.today,
    ) -> None:
        self._knowledge = knowledge
        self._today = today
        self._facts = facts
        self.searcher = searcher
        self._selector = selector
        self._answerer = answerer
        # Checked once: a runtime protocol check costs tens of microseconds per answer.
        self._streaming = isinstance(answerer, StreamingAnswerer)
        self._sessions = sessions
        self._policy = policy

    def warm(self) -> None:
        """Load now what the first question would otherwise wait for: the model's first pass,
        each collection's vector index, the lexical indexes and the agreements catalogs."""
        vector = self.searcher.query_vector("warm-up", "en")
        self.searcher.search("warm-up", "staff", query_vector=vector)
        if self._knowledge is not None:
            for audience in ("public", "staff"):
                self._knowledge.warm(audience)  # both audiences' catalogs

    def ask(
        self,
        question: str,
        audience: Audience,
        session_id: str | None = None,
        *,
        history: Sequence[str] | None = None,
        cancelled: Callable[[], bool] = _never,
    ) -> Answer:
        """Answer `question` from what `audience` may see; `found` is False when the
        documents do not answer it. Raises `AnswerCancelledError` once `cancelled()`."""
        for event in self.ask_stream(
            question, audience, session_id, history=history, cancelled=cancelled
        ):
            if isinstance(event, Finished):
                return event.answer
        raise AnswerCancelledError("the question was cancelled before it was answered")

    def ask_stream(
        self,
        question: str,
        audience: Audience,
        session_id: str | None = None,
        *,
        history: Sequence[str] | None = None,
        cancelled: Callable[[], bool] = _never,
    ) -> Generator[AnswerEvent, None, None]:
        """The answer as it is made: `Started`, `Delta`s of its text, `Cited`, `Finished`.

        `history` (earlier questions of the same conversation, oldest first) replaces the
        session's stored turns, for callers that keep the conversation themselves (the
        OpenAI-compatible route). The work stops, yielding nothing more, once `cancelled()`.
        """
        question = " ".join(question.split())[:MAX_QUESTION_CHARS]
        language: Language = detect_language(question)
        session = session_id or self._sessions.new_id()
        if history is not None:
            turns = _turns(history)
        else:
            turns = self._sessions.recent(session, audience) if session_id else []
        query = resolve(question, turns)
        answer_id = uuid.uuid4().hex
        yield Started(session, answer_id, language)
        outcome = yield from self._answer(question, query, language, audience, cancelled)
        if outcome is None:
            return
        text, citations, found, mode = outcome
        yield Cited(found, citations)
        self._sessions.add(
            session,
            audience,
            Turn(question, query, tuple(dict.fromkeys(c.doc_id for c in citations))),
            new=not session_id,
        )
        yield Finished(
            Answer(
                answer=text,
                citations=citations,
                found=found,
                mode=mode,
                language=language,
                session_id=session,
                answer_id=answer_id,
            )
        )

    def _answer(
        self,
        question: str,
        query: str,
        language: Language,
        audience: Audience,
        cancelled: Callable[[], bool],
    ) -> Generator[Delta, None, _Outcome | None]:
        """Yield the answer text in pieces; return its citations, or None when cancelled."""
        structured = self._structured(query, language, audience)
        if structured is not None:
            yield from (Delta(piece) for piece in text_pieces(structured.answer))
            return structured.answer, structured.citations, structured.found, structured.mode
        vector = self.searcher.query_vector(query, language)
        # What this question asks (the history only helps retrieval): worked out, with the
        # lexical leg's best chunks, while the search waits for its vector query.
        profiles: list[QuestionProfile] = []

        def prepare(chunks: list[ChunkRecord], stop: Callable[[], bool]) -> None:
            profiles.append(analyse(question))
            self._selector.prepare(chunks, stop)

        hits = self.searcher.search(query, audience, k=8, query_vector=vector, prepare=prepare)
        profile = profiles[0] if profiles else analyse(question)
        evidence = self._selector.select(
            query, vector, hits, profile, language if query == question else None
        )
        if cancelled():
            return None
        if not self._policy.answers(evidence, profile, language):
            text = decline_text(language, hits)
            yield from (Delta(piece) for piece in text_pieces(text))
            return text, [], False, "extractive"
        request = AnswerRequest(question, language, evidence, profile)
        released = ""
        if self._streaming:
            draft: DraftAnswer | None = None
            for item in cast(StreamingAnswerer, self._answerer).stream(request, cancelled):
                if isinstance(item, DraftAnswer):
                    draft = item
                else:
                    released += item
                    yield Delta(item)
            if draft is None or cancelled():
                return None
        else:
            draft = self._answerer.answer(request)
        citations = self._citations(draft, audience)
        if citations:
            if not released:
                yield from (Delta(piece) for piece in text_pieces(draft.text))
            return draft.text, citations, True, draft.mode
        decline = decline_text(language, hits)
        if released:  # text went out, then no citation survived the check: say so plainly
            logger.error("an answer lost all its citations after it was streamed")
            decline = "\n\n" + decline
        yield from (Delta(piece) for piece in text_pieces(decline))
        return released + decline, [], False, draft.mode

    def _structured(self, query: str, language: Language, audience: Audience) -> Answer | None:
        """A list from the facts database when the question asks for dates, counts or lists."""
        if self._knowledge is None:
            return None
        routed = route(query, self._today())
        if routed is None:
            return None
        return self._knowledge.answer(routed, language, audience)

    def last_query(self, session_id: str, audience: Audience) -> str | None:
        """What the session's last question was resolved to for retrieval (for evaluation)."""
        history = self._sessions.recent(session_id, audience)
        return history[-1].resolved if history else None

    def _citations(self, draft: DraftAnswer, audience: Audience) -> list[Citation]:
        """Citations whose quote is exactly the served text at its offsets (others dropped)."""
        allowed = set(visibilities_for(audience))
        citations: list[Citation] = []
        for item in draft.citations:
            evidence = item.evidence
            chunk = evidence.chunk
            served = self._facts.get_quote(chunk.doc_id, evidence.start, evidence.end)
            if served is None or served.visibility not in allowed or served.text != evidence.text:
                logger.error("dropping a citation that does not match %s", chunk.doc_id)
                continue
            citations.append(
                Citation(
                    n=item.n,
                    doc_id=chunk.doc_id,
                    source=chunk.source,
                    title=chunk.title,
                    section=chunk.section,
                    quote=evidence.text,
                    start=evidence.start,
                    end=evidence.end,
                    url=viewer_url(chunk.doc_id, evidence.start, evidence.end),
                )
            )
        return citations


def _turns(questions: Sequence[str]) -> list[Turn]:
    """Turns for a conversation the caller kept: each question resolved against the one before."""
    turns: list[Turn] = []
    for question in questions:
        text = " ".join(question.split())[:MAX_QUESTION_CHARS]
        if text:
            turns.append(Turn(text, resolve(text, turns), ()))
    return turns[-6:]
