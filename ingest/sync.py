"""Sync files into every index: skip what is unchanged, replace what changed, drop what is gone.

One run is atomic for what is served. Vectors for new chunks are written to Chroma first (under
content-derived ids, so they never overwrite a served chunk); then one SQLite transaction
replaces the documents, chunks, file statuses and the lexical generation together; only then are
vectors of replaced chunks deleted. A crash (even SIGKILL) at any point leaves the old state
served; the next run reuses the vectors already written and collects the orphans.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from assistant.settings import Settings
from ingest.discovery import Candidate, discover
from ingest.document_builder import doc_id_for
from ingest.facts.models import ExtractedFacts
from ingest.file_parser import ParseJob
from ingest.isolation import parse_files
from ingest.loaders import SUPPORTED_SUFFIXES
from ingest.lock import IngestLock
from ingest.progress import NullProgress, Progress
from ingest.repair import repair_vectors
from vectorstore.chroma_store import ChunkVectors
from vectorstore.embeddings import Embedder
from vectorstore.facts_db import FactsDB, FileState
from vectorstore.facts_store import replace_facts
from vectorstore.lexical import LexicalIndex, LexicalStore
from vectorstore.records import VISIBILITIES, ChunkRecord, DocumentRecord, Visibility

logger = logging.getLogger(__name__)

PIPELINE_VERSION = "4"
RUNNING_KEY = "ingest_running_since"
EMBED_BATCH = 256


def lexical_key(visibility: Visibility) -> str:
    """The meta key that names the served lexical generation of a visibility."""
    return f"lexical_generation:{visibility}"


@dataclass
class FileOutcome:
    """What happened to one file in a run."""

    source: str
    path: str
    status: str  # added | updated | unchanged | removed | failed
    chunks: int = 0
    error: str | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class IngestReport:
    """The summary of a run."""

    outcomes: list[FileOutcome] = field(default_factory=list)
    skipped: int = 0
    embedded_chunks: int = 0
    reused_chunks: int = 0
    seconds: float = 0.0
    recovered_orphans: int = 0
    repaired_chunks: int = 0  # served chunks written to Chroma again because it had lost them
    repaired_embedded: int = 0  # ... of which embedded again (the others came from the copy)
    kept_copied: int = 0  # vectors copied from Chroma into the kept copy (an older data dir)

    def count(self, status: str) -> int:
        """How many files ended with this status."""
        return sum(1 for outcome in self.outcomes if outcome.status == status)

    @property
    def failed(self) -> list[FileOutcome]:
        """The files that could not be ingested."""
        return [outcome for outcome in self.outcomes if outcome.status == "failed"]

    @property
    def changed(self) -> bool:
        """Whether anything served changed."""
        return any(o.status in ("added", "updated", "removed") for o in self.outcomes)


@dataclass
class _Prepared:
    candidate: Candidate
    size: int
    mtime_ns: int
    sha256: str
    previous: FileState | None
    document: DocumentRecord | None = None
    chunks: list[ChunkRecord] = field(default_factory=list)
    facts: ExtractedFacts = field(default_factory=ExtractedFacts)
    error: str | None = None
    load_warnings: list[str] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        """What the loader noticed (hidden text left out, a guessed encoding), then what fact
        extraction could not do."""
        return [*self.load_warnings, *self.facts.problems]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class IngestService:
    """Runs ingests against the stores it is given."""

    def __init__(
        self,
        settings: Settings,
        facts: FactsDB,
        vectors: ChunkVectors,
        lexical: LexicalStore,
        embedder: Embedder,
    ) -> None:
        self._settings = settings
        self._facts = facts
        self._vectors = vectors
        self._lexical = lexical
        self._embedder = embedder
        ingest = settings.ingest
        self._pipeline = (
            f"{PIPELINE_VERSION}:{embedder.key}:{ingest.chunk_target_chars}:"
            f"{ingest.chunk_max_chars}:{ingest.chunk_overlap_chars}"
        )

    def ingest(
        self,
        paths: Sequence[Path],
        visibility: Visibility,
        progress: Progress | None = None,
    ) -> IngestReport:
        """Sync files and folders at `visibility`; see the module docstring for guarantees."""
        progress = progress or NullProgress()
        started = time.monotonic()
        found = discover(paths, SUPPORTED_SUFFIXES)
        report = IngestReport(skipped=len(found.skipped))
        with IngestLock(self._settings.data_dir):
            crashed_before = self._begin(report, progress)
            known = self._facts.file_states()
            prepared = self._prepare(found.candidates, visibility, known, report, progress)
            self._embed([p for p in prepared if p.document is not None], report, progress)
            root_names = {str(root) for root in found.roots}
            seen = {str(candidate.path) for candidate in found.candidates}
            removed = [
                state
                for state in known.values()
                if state.root in root_names and state.path not in seen
            ]
            stale = self._commit(prepared, removed, found.roots, visibility, report)
            self._clean_up(stale, crashed_before, report)
            self._facts.checkpoint(wait=True)  # questions then read the file, not the log
        progress.close()
        report.seconds = time.monotonic() - started
        return report

    def withdraw(self, paths: Sequence[Path]) -> IngestReport:
        """Stop serving what was indexed from `paths` (whether or not the files still exist):
        their documents, facts and vectors go in one switch, as files removed from a synced
        folder do. Paths never indexed are ignored."""
        started = time.monotonic()
        report = IngestReport()
        with IngestLock(self._settings.data_dir):
            crashed_before = self._begin(report, NullProgress())
            known = self._facts.file_states()
            wanted = {str(path.expanduser().resolve()) for path in paths} | {str(p) for p in paths}
            removed = [state for path, state in known.items() if path in wanted]
            stale = self._commit([], removed, [], "public", report)
            self._clean_up(stale, crashed_before, report)
            self._facts.checkpoint(wait=True)
        report.seconds = time.monotonic() - started
        return report

    # --- stages -------------------------------------------------------------------------------
    def _begin(self, report: IngestReport, progress: Progress) -> bool:
        """Under the lock: mark the run as running, first embedding again any served chunk whose
        vector Chroma lost (see `ingest.repair`); return whether a run crashed before."""
        crashed_before = self._facts.get_meta(RUNNING_KEY) is not None
        with self._facts.transaction() as conn:
            FactsDB.set_meta(conn, RUNNING_KEY, _now())
        repair = repair_vectors(self._facts, self._vectors, self._embedder, progress)
        report.repaired_chunks = repair.embedded + repair.restored
        report.repaired_embedded = repair.embedded
        # A data directory from before vectors were kept: keep a copy of what Chroma holds.
        report.kept_copied = sum(self._vectors.keep_all(vis) for vis in VISIBILITIES)
        return crashed_before

    def _prepare(
        self,
        candidates: list[Candidate],
        visibility: Visibility,
        known: dict[str, FileState],
        report: IngestReport,
        progress: Progress,
    ) -> list[_Prepared]:
        """Decide what changed, then parse and chunk it (in capped parser processes)."""
        max_bytes = int(self._settings.ingest.max_file_mb * 1024 * 1024)
        prepared: list[_Prepared] = []
        touched: list[_Prepared] = []
        progress.stage("reading", len(candidates))
        for candidate in candidates:
            path = str(candidate.path)
            previous = known.get(path)
            try:
                stat = candidate.path.stat()
            except OSError as exc:
                progress.advance()
                report.outcomes.append(
                    FileOutcome(candidate.source, path, "failed", error=f"cannot read: {exc}")
                )
                continue
            if (
                previous is not None
                and previous.size == stat.st_size
                and previous.mtime_ns == stat.st_mtime_ns
                and self._same_setup(previous, visibility)
            ):
                progress.advance()
                report.outcomes.append(self._unchanged(candidate, previous))
                continue
            sha256 = _file_sha256(candidate.path)
            item = _Prepared(candidate, stat.st_size, stat.st_mtime_ns, sha256, previous)
            if (
                previous is not None
                and previous.sha256 == sha256
                and self._same_setup(previous, visibility)
            ):
                progress.advance()
                touched.append(item)  # only the timestamp moved
                report.outcomes.append(self._unchanged(candidate, previous))
                continue
            prepared.append(item)
        self._parse(prepared, visibility, max_bytes, progress)
        self._touch(touched)
        return prepared

    def _same_setup(self, previous: FileState, visibility: Visibility) -> bool:
        return previous.visibility == visibility and previous.pipeline == self._pipeline

    @staticmethod
    def _unchanged(candidate: Candidate, previous: FileState) -> FileOutcome:
        return FileOutcome(
            candidate.source, str(candidate.path), "unchanged", previous.chunks, previous.error
        )

    def _parse(
        self, items: list[_Prepared], visibility: Visibility, max_bytes: int, progress: Progress
    ) -> None:
        """Load, chunk and extract facts, each file in a worker process under the time and
        memory caps (none is started when nothing changed); a file's failure becomes its
        error, a fact extraction failure a warning, and the batch goes on."""
        settings = self._settings.ingest
        jobs = [
            ParseJob(
                path=item.candidate.path,
                source=item.candidate.source,
                visibility=visibility,
                max_bytes=max_bytes,
                chunk_target_chars=settings.chunk_target_chars,
                chunk_max_chars=settings.chunk_max_chars,
                chunk_overlap_chars=settings.chunk_overlap_chars,
            )
            for item in items
        ]
        results = parse_files(
            jobs,
            workers=settings.parse_workers,
            timeout_s=settings.parse_timeout_s,
            memory_mb=settings.parse_memory_mb,
            on_done=progress.advance,
        )
        for item, result in zip(items, results, strict=True):
            item.document, item.chunks = result.document, result.chunks
            item.facts, item.error = result.facts, result.error
            item.load_warnings = list(result.warnings)

    def _touch(self, touched: list[_Prepared]) -> None:
        if not touched:
            return
        with self._facts.transaction() as conn:
            for item in touched:
                assert item.previous is not None
                FactsDB.upsert_file(
                    conn,
                    FileState(
                        **{
                            **item.previous.__dict__,
                            "size": item.size,
                            "mtime_ns": item.mtime_ns,
                            "checked_at": _now(),
                        }
                    ),
                )

    def _embed(self, items: list[_Prepared], report: IngestReport, progress: Progress) -> None:
        """Write vectors for every new chunk that Chroma does not hold yet."""
        by_visibility: dict[Visibility, list[ChunkRecord]] = {vis: [] for vis in VISIBILITIES}
        for item in items:
            for chunk in item.chunks:
                by_visibility[chunk.visibility].append(chunk)
        total = sum(len(chunks) for chunks in by_visibility.values())
        progress.stage("embedding", total)
        for visibility, chunks in by_visibility.items():
            for begin in range(0, len(chunks), EMBED_BATCH):
                batch = chunks[begin : begin + EMBED_BATCH]
                have = self._vectors.existing_ids(visibility, [c.chunk_id for c in batch])
                missing = [chunk for chunk in batch if chunk.chunk_id not in have]
                if missing:
                    vectors = self._embedder.encode_passages([c.embedding_text() for c in missing])
                    self._vectors.add(visibility, missing, vectors)
                report.embedded_chunks += len(missing)
                report.reused_chunks += len(batch) - len(missing)
                progress.advance(len(batch))

    def _commit(
        self,
        prepared: list[_Prepared],
        removed: list[FileState],
        roots: list[Path],
        visibility: Visibility,
        report: IngestReport,
    ) -> dict[Visibility, set[str]]:
        """Switch what is served in one transaction; return vectors that are no longer served."""
        now = _now()
        old: dict[Visibility, set[str]] = {vis: set() for vis in VISIBILITIES}
        new: set[str] = set()
        affected: set[Visibility] = set()
        with self._facts.transaction() as conn:
            for item in prepared:
                path = str(item.candidate.path)
                previous_doc = item.previous.doc_id if item.previous else None
                if item.document is not None:
                    for chunk_id, vis in self._facts.chunk_ids_of(item.document.doc_id):
                        old[vis].add(chunk_id)
                        affected.add(vis)
                    FactsDB.replace_document(conn, item.document, path, item.chunks, now)
                    replace_facts(conn, item.document.doc_id, visibility, item.facts)
                    new.update(chunk.chunk_id for chunk in item.chunks)
                    affected.add(visibility)
                    status = "updated" if item.previous is not None else "added"
                    report.outcomes.append(
                        FileOutcome(
                            item.candidate.source,
                            path,
                            status,
                            len(item.chunks),
                            warnings=item.warnings,
                        )
                    )
                    FactsDB.upsert_file(conn, self._state(item, visibility, now))
                    continue
                # Failed. A previous good version at the same visibility stays served (and the
                # status says so); one at another visibility is withdrawn, never left exposed.
                kept = None
                if previous_doc and self._facts.get_document(previous_doc) is not None:
                    if item.previous is not None and item.previous.visibility == visibility:
                        kept = previous_doc
                    else:
                        for chunk_id, vis in self._facts.chunk_ids_of(previous_doc):
                            old[vis].add(chunk_id)
                            affected.add(vis)
                        FactsDB.delete_document(conn, previous_doc)
                error = item.error or "unknown error"
                if kept:
                    error += " (the previously indexed version is still served)"
                item.error = error
                report.outcomes.append(
                    FileOutcome(item.candidate.source, path, "failed", error=item.error)
                )
                FactsDB.upsert_file(conn, self._state(item, visibility, now, kept))
            for state in removed:
                doc_id = state.doc_id or doc_id_for(Path(state.path))
                for chunk_id, vis in self._facts.chunk_ids_of(doc_id):
                    old[vis].add(chunk_id)
                    affected.add(vis)
                FactsDB.delete_document(conn, doc_id)
                FactsDB.delete_file(conn, state.path)
                source = Path(state.path).name
                report.outcomes.append(FileOutcome(source, state.path, "removed"))
            for root in roots:
                FactsDB.add_root(conn, str(root), visibility, now)
            for vis in VISIBILITIES:
                served = self._facts.get_meta(lexical_key(vis))
                # One written by an older version is rewritten in today's layout.
                if vis in affected or not self._lexical.current(vis, served):
                    index = self._lexical_index(conn, vis, served)
                    FactsDB.set_meta(conn, lexical_key(vis), self._lexical.write(vis, index))
        return {vis: ids - new for vis, ids in old.items() if ids - new}

    def _lexical_index(
        self, conn: sqlite3.Connection, visibility: Visibility, generation: str | None
    ) -> LexicalIndex:
        """The visibility's next lexical index, inside the switch: the served `generation`
        with the chunks that came and went (only the new ones are tokenized); built from
        every chunk when there is none to start from."""
        served = self._lexical.load_for_update(visibility, generation)
        if served is None:
            rows = FactsDB.lexical_rows(conn, visibility)
            return LexicalIndex.from_rows(rows, self._lexical.tokenizer)
        order = FactsDB.lexical_order(conn, visibility)
        return served.updated(order, FactsDB.lexical_texts(conn, served.missing(order)))

    def _state(
        self, item: _Prepared, visibility: Visibility, now: str, kept: str | None = None
    ) -> FileState:
        """The file row after this run: indexed, or failed (maybe still serving `kept`)."""
        candidate = item.candidate
        previous = item.previous
        doc_id: str | None
        indexed_at: str | None
        if item.document is not None:
            doc_id, chunks, indexed_at = item.document.doc_id, len(item.chunks), now
        elif kept is not None and previous is not None:
            doc_id, chunks, indexed_at = kept, previous.chunks, previous.indexed_at
        else:
            doc_id, chunks, indexed_at = None, 0, None
        return FileState(
            path=str(candidate.path),
            root=str(candidate.root) if candidate.root else None,
            visibility=visibility,
            size=item.size,
            mtime_ns=item.mtime_ns,
            sha256=item.sha256,
            pipeline=self._pipeline,
            status="indexed" if item.document is not None else "failed",
            error=item.error,
            doc_id=doc_id,
            chunks=chunks,
            indexed_at=indexed_at,
            checked_at=now,
            warnings="; ".join(item.warnings[:20]) or None,
        )

    def _clean_up(
        self, stale: dict[Visibility, set[str]], crashed_before: bool, report: IngestReport
    ) -> None:
        """After the switch: delete replaced vectors, orphans and old lexical generations.

        The run has succeeded once `_commit` returns, so a failure here (a full disk, Chroma
        gone) is logged, not raised: the running mark stays set and the next run collects
        what is left, exactly as after a crash."""
        try:
            for vis, ids in stale.items():
                self._vectors.delete(vis, ids)
            if crashed_before:
                report.recovered_orphans = self._collect_orphans()
            self._prune_lexical()
            with self._facts.transaction() as conn:
                FactsDB.set_meta(conn, RUNNING_KEY, None)
        except Exception as exc:
            logger.warning(
                "the new index is served, but replaced vectors could not be removed yet "
                "(%s: %s); the next ingest removes them",
                type(exc).__name__,
                exc,
            )

    def _collect_orphans(self) -> int:
        """Delete vectors no served chunk names (left by an interrupted run)."""
        removed = 0
        for vis in VISIBILITIES:
            orphans = self._vectors.all_ids(vis) - self._facts.served_chunk_ids(vis)
            if orphans:
                self._vectors.delete(vis, orphans)
                removed += len(orphans)
        if removed:
            logger.info("removed %d vectors left by an interrupted ingest", removed)
        return removed

    def _prune_lexical(self) -> None:
        for vis in VISIBILITIES:
            current = self._facts.get_meta(lexical_key(vis))
            self._lexical.prune(vis, {current} if current else set())


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
