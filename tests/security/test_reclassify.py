"""A public document re-ingested as internal leaves the visitors' answers at once: the same
running server, no restart; the staff still get it."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from assistant.api.app import create_app
from assistant.resources import Resources
from ingest.sync import IngestService
from tests.api.live import wait_until_ready
from tests.live_server import serve_in_thread
from tests.security.conftest import open_with_fake_model
from tests.security.corpus import STAFF_KEY, SecurityCorpus, copy_corpus, serve

STAFF = {"Authorization": f"Bearer {STAFF_KEY}"}
QUESTION = "Does the Platypus Institute host visiting researchers?"
PAGE_TEXT = (
    "# Platypus Institute\n\nThe Platypus Institute hosts visiting researchers in river ecology "
    "every winter.\n"
)


def cited(client: httpx.Client, doc_id: str, headers: dict[str, str] | None = None) -> bool:
    """Whether an answer, a stream or a chat completion to QUESTION cites or quotes `doc_id`."""
    answer = client.post("/v1/ask", json={"question": QUESTION}, headers=headers)
    stream = client.post("/v1/ask/stream", json={"question": QUESTION}, headers=headers)
    chat = {"model": "x", "messages": [{"role": "user", "content": QUESTION}]}
    completion = client.post("/v1/chat/completions", json=chat, headers=headers)
    ids = {c["doc_id"] for c in answer.json()["citations"]}
    in_stream = doc_id in stream.text
    in_completion = doc_id in completion.text
    assert (doc_id in ids) == in_stream == in_completion, (ids, in_stream, in_completion)
    return doc_id in ids


def test_reclassifying_a_document_as_internal_withdraws_it_at_once(
    security_corpus: SecurityCorpus, tmp_path: Path
) -> None:
    corpus = copy_corpus(security_corpus, tmp_path)
    page = tmp_path / "news" / "platypus.md"
    page.parent.mkdir()
    page.write_text(PAGE_TEXT, encoding="utf-8")
    app = create_app(corpus.settings, resource_factory=open_with_fake_model)
    with serve_in_thread(app) as base:
        wait_until_ready(base)
        resources: Resources = app.state.resources
        assert resources.embedder is not None
        service = IngestService(
            corpus.settings, resources.facts, resources.vectors, resources.lexical,
            resources.embedder,
        )  # fmt: skip
        # The page is public (ingested from its own folder here, so that it can move).
        service.ingest([page.parent], "public")
        doc_id = resources.facts.file_states()[str(page.resolve())].doc_id
        assert doc_id is not None
        with httpx.Client(base_url=base, timeout=30) as client:
            assert cited(client, doc_id)
            assert client.get(f"/v1/sources/{doc_id}").status_code == 200
            assert client.get(f"/sources/{doc_id}").status_code == 200

            report = service.ingest([page.parent], "internal")

            assert report.count("updated") == 1, report
            assert not cited(client, doc_id)
            assert client.get(f"/v1/sources/{doc_id}").status_code == 404
            assert client.get(f"/sources/{doc_id}").status_code == 404
            assert cited(client, doc_id, headers=STAFF)
            assert client.get(f"/v1/sources/{doc_id}", headers=STAFF).status_code == 200
            # And back: public again, served to visitors at once.
            service.ingest([page.parent], "public")
            assert cited(client, doc_id)


def upload(client: httpx.Client, visibility: str) -> None:
    """Upload the page through the staff API into the folder `news`; wait for its job."""
    accepted = client.post(
        "/v1/ingest",
        headers=STAFF,
        data={"visibility": visibility, "folder": "news"},
        files={"files": ("platypus.md", PAGE_TEXT.encode(), "text/markdown")},
    )
    assert accepted.status_code == 202, accepted.text
    deadline = time.monotonic() + 60
    while (job := client.get(accepted.json()["status_url"], headers=STAFF).json())[
        "status"
    ] not in (
        "done",
        "failed",
    ):
        assert time.monotonic() < deadline, job
        time.sleep(0.05)
    assert job["status"] == "done" and not job["counts"]["failed"], job


def test_reuploading_a_document_as_internal_through_the_api_withdraws_the_public_copy(
    security_corpus: SecurityCorpus, tmp_path: Path
) -> None:
    corpus = copy_corpus(security_corpus, tmp_path)
    with (
        serve(corpus.settings, open_with_fake_model) as base,
        httpx.Client(base_url=base, timeout=30) as client,
    ):
        upload(client, "public")
        answer = client.post("/v1/ask", json={"question": QUESTION}).json()
        assert "Platypus" in answer["answer"]
        upload(client, "internal")
        staff = client.post("/v1/ask", json={"question": QUESTION}, headers=STAFF).json()
        assert "Platypus" in staff["answer"]
        visitor = client.post("/v1/ask", json={"question": QUESTION}).json()
        assert "Platypus" not in visitor["answer"]
        # and back: uploaded as public again, visitors see it again and there is one copy
        upload(client, "public")
        visitor = client.post("/v1/ask", json={"question": QUESTION}).json()
        assert "Platypus" in visitor["answer"]
        uploads = corpus.settings.data_dir / "uploads"
        assert [p.relative_to(uploads).parts[0] for p in uploads.rglob("*.md")] == ["public"]
