"""Print, as JSON, what a data directory serves, read the way a freshly started server reads it.

Runs in its own process, never in the test's: the facts database opened read-only, the Chroma
collections (a new client each time, after dropping Chroma's per-process cache, so nothing read
before is reused), the served lexical generation, a few hybrid searches and one answer, with the
fake embedder of `_crash_coop.py`.

Usage: python tests/reliability/_crash_check.py DATA_DIR QUERY...   (one snapshot), or with no
arguments: one snapshot per input line (DATA_DIR and queries separated by tabs), one JSON line
each, so a test pays the imports once.
"""

from __future__ import annotations

import json
import re
import sqlite3
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from chromadb.api.shared_system_client import SharedSystemClient

from assistant.answering.factory import build_assistant
from assistant.resources import open_resources
from assistant.retrieval.hybrid import HybridSearcher
from assistant.settings import Settings
from ingest.sync import RUNNING_KEY, lexical_key
from tests.conftest import FakeEmbedder
from vectorstore.records import VISIBILITIES

MARKER = re.compile(r"\bf\d{4}v\d{2}\b")


def _markers(text: str) -> list[str]:
    return sorted(set(MARKER.findall(text)))


def _facts(path: Path) -> dict[str, Any]:
    """Documents, chunks and files, read through a read-only connection."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
        docs: dict[str, Any] = {}
        for doc_id, doc_path, text, visibility in conn.execute(
            "SELECT doc_id, path, text, visibility FROM documents"
        ):
            docs[doc_id] = {
                "path": doc_path,
                "visibility": visibility,
                "markers": _markers(text),
                "text": text,
                "chunks": [],
            }
        chunks: dict[str, dict[str, Any]] = {}
        for chunk_id, doc_id, ord_, start, end, text, visibility in conn.execute(
            'SELECT chunk_id, doc_id, ord, start, "end", text, visibility FROM chunks '
            "ORDER BY doc_id, ord"
        ):
            doc = docs.get(doc_id)
            problems = []
            if doc is None:
                problems.append("chunk of a missing document")
            else:
                doc["chunks"].append(chunk_id)
                if doc["text"][start:end] != text:
                    problems.append("chunk text is not the document's text at its offsets")
                if _markers(text) != doc["markers"]:
                    problems.append(f"chunk {_markers(text)} in document {doc['markers']}")
                if ord_ != len(doc["chunks"]) - 1:
                    problems.append("chunk numbers are not contiguous")
            chunks[chunk_id] = {"doc_id": doc_id, "visibility": visibility, "problems": problems}
        files = {
            row[0]: {"status": row[1], "doc_id": row[2]}
            for row in conn.execute("SELECT path, status, doc_id FROM files")
        }
    finally:
        conn.close()
    for doc in docs.values():
        del doc["text"]
    return {
        "integrity": integrity,
        "meta": meta,
        "docs": docs,
        "chunks": chunks,
        "files": files,
    }


def check(data_dir: Path, queries: list[str]) -> dict[str, Any]:
    """The snapshot of one data directory."""
    SharedSystemClient.clear_system_cache()
    settings = Settings(_env_file=None, data_dir=data_dir)  # type: ignore[call-arg]
    snapshot = _facts(settings.facts_db_path)
    resources = open_resources(settings, embedder=FakeEmbedder())
    try:
        vectors: dict[str, Any] = {}
        lexical: dict[str, list[str]] = {}
        for vis in VISIBILITIES:
            ids = sorted(resources.vectors.all_ids(vis))
            served = [c for c, chunk in snapshot["chunks"].items() if chunk["visibility"] == vis]
            collection = resources.vectors._collection(vis)
            stored = collection.get(ids=served, include=["documents"]) if served else None
            texts = dict(zip(stored["ids"], stored["documents"], strict=True)) if stored else {}
            vectors[vis] = {
                "ids": ids,
                "served_markers": {c: _markers(t) for c, t in texts.items()},
            }
            generation = snapshot["meta"].get(lexical_key(vis))
            lexical[vis] = sorted(resources.lexical.load(vis, generation).ids)
        searcher = HybridSearcher(
            resources.facts,
            resources.vectors,
            resources.lexical,
            resources.embedder,  # type: ignore[arg-type]
        )
        searches = []
        for query in queries:
            hits = searcher.search(query, "staff", k=8)
            searches.append(
                {
                    "query": query,
                    "hits": [
                        {"doc_id": h.chunk.doc_id, "markers": _markers(h.chunk.text)} for h in hits
                    ],
                }
            )
        answer = None
        if queries:
            reply = build_assistant(resources).ask(f"What is {queries[0]}?", "staff", None)
            problems = []
            for citation in reply.citations:
                document = resources.facts.get_document(citation.doc_id)
                if document is None:
                    problems.append(f"cites an unserved document {citation.doc_id}")
                elif document.text[citation.start : citation.end] != citation.quote:
                    problems.append(f"quote of {citation.doc_id} is not its text")
            answer = {"found": reply.found, "cited": len(reply.citations), "problems": problems}
    finally:
        resources.close()
    snapshot.update(
        vectors=vectors,
        lexical=lexical,
        searches=searches,
        answer=answer,
        running=snapshot["meta"].get(RUNNING_KEY),
    )
    return snapshot


def main() -> int:
    if len(sys.argv) > 1:
        json.dump(check(Path(sys.argv[1]), sys.argv[2:]), sys.stdout)
        return 0
    for line in sys.stdin:
        data_dir, *queries = line.rstrip("\n").split("\t")
        sys.stdout.write(json.dumps(check(Path(data_dir), queries)) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
