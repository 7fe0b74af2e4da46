"""Question latency against the floor: one query embedding plus one Chroma query.

In one run, on the sample corpus and the gold questions:
- floor: `encode_query` + one Chroma top-k query, in process (the least any dense RAG does);
- ours in process: `AssistantService.ask`;
- ours over HTTP: `POST /v1/ask` against `coop serve` started as a process.
Each is measured twice over the question list: a first pass (nothing cached but the model)
and a warm pass. Medians and 95th percentiles are reported, with ratios to the floor.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from assistant.answering.factory import build_assistant
from assistant.evaluation.gold import load_gold
from assistant.resources import open_resources
from assistant.settings import Settings
from ingest.language import detect_language
from ingest.sync import IngestService
from vectorstore.embedder_factory import build_embedder
from vectorstore.embeddings import configure_offline

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50_ms": statistics.median(ordered) * 1000, "p95_ms": p95 * 1000}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _post(url: str, question: str) -> float:
    body = json.dumps({"question": question}).encode("utf-8")
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()
    return time.perf_counter() - started


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 180) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise RuntimeError("coop serve exited before it was ready")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.1)
    raise TimeoutError("coop serve did not become ready")


def run_ask_bench() -> dict[str, Any]:
    """Measure, print and write `bench/results/ask.json`."""
    configure_offline()
    questions = [item.question for item in load_gold(REPO / "tests" / "gold" / "gold.jsonl")]
    work = Path(tempfile.mkdtemp(prefix="coop-ask-bench-"))
    try:
        # Every question comes back in the warm phase: without the question-vector cache, so
        # that a warm question costs its embedding, as the floor's does.
        settings = Settings(_env_file=None, data_dir=work / "var")  # type: ignore[call-arg]
        settings = settings.model_copy(
            update={"embeddings": settings.embeddings.model_copy(update={"query_cache": 0})}
        )
        embedder = build_embedder(settings.embeddings)
        resources = open_resources(settings, embedder=embedder)
        IngestService(
            settings, resources.facts, resources.vectors, resources.lexical, embedder
        ).ingest([REPO / "data" / "sample"], "public")
        assistant = build_assistant(resources)
        floor: dict[str, list[float]] = {"first": [], "warm": []}
        ours: dict[str, list[float]] = {"first": [], "warm": []}
        for phase in ("first", "warm"):
            for question in questions:
                started = time.perf_counter()
                vector = assistant.searcher.embed_query(question, detect_language(question))
                resources.vectors.query("public", vector, 8)
                floor[phase].append(time.perf_counter() - started)
                started = time.perf_counter()
                assistant.ask(question, "public")
                ours[phase].append(time.perf_counter() - started)
        resources.close()

        port = _free_port()
        env = {
            **os.environ,
            "COOP_DATA_DIR": str(work / "var"),
            "HF_HUB_OFFLINE": "1",
            "COOP_API__RATE_PER_MINUTE": "0",  # one client asks everything: no rate limit
            "COOP_EMBEDDINGS__QUERY_CACHE": "0",
        }
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "coop"), "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        http: dict[str, list[float]] = {"first": [], "warm": []}
        try:
            ready_s = _wait_ready(f"http://127.0.0.1:{port}/readyz", server)
            for phase in ("first", "warm"):
                for question in questions:
                    http[phase].append(_post(f"http://127.0.0.1:{port}/v1/ask", question))
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    table: dict[str, Any] = {}
    for phase in ("first", "warm"):
        f, o, h = (_percentiles(d[phase]) for d in (floor, ours, http))
        table[phase] = {
            "floor": f,
            "ask_in_process": o,
            "ask_http": h,
            "ratio_in_process_p50": o["p50_ms"] / f["p50_ms"],
            "ratio_http_p50": h["p50_ms"] / f["p50_ms"],
        }
    result = {
        "benchmark": "ask",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "model": settings.embeddings.model,
        "questions": len(questions),
        "start_to_ready_s": ready_s,
        "phases": table,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "ask.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(
        f"\nQuestion latency, {len(questions)} gold questions, model {settings.embeddings.model}:"
    )
    print(f"{'pass':<6} {'what':<22} {'p50 ms':>8} {'p95 ms':>8} {'× floor':>8}")
    for phase, row in table.items():
        base = row["floor"]["p50_ms"]
        for name in ("floor", "ask_in_process", "ask_http"):
            p = row[name]
            print(
                f"{phase:<6} {name:<22} {p['p50_ms']:8.1f} {p['p95_ms']:8.1f} "
                f"{p['p50_ms'] / base:8.2f}"
            )
    print(f"coop serve: start to /readyz 200 in {ready_s:.1f} s")
    return result
