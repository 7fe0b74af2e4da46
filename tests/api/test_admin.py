"""Staff administration over HTTP: uploads are checked before anything is written, indexed by a
background job whose progress any worker can read, and answered from afterwards with exact
citations, at the visibility they were uploaded with."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assistant.api.app import create_app
from assistant.api.ingest_jobs import INTERRUPTED, JOBS_FILE, JobStore
from assistant.api.ingest_runner import IngestRunner, RunnerStoppedError
from assistant.resources import Resources
from assistant.settings import Settings
from ingest.lock import IngestLock
from tests.api.conftest import open_with_fake_model, staff, wait_ready, with_settings

STAFF_ONLY = "A staff API key is required: send Authorization: Bearer <key>"
NEW_FACT = (
    "# Numbat Academy\n\n"
    "The Institute signed a memorandum on marine robotics with the Wollongong Numbat Academy "
    "in March 2024.\n"
)
NEW_QUESTION = "What did the Institute sign with the Wollongong Numbat Academy?"
SECRET_FACT = (
    "# Devil registry\n\n"
    "The agreement with the Tasmanian Devil University TDU-913 on joint field courses "
    "expires in June 2027.\n"
)
SECRET_QUESTION = "What agreement do we have with the Tasmanian Devil University TDU-913?"

Files = list[tuple[str, bytes]]


def upload(
    client: TestClient,
    files: Files,
    data: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Any:
    return client.post(
        "/v1/ingest",
        files=[("files", (name, content, "application/octet-stream")) for name, content in files],
        data={"visibility": "public"} if data is None else data,
        headers=staff() if headers is None else headers,
    )


def wait_job(client: TestClient, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = client.get(f"/v1/ingest/{job_id}", headers=staff()).json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not finish: {job}")


def ingest(client: TestClient, files: Files, visibility: str = "public") -> dict[str, Any]:
    response = upload(client, files, {"visibility": visibility})
    assert response.status_code == 202, response.text
    return wait_job(client, response.json()["job_id"])


def uploaded(settings: Settings) -> list[str]:
    root = settings.data_dir / "uploads"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def cited(answer: dict[str, Any], source: str) -> list[dict[str, Any]]:
    return [c for c in answer["citations"] if c["source"] == source]


# --- who may ----------------------------------------------------------------------------------

ROUTES = [("post", "/v1/ingest"), ("get", "/v1/ingest/0123abcd"), ("get", "/v1/status")]


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_admin_routes_refuse_visitors_and_wrong_keys(client, corpus, method, path):
    kwargs: dict[str, Any] = {}
    if method == "post":
        kwargs = {
            "files": [("files", ("a.md", b"# A\n\ntext\n"))],
            "data": {"visibility": "public"},
        }
    visitor = client.request(method, path, **kwargs)
    assert visitor.status_code == 401
    assert visitor.json() == {"detail": STAFF_ONLY}
    assert visitor.headers["WWW-Authenticate"] == "Bearer"
    wrong = client.request(method, path, headers=staff("not-a-key"), **kwargs)
    assert wrong.status_code == 401
    assert wrong.headers["WWW-Authenticate"] == "Bearer"
    assert "Invalid API key" in wrong.json()["detail"]
    assert uploaded(corpus.settings) == []


def test_an_unknown_job_is_404(client):
    response = client.get("/v1/ingest/0123abcd", headers=staff())
    assert response.status_code == 404
    assert response.json() == {"detail": "no such ingest job"}


def test_uploads_wait_for_the_stores_and_write_nothing_meanwhile(corpus):
    release = threading.Event()

    def slow_factory(settings: Settings) -> Resources:
        assert release.wait(30)
        return open_with_fake_model(settings)

    with TestClient(create_app(corpus.settings, resource_factory=slow_factory)) as client:
        try:
            response = upload(client, [("numbat.md", NEW_FACT.encode())])
            assert response.status_code == 503
            assert response.json() == {"detail": "starting"}
            assert client.get("/v1/status", headers=staff()).status_code == 503
        finally:
            release.set()
        wait_ready(client)
    assert uploaded(corpus.settings) == []


# --- upload, index, answer --------------------------------------------------------------------


def test_an_uploaded_document_is_answered_with_exact_citations(client, corpus):
    response = upload(client, [("numbat.md", NEW_FACT.encode())], {"visibility": "public"})
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert accepted["status"] == "queued"
    assert accepted["files"] == ["numbat.md"]
    assert accepted["status_url"] == f"/v1/ingest/{accepted['job_id']}"
    assert response.headers["Location"] == accepted["status_url"]

    job = wait_job(client, accepted["job_id"])
    assert job["status"] == "done", job
    assert job["counts"] == {"added": 1, "changed": 0, "unchanged": 0, "removed": 0, "failed": 0}
    assert job["results"][0]["file"] == "numbat.md" and job["results"][0]["chunks"] >= 1
    assert job["visibility"] == "public" and job["folder"] == "uploads"
    assert job["started_at"] and job["finished_at"] and job["error"] is None
    assert uploaded(corpus.settings) == ["public/uploads/numbat.md"]

    answer = client.post("/v1/ask", json={"question": NEW_QUESTION}).json()
    assert answer["found"], answer
    citations = cited(answer, "numbat.md")
    assert citations, answer
    for citation in citations:
        source = client.get(f"/v1/sources/{citation['doc_id']}").json()
        assert source["text"][citation["start"] : citation["end"]] == citation["quote"]
    assert any("Wollongong Numbat Academy" in c["quote"] for c in citations)


def test_internal_uploads_are_seen_by_staff_only(client, corpus):
    job = ingest(client, [("devils.md", SECRET_FACT.encode())], visibility="internal")
    assert job["status"] == "done" and job["counts"]["added"] == 1, job
    assert uploaded(corpus.settings) == ["internal/uploads/devils.md"]

    visitor = client.post("/v1/ask", json={"question": SECRET_QUESTION}).json()
    assert not cited(visitor, "devils.md")
    assert "TDU-913" not in visitor["answer"]
    staff_answer = client.post(
        "/v1/ask", json={"question": SECRET_QUESTION}, headers=staff()
    ).json()
    citations = cited(staff_answer, "devils.md")
    assert citations, staff_answer
    doc_id = citations[0]["doc_id"]
    assert client.get(f"/v1/sources/{doc_id}").status_code == 404
    assert client.get(f"/v1/sources/{doc_id}", headers=staff()).json()["visibility"] == "internal"


def test_a_second_upload_of_the_same_name_replaces_the_first(client, corpus):
    assert (
        ingest(client, [("numbat.md", b"# Numbat\n\nFirst version about kelp.\n")])["counts"][
            "added"
        ]
        == 1
    )
    job = ingest(client, [("numbat.md", NEW_FACT.encode())])
    assert job["counts"]["changed"] == 1, job
    path = corpus.settings.data_dir / "uploads" / "public" / "uploads" / "numbat.md"
    assert path.read_text(encoding="utf-8") == NEW_FACT
    answer = client.post("/v1/ask", json={"question": NEW_QUESTION}).json()
    assert any("Numbat Academy" in c["quote"] for c in cited(answer, "numbat.md")), answer


def test_a_broken_file_fails_alone_with_a_reason(client, corpus):
    job = ingest(
        client,
        [("broken.pdf", b"this is not a PDF at all" * 20), ("numbat.md", NEW_FACT.encode())],
    )
    assert job["status"] == "done", job
    assert job["counts"]["added"] == 1 and job["counts"]["failed"] == 1
    results = {r["file"]: r for r in job["results"]}
    assert results["numbat.md"]["status"] == "added"
    assert results["broken.pdf"]["status"] == "failed"
    assert results["broken.pdf"]["error"]


def test_a_folder_keeps_uploads_apart(client, corpus):
    response = upload(
        client, [("numbat.md", NEW_FACT.encode())], {"visibility": "public", "folder": "mou-2024"}
    )
    assert response.status_code == 202
    assert wait_job(client, response.json()["job_id"])["folder"] == "mou-2024"
    assert uploaded(corpus.settings) == ["public/mou-2024/numbat.md"]


# --- refused uploads write nothing ------------------------------------------------------------


def raw_upload(client: TestClient, filename: bytes) -> Any:
    """A multipart body built by hand, so the file name reaches the server byte for byte."""
    boundary = b"b0undary"
    body = b"".join(
        [
            b"--" + boundary + b"\r\n",
            b'Content-Disposition: form-data; name="visibility"\r\n\r\npublic\r\n',
            b"--" + boundary + b"\r\n",
            b'Content-Disposition: form-data; name="files"; filename="' + filename + b'"\r\n',
            b"Content-Type: text/markdown\r\n\r\n# Evil\n\ntext\n\r\n",
            b"--" + boundary + b"--\r\n",
        ]
    )
    return client.post(
        "/v1/ingest",
        content=body,
        headers={**staff(), "Content-Type": f"multipart/form-data; boundary={boundary.decode()}"},
    )


@pytest.mark.parametrize(
    "name",
    [
        b"../evil.md",
        b"/etc/evil.md",
        b"..\\evil.md",
        b"sub/evil.md",
        b".hidden.md",
        b"evil\x00.md",
        b"a\tevil.md",
        b"",
        b"  ",
    ],
)
def test_file_names_with_folders_or_control_characters_are_refused(client, corpus, name):
    response = raw_upload(client, name)
    assert response.status_code == 422, response.text
    assert "name" in response.json()["detail"]
    assert uploaded(corpus.settings) == []
    assert not list(corpus.settings.data_dir.parent.rglob("evil.md"))


def test_unsupported_types_are_refused_naming_the_supported_ones(client, corpus):
    response = upload(client, [("fine.md", b"# Fine\n"), ("tool.exe", b"MZ")])
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "tool.exe" in detail and ".pdf" in detail and ".docx" in detail and ".md" in detail
    assert uploaded(corpus.settings) == []


@pytest.mark.parametrize(
    ("data", "word"),
    [
        ({}, "visibility"),
        ({"visibility": "secret"}, "visibility"),
        ({"visibility": "public", "folder": "../x"}, "folder"),
        ({"visibility": "internal", "folder": "a b"}, "folder"),
    ],
)
def test_visibility_is_required_and_folders_are_plain(client, corpus, data, word):
    response = upload(client, [("fine.md", b"# Fine\n")], data)
    assert response.status_code == 422
    assert word in response.json()["detail"]
    assert uploaded(corpus.settings) == []


def test_a_request_without_files_is_refused(client):
    response = client.post("/v1/ingest", data={"visibility": "public"}, headers=staff())
    assert response.status_code == 422
    assert "files" in response.json()["detail"]


def test_files_over_the_size_limit_are_413(corpus):
    settings = with_settings(
        corpus, ingest=corpus.settings.ingest.model_copy(update={"max_file_mb": 0.001})
    )
    app = create_app(settings, resource_factory=open_with_fake_model)
    with TestClient(app) as client:
        wait_ready(client)
        small = b"# Small\n\nfits.\n"
        response = upload(client, [("small.md", small), ("big.md", b"# Big\n" + b"x" * 2000)])
        assert response.status_code == 413
        assert "big.md" in response.json()["detail"]
        assert uploaded(settings) == []
        assert not list((settings.data_dir / "uploads").rglob("*.part"))
        assert upload(client, [("small.md", small)]).status_code == 202


# --- status and jobs --------------------------------------------------------------------------


def test_status_lists_files_and_jobs(client, corpus):
    job = ingest(client, [("numbat.md", NEW_FACT.encode())])
    response = client.get("/v1/status", headers=staff())
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    status = response.json()
    files = {Path(f["path"]).name: f for f in status["files"]}
    assert files["numbat.md"]["status"] == "indexed"
    assert files["numbat.md"]["visibility"] == "public"
    assert files["registry.md"]["visibility"] == "internal"
    assert status["indexes"]["public"]["documents"] >= 2
    assert [j["job_id"] for j in status["jobs"]] == [job["job_id"]]
    assert status["jobs"][0]["status"] == "done"


def test_a_job_waits_for_a_running_ingest(client, corpus):
    with IngestLock(corpus.settings.data_dir):
        response = upload(client, [("numbat.md", NEW_FACT.encode())])
        job_id = response.json()["job_id"]
        deadline = time.monotonic() + 30
        seen = None
        while time.monotonic() < deadline:
            seen = client.get(f"/v1/ingest/{job_id}", headers=staff()).json()["status"]
            if seen == "waiting":
                break
            time.sleep(0.02)
        assert seen == "waiting"
    job = wait_job(client, job_id)
    assert job["status"] == "done" and job["counts"]["added"] == 1


def test_jobs_of_stopped_processes_are_marked_interrupted(tmp_path):
    path = tmp_path / JOBS_FILE
    store = JobStore(path)
    dead = store.create("public", "uploads", ["a.md"], [tmp_path / "a.md"])
    reused = store.create("public", "uploads", ["b.md"], [tmp_path / "b.md"])
    alive = store.create("public", "uploads", ["c.md"], [tmp_path / "c.md"])
    store.set_status(dead.job_id, "running")
    store.close()

    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    finished.wait()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with sqlite3.connect(path) as conn:
            conn.execute(
                "UPDATE jobs SET owner_pid = ?, owner_started = NULL WHERE job_id = ?",
                (finished.pid, dead.job_id),
            )
            # Same pid as a live process, but a different start: the pid was reused.
            conn.execute(
                "UPDATE jobs SET owner_pid = ?, owner_started = '1' WHERE job_id = ?",
                (os.getpid(), reused.job_id),
            )
            conn.execute(
                "UPDATE jobs SET owner_pid = ?, owner_started = NULL WHERE job_id = ?",
                (sleeper.pid, alive.job_id),
            )
        conn.close()

        reopened = JobStore(path)
        try:
            for job_id in (dead.job_id, reused.job_id):
                job = reopened.get(job_id)
                assert job is not None
                assert job.status == "failed" and job.error == INTERRUPTED
                assert job.finished_at is not None
            live = reopened.get(alive.job_id)
            assert live is not None and live.status == "queued"
            assert [j.job_id for j in reopened.recent(2)] == [alive.job_id, reused.job_id]
        finally:
            reopened.close()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_stopped_runner_takes_no_jobs_and_a_job_without_stores_fails(tmp_path):
    store = JobStore(tmp_path / JOBS_FILE)
    runner = IngestRunner(store, lambda: None)
    try:
        job = store.create("public", "uploads", ["a.md"], [tmp_path / "a.md"])
        runner.submit(job.job_id, "public")
        deadline = time.monotonic() + 30
        while (seen := store.get(job.job_id)) is not None and seen.status == "queued":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert seen is not None and seen.status == "failed"
        assert seen.error == "the stores or the embedding model are not loaded"
        runner.stop(timeout=10)
        assert not runner.accepting
        with pytest.raises(RunnerStoppedError):
            runner.submit(job.job_id, "public")
    finally:
        runner.stop(timeout=10)
        store.close()
