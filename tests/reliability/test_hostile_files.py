"""Hostile files fail alone: each is parsed in a capped worker process and stopped (too slow, too
much memory, a crash) or refused with a clear reason, while the rest of the batch ingests, the
ingesting process stays small and no worker outlives the run."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from assistant.answering.decline import DeclinePolicy
from assistant.answering.factory import build_assistant
from assistant.resources import Resources, open_resources
from ingest.file_parser import ParseJob, ParseResult
from ingest.isolation import ParserPool, ParserPoolError, parse_files
from ingest.sync import IngestService
from tests.conftest import REPO, SAMPLE_DIR, FakeEmbedder, make_settings
from tests.reliability import hostile_files as hostile
from vectorstore.records import ChunkRecord

pytestmark = pytest.mark.integration

STOPPED_FOR_TIME = "took longer than"
STOPPED_FOR_MEMORY = "of memory and was stopped"


def worker_pids(parent: int | None = None) -> set[int]:
    """Parser worker processes alive now (children of `parent`, default: this process)."""
    parent = os.getpid() if parent is None else parent
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            status = (entry / "status").read_text()
        except OSError:
            continue
        ppid = int(status.split("PPid:")[1].split()[0])
        if b"worker_main" in cmdline and ppid == parent:
            found.add(int(entry.name))
    return found


def rss_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


def job(path: Path, max_mb: float = 100) -> ParseJob:
    return ParseJob(path, path.name, "public", int(max_mb * 1024 * 1024), 900, 1500, 150)


def good_text(folder: Path, name: str = "good.txt") -> Path:
    path = folder / name
    shutil.copy(SAMPLE_DIR / "002_34b770f422913c14.txt", path)
    return path


def assert_parsed(result: ParseResult) -> None:
    assert result.error is None
    assert result.document is not None and result.chunks


# --- a whole ingest --------------------------------------------------------------------------


@pytest.fixture
def hostile_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    for sample in SAMPLE_DIR.iterdir():
        shutil.copy(sample, folder / sample.name)
    hostile.zip_bomb_docx(folder / "bomb.docx")
    hostile.many_pages_pdf(folder / "many_pages.pdf")
    hostile.looping_pages_pdf(folder / "looping_pages.pdf")
    hostile.self_drawing_pdf(folder / "self_drawing.pdf")
    hostile.cpu_burning_pdf(folder / "cpu_burning.pdf")
    hostile.big_text(folder / "big.txt")
    hostile.deep_html(folder / "deep.html")
    hostile.nul_padded_text(folder / "nul_padded.txt")
    hostile.nul_sprinkled_text(folder / "nul_sprinkled.txt")
    hostile.mixed_encodings_text(folder / "mixed_encodings.txt")
    return folder


def test_hostile_files_fail_alone_and_the_good_files_are_answerable(
    hostile_folder: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(
        tmp_path / "var",
        ingest={"parse_workers": 2, "parse_timeout_s": 15, "parse_memory_mb": 300},
    )
    resources = open_resources(settings, embedder=FakeEmbedder())
    try:
        assert resources.embedder is not None
        service = IngestService(
            settings, resources.facts, resources.vectors, resources.lexical, resources.embedder
        )
        rss_before = rss_mb()
        started = time.monotonic()
        report = service.ingest([hostile_folder], "public")
        seconds = time.monotonic() - started
        rss_growth = rss_mb() - rss_before
        outcomes = {Path(outcome.path).name: outcome for outcome in report.outcomes}
        assert worker_pids() == set()
        assert seconds < 120
        # a 50 MB text parsed in this process would cost far more than this
        assert rss_growth < 150, f"the ingesting process grew by {rss_growth:.0f} MB"

        def error(source: str) -> str:
            assert outcomes[source].status == "failed", outcomes[source]
            return outcomes[source].error or ""

        for sample in SAMPLE_DIR.iterdir():
            assert outcomes[sample.name].status == "added"
        assert "refusing a possible zip bomb" in error("bomb.docx")
        assert "50,000 pages" in error("many_pages.pdf")
        assert "cyclic" in error("looping_pages.pdf")
        assert error("cpu_burning.pdf") == "parsing took longer than 15 s and was stopped"
        assert STOPPED_FOR_MEMORY in error("big.txt") or STOPPED_FOR_TIME in error("big.txt")
        assert error("nul_sprinkled.txt") == "looks like a binary file, not text"
        if outcomes["deep.html"].status == "failed":
            assert "nested too deeply" in error("deep.html")

        texts = {
            Path(document.source).name: document.text
            for document in (
                resources.facts.get_document(doc_id)
                for doc_id in {chunk.doc_id for chunk in _served_chunks(resources)}
            )
            if document is not None
        }
        assert texts["self_drawing.pdf"].startswith("Self drawing page.")
        assert "\x00" not in texts["nul_padded.txt"]
        assert "University of Ulaanbaatar" in texts["nul_padded.txt"]
        assert hostile.MIXED_UTF8_LINE in texts["mixed_encodings.txt"]
        assert hostile.MIXED_CP1251_LINE in texts["mixed_encodings.txt"]
        if "deep.html" in texts:
            assert "partnership note about Vietnam" in texts["deep.html"]

        assistant = build_assistant(resources)
        assistant._policy = DeclinePolicy(0.2, 0.2, 0.2, 0.2)  # fake vectors: judge by words
        answer = assistant.ask(
            "Who signed the agreement between the Ministry of Labor and Skolkovo?", "public"
        )
        assert answer.found
        assert "Vovchenko" in answer.answer or "Parshin" in answer.answer

        # Nothing changed: the re-run parses nothing, so it starts no worker.
        with caplog.at_level(logging.DEBUG, logger="ingest.isolation"):
            again = service.ingest([hostile_folder], "public")
        assert again.count("unchanged") == len(report.outcomes)
        assert not [r for r in caplog.records if "started parser worker" in r.getMessage()]
    finally:
        resources.close()
    assert worker_pids() == set()


def _served_chunks(resources: Resources) -> list[ChunkRecord]:
    return list(resources.facts.get_chunks(resources.facts.served_chunk_ids("public")).values())


# --- the pool --------------------------------------------------------------------------------


def test_a_file_that_runs_too_long_is_stopped_and_the_others_keep_their_order(tmp_path):
    slow = hostile.cpu_burning_pdf(tmp_path / "slow.pdf")
    good = [good_text(tmp_path, f"good{i}.txt") for i in range(3)]
    with ParserPool(2, timeout_s=3, memory_mb=1024) as pool:
        started = time.monotonic()
        results = pool.parse_all([job(slow), *(job(path) for path in good)])
        assert time.monotonic() - started < 30
        assert results[0].error == "parsing took longer than 3 s and was stopped"
        for path, result in zip(good, results[1:], strict=True):
            assert_parsed(result)
            assert result.document is not None and result.document.source == path.name
        # the stopped worker was replaced: the pool still parses
        assert_parsed(pool.parse_all([job(good[0])])[0])
    assert worker_pids() == set()


@pytest.mark.parametrize(
    ("signum", "expected"),
    [
        (
            signal.SIGKILL,
            "the parser was killed (signal 9, SIGKILL; was the machine out of memory?)",
        ),
        (signal.SIGSEGV, "the parser crashed (signal 11, SIGSEGV)"),
    ],
)
def test_a_worker_that_dies_mid_file_fails_that_file_and_the_next_one_parses(
    tmp_path, signum, expected
):
    slow = hostile.cpu_burning_pdf(tmp_path / "slow.pdf")
    good = good_text(tmp_path)
    with ParserPool(1, timeout_s=60, memory_mb=1024) as pool:

        def kill_the_busy_worker() -> None:
            deadline = time.monotonic() + 30
            while not pool.busy_pids and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.5)  # well inside the parse
            os.kill(pool.busy_pids[0], signum)

        killer = threading.Thread(target=kill_the_busy_worker)
        killer.start()
        results = pool.parse_all([job(slow), job(good)])
        killer.join()
    assert results[0].error == expected
    assert_parsed(results[1])
    assert worker_pids() == set()


def test_a_file_that_needs_too_much_memory_is_stopped(tmp_path):
    big = hostile.big_text(tmp_path / "big.txt", megabytes=40)
    good = good_text(tmp_path)
    results = parse_files([job(big), job(good)], workers=1, timeout_s=60, memory_mb=256)
    assert results[0].error == "parsing needed more than 256 MB of memory and was stopped"
    assert_parsed(results[1])
    assert worker_pids() == set()


def test_worker_warnings_reach_the_ingest_log_with_the_file_name(tmp_path, caplog):
    pdf = hostile.self_drawing_pdf(tmp_path / "self_drawing.pdf")
    with caplog.at_level(logging.WARNING):
        results = parse_files([job(pdf)], workers=1, timeout_s=60, memory_mb=1024)
    assert_parsed(results[0])
    assert any(
        record.getMessage().startswith("self_drawing.pdf: ") and "cyclic" in record.getMessage()
        for record in caplog.records
    )


def test_in_process_parsing_gives_the_same_records(tmp_path):
    jobs = [job(path) for path in sorted(SAMPLE_DIR.iterdir())]
    isolated = parse_files(jobs, workers=2, timeout_s=60, memory_mb=1024)
    local = parse_files(jobs, workers=0, timeout_s=60, memory_mb=1024)
    assert [r.document for r in isolated] == [r.document for r in local]
    assert [r.chunks for r in isolated] == [r.chunks for r in local]
    assert [r.facts for r in isolated] == [r.facts for r in local]


def test_an_interrupted_parse_leaves_no_worker(tmp_path):
    files = [good_text(tmp_path, f"good{i}.txt") for i in range(6)]

    def interrupt() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        parse_files([job(f) for f in files], workers=2, timeout_s=60, memory_mb=1024,
                    on_done=interrupt)  # fmt: skip
    assert worker_pids() == set()


def test_workers_that_cannot_start_are_a_clear_error(tmp_path):
    # 1 MB of address space is too little for the worker itself (settings refuse under 256)
    with pytest.raises(
        ParserPoolError, match=r"parser worker process (did not start in time|exited with)"
    ) as raised:
        parse_files([job(good_text(tmp_path))], workers=1, timeout_s=60, memory_mb=1)
    assert "COOP_INGEST__PARSE_WORKERS=0" in str(raised.value)
    assert worker_pids() == set()


def test_workers_exit_when_the_ingesting_process_is_killed(tmp_path):
    slow = hostile.cpu_burning_pdf(tmp_path / "slow.pdf")
    script = textwrap.dedent(
        f"""
        import sys, threading, time
        from pathlib import Path
        from ingest.file_parser import ParseJob
        from ingest.isolation import ParserPool
        pool = ParserPool(1, timeout_s=600, memory_mb=1024)
        job = ParseJob(Path({str(slow)!r}), "slow.pdf", "public", 10**8, 900, 1500, 150)
        threading.Thread(target=pool.parse_all, args=([job],), daemon=True).start()
        while not pool.busy_pids:
            time.sleep(0.05)
        print(pool.busy_pids[0], flush=True)
        time.sleep(600)
        """
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", script], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None
        worker = int(parent.stdout.readline())
        assert worker in worker_pids(parent.pid)
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _alive(worker):
        time.sleep(0.1)
    assert not _alive(worker), "a parser worker outlived its killed parent"


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_mixed_line_encodings_do_not_capture_plain_code_page_files():
    from ingest.encoding import decode_bytes

    cp1251 = (hostile.MIXED_CP1251_LINE + "\n" + hostile.MIXED_UTF8_LINE).encode("cp1251")
    assert decode_bytes(cp1251) == (cp1251.decode("cp1251"), "cp1251")
    mixed = hostile.MIXED_UTF8_LINE.encode() + b"\n" + hostile.MIXED_CP1251_LINE.encode("cp1251")
    text, encoding = decode_bytes(mixed)
    assert text == f"{hostile.MIXED_UTF8_LINE}\n{hostile.MIXED_CP1251_LINE}"
    assert encoding == "utf-8+cp1251"
