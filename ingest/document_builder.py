"""Turn a loaded, chunked file into the records the stores keep, with deterministic ids."""

from __future__ import annotations

import hashlib
from pathlib import Path

from ingest.chunker import ChunkSpan
from ingest.document import LoadedDocument
from ingest.language import detect_language
from vectorstore.records import ChunkRecord, DocumentRecord, Visibility


def sha1_hex(text: str) -> str:
    """Hex SHA-1 of a string."""
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def doc_id_for(path: Path) -> str:
    """A document's id: stable for the same file path."""
    return sha1_hex(str(path))[:16]


TITLE_WORDS = 12
PROSE_FORMATS = frozenset({"txt", "pdf"})  # tables are titled by their file name


def title_for(loaded: LoadedDocument, path: Path) -> str:
    """The document's own title; else its opening words (a page that starts with prose);
    else one made from the file name."""
    if loaded.title and loaded.title.strip():
        return loaded.title.strip()[:300]
    first_line = loaded.text.strip().split("\n", 1)[0].strip()
    words = first_line.split() if loaded.format in PROSE_FORMATS else []
    if words:
        opening = " ".join(words[:TITLE_WORDS]).rstrip(".,;:")
        return opening + ("…" if len(words) > TITLE_WORDS else "")
    return path.stem.replace("_", " ").replace("-", " ").strip() or path.name


def build_records(
    *,
    path: Path,
    source: str,
    loaded: LoadedDocument,
    spans: list[ChunkSpan],
    visibility: Visibility,
) -> tuple[DocumentRecord, list[ChunkRecord]]:
    """The document and its chunks; a chunk's id changes whenever what is embedded changes."""
    doc_id = doc_id_for(path)
    title = title_for(loaded, path)
    document = DocumentRecord(
        doc_id=doc_id,
        source=source,
        title=title,
        format=loaded.format,
        language=detect_language(loaded.text[:20_000]),
        visibility=visibility,
        text=loaded.text,
        content_hash=sha1_hex(loaded.text),
        encoding=loaded.encoding,
    )
    chunks: list[ChunkRecord] = []
    for span in spans:
        text = loaded.text[span.start : span.end]
        draft = ChunkRecord(
            chunk_id="",
            doc_id=doc_id,
            ord=span.ord,
            start=span.start,
            end=span.end,
            text=text,
            section=span.section,
            title=title,
            source=source,
            language=detect_language(text),
            visibility=visibility,
            content_hash="",
        )
        content_hash = sha1_hex(draft.embedding_text())
        chunk_id = sha1_hex(
            f"{doc_id}|{visibility}|{span.ord}|{span.start}|{span.end}|{content_hash}"
        )[:32]
        chunks.append(
            ChunkRecord(**{**draft.__dict__, "chunk_id": chunk_id, "content_hash": content_hash})
        )
    return document, chunks
