"""Ingest, question latency, memory and start-up at growing corpus sizes, side by side with the
floor and a naive pipeline.

For each size, on a synthetic corpus from `bench.corpus_generator` (same seed at every size;
every fifth file is internal, the rest public):
- build (kept in `--workdir` and reused by later runs with the same model and seed):
  - ingest: `IngestService.ingest` (chunks/s) against the floor, `encode_passages` over the
    chunk texts the ingest produced, in the ingest's batch size (all of them up to
    `FLOOR_SAMPLE`, else an evenly spaced sample of that many: the rate is per chunk); then
    the sentence stage `coop ingest` runs after the switch (sentence vectors kept for fast
    answers), timed on its own and together with the ingest;
  - re-ingest of the unchanged corpus (no embedding), then with one file changed;
- questions, in process, `QUERY_PASSES` passes (medians of the passes' p50 and p95), the
  pipelines taking turns question by question (a drifting machine shifts them alike), each by
  a fresh assistant warmed on other questions, so that the timed questions are new to it
  (sentence vectors the answer step computes are cached: `repeat_*` times them asked again):
  - the floor (one query embedding plus one Chroma top-k), `AssistantService.ask` for a
    visitor and for staff (who search the internal collection too), structured agreement
    questions, and the naive LangChain pipeline of `coop eval` (its own splitter 1000/200
    and Chroma over the public documents, top-4; its Chroma is kept on disk in the size's
    folder, built by `--build-only` too and resumed after an interruption; sizes above
    `--naive-max`, when given, go without it);
- over HTTP: `coop serve` on the built index (a fresh server for visitors, another for staff):
  seconds from start to `/readyz` 200, `POST /v1/ask` p50/p95 of new questions after a
  warm-up on others, and the server's peak RSS.
Writes `bench/results/scale.json` and prints a table with ratios; `python -m bench --report`
turns the results into `docs/benchmarks.md`.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx

from assistant.answering.factory import build_assistant, build_selector
from assistant.evaluation.naive_baseline import NaiveRetriever
from assistant.resources import Resources, open_resources
from assistant.retrieval.audience import Audience
from assistant.retrieval.sentences import embed_sentences
from assistant.settings import EmbeddingsSettings, Settings
from bench.ask_bench import RESULTS, _free_port, _percentiles, _wait_ready
from bench.corpus_generator import GeneratedQuestion, generate_corpus
from bench.throughput_bench import _serve, _stop
from ingest.language import detect_language
from ingest.sync import EMBED_BATCH, IngestService
from vectorstore.embedder_factory import build_embedder
from vectorstore.embeddings import Embedder, configure_offline

BUILD_VERSION = 3  # bump when the build's layout or measures change
QUESTIONS_PER_SIZE = 60
WARM_QUESTIONS = 40
QUERY_PASSES = 3
FLOOR_SAMPLE = 2000
INTERNAL_EVERY = 5  # every fifth generated file is internal
TOP_K = 8  # what the floor asks Chroma for, as in ask_bench
STAFF_KEY = "bench-staff-key"


def _peak_rss_mb() -> float:
    """Peak resident set size of this process so far (ru_maxrss is KiB on Linux, B on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _process_peak_rss_mb(pid: int) -> float | None:
    """Another process's peak RSS (VmHWM), where /proc tells it."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _pass(questions: list[str], action: Callable[[str], object]) -> list[float]:
    samples = []
    for question in questions:
        started = time.perf_counter()
        action(question)
        samples.append(time.perf_counter() - started)
    return samples


def _passes(
    warm: list[str],
    timed: list[str],
    configs: dict[str, Callable[[], Callable[[str], object]]],
) -> dict[str, dict[str, float]]:
    """For each config, `QUERY_PASSES` times: a fresh action (new caches), warmed on `warm`,
    timed on `timed` (questions it has not seen: what a new question costs), then on `timed`
    again (`repeat_*`: what a repeated question costs); medians of the passes' p50s and p95s.

    The configs take turns question by question, each question starting with the next config
    in the rotation: a busy moment of the machine, or a warmer cache after one config's work,
    falls on all of them alike, so their ratios hold where their times drift."""
    names = list(configs)
    rows: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    repeats: dict[str, list[dict[str, float]]] = {name: [] for name in names}
    for _ in range(QUERY_PASSES):
        actions = {name: configs[name]() for name in names}
        for question in warm:
            for name in names:
                actions[name](question)
        for measured in (rows, repeats):
            samples: dict[str, list[float]] = {name: [] for name in names}
            for index, question in enumerate(timed):
                turn = index % len(names)
                for name in names[turn:] + names[:turn]:
                    action = actions[name]
                    samples[name].append(_timed(lambda: action(question)))  # noqa: B023
            for name in names:
                measured[name].append(_percentiles(samples[name]))
    result = {}
    for name in names:
        merged = {key: statistics.median(r[key] for r in rows[name]) for key in rows[name][0]}
        merged.update(
            {
                f"repeat_{key}": statistics.median(r[key] for r in repeats[name])
                for key in repeats[name][0]
            }
        )
        result[name] = merged
    return result


def _settings(var: Path, model: str, today: date) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None, data_dir=var, embeddings=EmbeddingsSettings(model=model), today=today
    )


# --- build ------------------------------------------------------------------------------------
def _split(corpus: Path) -> tuple[Path, Path, set[str]]:
    """Move every `INTERNAL_EVERY`-th file (by generation order) under `internal/`."""
    public, internal = corpus / "public", corpus / "internal"
    internal_files: set[str] = set()
    files = sorted(p for p in public.rglob("*") if p.is_file())
    for number, path in enumerate(files):
        if number % INTERNAL_EVERY == INTERNAL_EVERY - 1:
            relative = path.relative_to(public)
            target = internal / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            path.rename(target)
            internal_files.add(relative.as_posix())
    return public, internal, internal_files


def _cpu_s() -> float:
    """CPU seconds of this process and its finished children (parser workers): on a shared
    machine this, unlike the wall clock, hardly depends on what else runs."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _generate(folder: Path, size: int, seed: int) -> dict[str, Any]:
    """Write the corpus once; an interrupted build resumes from it (ingest is incremental)."""
    marker = folder / "generated.json"
    if marker.exists():
        return dict(json.loads(marker.read_text(encoding="utf-8")))
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    started = time.perf_counter()
    info = generate_corpus(folder / "corpus" / "public", chunks=size, seed=seed)
    generate_s = time.perf_counter() - started
    _, _, internal_files = _split(folder / "corpus")
    generated = {
        "seed": seed,
        "today": info.today.isoformat(),
        "files": len(info.files),
        "internal_files": len(internal_files),
        "corpus": {
            "pages": info.pages,
            "registries": info.registries,
            "estimated_chunks": info.estimated_chunks,
            "agreements": len(info.agreements),
            "generate_s": generate_s,
        },
        "questions": [
            {**asdict(q), "internal": (q.file or "") in internal_files} for q in info.questions
        ],
    }
    marker.write_text(json.dumps(generated, indent=2, default=str), encoding="utf-8")
    return generated


def _stage(folder: Path, name: str, measured: dict[str, float]) -> dict[str, float]:
    """A stage's measures, kept across interruptions in `stages.json`.

    A build resumed after an interruption finds most of its work done, and timing what is left
    would say nothing. So each stage's measures are written when it completes a run that did
    real work; a later run that finds nothing left to do reports the kept ones. A run that
    finished a stage an earlier run began reports its own share (a rate per chunk or sentence,
    flagged `resumed` in the record).
    """
    path = folder / "stages.json"
    stages = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    if measured["count"] > 0 or name not in stages:
        stages[name] = measured
        path.write_text(json.dumps(stages, indent=2), encoding="utf-8")
    return dict(stages[name])


def _build(folder: Path, size: int, embedder: Embedder, model: str, seed: int) -> dict[str, Any]:
    """Generate (or resume), ingest and measure the ingest of one size in `folder`."""
    generated = _generate(folder, size, seed)
    public, internal = folder / "corpus" / "public", folder / "corpus" / "internal"
    settings = _settings(folder / "var", model, date.fromisoformat(generated["today"]))
    resources = open_resources(settings, embedder=embedder)
    try:
        service = IngestService(
            settings, resources.facts, resources.vectors, resources.lexical, embedder
        )
        started, cpu = time.perf_counter(), _cpu_s()
        reports = [service.ingest([public], "public"), service.ingest([internal], "internal")]
        ingest_s, ingest_cpu_s = time.perf_counter() - started, _cpu_s() - cpu
        failed = [o for r in reports for o in r.failed]
        if failed:
            raise RuntimeError(f"{len(failed)} generated files failed to ingest: {failed[:3]}")
        resumed = sum(r.reused_chunks + r.count("unchanged") for r in reports) > 0
        ingest_stage = _stage(
            folder,
            "ingest",
            {
                "count": sum(r.embedded_chunks for r in reports),
                "s": ingest_s,
                "cpu_s": ingest_cpu_s,
                "resumed": float(resumed),
            },
        )
        embedded = max(1, int(ingest_stage["count"]))
        ingest_s, ingest_cpu_s = ingest_stage["s"], ingest_stage["cpu_s"]
        selector = build_selector(resources)
        started, cpu = time.perf_counter(), _cpu_s()
        sentences_now = embed_sentences(resources.facts, selector, resources.sentences)
        sentence_stage = _stage(
            folder,
            "sentences",
            {
                "count": sentences_now,
                "s": time.perf_counter() - started,
                "cpu_s": _cpu_s() - cpu,
                "total": resources.sentences.count(),
            },
        )
        sentences = int(sentence_stage["total"])
        # The stage's cost for every sentence kept, at the rate it was measured.
        per_sentence = sentence_stage["s"] / max(1.0, sentence_stage["count"])
        per_sentence_cpu = sentence_stage["cpu_s"] / max(1.0, sentence_stage["count"])
        sentences_s, sentences_cpu_s = sentences * per_sentence, sentences * per_sentence_cpu
        resumed = bool(ingest_stage["resumed"])  # of the run that measured the ingest
        texts = [
            chunk.embedding_text()
            for state in resources.facts.file_states().values()
            if state.doc_id
            for chunk in resources.facts.document_chunks(state.doc_id)
        ]
        step = max(1, len(texts) // FLOOR_SAMPLE)
        sample = texts[::step][:FLOOR_SAMPLE]
        started, cpu = time.perf_counter(), _cpu_s()
        for begin in range(0, len(sample), EMBED_BATCH):
            embedder.encode_passages(sample[begin : begin + EMBED_BATCH])
        floor_s, floor_cpu_s = time.perf_counter() - started, _cpu_s() - cpu
        files = generated["files"]
        reingest = _measure_reingest(resources, service, public, internal, files)
        ingest = {
            "files": files,
            "internal_files": generated["internal_files"],
            "chunks": len(texts),
            "embedded_measured": embedded,  # by the run whose ingest was timed
            "resumed": resumed,
            "ingest_s": ingest_s,
            "ingest_chunks_per_s": embedded / ingest_s,
            "ingest_chunks_per_cpu_s": embedded / ingest_cpu_s,
            "sentences": sentences,
            "sentences_s": sentences_s,
            "sentences_per_s": sentences / sentences_s if sentences_s else 0.0,
            "sentences_measured": int(sentence_stage["count"]),
            "ingest_with_sentences_chunks_per_s": len(texts)
            / (len(texts) * ingest_s / embedded + sentences_s),
            "ingest_with_sentences_chunks_per_cpu_s": len(texts)
            / (len(texts) * ingest_cpu_s / embedded + sentences_cpu_s),
            # bfloat16 where the CPU has it (`passage_precision` auto), for the floor as well
            "passage_dtype": getattr(embedder, "passage_dtype", "float32"),
            "floor_sample": len(sample),
            "floor_chunks_per_s": len(sample) / floor_s,
            "floor_chunks_per_cpu_s": len(sample) / floor_cpu_s,
            "ratio_ingest_to_floor": (embedded / ingest_s) / (len(sample) / floor_s),
            "ratio_ingest_to_floor_cpu": (embedded / ingest_cpu_s) / (len(sample) / floor_cpu_s),
            "ratio_ingest_with_sentences_to_floor_cpu": (
                len(texts) / (len(texts) * ingest_cpu_s / embedded + sentences_cpu_s)
            )
            / (len(sample) / floor_cpu_s),
            **reingest,
            "build_peak_rss_mb": _peak_rss_mb(),
        }
    finally:
        resources.close()
    return {
        "version": BUILD_VERSION,
        "model": model,
        "seed": seed,
        "target_chunks": size,
        "today": generated["today"],
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "corpus": generated["corpus"],
        "ingest": ingest,
        "questions": generated["questions"],
    }


def _measure_reingest(
    resources: Resources, service: IngestService, public: Path, internal: Path, files: int
) -> dict[str, Any]:
    """Re-ingest of the unchanged corpus (with the sentence stage), then of one changed file
    (the first public file, which gets one more line each time this runs)."""
    selector = build_selector(resources)
    reingest_s = _timed(
        lambda: (
            service.ingest([public], "public"),
            service.ingest([internal], "internal"),
            embed_sentences(resources.facts, selector, resources.sentences),
        )
    )
    victim = next(p for p in sorted(public.rglob("*.txt")))
    victim.write_text(victim.read_text(encoding="utf-8") + "\nA changed line.\n", "utf-8")
    started = time.perf_counter()
    changed = service.ingest([public], "public")
    embed_sentences(resources.facts, selector, resources.sentences)
    one_changed_s = time.perf_counter() - started
    if changed.count("updated") != 1:
        raise RuntimeError("changing one file did not update exactly one file")
    return {
        "reingest_unchanged_s": reingest_s,
        "reingest_s_per_1000_files": reingest_s * 1000 / files,
        "one_changed_file_s": one_changed_s,
        "reingest_measured": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def remeasure_reingest(folder: Path, embedder: Embedder) -> dict[str, Any]:
    """Measure a built size's re-ingests again (after a change to the ingest) and keep them
    in its build record. An untimed ingest first brings the index up to date (a lexical
    index of an older layout is rewritten once; that is not what a re-ingest costs)."""
    record_path = folder / "build.json"
    record = json.loads(record_path.read_text(encoding="utf-8"))
    settings = _settings(folder / "var", record["model"], date.fromisoformat(record["today"]))
    public, internal = folder / "corpus" / "public", folder / "corpus" / "internal"
    resources = open_resources(settings, embedder=embedder)
    try:
        service = IngestService(
            settings, resources.facts, resources.vectors, resources.lexical, embedder
        )
        service.ingest([public], "public")
        service.ingest([internal], "internal")
        measured = _measure_reingest(
            resources, service, public, internal, record["ingest"]["files"]
        )
    finally:
        resources.close()
    record["ingest"].update(measured)
    record_path.write_text(json.dumps(record, indent=2, default=str), encoding="utf-8")
    print(
        f"{record['target_chunks']} chunks: re-ingest unchanged "
        f"{measured['reingest_s_per_1000_files']:.2f} s per 1,000 files, one changed file "
        f"{measured['one_changed_file_s']:.2f} s",
        flush=True,
    )
    return measured


def run_reingest(sizes: list[int], workdir: Path | None = None, model: str = "bundled") -> None:
    """`--reingest`: measure again the re-ingests of the sizes built in `workdir`."""
    configure_offline()
    root = workdir or default_workdir()
    embedder = build_embedder(EmbeddingsSettings(model=model))
    for size in sizes:
        folder = root / str(size)
        if not (folder / "build.json").is_file():
            print(f"{size} chunks: not built in {root}; skipped", flush=True)
            continue
        remeasure_reingest(folder, embedder)


def build_size(
    workdir: Path, size: int, embedder: Embedder, model: str, seed: int
) -> dict[str, Any]:
    """The size's build record: reused from `workdir` when it matches, else built now."""
    folder = workdir / str(size)
    record_path = folder / "build.json"
    if record_path.exists():
        record = json.loads(record_path.read_text(encoding="utf-8"))
        if (record.get("version"), record.get("model"), record.get("seed")) == (
            BUILD_VERSION,
            model,
            seed,
        ):
            print(f"{size} chunks: reusing the build of {record['date']}", flush=True)
            return dict(record)
    print(f"{size} chunks: building (generate, ingest, floor)…", flush=True)
    folder.mkdir(parents=True, exist_ok=True)
    record = _build(folder, size, embedder, model, seed)
    record_path.write_text(json.dumps(record, indent=2, default=str), encoding="utf-8")
    ingest = record["ingest"]
    print(
        f"{size} chunks: ingest {ingest['ingest_chunks_per_s']:.1f} chunks/s, "
        f"{ingest['ratio_ingest_to_floor']:.2f}x the floor "
        f"({ingest['ratio_ingest_to_floor_cpu']:.2f}x in CPU time)",
        flush=True,
    )
    return dict(record)


# --- questions --------------------------------------------------------------------------------
def _questions(
    record: dict[str, Any],
) -> tuple[list[GeneratedQuestion], list[str], list[str], list[str]]:
    """Expiry questions answered in public files (timed ones, warm-up ones) and structured."""
    public = [
        GeneratedQuestion(**{k: v for k, v in q.items() if k not in ("internal", "ends_on")})
        for q in record["questions"]
        if q["kind"] == "expiry" and not q["internal"]
    ]
    timed = public[:QUESTIONS_PER_SIZE]
    warm = [q.question for q in public[QUESTIONS_PER_SIZE : QUESTIONS_PER_SIZE + WARM_QUESTIONS]]
    structured = [q["question"] for q in record["questions"] if q["kind"] == "structured"]
    return timed, [q.question for q in timed], warm or ["warm-up question"], structured


def _naive(
    folder: Path, resources: Resources, embedder: Embedder
) -> tuple[NaiveRetriever, dict[str, Any]]:
    """The naive pipeline over the size's public documents, its Chroma kept in the size's
    folder: built once (resumed if interrupted), loaded by later runs."""
    documents = [
        document
        for state in resources.facts.file_states().values()
        if state.doc_id
        and state.visibility == "public"
        and (document := resources.facts.get_document(state.doc_id))
    ]
    started = time.perf_counter()
    naive = NaiveRetriever(embedder, documents, persist_dir=folder / "naive")
    return naive, {
        "naive_build_s": time.perf_counter() - started,
        "naive_chunks": naive.chunk_count,
        "naive_embedded_now": naive.embedded,
    }


def build_naive(folder: Path, record: dict[str, Any], embedder: Embedder) -> None:
    """Build (or finish) the size's naive pipeline without measuring anything."""
    settings = _settings(folder / "var", record["model"], date.fromisoformat(record["today"]))
    resources = open_resources(settings, embedder=embedder)
    try:
        naive, built = _naive(folder, resources, embedder)
        print(
            f"{record['target_chunks']} chunks: naive pipeline ready, {naive.chunk_count} "
            f"pieces ({naive.embedded} embedded now, {built['naive_build_s']:.0f} s)",
            flush=True,
        )
    finally:
        resources.close()


def _in_process(
    folder: Path, record: dict[str, Any], embedder: Embedder, naive_max: int | None
) -> dict[str, Any]:
    model, today = record["model"], date.fromisoformat(record["today"])
    resources: Resources = open_resources(
        _settings(folder / "var", model, today), embedder=embedder
    )
    try:
        assistant = build_assistant(resources)
        expiry, asked, warm, structured = _questions(record)
        # The first structured question builds the catalog of merged agreements (once per
        # index generation); the passes below reuse it.
        first_structured_ms = _timed(lambda: assistant.ask(structured[0], "public")) * 1000

        def floor(question: str) -> None:
            vector = assistant.searcher.embed_query(question, detect_language(question))
            resources.vectors.query("public", vector, TOP_K)

        def ours(audience: Audience) -> Callable[[], Callable[[str], object]]:
            def fresh() -> Callable[[str], object]:
                service = build_assistant(resources)  # no sentence vectors cached yet
                service.warm()
                return lambda question: service.ask(question, audience)

            return fresh

        naive: NaiveRetriever | None = None
        result: dict[str, Any] = {"questions": len(asked), "warm_up_questions": len(warm)}
        if naive_max is None or record["ingest"]["chunks"] <= naive_max:
            naive, built = _naive(folder, resources, embedder)
            result.update(built)
        configs: dict[str, Callable[[], Callable[[str], object]]] = {
            "floor": lambda: floor,
            "ask_in_process": ours("public"),
            "ask_in_process_staff": ours("staff"),
        }
        if naive is not None:
            configs["naive"] = lambda: naive.search
        result.update(_passes(warm, asked, configs))
        structured_ms = _passes(structured, structured, {"s": ours("public")})["s"]
        result["structured"] = {**structured_ms, "questions": len(structured)}
        result["structured_first_ms"] = first_structured_ms
        result["structured_modes"] = sorted({assistant.ask(q, "public").mode for q in structured})
        hits = sum(
            any(
                c.source.endswith(q.file or "?")
                for c in assistant.ask(q.question, "public").citations
            )
            for q in expiry
        )
        result["expected_file_cited_ours"] = hits / max(1, len(expiry))
        if naive is not None:
            naive_hits = sum(
                any(source.endswith(q.file or "?") for _, source, _, _ in naive.search(q.question))
                for q in expiry
            )
            result["expected_file_retrieved_naive_top4"] = naive_hits / max(1, len(expiry))
    finally:
        resources.close()
    return result


def _over_http(folder: Path, record: dict[str, Any]) -> dict[str, Any]:
    """`coop serve` on the built index: start-up, `/v1/ask` latency of new questions for a
    visitor and for staff (a fresh server each, warmed on other questions), peak RSS."""
    _, asked, warm, _ = _questions(record)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("COOP_")},
        "COOP_DATA_DIR": str(folder / "var"),
        "COOP_EMBEDDINGS__MODEL": record["model"],
        "COOP_TODAY": record["today"],
        "COOP_STAFF_API_KEYS": STAFF_KEY,
        "COOP_API__RATE_PER_MINUTE": "0",
        "COOP_API__STAFF_RATE_PER_MINUTE": "0",
        "HF_HUB_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
    }
    result: dict[str, Any] = {}
    ready: list[float] = []
    peaks: list[float] = []
    for name, headers in (
        ("ask_http", {}),
        ("ask_http_staff", {"Authorization": f"Bearer {STAFF_KEY}"}),
    ):
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        started = time.monotonic()
        process = _serve(1, port, env, folder / f"serve-{name}.log")
        try:
            _wait_ready(f"{base}/readyz", process)
            ready.append(time.monotonic() - started)
            with httpx.Client(base_url=base, timeout=120, headers=headers) as client:

                def ask(question: str, client: httpx.Client = client) -> None:
                    response = client.post("/v1/ask", json={"question": question})
                    response.raise_for_status()

                _pass(warm, ask)
                timed = _percentiles(_pass(asked, ask))
                repeat = _percentiles(_pass(asked, ask))
                result[name] = {**timed, **{f"repeat_{k}": v for k, v in repeat.items()}}
            peaks.append(_process_peak_rss_mb(process.pid) or 0.0)
        finally:
            _stop(process)
    result["ready_s"] = statistics.median(ready)
    result["serve_peak_rss_mb"] = max(peaks) if peaks else None
    return result


def _print_table(result: dict[str, Any]) -> None:
    print(f"\nScale benchmark, model {result['model']} ({result['machine']['cores']} cores):")
    print(
        f"{'chunks':>7} {'files':>6} {'ours c/s':>9} {'floor c/s':>10} {'×floor':>7} "
        f"{'reingest s':>11} {'s/1k files':>11} {'1 changed s':>12} {'ready s':>8} {'RSS MB':>7}"
    )
    for row in result["sizes"]:
        i, h = row["ingest"], row["http"]
        print(
            f"{i['chunks']:7.0f} {i['files']:6.0f} {i['ingest_chunks_per_s']:9.1f} "
            f"{i['floor_chunks_per_s']:10.1f} {i['ratio_ingest_to_floor']:7.2f} "
            f"{i['reingest_unchanged_s']:11.2f} {i['reingest_s_per_1000_files']:11.2f} "
            f"{i['one_changed_file_s']:12.2f} {h['ready_s']:8.1f} "
            f"{h['serve_peak_rss_mb'] or 0:7.0f}"
        )
    print(f"\n{'chunks':>7} {'what':<22} {'p50 ms':>8} {'p95 ms':>8} {'×floor':>7} {'×naive':>7}")
    for row in result["sizes"]:
        q = {**row["query"], **row["http"]}
        floor = q["floor"]["p50_ms"]
        naive = q["naive"]["p50_ms"] if "naive" in q else None
        names = ("floor", "ask_in_process", "ask_in_process_staff", "naive", "structured")
        for name in (*names, "ask_http", "ask_http_staff"):
            if name not in q:
                continue
            p = q[name]
            versus_naive = f"{p['p50_ms'] / naive:7.2f}" if naive else f"{'-':>7}"
            print(
                f"{row['ingest']['chunks']:7.0f} {name:<22} {p['p50_ms']:8.1f} {p['p95_ms']:8.1f} "
                f"{p['p50_ms'] / floor:7.2f} {versus_naive}"
            )


def default_workdir() -> Path:
    """Where sizes are built and kept: `$COOP_BENCH_DIR`, else `var/bench`."""
    return Path(os.environ.get("COOP_BENCH_DIR", "var/bench"))


def run_scale_bench(
    sizes: list[int],
    *,
    model: str | None = None,
    seed: int = 0,
    workdir: Path | None = None,
    naive_max: int | None = None,
    build_only: bool = False,
    runs: int = 1,
) -> dict[str, Any]:
    """Build (or reuse) and measure every size `runs` times (the medians are kept: from one
    run to the next the page cache and the machine change more than within a run); print,
    write `scale.json`."""
    configure_offline()
    model = model or EmbeddingsSettings().model
    workdir = workdir or default_workdir()
    embedder = build_embedder(EmbeddingsSettings(model=model))
    embedder.encode_passages(["warm-up"])
    rows = []
    for size in sizes:
        record = build_size(workdir, size, embedder, model, seed)
        folder = workdir / str(size)
        if build_only:
            if naive_max is None or record["ingest"]["chunks"] <= naive_max:
                build_naive(folder, record, embedder)
            continue
        queries, https = [], []
        for run in range(1, runs + 1):
            label = f" (run {run} of {runs})" if runs > 1 else ""
            print(f"{size} chunks: questions in process{label}…", flush=True)
            queries.append(_in_process(folder, record, embedder, naive_max))
            print(f"{size} chunks: questions over HTTP{label}…", flush=True)
            https.append(_over_http(folder, record))
        query, http = median_of_runs(queries), median_of_runs(https)
        rows.append(
            {
                "target_chunks": size,
                "built": record["date"],
                "corpus": record["corpus"],
                "ingest": record["ingest"],
                "query": query,
                "http": http,
                "runs": runs,
            }
        )
    measured = datetime.now(UTC).isoformat(timespec="seconds")
    for row in rows:
        row["measured"] = measured
    result = {
        "benchmark": "scale",
        "date": measured,
        "model": model,
        "seed": seed,
        "machine": {
            "python": platform.python_version(),
            "cpu": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
        },
        "sizes": rows,
    }
    if rows:
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / "scale.json"
        result["sizes"] = merged_rows(path, result)
        path.write_text(json.dumps(result, indent=2), encoding="utf-8")
        _print_table(result)
    return result


def median_of_runs(records: list[dict[str, Any]]) -> dict[str, Any]:
    """One record from several runs' records of the same shape: the median of every number
    (nested dictionaries alike; the largest peak RSS), anything else from the first run."""
    merged: dict[str, Any] = {}
    for key, first in records[0].items():
        values = [record.get(key) for record in records]
        if isinstance(first, dict):
            merged[key] = median_of_runs([v for v in values if isinstance(v, dict)])
        elif isinstance(first, int | float) and not isinstance(first, bool):
            numbers = [v for v in values if isinstance(v, int | float)]
            # Memory is held to a limit: the worst run counts.
            merged[key] = max(numbers) if "rss" in key else statistics.median(numbers)
        else:
            merged[key] = first
    return merged


def merged_rows(path: Path, result: dict[str, Any]) -> list[dict[str, Any]]:
    """This run's rows, with the rows of other sizes kept from the last results of the same
    model and seed (each ratio compares measures of one run; each row says when it ran)."""
    rows = list(result["sizes"])
    try:
        earlier = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return rows
    if (earlier.get("model"), earlier.get("seed")) != (result["model"], result["seed"]):
        return rows
    sizes = {row["target_chunks"] for row in rows}
    for row in earlier.get("sizes", []):
        if row.get("target_chunks") not in sizes:
            rows.append({"measured": earlier.get("date"), **row})
    return sorted(rows, key=lambda row: row["target_chunks"])
