"""HTTP throughput: `POST /v1/ask` requests per second with 16 concurrent clients.

In one run, on the sample corpus and the gold questions, against a `chroma run` server so that
one and two workers serve the same indexes. `coop serve --workers 1` and `--workers 2` run at
the same time (the one not under load sits idle), and their measures take turns in short
rounds, each round starting with the next one in the rotation: a slower moment of the shared
machine falls on both alike. Measured for each:
- `/healthz` with 16 clients (what the HTTP stack alone sustains: the ceiling),
- `/v1/ask` with 1 client (one question at a time: the baseline),
- `/v1/ask` with 16 clients (requests/s, p50 and p95 latency, errors).
Each rate is the median of its rounds (their lowest and highest are kept); the ratios (16
clients against 1, two workers against one) are medians of the rounds' own ratios.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from assistant.evaluation.gold import load_gold
from bench.ask_bench import REPO, RESULTS, _free_port, _percentiles, _wait_ready

CONCURRENCY = 16
PHASE_SECONDS = 15.0  # per measure, split over the rounds
ROUNDS = 5


def _coop() -> str:
    return str(Path(sys.executable).parent / "coop")


async def _load(
    url: str, questions: list[str] | None, clients: int, seconds: float
) -> dict[str, Any]:
    """`clients` loops sending requests for `seconds`; what they measured."""
    latencies: list[float] = []
    errors: dict[str, int] = {}
    deadline = time.perf_counter() + seconds
    counter = 0

    async def client_loop(client: httpx.AsyncClient) -> None:
        nonlocal counter
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            if questions is None:
                response = await client.get(url)
            else:
                counter += 1
                question = questions[counter % len(questions)]
                response = await client.post(url, json={"question": question})
            if response.status_code == 200:
                latencies.append(time.perf_counter() - started)
            else:
                errors[str(response.status_code)] = errors.get(str(response.status_code), 0) + 1

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        await asyncio.gather(*(client_loop(client) for _ in range(clients)))
    elapsed = time.perf_counter() - started
    return {
        "clients": clients,
        "requests": len(latencies),
        "errors": errors,
        "requests_per_s": len(latencies) / elapsed,
        **(_percentiles(latencies) if latencies else {"p50_ms": 0.0, "p95_ms": 0.0}),
    }


def _serve(workers: int, port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [_coop(), "serve", "--workers", str(workers), "--port", str(port)],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _ready_everywhere(base: str, process: subprocess.Popen[bytes], started: float) -> float:
    """Seconds from `started` (the launch) until `/readyz` says 200 twenty times in a row
    (every worker is loaded)."""
    _wait_ready(f"{base}/readyz", process)
    streak = 0
    while streak < 20:
        if time.monotonic() - started > 300:
            raise TimeoutError("the workers did not all become ready")
        with httpx.Client() as client:
            streak = streak + 1 if client.get(f"{base}/readyz").status_code == 200 else 0
    return time.monotonic() - started


def _rounds(
    bases: dict[int, str], questions: list[str], seconds: float, rounds: int
) -> dict[int, dict[str, list[dict[str, Any]]]]:
    """Each server's ask measures, `rounds` times, taking turns (see the module's note)."""
    measures = [(workers, clients) for workers in bases for clients in (1, CONCURRENCY)]
    taken: dict[int, dict[str, list[dict[str, Any]]]] = {w: {} for w in bases}
    for number in range(rounds):
        turn = number % len(measures)
        for workers, clients in measures[turn:] + measures[:turn]:
            taken[workers].setdefault(f"ask_{clients}", []).append(
                asyncio.run(_load(f"{bases[workers]}/v1/ask", questions, clients, seconds / rounds))
            )
    return taken


def _merged(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """One measure from its rounds: the median rate (and the lowest and highest), the median
    of the rounds' latency percentiles, every error."""
    rates = [m["requests_per_s"] for m in samples]
    errors: dict[str, int] = {}
    for m in samples:
        for code, count in m["errors"].items():
            errors[code] = errors.get(code, 0) + count
    return {
        "clients": samples[0]["clients"],
        "requests": sum(m["requests"] for m in samples),
        "errors": errors,
        "requests_per_s": statistics.median(rates),
        "requests_per_s_low": min(rates),
        "requests_per_s_high": max(rates),
        "rounds": len(samples),
        "p50_ms": statistics.median(m["p50_ms"] for m in samples),
        "p95_ms": statistics.median(m["p95_ms"] for m in samples),
    }


