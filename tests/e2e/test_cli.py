"""The `coop` command as a user runs it: real model, real Chroma (embedded and server)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from assistant.answering.models import Answer
from assistant.feedback import FEEDBACK_FILE, FeedbackStore
from tests.conftest import BIN_DIR, SAMPLE_DIR, free_port, wait_http

pytestmark = pytest.mark.integration

COOP = str(BIN_DIR / "coop")
SAMPLE_FILES = len([p for p in SAMPLE_DIR.iterdir() if p.is_file()])


def coop_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COOP_")}
    env.update(COOP_DATA_DIR=str(data_dir), HF_HUB_OFFLINE="1", ANONYMIZED_TELEMETRY="False")
    env.update(extra)
    return env


def run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [COOP, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copytree(SAMPLE_DIR, tmp_path / "sample")
    return tmp_path


def test_ingest_twice_says_nothing_changed_and_status_lists_every_file(workdir):
    env = coop_env(workdir / "var")
    first = run(["ingest", "sample"], env, workdir)
    assert first.returncode == 0, first.stderr
    assert f"added {SAMPLE_FILES}" in first.stdout
    second = run(["ingest", "sample"], env, workdir)
    assert second.returncode == 0, second.stderr
    assert second.stdout.startswith(f"Nothing changed: {SAMPLE_FILES} files unchanged")
    status = run(["status", "--json"], env, workdir)
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    assert len(report["files"]) == SAMPLE_FILES
    assert all(f["status"] == "indexed" and f["chunks"] > 0 for f in report["files"])
    assert all(f["indexed_at"] for f in report["files"])
    public = report["indexes"]["public"]
    assert public["documents"] == SAMPLE_FILES and public["chunks"] == public["vectors"] > 0
    human = run(["status"], env, workdir)
    assert "000_72dd01ef1c94073d.txt" in human.stdout and "indexed" in human.stdout


def test_a_failing_file_sets_the_exit_code_and_shows_in_status(workdir):
    (workdir / "sample" / "scan.pdf").write_bytes(b"%PDF-1.7\n%%EOF garbage")
    env = coop_env(workdir / "var")
    result = run(["ingest", "sample"], env, workdir)
    assert result.returncode == 1
    assert f"added {SAMPLE_FILES}" in result.stdout and "FAILED sample/scan.pdf" in result.stdout
    status = json.loads(run(["status", "--json"], env, workdir).stdout)
    failed = [f for f in status["files"] if f["status"] == "failed"]
    assert len(failed) == 1 and failed[0]["error"]


def test_usage_errors_exit_2_with_a_message(workdir):
    env = coop_env(workdir / "var")
    missing = run(["ingest", "no-such-folder"], env, workdir)
    assert missing.returncode == 2 and "no such file or folder" in missing.stderr
    bad_setting = run(["status"], {**env, "COOP_CHROMA__PORT": "not-a-port"}, workdir)
    assert bad_setting.returncode == 2 and "invalid configuration" in bad_setting.stderr


def test_server_mode_ingests_into_a_chroma_server(workdir, chroma_server):
    host, port = chroma_server
    env = coop_env(workdir / "var", COOP_CHROMA__HOST=host, COOP_CHROMA__PORT=str(port))
    assert run(["ingest", "sample"], env, workdir).returncode == 0
    status = json.loads(run(["status", "--json"], env, workdir).stdout)
    public = status["indexes"]["public"]
    assert public["vectors"] == public["chunks"] > 0
    assert not (workdir / "var" / "chroma").exists()


def test_serve_answers_health_at_once_and_ready_once_loaded(workdir):
    env = coop_env(workdir / "var")
    assert run(["ingest", "sample"], env, workdir).returncode == 0
    port = free_port()
    server = subprocess.Popen(
        [COOP, "serve", "--port", str(port)],
        env=env,
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", process=server)
        wait_http(f"http://127.0.0.1:{port}/readyz", timeout=120, process=server)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz") as response:
            assert json.loads(response.read())["status"] == "ready"
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


def _served_hashes(data_dir: Path) -> set[str]:
    import sqlite3

    with sqlite3.connect(data_dir / "facts.sqlite3") as conn:
        return {row[0] for row in conn.execute("SELECT content_hash FROM documents")}


def _write_corpus(folder: Path, version: str, copies: int) -> None:
    seeds = sorted(SAMPLE_DIR.glob("*.txt"))
    for i in range(copies):
        for seed in seeds:
            text = seed.read_text(encoding="utf-8")
            target = folder / f"copy{i:03d}_{seed.name}"
            target.write_text(f"Edition {version}, copy {i}\n\n{text}", encoding="utf-8")


def test_sigkill_in_the_middle_of_an_ingest_serves_all_old_or_all_new(tmp_path):
    """Kill `coop ingest` at several points; each time the served state is one whole version,
    and the next run completes with no duplicates or orphans."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    data_dir = tmp_path / "var"
    # The sentence stage runs after the switch and is a cache; leaving it out keeps this
    # real-model test to the part that is about kills.
    env = coop_env(data_dir, COOP_INGEST__SENTENCE_VECTORS="false")
    _write_corpus(corpus, "one", 20)
    assert run(["ingest", "corpus"], env, tmp_path).returncode == 0
    old = _served_hashes(data_dir)
    assert len(old) == 60
    for attempt, delay in enumerate((1.0, 4.0, 7.0)):
        _write_corpus(corpus, f"two-{attempt}", 20)
        process = subprocess.Popen(
            [COOP, "ingest", "corpus"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        served = _served_hashes(data_dir)
        assert len(served) == 60
        assert served == old or not (served & old), "a mix of old and new versions is served"
        old = served
    final = run(["ingest", "corpus", "--json"], env, tmp_path)
    assert final.returncode == 0, final.stderr
    assert len(_served_hashes(data_dir)) == 60
    status = json.loads(run(["status", "--json"], env, tmp_path).stdout)
    public = status["indexes"]["public"]
    assert public["documents"] == 60
    assert public["vectors"] == public["chunks"]  # no duplicates, no orphans
    assert status["ingest_interrupted"] is None
    text = (corpus / "copy000_002_34b770f422913c14.txt").read_text(encoding="utf-8")
    assert text.startswith("Edition two-2")


def test_ask_answers_with_exact_citations_and_declines_what_is_not_there(workdir):
    env = coop_env(workdir / "var")
    assert run(["ingest", "sample"], env, workdir).returncode == 0
    result = run(
        ["ask", "Who signed the agreement between the Ministry of Labor and Skolkovo?", "--json"],
        env,
        workdir,
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["found"] and answer["language"] == "en" and answer["mode"] == "extractive"
    assert "Vovchenko" in answer["answer"] and "Parshin" in answer["answer"]
    import sqlite3

    with sqlite3.connect(workdir / "var" / "facts.sqlite3") as conn:
        for citation in answer["citations"]:
            (text,) = conn.execute(
                "SELECT text FROM documents WHERE doc_id = ?", (citation["doc_id"],)
            ).fetchone()
            assert text[citation["start"] : citation["end"]] == citation["quote"]
    human = run(
        ["ask", "Кто является президентом Ассоциации онкологических обществ СНГ?"], env, workdir
    )
    assert human.returncode == 0
    assert human.stdout.startswith("Согласно документам") and "Kaprin" in human.stdout
    assert "[1]" in human.stdout and "--session" in human.stdout
    declined = run(
        ["ask", "Do we have an agreement with a partner in Brazil?", "--json"], env, workdir
    )
    assert json.loads(declined.stdout)["found"] is False


def test_ask_before_anything_is_ingested_says_what_to_do(workdir):
    result = run(["ask", "Who are our partners?"], coop_env(workdir / "var"), workdir)
    assert result.returncode == 2 and "coop ingest" in result.stderr


def test_agreements_and_contacts_commands(workdir):
    env = coop_env(workdir / "var", COOP_TODAY="2026-11-25")
    assert run(["ingest", "sample"], env, workdir).returncode == 0
    listing = run(["agreements", "--expiring", "this-year", "--json"], env, workdir)
    assert listing.returncode == 0, listing.stderr
    rows = json.loads(listing.stdout)["agreements"]
    assert [row["ends_on"] for row in rows] == ["2026-12-15", "2026-12-31"]
    human = run(["agreements", "--expiring", "60d"], env, workdir)
    assert (
        "expires in 20 days" in human.stdout
        and "more agreements have no known end date" in human.stdout
    )
    bad = run(["agreements", "--expiring", "soon"], env, workdir)
    assert bad.returncode == 2 and "unknown period" in bad.stderr
    contacts = json.loads(run(["contacts", "Konovalchuk", "--json"], env, workdir).stdout)
    assert contacts[0]["phone"] == "+7 (909) 641-42-09"
    ask = json.loads(
        run(["ask", "Какие соглашения истекают в этом году?", "--json"], env, workdir).stdout
    )
    assert ask["mode"] == "structured" and "истекает через 20 дн." in ask["answer"]


def test_feedback_exports_as_csv_for_spreadsheets(tmp_path):
    store = FeedbackStore(tmp_path / "var" / FEEDBACK_FILE)
    answer = Answer(
        answer="Соглашение подписано [1].",
        citations=[],
        found=True,
        mode="extractive",
        language="ru",
        session_id="s1",
    )
    store.record_answer(answer, question="Что подписали?", audience="public", channel="api")
    store.add_feedback(answer.answer_id, audience="public", rating="down", comment="=HYPERLINK(1)")
    store.close()
    env = coop_env(tmp_path / "var")
    result = run(["feedback", "-o", "feedback.csv"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "1 feedback rows written" in result.stderr
    raw = (tmp_path / "feedback.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # a byte-order mark, so spreadsheets read Cyrillic
    text = raw.decode("utf-8-sig")
    assert "Что подписали?" in text and "down" in text and answer.answer_id in text
    assert "'=HYPERLINK(1)" in text  # a formula is never live in a spreadsheet
    piped = run(["feedback"], env, tmp_path)
    assert piped.returncode == 0 and piped.stdout.startswith("answer_id")
