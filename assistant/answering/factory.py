"""Wire the assistant from opened resources and settings (a composition root's helper)."""

from __future__ import annotations

from assistant.answering.decline import policy_for
from assistant.answering.extractive import ExtractiveAnswerer
from assistant.answering.service import Answerer, AssistantService
from assistant.answering.sessions import SessionStore
from assistant.knowledge.answers import KnowledgeAnswerer
from assistant.resources import Resources
from assistant.retrieval.evidence import EvidenceSelector, SentenceVectorCache
from assistant.retrieval.hybrid import HybridSearcher


def build_answerer(resources: Resources) -> Answerer:
    """The extractive answerer, or an LLM one (which falls back to extractive) by setting."""
    extractive = ExtractiveAnswerer()
    if resources.settings.llm.provider == "extractive":
        return extractive
    from assistant.answering.llm import LLMAnswerer  # noqa: PLC0415 - optional, heavier

    return LLMAnswerer.from_settings(resources.settings.llm, fallback=extractive)


def build_selector(resources: Resources) -> EvidenceSelector:
    """The sentence-level pass, over the sentence vectors kept for the resources' model."""
    if resources.embedder is None:
        raise ValueError("the answer step needs the embedding model: open resources with it")
    return EvidenceSelector(
        resources.embedder,
        resources.lexical.tokenizer,
        cache=SentenceVectorCache(store=resources.sentences),
    )


def build_assistant(resources: Resources, sessions: SessionStore | None = None) -> AssistantService:
    """An `AssistantService` over the resources' stores and model."""
    if resources.embedder is None:
        raise ValueError("the assistant needs the embedding model: open resources with it")
    searcher = HybridSearcher(
        resources.facts,
        resources.vectors,
        resources.lexical,
        resources.embedder,
        query_vectors_kept=resources.settings.embeddings.query_cache,
    )
    selector = build_selector(resources)
    return AssistantService(
        facts=resources.facts,
        searcher=searcher,
        selector=selector,
        answerer=build_answerer(resources),
        sessions=sessions or SessionStore(resources.settings.data_dir / "sessions.sqlite3"),
        policy=policy_for(resources.embedder.key),
        knowledge=KnowledgeAnswerer(resources.facts, resources.settings.today_date),
        today=resources.settings.today_date,
    )
