"""The hybrid search as a LangChain `BaseRetriever`, for use in any LangChain chain."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from assistant.retrieval.audience import Audience
from assistant.retrieval.hybrid import HybridSearcher
from ingest.language import detect_language


class CooperationRetriever(BaseRetriever):
    """Retrieves chunks for a question from what one audience may see.

    Setup: build a `HybridSearcher` over opened resources and pass it in; the audience is
    fixed when the retriever is made (by the server), never taken from the query.

    Invoke: `retriever.invoke("Which agreements expire this year?", k=3)` returns up to `k`
    documents whose metadata carries `doc_id`, `source`, `title`, `section`, `start`, `end`
    (offsets into the served document text) and the fused `score`.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    searcher: HybridSearcher
    audience: Audience = "public"
    k: int = 4

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        k = int(kwargs.get("k", self.k))
        vector = self.searcher.query_vector(query, detect_language(query))
        hits = self.searcher.search(query, self.audience, k=k, query_vector=vector)
        return [
            Document(
                id=hit.chunk.chunk_id,
                page_content=hit.chunk.text,
                metadata={
                    "doc_id": hit.chunk.doc_id,
                    "source": hit.chunk.source,
                    "title": hit.chunk.title,
                    "section": hit.chunk.section,
                    "start": hit.chunk.start,
                    "end": hit.chunk.end,
                    "language": hit.chunk.language,
                    "score": hit.score,
                },
            )
            for hit in hits
        ]
