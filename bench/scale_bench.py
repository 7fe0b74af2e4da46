"""Ingest and question latency at growing corpus sizes, against the floor and a naive pipeline.

For each size, on a synthetic corpus from `bench.corpus_generator` (same seed at every size):
- ingest: `IngestService.ingest` (chunks/s) against the floor, `encode_passages` over exactly
  the chunk texts the ingest produced, in the ingest's batch size;
- re-ingest of the unchanged corpus (no embedding), and with one file changed;
- warm question latency (p50/p95) of the floor (one query embedding plus one Chroma top-k),
  `AssistantService.ask` in process, and the naive LangChain pipeline of `coop eval` (its own
  splitter and in-memory Chroma over the same documents, top-4); structured agreement
  questions ("Which agreements expire this year?") in process;
- whether the expected file is cited (ours) or retrieved (naive) for the expiry questions;
- the process's peak RSS after the size.
Writes `bench/results/scale.json` and prints a table with ratios.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.answering.factory import build_assistant
from assistant.evaluation.naive_baseline import NaiveRetriever
from assistant.resources import Resources, open_resources
from assistant.settings import EmbeddingsSettings, Settings
from bench.ask_bench import RESULTS, _percentiles
from bench.corpus_generator import CorpusInfo, generate_corpus
from ingest.language import detect_language
from ingest.sync import EMBED_BATCH, IngestService
from vectorstore.embedder_factory import build_embedder
from vectorstore.embeddings import Embedder, configure_offline

QUESTIONS_PER_SIZE = 60
TOP_K = 8  # what the floor asks Chroma for, as in ask_bench


def _peak_rss_mb() -> float:
    """Peak resident set size of this process so far (ru_maxrss is KiB on Linux, B on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _latencies(questions: list[str], action: Callable[[str], object]) -> list[float]:
    """One warm-up pass over `questions`, then the timed pass."""
    for question in questions:
        action(question)
    samples: list[float] = []
    for question in questions:
        started = time.perf_counter()
        action(question)
        samples.append(time.perf_counter() - started)
    return samples


def _ingest_part(
    corpus: Path, settings: Settings, embedder: Embedder, info: CorpusInfo
) -> tuple[dict[str, float], dict[str, Any]]:
    """Ingest measures, then question latencies, over one freshly ingested data dir."""
    resources = open_resources(settings, embedder=embedder)
    try:
        service = IngestService(
            settings, resources.facts, resources.vectors, resources.lexical, embedder
        )
        started = time.perf_counter()
        report = service.ingest([corpus], "public")
        ingest_s = time.perf_counter() - started
        if report.failed:
            raise RuntimeError(f"{len(report.failed)} generated files failed to ingest")
        states = [s for s in resources.facts.file_states().values() if s.doc_id]
        texts = [
            chunk.embedding_text()
            for state in states
            if state.doc_id
            for chunk in resources.facts.document_chunks(state.doc_id)
        ]
        started = time.perf_counter()
        for begin in range(0, len(texts), EMBED_BATCH):
            embedder.encode_passages(texts[begin : begin + EMBED_BATCH])
        floor_s = time.perf_counter() - started
        reingest_s = _timed(lambda: service.ingest([corpus], "public"))
        victim = corpus / next(name for name in info.files if name.endswith(".txt"))
        victim.write_text(victim.read_text(encoding="utf-8") + "\nA changed line.\n", "utf-8")
        changed = service.ingest([corpus], "public")
        one_changed_s = changed.seconds
        if changed.count("updated") != 1:
            raise RuntimeError("changing one file did not update exactly one file")
        files = len(info.files)
        ingest = {
            "files": files,
            "chunks": report.embedded_chunks,
            "ingest_s": ingest_s,
            "ingest_chunks_per_s": report.embedded_chunks / ingest_s,
            "floor_s": floor_s,
            "floor_chunks_per_s": len(texts) / floor_s,
            "ratio_ingest_to_floor": (report.embedded_chunks / ingest_s) / (len(texts) / floor_s),
            "reingest_unchanged_s": reingest_s,
            "reingest_s_per_1000_files": reingest_s * 1000 / files,
            "one_changed_file_s": one_changed_s,
        }
        query = _query_part(resources, embedder, info)
    finally:
        resources.close()
    return ingest, query


def _query_part(resources: Resources, embedder: Embedder, info: CorpusInfo) -> dict[str, Any]:
    assistant = build_assistant(resources)
    expiry = [q for q in info.questions if q.kind == "expiry"][:QUESTIONS_PER_SIZE]
    structured = [q.question for q in info.questions if q.kind == "structured"]
    asked = [q.question for q in expiry]

    def floor(question: str) -> None:
        vector = assistant.searcher.query_vector(question, detect_language(question))
        resources.vectors.query("public", vector, TOP_K)

    floor_s = _latencies(asked, floor)
    ours_s = _latencies(asked, lambda q: assistant.ask(q, "public"))
    structured_s = _latencies(structured, lambda q: assistant.ask(q, "public"))
    modes = [assistant.ask(q, "public").mode for q in structured]
    ours_hits = sum(
        any(c.source.endswith(q.file or "?") for c in assistant.ask(q.question, "public").citations)
        for q in expiry
    )
    documents = [
        document
        for state in resources.facts.file_states().values()
        if state.doc_id and (document := resources.facts.get_document(state.doc_id))
    ]
    started = time.perf_counter()
    naive = NaiveRetriever(embedder, documents)
    naive_build_s = time.perf_counter() - started
    naive_s = _latencies(asked, naive.search)
    naive_hits = sum(
        any(source.endswith(q.file or "?") for _, source, _, _ in naive.search(q.question))
        for q in expiry
    )
    return {
        "questions": len(asked),
        "floor": _percentiles(floor_s),
        "ask_in_process": _percentiles(ours_s),
        "naive": _percentiles(naive_s),
        "naive_chunks": naive.chunk_count,
        "naive_build_s": naive_build_s,
        "structured": {**_percentiles(structured_s), "questions": len(structured)},
        "structured_modes": modes,
        "expected_file_cited_ours": ours_hits / max(1, len(expiry)),
        "expected_file_retrieved_naive_top4": naive_hits / max(1, len(expiry)),
    }


def _one_size(size: int, embedder: Embedder, model: str, seed: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="coop-scale-bench-") as tmp:
        work = Path(tmp)
        started = time.perf_counter()
        info = generate_corpus(work / "corpus", chunks=size, seed=seed)
        generate_s = time.perf_counter() - started
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            data_dir=work / "var",
            embeddings=EmbeddingsSettings(model=model),
            today=info.today,
        )
        ingest, query = _ingest_part(work / "corpus", settings, embedder, info)
    return {
        "target_chunks": size,
        "corpus": {
            "pages": info.pages,
            "registries": info.registries,
            "estimated_chunks": info.estimated_chunks,
            "agreements": len(info.agreements),
            "generate_s": generate_s,
        },
        "ingest": ingest,
        "query": query,
        "peak_rss_mb": _peak_rss_mb(),
    }


