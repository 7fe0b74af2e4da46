"""SIGTERM, as a service manager sends it, to `coop serve`, `coop bot` and `coop ingest` while they
are busy: each exits within a grace period with the status a service manager expects, and nothing
that was written before the signal is lost or left half-done.

The processes are the real CLI with the tests' cheap embedder (`_crash_coop.py`).
"""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.bots.botapi_standin import TOKEN, BotApiStandIn, message_update, user
from tests.conftest import free_port, wait_http
from tests.processes import LoggedProcess
from tests.reliability._crash_corpus import Corpus, marker
from tests.reliability._crash_harness import (
    Checker,
    consistency_problems,
    coop_command,
    coop_env,
    run_coop,
    served_versions,
    wait_for_text,
)

pytestmark = pytest.mark.integration

GRACE_S = 15.0  # a service manager's stop timeout; systemd's default is 90 s
STAFF_KEY = "shutdown-staff-key-0123456789"
STAFF = {"Authorization": f"Bearer {STAFF_KEY}"}
SQLITE_FILES = ("facts.sqlite3", "jobs.sqlite3", "feedback.sqlite3", "sessions.sqlite3")


class Server(LoggedProcess):
    """`coop serve` on a free port, ready to answer."""

    def __init__(self, env: dict[str, str], cwd: Path, log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        super().__init__(coop_command("serve", "--port", str(self.port)), env, cwd, log)
        wait_http(f"{self.base}/readyz", timeout=120, process=self.popen)

    def terminate(self, grace_s: float = GRACE_S * 2) -> tuple[int, float]:
        """SIGTERM; the exit status and the seconds it took (killed after twice the grace)."""
        return super().terminate(grace_s)


def _integrity(data_dir: Path) -> dict[str, str]:
    found = {}
    for name in SQLITE_FILES:
        with sqlite3.connect(data_dir / name) as conn:
            found[name] = conn.execute("PRAGMA integrity_check").fetchone()[0]
    return found


def _big_file(number: int, lines: int = 900) -> bytes:
    tag = marker(number, 1)
    body = "\n".join(f"{tag} line {i} of the annex on joint research." for i in range(lines))
    return f"Annex {number} {tag}\n\n{body}\n".encode()


def _read_stream(base: str, question: str, result: dict[str, Any]) -> None:
    """Read /v1/ask/stream to its end (or until the server cuts it); keep the raw text."""
    raw = b""
    try:
        with (
            httpx.Client(timeout=60) as client,
            client.stream(
                "POST", f"{base}/v1/ask/stream", json={"question": question}, headers=STAFF
            ) as response,
        ):
            result["status"] = response.status_code
            for piece in response.iter_bytes():
                raw += piece
    except httpx.HTTPError as exc:
        result["error"] = repr(exc)
    result["raw"] = raw.decode("utf-8", errors="replace")


def _events(raw: str) -> list[tuple[str, Any]]:
    """The complete events of a server-sent event stream (a cut one may lack its tail)."""
    events = []
    for block in raw.split("\n\n"):
        lines = [line for line in block.splitlines() if not line.startswith(":")]
        if not lines:
            continue
        name = next((ln[7:] for ln in lines if ln.startswith("event: ")), "message")
        data = "\n".join(ln[6:] for ln in lines if ln.startswith("data: "))
        events.append((name, json.loads(data)))
    return events


def test_sigterm_stops_coop_serve_with_an_ingest_job_and_a_stream_in_flight(
    tmp_path: Path,
) -> None:
    corpus = Corpus(tmp_path / "docs")
    corpus.create(40)
    data = tmp_path / "var"
    env = coop_env(data, COOP_STAFF_API_KEYS=STAFF_KEY)
    assert run_coop(["ingest", "docs"], env, tmp_path).returncode == 0
    question = f"What is {marker(10, 1)}?"
    server = Server(env, tmp_path, tmp_path / "serve.log")
    try:
        with httpx.Client(base_url=server.base, timeout=60) as client:
            asked = client.post("/v1/ask", json={"question": question}, headers=STAFF).json()
            assert asked["found"], asked
            rated = client.post(
                "/v1/feedback",
                json={"answer_id": asked["answer_id"], "rating": "down"},
                headers=STAFF,
            )
            assert rated.status_code == 201, rated.text
            files = [("files", (f"annex{n}.txt", _big_file(n), "text/plain")) for n in range(100)]
            accepted = client.post(
                "/v1/ingest", files=files, data={"visibility": "public"}, headers=STAFF
            )
            assert accepted.status_code == 202, accepted.text
            job_id = accepted.json()["job_id"]
            deadline = time.monotonic() + 60
            while client.get(f"/v1/ingest/{job_id}", headers=STAFF).json()["status"] != "running":
                assert time.monotonic() < deadline, "the job never started"
                time.sleep(0.05)
        stream: dict[str, Any] = {}
        reader = threading.Thread(target=_read_stream, args=(server.base, question, stream))
        reader.start()
        time.sleep(0.2)
        code, took = server.terminate()
        reader.join(timeout=30)
    finally:
        if server.popen.poll() is None:
            server.popen.kill()
            server.popen.wait()
    log = server.log_path.read_text(errors="replace")
    assert code == 0 and took < GRACE_S, (code, took, log[-3000:])
    assert "Traceback" not in log, log[-3000:]

    # The stream completed, or was cut between two events: never a half event.
    events = _events(stream["raw"])
    assert stream.get("status") in (200, None), stream
    assert [name for name, _ in events][:1] in (["start"], []), stream
    if events and events[-1][0] == "done":
        assert events[-1][1]["found"] is True

    assert set(_integrity(data).values()) == {"ok"}
    restarted = Server(env, tmp_path, tmp_path / "serve-again.log")
    try:
        with httpx.Client(base_url=restarted.base, timeout=60) as client:
            job = client.get(f"/v1/ingest/{job_id}", headers=STAFF).json()
            session = client.get(f"/v1/sessions/{asked['session_id']}", headers=STAFF)
            feedback = client.get("/v1/feedback.csv", headers=STAFF)
    finally:
        code, _ = restarted.terminate()
    assert code == 0
    assert job["status"] in ("done", "failed"), job  # never left "running"
    if job["status"] == "failed":
        assert job["error"].startswith("interrupted") and "upload the files again" in job["error"]
    assert session.status_code == 200 and session.json()["turns"][0]["question"] == question
    assert asked["answer_id"] in feedback.text and "down" in feedback.text
    with Checker() as checker:
        snap = checker.snapshot(data, [])
    assert not consistency_problems(snap)
    annexes = {p for p in served_versions(snap) if "/uploads/" in p}
    assert len(annexes) in (0, 100)  # the job's documents are served all, or none


def test_sigterm_stops_coop_ingest_promptly_with_a_message_and_the_index_consistent(
    tmp_path: Path,
) -> None:
    corpus = Corpus(tmp_path / "docs")
    corpus.create(1000)
    env = coop_env(tmp_path / "var")
    assert run_coop(["ingest", "docs"], env, tmp_path).returncode == 0
    before = corpus.expected()
    corpus.mutate(random.Random(3), change=0.5, add=30, delete=20)
    results = []
    with Checker() as checker:
        for stage in ("reading: 0/", "embedding: 0/"):
            log = tmp_path / f"ingest-{stage[:4]}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    coop_command("ingest", "docs"),
                    env=env,
                    cwd=tmp_path,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
            assert wait_for_text(log, stage, process, timeout=60), log.read_text()
            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=GRACE_S * 2)
            took = time.monotonic() - started
            output = log.read_text()
            results.append((stage, code, round(took, 2)))
            assert code == 128 + signal.SIGTERM and took < 5, (code, took, output)
            assert "ingest stopped by SIGTERM" in output and "Run the same command again" in output
            assert "Traceback" not in output
            snap = checker.snapshot(tmp_path / "var", [])
            assert not consistency_problems(snap)
            assert served_versions(snap) == before  # nothing of the stopped run is served
        finished = run_coop(["ingest", "docs"], env, tmp_path)
        assert finished.returncode == 0, finished.stderr
        snap = checker.snapshot(tmp_path / "var", [])
    assert not consistency_problems(snap)
    assert served_versions(snap) == corpus.expected()
    assert snap["vectors"]["public"]["ids"] == sorted(snap["chunks"])  # no orphans
    print(f"\nSIGTERM during ingest (stage, exit code, seconds): {results}")


