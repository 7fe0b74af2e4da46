"""The HTTP API: the /v1/ask contract, citations that match the served text, the audience decided
by the API key only, the source viewer (highlighted, escaped), and start-up readiness."""

from __future__ import annotations

import html
import json
import threading
import time

import pytest
from fastapi.testclient import TestClient

from assistant.api.app import create_app
from assistant.resources import Resources
from assistant.settings import Settings
from tests.api.conftest import (
    INTERNAL_QUESTION,
    MARKER,
    OTHER_STAFF_KEY,
    PUBLIC_QUESTION,
    SCRIPT_TEXT,
    STAFF_KEY,
    open_with_fake_model,
    staff,
    wait_ready,
)

# --- start-up ---------------------------------------------------------------------------------


def test_healthz_answers_at_once_and_the_rest_waits_for_the_model(corpus):
    release = threading.Event()

    def slow_factory(settings: Settings) -> Resources:
        assert release.wait(30)
        return open_with_fake_model(settings)

    app = create_app(corpus.settings, resource_factory=slow_factory)
    with TestClient(app) as client:
        try:
            assert client.get("/healthz").json() == {"status": "ok"}
            ready = client.get("/readyz")
            assert ready.status_code == 503 and ready.json()["status"] == "starting"
            asking = client.post("/v1/ask", json={"question": PUBLIC_QUESTION})
            assert asking.status_code == 503
            assert asking.json() == {"detail": "starting"}
            assert client.get(f"/v1/sources/{corpus.script_id}").status_code == 503
        finally:
            release.set()
        wait_ready(client)
        assert client.get("/readyz").json() == {"status": "ready"}
        assert client.post("/v1/ask", json={"question": PUBLIC_QUESTION}).status_code == 200


def test_a_failed_start_is_reported_not_hidden(corpus):
    def broken_factory(settings: Settings) -> Resources:
        raise RuntimeError("the model directory is missing")

    with TestClient(create_app(corpus.settings, resource_factory=broken_factory)) as client:
        deadline = time.monotonic() + 10
        while client.get("/readyz").json()["status"] == "starting":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json() == {"status": "failed", "error": "the model directory is missing"}
        asking = client.post("/v1/ask", json={"question": PUBLIC_QUESTION})
        assert asking.status_code == 503 and "failed" in asking.json()["detail"]


# --- /v1/ask ----------------------------------------------------------------------------------


def test_ask_returns_the_contract_and_every_quote_is_the_served_text(client):
    response = client.post("/v1/ask", json={"question": PUBLIC_QUESTION})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "answer",
        "citations",
        "found",
        "mode",
        "language",
        "session_id",
        "answer_id",
    }
    assert body["found"] is True and body["language"] == "en" and body["session_id"]
    assert "Skolkovo" in body["answer"]
    assert body["citations"]
    for citation in body["citations"]:
        assert set(citation) == {
            "n",
            "doc_id",
            "source",
            "title",
            "section",
            "quote",
            "start",
            "end",
            "url",
        }
        assert f"[{citation['n']}]" in body["answer"]
        source = client.get(f"/v1/sources/{citation['doc_id']}")
        assert source.status_code == 200
        document = source.json()
        assert document["text"][citation["start"] : citation["end"]] == citation["quote"]
        assert document["title"] == citation["title"]
        assert document["source"] == citation["source"]
        assert citation["url"] == (
            f"/sources/{citation['doc_id']}?start={citation['start']}&end={citation['end']}"
        )


