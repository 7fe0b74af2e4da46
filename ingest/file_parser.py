"""The per-file parse step of an ingest: load, chunk, build records, extract facts.

It runs in a parser worker process (see `ingest.isolation`) or, for debugging, in the ingesting
process. Jobs and results are plain picklable data. The step has two halves so that a document
whose fact extraction is stopped (too slow, out of memory) still has its text indexed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from ingest.chunker import chunk_document
from ingest.document import LoadedDocument, LoaderError
from ingest.document_builder import build_records
from ingest.facts.extractor import extract_facts
from ingest.facts.models import ExtractedFacts
from ingest.loaders import load_file
from vectorstore.records import ChunkRecord, DocumentRecord, Visibility

logger = logging.getLogger(__name__)

NESTED_TOO_DEEPLY = "the file's structure is nested too deeply to be read"


@dataclass(frozen=True)
class ParseJob:
    """One file to parse, with everything the parse needs (no settings object crosses over)."""

    path: Path
    source: str
    visibility: Visibility
    max_bytes: int
    chunk_target_chars: int
    chunk_max_chars: int
    chunk_overlap_chars: int


@dataclass
class ParseResult:
    """A parsed file (`document` and `chunks`, with `facts`), or the reason it could not be."""

    document: DocumentRecord | None = None
    chunks: list[ChunkRecord] = field(default_factory=list)
    facts: ExtractedFacts = field(default_factory=ExtractedFacts)
    error: str | None = None
    warnings: list[str] = field(default_factory=list)  # the loader's (see LoadedDocument)


def parse_file(job: ParseJob) -> ParseResult:
    """Both halves in this process; what `parse_workers = 0` runs (no time or memory cap)."""
    try:
        result, loaded = parse_text(job)
    except MemoryError:
        logger.exception("out of memory while reading %s", job.path)
        return ParseResult(error="parsing ran out of memory")
    if loaded is not None:
        try:
            result.facts = facts_of(loaded, job.path)
        except MemoryError:
            logger.exception("out of memory while extracting facts from %s", job.path)
            result.facts = ExtractedFacts(problems=["fact extraction ran out of memory"])
    return result


def parse_text(job: ParseJob) -> tuple[ParseResult, LoadedDocument | None]:
    """Load and chunk; the loaded document is returned for `facts_of` when it succeeded.

    A loader error becomes the result's error; so does any other exception (a parser bug must
    not stop the batch). `MemoryError` propagates: the caller decides what running out means.
    """
    try:
        loaded = load_file(job.path, max_bytes=job.max_bytes)
        spans = chunk_document(
            loaded,
            target_chars=job.chunk_target_chars,
            max_chars=job.chunk_max_chars,
            overlap_chars=job.chunk_overlap_chars,
        )
        if not spans:
            raise LoaderError("no text to index")
        document, chunks = build_records(
            path=job.path,
            source=job.source,
            loaded=loaded,
            spans=spans,
            visibility=job.visibility,
        )
    except MemoryError:
        raise
    except LoaderError as exc:
        _raise_if_out_of_memory(exc)
        return ParseResult(error=str(exc)), None
    except RecursionError:
        logger.warning("recursion limit reached while reading %s", job.path)
        return ParseResult(error=NESTED_TOO_DEEPLY), None
    except Exception as exc:
        _raise_if_out_of_memory(exc)
        logger.exception("unexpected error while reading %s", job.path)
        return ParseResult(error=f"could not be read ({type(exc).__name__}: {exc})"), None
    return ParseResult(document=document, chunks=chunks, warnings=list(loaded.warnings)), loaded


def facts_of(loaded: LoadedDocument, path: Path) -> ExtractedFacts:
    """The document's facts; a failure here is a warning, the text is still indexed.

    `MemoryError` propagates (see `parse_text`).
    """
    try:
        return extract_facts(loaded)
    except MemoryError:
        raise
    except Exception as exc:
        _raise_if_out_of_memory(exc)
        logger.exception("fact extraction failed for %s", path)
        return ExtractedFacts(problems=[f"fact extraction failed ({type(exc).__name__})"])


def _raise_if_out_of_memory(exc: BaseException) -> None:
    """Re-raise as `MemoryError` an error that a loader wrapped around running out of memory
    (its cause is a `MemoryError`, or libxml2 says so), so it is not reported as a bad file."""
    seen: BaseException | None = exc
    for _ in range(20):  # a chain is short; never loop on a cyclic one
        if seen is None:
            return
        if isinstance(seen, MemoryError) or "memory allocation failed" in str(seen).lower():
            raise MemoryError(str(exc)) from exc
        seen = seen.__cause__ or seen.__context__
