"""`POST /v1/ask/stream` read by a real HTTP client over a real server: events in order, deltas
that join into the answer, audience separation, LLM sentences released only once cited, a
disconnect that stops the model's stream, and the request timeout."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from assistant.settings import APISettings, LLMSettings
from tests.api.conftest import INTERNAL_QUESTION, MARKER, PUBLIC_QUESTION, staff
from tests.api.live import live_api, parse_sse
from tests.live_server import LLMStandIn, llm_stand_in_app, serve_in_thread


@pytest.fixture(scope="module")
def llm() -> Iterator[tuple[LLMStandIn, str]]:
    state = LLMStandIn()
    with serve_in_thread(llm_stand_in_app(state)) as url:
        yield state, url


@pytest.fixture
def stand_in(llm: tuple[LLMStandIn, str]) -> tuple[LLMStandIn, LLMSettings]:
    state, url = llm
    state.reset()
    settings = LLMSettings(
        provider="openai",
        model="stand-in",
        base_url=f"{url}/v1",
        api_key=SecretStr("test"),
        timeout_s=30.0,
    )
    return state, settings


def stream(base: str, question: str, headers: dict[str, str] | None = None) -> list[Any]:
    with httpx.stream(
        "POST", f"{base}/v1/ask/stream", json={"question": question}, headers=headers, timeout=30
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        return parse_sse(response.read().decode())


def test_events_come_in_order_and_the_deltas_are_the_answer(corpus):
    with live_api(corpus) as base:
        events = stream(base, PUBLIC_QUESTION)
        names = [name for name, _ in events]
        assert names[0] == "start" and names[-2:] == ["citations", "done"]
        assert set(names[1:-2]) == {"delta"} and len(names) > 4
        start, done = events[0][1], events[-1][1]
        assert start["session_id"] == done["session_id"]
        assert start["answer_id"] == done["answer_id"]
        assert "".join(data["text"] for name, data in events if name == "delta") == done["answer"]
        assert done["found"] is True and "Skolkovo" in done["answer"]
        assert events[-2][1] == {"found": True, "citations": done["citations"]}
        for citation in done["citations"]:
            text = httpx.get(f"{base}/v1/sources/{citation['doc_id']}").json()["text"]
            assert text[citation["start"] : citation["end"]] == citation["quote"]
        # The stream and /v1/ask agree on what the answer is.
        whole = httpx.post(f"{base}/v1/ask", json={"question": PUBLIC_QUESTION}).json()
        assert whole["answer"] == done["answer"] and whole["citations"] == done["citations"]


def test_a_visitor_stream_never_carries_internal_content(corpus):
    with live_api(corpus) as base:
        with httpx.stream(
            "POST",
            f"{base}/v1/ask/stream",
            json={"question": INTERNAL_QUESTION, "audience": "staff"},
        ) as response:
            raw = response.read().decode()
        assert MARKER not in raw and corpus.internal_id not in raw
        staff_events = stream(base, INTERNAL_QUESTION, staff())
        assert MARKER in staff_events[-1][1]["answer"]


def test_errors_before_the_stream_are_plain_json(corpus):
    with live_api(corpus) as base:
        wrong = httpx.post(
            f"{base}/v1/ask/stream",
            json={"question": PUBLIC_QUESTION},
            headers={"Authorization": "Bearer nope"},
        )
        assert wrong.status_code == 401 and "Invalid API key" in wrong.json()["detail"]
        empty = httpx.post(f"{base}/v1/ask/stream", json={"question": "   "})
        assert empty.status_code == 422


def test_llm_sentences_are_released_as_written_and_only_when_cited(corpus, stand_in):
    state, llm_settings = stand_in
    state.reply = (
        "The Ministry of Labor signed an agreement with the Skolkovo Foundation [1]. "
        "This sentence cites nothing and must not appear. "
        "It concerns labor protection [2]. "
        "A marker to nowhere [99]."
    )
    state.chunk_delay = 0.02
    with live_api(corpus, llm=llm_settings) as base:
        events = stream(base, PUBLIC_QUESTION)
    done = events[-1][1]
    deltas = [data["text"] for name, data in events if name == "delta"]
    assert done["mode"] == "llm" and done["found"] is True
    assert "".join(deltas) == done["answer"]
    assert len(deltas) >= 2  # released sentence by sentence, not all at the end
    assert "cites nothing" not in done["answer"] and "nowhere" not in done["answer"]
    assert "[1]" in done["answer"] and "[2]" in done["answer"]
    assert [c["n"] for c in done["citations"]] == [1, 2]


def test_a_client_that_disconnects_stops_the_model(corpus, stand_in):
    state, llm_settings = stand_in
    state.reply = " ".join(f"Sentence number {i} about Skolkovo [1]." for i in range(200))
    state.chunk_delay = 0.02  # about 40 s for the whole reply
    with live_api(corpus, llm=llm_settings) as base:
        with httpx.stream(
            "POST", f"{base}/v1/ask/stream", json={"question": PUBLIC_QUESTION}, timeout=30
        ) as response:
            for line in response.iter_lines():
                if line.startswith("event: delta"):
                    break  # the first text arrived: go away
        deadline = time.monotonic() + 15
        while state.streams_abandoned == 0:
            assert time.monotonic() < deadline, "the model kept streaming after the disconnect"
            time.sleep(0.05)
    assert state.streams_completed == 0
    assert state.chunks_sent < 1000


def test_a_slow_answer_gets_504_or_an_error_event(corpus, stand_in):
    state, llm_settings = stand_in
    state.delay = 5.0
    state.reply = "Too late [1]."
    with live_api(corpus, llm=llm_settings, api=APISettings(request_timeout_s=0.5)) as base:
        started = time.monotonic()
        response = httpx.post(f"{base}/v1/ask", json={"question": PUBLIC_QUESTION}, timeout=30)
        assert response.status_code == 504 and "too long" in response.json()["detail"]
        assert time.monotonic() - started < 4
        events = stream(base, PUBLIC_QUESTION)
        assert events[0][0] == "start"
        assert events[-1] == ("error", {"detail": response.json()["detail"], "status": 504})
