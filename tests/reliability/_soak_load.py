"""The load of the concurrency soak (`test_concurrency.py`): the `coop` command to run, the
questions and documents, and the threads that ask, rate, upload, re-ingest and chat while
recording everything they saw."""

from __future__ import annotations

import itertools
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.bots.botapi_standin import BotApiStandIn, message_update, user
from tests.conftest import BIN_DIR
from tests.reliability._soak_probes import Reply, request

MODEL = os.environ.get("COOP_SOAK_MODEL", "fake")  # or "bundled": the real model
if MODEL == "fake":
    COOP = [sys.executable, str(Path(__file__).with_name("_crash_coop.py"))]
else:
    COOP = [str(BIN_DIR / "coop")]
STAFF_KEY = "soak-staff-key-0123456789"
STAFF_HEADERS = {"Authorization": f"Bearer {STAFF_KEY}"}
STAFF_ID, VISITOR_ID = 6001, 6002
STAFF, VISITOR = user(STAFF_ID, "Olga"), user(VISITOR_ID, "Vic")

INTERNAL_MARKER = "KVX-5150"
INTERNAL_QUESTION = f"When does the agreement with Kestrel Polytechnic {INTERNAL_MARKER} expire?"
PUBLIC_QUESTIONS = [
    "What did the Ministry of Labor sign with the Skolkovo Foundation?",
    "Do you cooperate with Vietnam?",
    "Which agreements expire this year?",
    "Who is the president of the Association of Oncological Societies of the CIS?",
]
UPLOAD_FACT = ("Zorblatt", "QZ-8812")  # added mid-run through POST /v1/ingest
CLI_FACT = ("Varnholt", "VM-4410")  # added mid-run by `coop ingest` of a changing folder


def fact_text(name: str, code: str) -> str:
    return (
        f"# {name} Institute\n\nIn March 2026 the Institute signed a memorandum of understanding "
        f"with the {name} Institute of Applied Acoustics (code {code}) on joint research.\n"
    )


def fact_question(name: str) -> str:
    return f"What did we agree with the {name} Institute?"