def _median_runs(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """The first run's record with every ingest measure replaced by its median over runs."""
    merged = dict(samples[0])
    merged["ingest"] = {
        key: statistics.median(s["ingest"][key] for s in samples) for key in samples[0]["ingest"]
    }
    merged["runs"] = len(samples)
    return merged


def _print_table(result: dict[str, Any]) -> None:
    print(f"\nScale benchmark, model {result['model']} ({result['machine']['cores']} cores):")
    print(
        f"{'chunks':>7} {'files':>6} {'ours c/s':>9} {'floor c/s':>10} {'×floor':>7} "
        f"{'reingest s':>11} {'s/1k files':>11} {'1 changed s':>12} {'RSS MB':>8}"
    )
    for row in result["sizes"]:
        i = row["ingest"]
        print(
            f"{i['chunks']:7.0f} {i['files']:6.0f} {i['ingest_chunks_per_s']:9.1f} "
            f"{i['floor_chunks_per_s']:10.1f} {i['ratio_ingest_to_floor']:7.2f} "
            f"{i['reingest_unchanged_s']:11.2f} {i['reingest_s_per_1000_files']:11.2f} "
            f"{i['one_changed_file_s']:12.2f} {row['peak_rss_mb']:8.0f}"
        )
    print(f"\n{'chunks':>7} {'what':<22} {'p50 ms':>8} {'p95 ms':>8} {'×floor':>7} {'×naive':>7}")
    for row in result["sizes"]:
        q = row["query"]
        floor, naive = q["floor"]["p50_ms"], q["naive"]["p50_ms"]
        for name in ("floor", "ask_in_process", "naive", "structured"):
            p = q[name]
            print(
                f"{row['ingest']['chunks']:7.0f} {name:<22} {p['p50_ms']:8.1f} {p['p95_ms']:8.1f} "
                f"{p['p50_ms'] / floor:7.2f} {p['p50_ms'] / naive:7.2f}"
            )
        print(
            f"{'':7} expected file: cited by ours {q['expected_file_cited_ours']:.0%}, "
            f"in naive top-4 {q['expected_file_retrieved_naive_top4']:.0%}; structured modes: "
            f"{', '.join(sorted(set(q['structured_modes'])))}"
        )


def run_scale_bench(
    sizes: list[int], runs: int = 1, model: str | None = None, seed: int = 0
) -> dict[str, Any]:
    """Measure every size (`runs` times; ingest medians), print, write `scale.json`."""
    configure_offline()
    model = model or EmbeddingsSettings().model
    embedder = build_embedder(EmbeddingsSettings(model=model))
    embedder.encode_passages(["warm-up"])
    rows = []
    for size in sizes:
        samples = [_one_size(size, embedder, model, seed) for _ in range(max(1, runs))]
        rows.append(_median_runs(samples))
        ingest = rows[-1]["ingest"]
        print(f"{size} chunks: ingest {ingest['ingest_chunks_per_s']:.0f} chunks/s", flush=True)
    result = {
        "benchmark": "scale",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": model,
        "seed": seed,
        "machine": {
            "python": platform.python_version(),
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
        },
        "sizes": rows,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "scale.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    _print_table(result)
    return result
