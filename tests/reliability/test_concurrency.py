"""Everything at once, as a busy deployment sees it, against a real `chroma run` server:
`coop serve --workers 2` answering visitors and staff and taking their ratings, `coop bot`
chatting with visitors and staff through the Bot API stand-in, staff uploading documents
through `POST /v1/ingest`, and `coop ingest` re-syncing a folder that keeps changing (files
added, changed, deleted) — all for `COOP_SOAK_SECONDS` (default 60 s).

Every process is the real `coop` program. By default they embed with the tests' deterministic
embedder (`_crash_coop.py`), since every `coop ingest` run would otherwise spend most of its time
loading the model; `COOP_SOAK_MODEL=bundled` uses the real bundled model. The several-minute
version:

    COOP_SOAK_SECONDS=300 COOP_SOAK_MODEL=bundled .venv/bin/pytest -s \
        tests/reliability/test_concurrency.py

What must hold at the end: no 5xx, no "database is locked" (or any error or traceback) in any
process's output, no lost write (every acknowledged rating is in `/v1/feedback.csv`, every
upload job ends `done` with its files indexed, every `coop ingest` run succeeds and the index
matches the folder), visitors never see internal documents, and a document added mid-run is
answered by both API workers (told apart by which process holds the connection) and by the bot.
A summary of the numbers is printed and saved as `soak-summary.json` in the test's directory.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from tests.bots.botapi_standin import TOKEN, BotApiStandIn
from tests.conftest import SAMPLE_DIR, free_port, wait_http
from tests.processes import LoggedProcess
from tests.reliability._soak_load import (
    CLI_FACT,
    COOP,
    INTERNAL_MARKER,
    MODEL,
    STAFF_HEADERS,
    STAFF_ID,
    STAFF_KEY,
    UPLOAD_FACT,
    VISITOR,
    Soak,
    fact_text,
    percentiles,
)
from tests.reliability._soak_probes import access_lines, fault_lines, workers_of

pytestmark = pytest.mark.integration

SOAK_SECONDS = float(os.environ.get("COOP_SOAK_SECONDS", "60"))


def test_api_bot_uploads_and_cli_ingests_together_lose_nothing(tmp_path, chroma_server):
    host, chroma_port = chroma_server
    shutil.copytree(SAMPLE_DIR, tmp_path / "public")
    (tmp_path / "internal").mkdir()
    (tmp_path / "internal" / "registry.md").write_text(
        f"# Internal registry\n\nThe agreement with Kestrel Polytechnic {INTERNAL_MARKER} "
        "expires in December 2027.\n",
        encoding="utf-8",
    )
    (tmp_path / "docs").mkdir()
    standin = BotApiStandIn().start()
    api_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COOP_")}
    env.update(
        COOP_DATA_DIR=str(tmp_path / "var"),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        ANONYMIZED_TELEMETRY="False",
        TOKENIZERS_PARALLELISM="false",
        COOP_TODAY="2026-11-25",
        COOP_CHROMA__HOST=host,
        COOP_CHROMA__PORT=str(chroma_port),
        COOP_EMBEDDINGS__MODEL="bundled",
        COOP_STAFF_API_KEYS=STAFF_KEY,
        COOP_API__RATE_PER_MINUTE="0",
        COOP_API__STAFF_RATE_PER_MINUTE="0",
        COOP_API__LOG_FORMAT="json",
        COOP_TELEGRAM__TOKEN=TOKEN,
        COOP_TELEGRAM__BASE_URL=standin.base_url,
        COOP_TELEGRAM__STAFF_IDS=str(STAFF_ID),
    )
    soak = Soak(tmp_path, env, api_port, standin)
    # the first documents are ingested while the server and the bot start
    seeding = [
        subprocess.Popen(
            [*COOP, *args],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for args in (["ingest", "public"], ["ingest", "internal", "--visibility", "internal"])
    ]
    serve = LoggedProcess(
        [*COOP, "serve", "--workers", "2", "--no-bot", "--port", str(api_port)],
        env,
        tmp_path,
        tmp_path / "serve.log",
    )
    bot: LoggedProcess | None = None
    summary: dict[str, Any] = {"soak_seconds": SOAK_SECONDS, "model": MODEL}
    load_began = datetime.now(UTC)
    threads: list[threading.Thread] = []
    try:
        for seed in seeding:
            output, _ = seed.communicate(timeout=600)
            assert seed.returncode == 0, output
        bot = LoggedProcess([*COOP, "bot"], env, tmp_path, tmp_path / "bot.log")  # needs an index
        wait_http(f"{soak.base}/healthz", timeout=180, process=serve.popen)
        ready, deadline = 0, time.monotonic() + 240
        while ready < 10:  # both workers loaded: many ready answers on new connections
            assert time.monotonic() < deadline, serve.log()[-3000:]
            ready = ready + 1 if httpx.get(f"{soak.base}/readyz").status_code == 200 else 0
            time.sleep(0.05)
        soak.workers = workers_of(serve.pid)
        assert len(soak.workers) == 2, soak.workers
        summary["workers"] = soak.workers
        started = soak.bot_say(VISITOR, "/start", timeout=240)
        assert started is not None and bot.popen.poll() is None, bot.log()[-3000:]

        began, load_began = time.monotonic(), datetime.now(UTC)
        threads = [
            soak.run_thread("visitor-asker", soak.asker("visitor")),
            soak.run_thread("staff-asker", soak.asker("staff")),
            soak.run_thread("uploader", soak.uploader),
            soak.run_thread("cli-ingester", soak.cli_ingester()),
            soak.run_thread("bot-chatter", soak.bot_chatter()),
        ]

        # mid-run: a new document through the API, then one through `coop ingest`
        soak.stop.wait(SOAK_SECONDS * 0.2)
        fact_job = soak.upload({"zorblatt.md": fact_text(*UPLOAD_FACT)}, "public", "facts")
        job = soak.wait_job(fact_job, timeout=300)
        assert job["status"] == "done" and job["counts"]["added"] == 1, job
        summary["upload_fact_workers_s"] = soak.answered_by_both_workers(
            *UPLOAD_FACT, "zorblatt.md"
        )
        summary["upload_fact_bot_s"] = soak.answered_by_the_bot(*UPLOAD_FACT)
        assert soak.cli_fact_indexed.wait(timeout=max(300.0, SOAK_SECONDS)), "coop ingest stuck"
        summary["cli_fact_workers_s"] = soak.answered_by_both_workers(*CLI_FACT, "fact.md")
        summary["cli_fact_bot_s"] = soak.answered_by_the_bot(*CLI_FACT)

        soak.stop.wait(max(0.0, SOAK_SECONDS - (time.monotonic() - began)))
        soak.stop.set()
        for thread in threads:
            thread.join(timeout=600)
        summary["load_seconds"] = round(time.monotonic() - began, 1)
        assert not [t.name for t in threads if t.is_alive()]

        # -- nothing lost ---------------------------------------------------------------
        record = soak.record
        jobs = {job_id: soak.wait_job(job_id, timeout=300) for job_id in record.jobs}
        not_done = {
            j: (v["status"], v.get("error")) for j, v in jobs.items() if v["status"] != "done"
        }
        assert not not_done, not_done
        assert all(j["counts"]["failed"] == 0 for j in jobs.values()), jobs
        status = httpx.get(f"{soak.base}/v1/status", headers=STAFF_HEADERS, timeout=60).json()
        files = {f["path"]: f for f in status["files"]}
        uploaded = [path for paths in record.jobs.values() for path in paths]
        not_indexed = [p for p in uploaded if files.get(p, {}).get("status") != "indexed"]
        assert not not_indexed, not_indexed
        on_disk = {str(p) for p in soak.docs.iterdir()}
        in_index = {p for p in files if p.startswith(str(soak.docs) + "/")}
        assert in_index == on_disk  # deletions removed, additions indexed
        assert all(files[p]["status"] == "indexed" for p in on_disk)

        exported = httpx.get(f"{soak.base}/v1/feedback.csv", headers=STAFF_HEADERS, timeout=60)
        assert exported.status_code == 200
        rows = list(csv.DictReader(io.StringIO(exported.content.decode("utf-8-sig"))))
        stored = {row["answer_id"]: (row["rating"], row["comment"]) for row in rows}
        lost = {a: r for a, r in record.feedback.items() if stored.get(a) != r}
        assert not lost, lost
        assert set(record.feedback_statuses) <= {201}, record.feedback_statuses
        assert set(record.upload_statuses) == {202}, record.upload_statuses

        failed_runs = [r.stdout + r.stderr for r in record.cli_runs if r.returncode != 0]
        assert not failed_runs, failed_runs
        cli_faults = [line for r in record.cli_runs for line in fault_lines(r.stderr)]
        assert not cli_faults, cli_faults
        statuses = Counter(reply.status for _, _, reply in record.replies)
        assert set(statuses) == {200}, statuses
        assert not record.leaks, record.leaks
        assert not record.bot_unanswered, record.bot_unanswered
        assert not record.errors, record.errors

        by_worker = Counter(reply.worker for _, _, reply in record.replies)
        summary.update(
            asks=dict(Counter(f"{who} {route}" for who, route, _ in record.replies)),
            asks_by_worker={str(k): v for k, v in by_worker.items()},
            ask_seconds=percentiles([r.seconds for _, _, r in record.replies]),
            feedback_acknowledged=len(record.feedback),
            feedback_rows_exported=len(rows),
            upload_jobs=len(record.jobs),
            uploaded_files=len(uploaded),
            cli_runs=len(record.cli_runs),
            cli_run_seconds=percentiles(record.cli_seconds),
            bot_messages=len(record.bot_seconds),
            bot_reply_seconds=percentiles(record.bot_seconds),
        )
    finally:
        soak.stop.set()
        for thread in threads:
            thread.join(timeout=120)
        bot_code = bot.terminate(60)[0] if bot is not None else None
        serve_code = serve.terminate(60)[0]
        standin.stop()
        summary["exit_codes"] = {"bot": bot_code, "serve": serve_code}
        (tmp_path / "soak-summary.json").write_text(json.dumps(summary, indent=2))
        print("\nsoak summary:", json.dumps(summary, indent=2))

    # -- every process's output ---------------------------------------------------------
    assert bot is not None
    serve_log, bot_log = serve.log(), bot.log()
    access = access_lines(serve_log)
    assert access, serve_log[-2000:]
    during = [a for a in access if datetime.fromisoformat(a["time"]) >= load_began]
    server_errors = [a for a in during if int(a["status"]) >= 500]  # /readyz says 503 at start
    assert not server_errors, server_errors
    assert not fault_lines(serve_log), fault_lines(serve_log)
    assert not fault_lines(bot_log), fault_lines(bot_log)
    chroma_log = (tmp_path / "chroma-server.log").read_text(errors="replace")
    assert "database is locked" not in chroma_log
    assert bot_code == 0 and serve_code == 0, (bot_log[-2000:], serve_log[-2000:])