def _paired_ratio(top: list[dict[str, Any]], bottom: list[dict[str, Any]]) -> float:
    """The median of the rounds' ratios of two measures taken in the same rounds."""
    return statistics.median(
        float(a["requests_per_s"]) / float(b["requests_per_s"])
        for a, b in zip(top, bottom, strict=True)
        if b["requests_per_s"]
    )


def run_throughput_bench(seconds: float = PHASE_SECONDS, rounds: int = ROUNDS) -> dict[str, Any]:
    """Measure, print and write `bench/results/throughput.json`."""
    questions = [item.question for item in load_gold(REPO / "tests" / "gold" / "gold.jsonl")]
    work = Path(tempfile.mkdtemp(prefix="coop-throughput-bench-"))
    chroma_port = _free_port()
    chroma = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "chroma"),
            "run",
            "--path",
            str(work / "chroma"),
            "--host",
            "127.0.0.1",
            "--port",
            str(chroma_port),
        ],
        stdout=(work / "chroma.log").open("wb"),
        stderr=subprocess.STDOUT,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("COOP_")},
        "COOP_DATA_DIR": str(work / "var"),
        "COOP_CHROMA__HOST": "127.0.0.1",
        "COOP_CHROMA__PORT": str(chroma_port),
        "COOP_API__RATE_PER_MINUTE": "0",
        # The clients ask the gold questions in turn, so each comes back many times: without
        # the question-vector cache every request costs what a new question does.
        "COOP_EMBEDDINGS__QUERY_CACHE": "0",
        "HF_HUB_OFFLINE": "1",
        "ANONYMIZED_TELEMETRY": "False",
    }
    rows: dict[str, Any] = {}
    servers: dict[int, subprocess.Popen[bytes]] = {}
    try:
        _wait_ready(f"http://127.0.0.1:{chroma_port}/api/v2/heartbeat", chroma)
        subprocess.run(
            [_coop(), "ingest", str(REPO / "data" / "sample")],
            env=env,
            check=True,
            capture_output=True,
        )
        bases: dict[int, str] = {}
        launched: dict[int, float] = {}
        for workers in (1, 2):
            port = _free_port()
            bases[workers] = f"http://127.0.0.1:{port}"
            launched[workers] = time.monotonic()
            servers[workers] = _serve(workers, port, env, work / f"serve-{workers}.log")
        # Both start at once and share the cores meanwhile: `ready_s` is an upper bound.
        ready = {w: _ready_everywhere(bases[w], servers[w], launched[w]) for w in bases}
        for workers, base in bases.items():
            asyncio.run(_load(f"{base}/v1/ask", questions, CONCURRENCY, 3.0))  # warm up
            rows[f"workers_{workers}"] = {
                "ready_s": ready[workers],
                "healthz_16": asyncio.run(_load(f"{base}/healthz", None, CONCURRENCY, seconds / 3)),
            }
        taken = _rounds(bases, questions, seconds, rounds)
        for workers, measures in taken.items():
            rows[f"workers_{workers}"].update({k: _merged(v) for k, v in measures.items()})
    finally:
        for server in servers.values():
            _stop(server)
        _stop(chroma)
        shutil.rmtree(work, ignore_errors=True)

    result = {
        "benchmark": "throughput",
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "cpus": os.cpu_count(),
        "questions": len(questions),
        "seconds_per_phase": seconds,
        "rounds": rounds,
        "rows": rows,
        "ratio_16_to_1_clients_workers_1": _paired_ratio(taken[1]["ask_16"], taken[1]["ask_1"]),
        "ratio_2_to_1_workers_at_16": _paired_ratio(taken[2]["ask_16"], taken[1]["ask_16"]),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "throughput.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"\nHTTP throughput, {len(questions)} gold questions in turn, {os.cpu_count()} CPUs:")
    print(
        f"{'workers':<8} {'what':<18} {'req/s':>8} {'range':>13} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'errors':>8}"
    )
    for name, row in rows.items():
        for what in ("healthz_16", "ask_1", "ask_16"):
            m = row[what]
            spread = (
                f"{m['requests_per_s_low']:.1f}-{m['requests_per_s_high']:.1f}"
                if "requests_per_s_low" in m
                else ""
            )
            print(
                f"{name[-1]:<8} {what:<18} {m['requests_per_s']:8.1f} {spread:>13} "
                f"{m['p50_ms']:8.1f} {m['p95_ms']:8.1f} {sum(m['errors'].values()):8d}"
            )
    print(
        f"16 clients vs 1: {result['ratio_16_to_1_clients_workers_1']:.2f}×; "
        f"2 workers vs 1 at 16 clients: {result['ratio_2_to_1_workers_at_16']:.2f}×"
    )
    return result
