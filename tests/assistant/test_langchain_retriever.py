"""Our retriever passes LangChain's standard retriever suite, and keeps audiences apart."""

from __future__ import annotations

import shutil
import tempfile
from functools import cache
from pathlib import Path
from typing import Any

from langchain_core.documents import Document
from langchain_tests.integration_tests import RetrieversIntegrationTests

from assistant.resources import Resources, open_resources
from assistant.retrieval.hybrid import HybridSearcher
from assistant.retrieval.langchain_retriever import CooperationRetriever
from ingest.sync import IngestService
from tests.conftest import SAMPLE_DIR, FakeEmbedder, make_settings

SECRET = "The Zanzibar Polytechnic memorandum ZQX-42 is confidential."


@cache
def _indexed() -> Resources:
    """The sample (public) and one internal note, indexed once for this module."""
    folder = Path(tempfile.mkdtemp(prefix="coop-retriever-"))
    internal = folder / "internal"
    internal.mkdir()
    (internal / "note.md").write_text(f"# Registry note\n\n{SECRET}\n", encoding="utf-8")
    settings = make_settings(folder / "var")
    resources = open_resources(settings, embedder=FakeEmbedder())
    assert resources.embedder is not None
    service = IngestService(
        settings, resources.facts, resources.vectors, resources.lexical, resources.embedder
    )
    service.ingest([SAMPLE_DIR], "public")
    service.ingest([internal], "internal")
    return resources


def _searcher() -> HybridSearcher:
    resources = _indexed()
    assert resources.embedder is not None
    return HybridSearcher(resources.facts, resources.vectors, resources.lexical, resources.embedder)


class TestCooperationRetrieverStandard(RetrieversIntegrationTests):
    @property
    def retriever_constructor(self) -> type[CooperationRetriever]:
        return CooperationRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"searcher": _searcher(), "audience": "public"}

    @property
    def retriever_query_example(self) -> str:
        return "cooperation with the World Health Organization"


def test_documents_carry_offsets_into_the_served_text():
    retriever = CooperationRetriever(searcher=_searcher())
    documents = retriever.invoke("Skolkovo labour protection agreement", k=3)
    assert documents
    facts = _indexed().facts
    for document in documents:
        assert isinstance(document, Document)
        source = facts.get_document(document.metadata["doc_id"])
        assert source is not None
        start, end = document.metadata["start"], document.metadata["end"]
        assert source.text[start:end] == document.page_content


def test_a_public_retriever_never_returns_internal_chunks_and_staff_does():
    public = CooperationRetriever(searcher=_searcher(), audience="public", k=20)
    staff = CooperationRetriever(searcher=_searcher(), audience="staff", k=20)
    query = "Zanzibar Polytechnic memorandum ZQX-42"
    assert all("ZQX-42" not in d.page_content for d in public.invoke(query))
    assert any("ZQX-42" in d.page_content for d in staff.invoke(query))


def teardown_module() -> None:
    resources = _indexed()
    resources.close()
    shutil.rmtree(resources.settings.data_dir.parent, ignore_errors=True)
