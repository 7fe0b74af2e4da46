"""The assistant: question → retrieval → evidence → answer with verified citations."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from typing import Protocol

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
from assistant.retrieval.question_analysis import analyse
from ingest.language import detect_language
from vectorstore.facts_db import FactsDB

logger = logging.getLogger(__name__)

MAX_QUESTION_CHARS = 2000


class Answerer(Protocol):
    """Turns a question and its evidence into a cited answer."""

    mode: str

    def answer(self, request: AnswerRequest) -> DraftAnswer:
        """The answer text with markers [n] and the evidence each marker cites."""
        ...


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
        self._sessions = sessions
        self._policy = policy

    def ask(self, question: str, audience: Audience, session_id: str | None = None) -> Answer:
        """Answer `question` from what `audience` may see; `found` is False when the
        documents do not answer it."""
        question = " ".join(question.split())[:MAX_QUESTION_CHARS]
        language: Language = detect_language(question)
        session = session_id or self._sessions.new_id()
        history = self._sessions.recent(session, audience) if session_id else []
        query = resolve(question, history)
        structured = self._structured(query, language, audience)
        if structured is not None:
            self._sessions.add(
                session,
                audience,
                Turn(question, query, tuple(c.doc_id for c in structured.citations)),
            )
            return structured.model_copy(update={"session_id": session})
        vector = self.searcher.query_vector(query, language)
        hits = self.searcher.search(query, audience, k=8, query_vector=vector)
        profile = analyse(question)  # what this question asks; the history only helps retrieval
        evidence = self._selector.select(query, vector, hits, profile)
        if self._policy.answers(evidence, profile, language):
            draft = self._answerer.answer(AnswerRequest(question, language, evidence, profile))
            citations = self._citations(draft, audience)
            found = bool(citations)
            text = draft.text if found else decline_text(language, hits)
            mode = draft.mode
        else:
            citations, found, mode = [], False, "extractive"
            text = decline_text(language, hits)
        self._sessions.add(
            session,
            audience,
            Turn(question, query, tuple(dict.fromkeys(c.doc_id for c in citations))),
        )
        return Answer(
            answer=text,
            citations=citations,
            found=found,
            mode=mode,
            language=language,
            session_id=session,
        )

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
        texts: dict[str, str | None] = {}
        citations: list[Citation] = []
        for item in draft.citations:
            evidence = item.evidence
            chunk = evidence.chunk
            if chunk.doc_id not in texts:
                document = self._facts.get_document(chunk.doc_id)
                visible = document is not None and document.visibility in allowed
                texts[chunk.doc_id] = document.text if document and visible else None
            text = texts[chunk.doc_id]
            if text is None or text[evidence.start : evidence.end] != evidence.text:
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
