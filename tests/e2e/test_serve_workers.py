"""`coop serve --workers 2` against a `chroma run` server, as an operator deploys it: both
workers answer with the real model, rate limits and metrics add up across them, visitors never
see internal documents, and SIGTERM stops the whole server cleanly."""

from __future__ import annotations

import re
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import BIN_DIR, SAMPLE_DIR, free_port, wait_http
from tests.e2e.test_cli import coop_env, run

pytestmark = pytest.mark.integration

STAFF_KEY = "e2e-staff-key-0123456789"
MARKER = "QWX-7731"
QUESTION = "What did the Ministry of Labor sign with the Skolkovo Foundation?"
INTERNAL = f"When does the agreement with Tasmania Polytechnic {MARKER} expire?"


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.extend(int(child) for child in text)
    return found


def _metric(text: str, name: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name) and not line.startswith("#")
    )


def test_two_workers_share_the_chroma_server_the_limits_and_the_metrics(tmp_path, chroma_server):
    host, chroma_port = chroma_server
    (tmp_path / "internal").mkdir()
    (tmp_path / "internal" / "registry.md").write_text(
        f"# Internal registry\n\nThe agreement with Tasmania Polytechnic {MARKER} "
        "expires in December 2027.\n",
        encoding="utf-8",
    )
    env = coop_env(
        tmp_path / "var",
        COOP_CHROMA__HOST=host,
        COOP_CHROMA__PORT=str(chroma_port),
        COOP_EMBEDDINGS__MODEL="bundled",
        COOP_STAFF_API_KEYS=STAFF_KEY,
        COOP_API__RATE_PER_MINUTE="6",
    )
    assert run(["ingest", str(SAMPLE_DIR)], env, tmp_path).returncode == 0
    assert run(["ingest", "internal", "--visibility", "internal"], env, tmp_path).returncode == 0

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [str(BIN_DIR / "coop"), "serve", "--workers", "2", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_http(f"{base}/healthz", timeout=120, process=server)
        deadline = time.monotonic() + 180
        ready = 0
        while ready < 10:  # both workers have loaded the model: many answers in a row say so
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            with httpx.Client() as client:  # a new connection each time
                ready = ready + 1 if client.get(f"{base}/readyz").status_code == 200 else 0
            time.sleep(0.05)
        assert len(_children(server.pid)) >= 2  # the supervisor and its two workers

        answers = []
        for _ in range(6):
            with httpx.Client(timeout=60) as client:
                answers.append(client.post(f"{base}/v1/ask", json={"question": INTERNAL}))
        assert [a.status_code for a in answers] == [200] * 6
        assert all(MARKER not in a.text for a in answers)  # visitors: public documents only
        with httpx.Client(timeout=60) as client:
            limited = client.post(f"{base}/v1/ask", json={"question": QUESTION})
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1

        with httpx.Client(timeout=60) as client:
            staff = client.post(
                f"{base}/v1/ask",
                json={"question": INTERNAL},
                headers={"Authorization": f"Bearer {STAFF_KEY}"},
            ).json()
            public = client.post(
                f"{base}/v1/ask",
                json={"question": QUESTION},
                headers={"Authorization": f"Bearer {STAFF_KEY}"},
            ).json()
        assert staff["found"] and MARKER in staff["answer"]
        assert public["found"] and "Skolkovo" in public["answer"]

        with httpx.Client() as client:
            metrics = client.get(f"{base}/metrics").text
        assert _metric(metrics, "coop_answers_total{") == 8  # both workers' answers, added up
        assert _metric(metrics, "coop_rate_limited_total") >= 1
        request_lines = re.findall(r'^coop_http_requests_total\{.*route="/v1/ask".*', metrics, re.M)
        assert request_lines
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            code = server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
            raise
        log.close()
    assert code == 0, (tmp_path / "serve.log").read_text()[-3000:]


def test_several_workers_without_a_chroma_server_are_refused_with_advice(tmp_path):
    result = run(["serve", "--workers", "2"], coop_env(tmp_path / "var"), tmp_path)
    assert result.returncode == 2
    assert "COOP_CHROMA__HOST" in result.stderr and "chroma run" in result.stderr