@dataclass
class Record:
    """Everything the load threads saw, shared between them (append-only under a lock)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    replies: list[tuple[str, str, Reply]] = field(default_factory=list)  # (who, route, reply)
    feedback: dict[str, tuple[str, str]] = field(default_factory=dict)  # acknowledged ratings
    feedback_statuses: Counter[int] = field(default_factory=Counter)
    jobs: dict[str, list[str]] = field(default_factory=dict)  # job id -> stored file paths
    upload_statuses: Counter[int] = field(default_factory=Counter)
    internal_markers: set[str] = field(default_factory=lambda: {INTERNAL_MARKER})
    cli_runs: list[subprocess.CompletedProcess[str]] = field(default_factory=list)
    cli_seconds: list[float] = field(default_factory=list)
    bot_seconds: list[float] = field(default_factory=list)
    bot_unanswered: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, attribute: str, value: Any) -> None:
        with self.lock:
            getattr(self, attribute).append(value)


class Soak:
    """The running system and the load threads."""

    def __init__(
        self, tmp_path: Path, env: dict[str, str], api_port: int, standin: BotApiStandIn
    ) -> None:
        self.tmp = tmp_path
        self.env = env
        self.port = api_port
        self.base = f"http://127.0.0.1:{api_port}"
        self.stop = threading.Event()
        self.record = Record()
        self.workers: list[int] = []
        self.standin = standin
        self.bot_lock = threading.Lock()  # one bot exchange at a time: replies per chat
        self.docs = tmp_path / "docs"
        self.cli_fact_indexed = threading.Event()
        self.upload_names = itertools.count(1)

    # -- load --------------------------------------------------------------------------------
    def run_thread(self, name: str, body: Callable[[], None]) -> threading.Thread:
        def guarded() -> None:
            try:
                while not self.stop.is_set():
                    body()
            except Exception as exc:  # a failed assertion or I/O error in a load thread
                self.record.add("errors", f"{name}: {type(exc).__name__}: {exc}")

        thread = threading.Thread(target=guarded, name=name, daemon=True)
        thread.start()
        return thread

    def ask(self, who: str, question: str, route: str = "/v1/ask") -> Reply:
        headers = STAFF_HEADERS if who == "staff" else {}
        if route == "/v1/chat/completions":
            body: dict[str, Any] = {
                "model": "cooperation-assistant",
                "messages": [{"role": "user", "content": question}],
            }
        else:
            body = {"question": question}
        reply = request(self.port, "POST", route, body=body, headers=headers, workers=self.workers)
        self.record.add("replies", (who, route, reply))
        if who == "visitor":
            self.check_no_leak(f"API {route}", reply.text)
        return reply

    def check_no_leak(self, where: str, text: str) -> None:
        with self.record.lock:
            markers = set(self.record.internal_markers)
        for marker in markers:
            if marker in text.replace(INTERNAL_QUESTION, ""):
                self.record.add("leaks", f"{where}: {marker}")

    def asker(self, who: str) -> Callable[[], None]:
        questions = itertools.cycle([*PUBLIC_QUESTIONS, INTERNAL_QUESTION])
        routes = itertools.cycle(["/v1/ask"] * 4 + ["/v1/ask/stream", "/v1/chat/completions"])
        ratings = itertools.cycle(["up", "down"])
        numbers = itertools.count(1)

        def step() -> None:
            route = next(routes)
            reply = self.ask(who, next(questions), route)
            if route != "/v1/ask" or reply.status != 200:
                return
            answer_id = reply.json()["answer_id"]
            rating, comment = next(ratings), f"soak {who} {next(numbers)} ünïcode"
            rated = request(
                self.port,
                "POST",
                "/v1/feedback",
                body={"answer_id": answer_id, "rating": rating, "comment": comment},
                headers=STAFF_HEADERS if who == "staff" else {},
            )
            with self.record.lock:
                self.record.feedback_statuses[rated.status] += 1
                if rated.status == 201:
                    self.record.feedback[answer_id] = (rating, comment)

        return step

    def upload(self, files: dict[str, str], visibility: str, folder: str) -> str:
        """POST /v1/ingest; the job id (the upload must be accepted)."""
        multipart = [("files", (name, text.encode("utf-8"))) for name, text in files.items()]
        with httpx.Client(timeout=120) as client:
            response = client.post(
                f"{self.base}/v1/ingest",
                files=multipart,
                data={"visibility": visibility, "folder": folder},
                headers=STAFF_HEADERS,
            )
        with self.record.lock:
            self.record.upload_statuses[response.status_code] += 1
        assert response.status_code == 202, response.text
        job_id = str(response.json()["job_id"])
        stored = self.env["COOP_DATA_DIR"] + f"/uploads/{visibility}/{folder}/"
        with self.record.lock:
            self.record.jobs[job_id] = [stored + name for name in files]
        return job_id

    def uploader(self) -> None:
        n = next(self.upload_names)
        tag = f"UP{n}-{uuid.uuid4().hex[:6].upper()}"
        if n % 2:
            visibility = "internal"
            with self.record.lock:
                self.record.internal_markers.add(tag)
            files = {
                f"note-{n}.md": f"# Internal note {n}\n\nBudget line {tag} for the Tashkent "
                "exchange is confidential.\n",
                f"registry-{n}.csv": "Partner;Country;Expires\n"
                f"Kestrel College {tag};Chile;2027-05-01\n",
            }
        else:
            visibility = "public"
            files = {
                f"visit-{n}.md": f"# Visit {n}\n\nThe Institute hosted delegation {tag} from "
                "the Lund Centre of Ecology in spring 2026.\n"
            }
        self.upload(files, visibility, f"soak-{visibility}")
        self.stop.wait(5.0)

    def cli_ingester(self) -> Callable[[], None]:
        runs = itertools.count(1)

        def step() -> None:
            n = next(runs)
            (self.docs / f"cli-{n}.md").write_text(
                f"# CLI note {n}\n\nThe exchange programme {n} with Porto started in 2025.\n",
                encoding="utf-8",
            )
            (self.docs / "changing.md").write_text(
                f"# Changing page\n\nThis page is at version {n}.\n", encoding="utf-8"
            )
            (self.docs / f"cli-{n - 2}.md").unlink(missing_ok=True)
            if n == 2:
                (self.docs / "fact.md").write_text(fact_text(*CLI_FACT), encoding="utf-8")
            started = time.monotonic()
            done = subprocess.run(
                [*COOP, "ingest", str(self.docs)],
                env=self.env,
                cwd=self.tmp,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            self.record.add("cli_seconds", time.monotonic() - started)
            self.record.add("cli_runs", done)
            if n >= 2 and done.returncode == 0:
                self.cli_fact_indexed.set()

        return step

    def bot_say(self, sender: dict[str, Any], text: str, timeout: float = 180.0) -> str | None:
        """Send one message; the bot's reply (None if none came within `timeout`)."""
        with self.bot_lock:
            chat = sender["id"]
            before = len(self.standin.sent(chat))
            started = time.monotonic()
            self.standin.push(message_update(self.standin, sender, text))
            arrived = self.standin.wait_for(lambda: len(self.standin.sent(chat)) > before, timeout)
            if not arrived:
                self.record.add("bot_unanswered", text)
                return None
            self.record.add("bot_seconds", time.monotonic() - started)
            reply = str(self.standin.sent(chat)[before].result["text"])
        if sender is VISITOR:
            self.check_no_leak("bot", reply)
        return reply

    def bot_chatter(self) -> Callable[[], None]:
        turns = itertools.cycle(
            [(VISITOR, q) for q in [*PUBLIC_QUESTIONS, INTERNAL_QUESTION]]
            + [(STAFF, INTERNAL_QUESTION), (STAFF, PUBLIC_QUESTIONS[0])]
        )

        def step() -> None:
            sender, text = next(turns)
            reply = self.bot_say(sender, text)
            if sender is STAFF and text == INTERNAL_QUESTION and reply is not None:
                assert INTERNAL_MARKER in reply, reply

        return step

    # -- the mid-run document ----------------------------------------------------------------
    def answered_by_both_workers(self, name: str, code: str, source: str) -> dict[int, float]:
        """Ask on new connections until each worker has answered with the new document; for
        each worker, the seconds until it did."""
        started = time.monotonic()
        seen: dict[int, float] = {}
        tally: Counter[tuple[int | None, bool]] = Counter()  # (worker, with the document)
        deadline = started + 180
        while len(seen) < 2:
            assert time.monotonic() < deadline, f"{name}: (worker, answered) {dict(tally)}"
            reply = self.ask("visitor", fact_question(name))
            if reply.status != 200:
                continue
            body = reply.json()
            cited = any(c["source"].endswith(source) for c in body["citations"])
            answered = bool(body["found"] and code in body["answer"] and cited)
            tally[(reply.worker, answered)] += 1
            if answered and reply.worker is not None:
                seen.setdefault(reply.worker, round(time.monotonic() - started, 2))
            time.sleep(0.05)
        return seen

    def answered_by_the_bot(self, name: str, code: str) -> float:
        started = time.monotonic()
        while True:
            assert time.monotonic() - started < 240, f"the bot never answered {name}"
            reply = self.bot_say(VISITOR, fact_question(name))
            if reply is not None and code in reply:
                return time.monotonic() - started

    def wait_job(self, job_id: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            job = httpx.get(f"{self.base}/v1/ingest/{job_id}", headers=STAFF_HEADERS).json()
            if job["status"] in ("done", "failed") or time.monotonic() > deadline:
                return dict(job)
            time.sleep(0.5)


def percentiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "p50": round(statistics.median(ordered), 3),
        "p95": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 3),
        "max": round(ordered[-1], 3),
    }