def _polling(standin: BotApiStandIn, since: int, timeout: float = 60) -> bool:
    """Whether the bot polls (more `getUpdates` calls than `since`): it is up."""
    return standin.wait_for(lambda: len(standin.calls_of("getUpdates")) > since, timeout)


def test_sigterm_stops_coop_bot_with_a_question_in_flight_and_it_is_answered_once(
    tmp_path: Path,
) -> None:
    corpus = Corpus(tmp_path / "docs")
    corpus.create(40)
    with BotApiStandIn() as standin:
        env = coop_env(
            tmp_path / "var",
            COOP_TELEGRAM__TOKEN=TOKEN,
            COOP_TELEGRAM__BASE_URL=standin.base_url,
        )
        assert run_coop(["ingest", "docs"], env, tmp_path).returncode == 0
        visitor = user(6001, "Vera")
        codes = []
        for attempt in range(2):
            log = tmp_path / f"bot-{attempt}.log"
            polls = len(standin.calls_of("getUpdates"))
            with log.open("wb") as out:
                bot = subprocess.Popen(
                    coop_command("bot"), env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT
                )
            try:
                assert _polling(standin, since=polls), "the bot never polled"
                if attempt == 0:
                    standin.push(message_update(standin, visitor, f"What is {marker(20, 1)}?"))
                    # the bot has fetched the question: it is being answered right now
                    assert standin.wait_for(lambda: standin.pending_updates() == 0, 30)
                else:
                    standin.wait_for(lambda: bool(standin.sent(6001)), 30)
                started = time.monotonic()
                bot.send_signal(signal.SIGTERM)
                code = bot.wait(timeout=GRACE_S * 2)
                codes.append((code, time.monotonic() - started))
            finally:
                if bot.poll() is None:
                    bot.kill()
                    bot.wait()
            output = log.read_text(errors="replace")
            assert codes[-1][0] == 0 and codes[-1][1] < GRACE_S, (codes, output[-3000:])
            assert "Traceback" not in output, output[-3000:]
        replies = standin.sent(6001)
    assert len(replies) == 1, [r.result["text"] for r in replies]  # answered, exactly once
    assert marker(20, 1) in str(replies[0].result["text"])