@pytest.mark.parametrize("key", [STAFF_KEY, OTHER_STAFF_KEY])
def test_a_staff_key_reaches_internal_documents(client, corpus, key):
    body = client.post("/v1/ask", json={"question": INTERNAL_QUESTION}, headers=staff(key)).json()
    assert body["found"] is True
    assert MARKER in body["answer"]
    internal = [c for c in body["citations"] if c["doc_id"] == corpus.internal_id]
    assert internal and all(MARKER in c["quote"] for c in internal)
    source = client.get(f"/v1/sources/{corpus.internal_id}", headers=staff(key))
    text = source.json()["text"]
    assert all(text[c["start"] : c["end"]] == c["quote"] for c in internal)


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"audience": "staff"},
        {"visibility": "internal"},
        {"filters": {"visibility": ["public", "internal"]}},
        {"audience": "staff", "visibility": "internal", "staff": True, "api_key": STAFF_KEY},
    ],
)
def test_a_visitor_never_reaches_internal_documents_whatever_the_body_says(client, corpus, extra):
    response = client.post("/v1/ask", json={"question": INTERNAL_QUESTION, **extra})
    assert response.status_code == 200
    body = response.json()
    assert MARKER not in body["answer"]
    assert "Zanzibar" not in json.dumps(body["citations"])
    assert corpus.internal_id not in response.text
    assert all(c["source"].startswith("public/") for c in body["citations"])


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer wrong-key",
        f"Bearer {STAFF_KEY}x",
        "Bearer ",
        "Bearer",
        f"Basic {STAFF_KEY}",
        STAFF_KEY,
        "",
    ],
)
def test_a_wrong_or_malformed_key_is_refused_not_downgraded(client, corpus, authorization):
    headers = {"Authorization": authorization}
    response = client.post("/v1/ask", json={"question": PUBLIC_QUESTION}, headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert "Bearer" in response.json()["detail"]
    assert client.get(f"/v1/sources/{corpus.script_id}", headers=headers).status_code == 401
    assert client.get(f"/sources/{corpus.script_id}", headers=headers).status_code == 401


def test_the_bearer_scheme_is_case_insensitive(client, corpus):
    headers = {"Authorization": f"bearer {STAFF_KEY}"}
    assert client.get(f"/v1/sources/{corpus.internal_id}", headers=headers).status_code == 200


@pytest.mark.parametrize(
    "payload",
    [
        {"question": ""},
        {"question": "   \n\t "},
        {"question": "x" * 2001},
        {"question": None},
        {"question": 42},
        {},
        {"question": PUBLIC_QUESTION, "session_id": "not a valid id!"},
        {"question": PUBLIC_QUESTION, "session_id": "a" * 65},
        {"question": PUBLIC_QUESTION, "session_id": ""},
    ],
)
def test_invalid_requests_are_422(client, payload):
    response = client.post("/v1/ask", json=payload)
    assert response.status_code == 422
    assert response.json()["detail"]


def test_the_question_length_counts_without_surrounding_whitespace(client):
    question = "Skolkovo " * 222 + "xy"  # exactly 2000 characters
    assert len(question) == 2000
    response = client.post("/v1/ask", json={"question": f"  {question}\n\n  "})
    assert response.status_code == 200


def test_a_session_can_be_continued(client):
    first = client.post("/v1/ask", json={"question": PUBLIC_QUESTION}).json()
    session_id = first["session_id"]
    follow_up = client.post(
        "/v1/ask", json={"question": "And who signed it?", "session_id": session_id}
    )
    assert follow_up.status_code == 200
    body = follow_up.json()
    assert body["session_id"] == session_id
    assert body["found"] is True
    assert any("Skolkovo" in c["quote"] for c in body["citations"])
    chosen = client.post("/v1/ask", json={"question": PUBLIC_QUESTION, "session_id": "my_chat-1"})
    assert chosen.json()["session_id"] == "my_chat-1"


# --- /v1/sources ------------------------------------------------------------------------------


def test_internal_sources_are_404_for_visitors_exactly_like_missing_ones(client, corpus):
    hidden = client.get(f"/v1/sources/{corpus.internal_id}")
    missing = client.get("/v1/sources/0000000000000000")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()
    shown = client.get(f"/v1/sources/{corpus.internal_id}", headers=staff())
    assert shown.status_code == 200
    document = shown.json()
    assert MARKER in document["text"]
    assert document["visibility"] == "internal"
    assert {"doc_id", "title", "source", "text", "language"} <= set(document)
    assert document["doc_id"] == corpus.internal_id
    # the viewer follows the same rule
    assert client.get(f"/sources/{corpus.internal_id}").status_code == 404
    assert client.get(f"/sources/{corpus.internal_id}", headers=staff()).status_code == 200


def test_public_sources_are_served_to_everyone(client, corpus):
    visitor = client.get(f"/v1/sources/{corpus.script_id}")
    assert visitor.status_code == 200
    assert visitor.json() == client.get(f"/v1/sources/{corpus.script_id}", headers=staff()).json()
    assert SCRIPT_TEXT in visitor.json()["text"]
    assert "Authorization" in visitor.headers["Vary"]


# --- the source viewer --------------------------------------------------------------------------


def test_the_viewer_highlights_exactly_the_cited_quote(client):
    body = client.post("/v1/ask", json={"question": PUBLIC_QUESTION}).json()
    citation = body["citations"][0]
    document = client.get(f"/v1/sources/{citation['doc_id']}").json()
    page = client.get(citation["url"])
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    text, start, end = document["text"], citation["start"], citation["end"]
    assert (
        html.escape(text[:start])
        + '<mark id="quote">'
        + html.escape(citation["quote"])
        + "</mark>"
        + html.escape(text[end:])
    ) in page.text
    assert page.text.count("<mark") == 1
    assert html.escape(document["title"]) in page.text
    assert html.escape(document["source"]) in page.text
    assert "scrollIntoView" in page.text


def test_the_viewer_escapes_markup_in_documents(client, corpus):
    document = client.get(f"/v1/sources/{corpus.script_id}").json()
    start = document["text"].index("The Wombat")
    end = document["text"].index("Quokkaville.") + len("Quokkaville.")
    quote = document["text"][start:end]
    assert SCRIPT_TEXT in quote
    for url in (f"/sources/{corpus.script_id}", f"/sources/{corpus.script_id}?start=0&end=5"):
        page = client.get(url)
        assert page.status_code == 200
        assert SCRIPT_TEXT not in page.text
        assert "<b>" not in page.text
        assert html.escape(SCRIPT_TEXT) in page.text
        assert page.text.count("<script") == 1  # only the viewer's own scroll script
        assert "script-src 'sha256-" in page.headers["Content-Security-Policy"]
    page = client.get(f"/sources/{corpus.script_id}?start={start}&end={end}")
    assert f'<mark id="quote">{html.escape(quote)}</mark>' in page.text
    assert "<title>Wombat Institute &amp; &lt;b&gt;partners&lt;/b&gt;</title>" in page.text


@pytest.mark.parametrize(
    "query",
    ["start=-1&end=5", "start=10&end=5", "start=0&end=100000", "start=3", "end=3", "start=x&end=4"],
)
def test_the_viewer_refuses_offsets_outside_the_document(client, corpus, query):
    response = client.get(f"/sources/{corpus.script_id}?{query}")
    assert response.status_code == 422
    assert response.json()["detail"]


def test_the_viewer_shows_a_whole_document_without_offsets(client, corpus):
    page = client.get(f"/sources/{corpus.script_id}")
    assert page.status_code == 200
    assert "<mark" not in page.text
    assert client.get("/sources/0000000000000000").status_code == 404


# --- OpenAPI and CORS -------------------------------------------------------------------------


def test_the_openapi_document_describes_the_routes(client):
    spec = client.get("/openapi.json").json()
    ask = spec["paths"]["/v1/ask"]["post"]
    assert ask["summary"]
    assert ask["requestBody"]["content"]["application/json"]["examples"]
    ok = ask["responses"]["200"]["content"]["application/json"]
    assert ok["schema"]["$ref"].endswith("/Answer")
    assert ok["example"]["citations"]
    assert {"401", "422", "503"} <= set(ask["responses"])
    for path in ("/v1/sources/{doc_id}", "/sources/{doc_id}", "/healthz", "/readyz"):
        assert spec["paths"][path]["get"]["summary"]
    assert "HTTPBearer" in spec["components"]["securitySchemes"]


def test_cors_allows_only_the_configured_origins(corpus):
    settings = corpus.settings.model_copy(update={"cors_origins": ["https://example.org"]})
    with TestClient(create_app(settings, resource_factory=open_with_fake_model)) as client:
        preflight = {"Access-Control-Request-Method": "POST"}
        allowed = client.options("/v1/ask", headers={"Origin": "https://example.org", **preflight})
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://example.org"
        assert "access-control-allow-credentials" not in allowed.headers  # no cookies, ever
        other = client.options("/v1/ask", headers={"Origin": "https://evil.test", **preflight})
        assert other.status_code == 400
        assert "access-control-allow-origin" not in other.headers


def test_a_session_can_be_read_and_forgotten_by_its_own_audience_only(client):
    first = client.post("/v1/ask", json={"question": PUBLIC_QUESTION}, headers=staff()).json()
    session = first["session_id"]
    remembered = client.get(f"/v1/sessions/{session}", headers=staff())
    assert remembered.status_code == 200
    (turn,) = remembered.json()["turns"]
    assert turn["question"] == PUBLIC_QUESTION
    assert turn["cited_doc_ids"] == list(dict.fromkeys(c["doc_id"] for c in first["citations"]))
    assert client.get(f"/v1/sessions/{session}").status_code == 404  # a visitor sees nothing
    assert client.delete(f"/v1/sessions/{session}").status_code == 404
    assert client.delete(f"/v1/sessions/{session}", headers=staff()).status_code == 204
    assert client.get(f"/v1/sessions/{session}", headers=staff()).status_code == 404
    assert client.get("/v1/sessions/not a valid id").status_code == 422
