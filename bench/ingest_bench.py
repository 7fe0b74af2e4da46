"""Ingest throughput against the floor: the bare embedding throughput of the same texts.

The corpus is the sample copied N times (every copy is a distinct document, so nothing is
deduplicated). Each run measures, in the same process and on the same texts:
- floor: `encode_passages` over every chunk's embedding text, nothing else;
- ingest: `IngestService.ingest` into a fresh data dir (read, chunk, embed, Chroma, BM25, SQLite);
- re-ingest of the unchanged corpus (no embedding), and one changed file.
"""

from __future__ import annotations

import json
import platform
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.resources import open_resources
from assistant.settings import Settings
from ingest.sync import IngestService
from vectorstore.embedder_factory import build_embedder
from vectorstore.embeddings import Embedder, configure_offline

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"


def _make_corpus(target: Path, copies: int) -> int:
    files = 0
    for i in range(copies):
        folder = target / f"copy{i:03d}"
        folder.mkdir(parents=True)
        for seed in sorted((REPO / "data" / "sample").iterdir()):
            if seed.is_file():
                shutil.copy(seed, folder / seed.name)
                files += 1
    return files


def _one_run(work: Path, corpus: Path, embedder: Embedder) -> dict[str, float]:
    settings = Settings(_env_file=None, data_dir=work / "var")  # type: ignore[call-arg]
    resources = open_resources(settings, embedder=embedder)
    try:
        service = IngestService(
            settings, resources.facts, resources.vectors, resources.lexical, embedder
        )
        started = time.perf_counter()
        report = service.ingest([corpus], "public")
        ingest_s = time.perf_counter() - started
        chunks = report.embedded_chunks
        texts = [
            chunk.embedding_text()
            for state in resources.facts.file_states().values()
            if state.doc_id
            for chunk in resources.facts.document_chunks(state.doc_id)
        ]
        started = time.perf_counter()
        embedder.encode_passages(texts)
        floor_s = time.perf_counter() - started
        started = time.perf_counter()
        again = service.ingest([corpus], "public")
        reingest_s = time.perf_counter() - started
        assert not again.changed and again.embedded_chunks == 0
        victim = next(corpus.rglob("*.txt"))
        victim.write_text(victim.read_text(encoding="utf-8") + "\n\nA changed line.\n", "utf-8")
        started = time.perf_counter()
        changed = service.ingest([corpus], "public")
        one_changed_s = time.perf_counter() - started
        assert changed.count("updated") == 1
    finally:
        resources.close()
    files = sum(1 for path in corpus.rglob("*") if path.is_file())
    return {
        "files": files,
        "chunks": chunks,
        "ingest_s": ingest_s,
        "ingest_chunks_per_s": chunks / ingest_s,
        "floor_s": floor_s,
        "floor_chunks_per_s": len(texts) / floor_s,
        "reingest_unchanged_s": reingest_s,
        "reingest_s_per_1000_files": reingest_s * 1000 / files,
        "one_changed_file_s": one_changed_s,
    }


def run_ingest_bench(copies: int, runs: int) -> dict[str, Any]:
    """Run, print a table and write `bench/results/ingest.json`."""
    configure_offline()
    embedder = build_embedder(Settings(_env_file=None).embeddings)  # type: ignore[call-arg]
    embedder.encode_passages(["warm-up"])
    samples: list[dict[str, float]] = []
    for run in range(runs):
        with tempfile.TemporaryDirectory(prefix="coop-bench-") as tmp:
            work = Path(tmp)
            _make_corpus(work / "corpus", copies)
            samples.append(_one_run(work, work / "corpus", embedder))
        print(f"run {run + 1}/{runs}: {samples[-1]['ingest_chunks_per_s']:.0f} chunks/s")
    median = {key: statistics.median(s[key] for s in samples) for key in samples[0]}
    median["ratio_ingest_to_floor"] = median["ingest_chunks_per_s"] / median["floor_chunks_per_s"]
    result = {
        "benchmark": "ingest",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "python": platform.python_version(),
            "cpu": platform.processor() or platform.machine(),
            "cores": __import__("os").cpu_count(),
        },
        "corpus": f"data/sample copied {copies} times",
        "runs": runs,
        "median": median,
        "samples": samples,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ingest.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(
        f"\nIngest of {int(median['files'])} files / {int(median['chunks'])} chunks "
        f"(median of {runs}):\n"
        f"  ours   {median['ingest_chunks_per_s']:8.1f} chunks/s  ({median['ingest_s']:.1f} s)\n"
        f"  floor  {median['floor_chunks_per_s']:8.1f} chunks/s  (bare embedding)\n"
        f"  ratio  {median['ratio_ingest_to_floor']:8.2f} of the floor\n"
        f"  re-ingest unchanged: {median['reingest_unchanged_s']:.2f} s "
        f"({median['reingest_s_per_1000_files']:.2f} s per 1,000 files)\n"
        f"  one changed file:    {median['one_changed_file_s']:.2f} s"
    )
    return result
