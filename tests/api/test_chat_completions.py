"""`POST /v1/chat/completions` through the real `openai` client, streaming and not: the answer
with its sources in the message, the citations as data, the audience from the API key, the
conversation's earlier questions used for follow-ups, and OpenAI-style errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.api.conftest import INTERNAL_QUESTION, MARKER, PUBLIC_QUESTION, STAFF_KEY, build_corpus
from tests.api.live import live_api, parse_sse


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with live_api(build_corpus(tmp_path_factory.mktemp("chat"))) as url:
        yield url


def client(base: str, key: str = STAFF_KEY) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{base}/v1", api_key=key, max_retries=0, timeout=30)


def check_citations(base: str, citations: list[dict[str, Any]], headers: dict[str, str]) -> None:
    assert citations
    for citation in citations:
        text = httpx.get(f"{base}/v1/sources/{citation['doc_id']}", headers=headers).json()["text"]
        assert text[citation["start"] : citation["end"]] == citation["quote"]


def test_a_completion_carries_the_answer_its_sources_and_the_citations(base):
    completion = client(base).chat.completions.create(
        model="cooperation-assistant",
        messages=[
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": INTERNAL_QUESTION},
        ],
    )
    message = completion.choices[0].message
    assert completion.choices[0].finish_reason == "stop"
    assert message.role == "assistant" and MARKER in (message.content or "")
    extra = completion.model_extra or {}
    assert extra["found"] is True and len(extra["answer_id"]) == 32
    check_citations(base, extra["citations"], {"Authorization": f"Bearer {STAFF_KEY}"})
    # The sources close the message as numbered links to the viewer, one per citation.
    assert "Sources:" in (message.content or "")
    for citation in extra["citations"]:
        assert f"[{citation['n']}] [" in (message.content or "")
        assert f"{base}{citation['url']}" in (message.content or "")


def test_a_streamed_completion_joins_to_the_same_answer(base):
    chunks = list(
        client(base).chat.completions.create(
            model="anything",
            messages=[{"role": "user", "content": PUBLIC_QUESTION}],
            stream=True,
        )
    )
    assert len(chunks) > 3
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop" and last.model == "anything"
    extra = last.model_extra or {}
    assert "Skolkovo" in text and "Sources:" in text
    check_citations(base, extra["citations"], {})
    assert all(chunk.id == f"chatcmpl-{extra['answer_id']}" for chunk in chunks[1:])


def test_without_a_key_a_caller_is_a_visitor_whatever_the_body_says(base):
    body = {
        "model": "cooperation-assistant",
        "messages": [{"role": "user", "content": INTERNAL_QUESTION}],
        "audience": "staff",
        "user": "staff",
    }
    whole = httpx.post(f"{base}/v1/chat/completions", json=body, timeout=30)
    assert whole.status_code == 200 and MARKER not in whole.text
    streamed = httpx.post(f"{base}/v1/chat/completions", json={**body, "stream": True}, timeout=30)
    assert streamed.status_code == 200 and MARKER not in streamed.text
    assert parse_sse(streamed.text)[-1] == ("message", "[DONE]")


def test_a_wrong_key_is_refused(base):
    with pytest.raises(openai.AuthenticationError):
        client(base, "not-a-staff-key").chat.completions.create(
            model="m", messages=[{"role": "user", "content": PUBLIC_QUESTION}]
        )


def test_earlier_user_messages_make_a_follow_up_understood(base):
    first = client(base).chat.completions.create(
        model="m", messages=[{"role": "user", "content": PUBLIC_QUESTION}]
    )
    cited = {c["doc_id"] for c in (first.model_extra or {})["citations"]}
    follow_up = client(base).chat.completions.create(
        model="m",
        messages=[
            {"role": "user", "content": PUBLIC_QUESTION},
            {"role": "assistant", "content": first.choices[0].message.content},
            {"role": "user", "content": [{"type": "text", "text": "And who signed it?"}]},
        ],
    )
    extra = follow_up.model_extra or {}
    assert extra["found"] is True
    assert {c["doc_id"] for c in extra["citations"]} & cited


@pytest.mark.parametrize(
    "messages",
    [
        [],
        [{"role": "assistant", "content": "Hello"}],
        [{"role": "user", "content": "   "}],
        [{"role": "user", "content": "x" * 2001}],
        [{"role": "wizard", "content": "hi"}],
    ],
)
def test_a_request_without_a_question_is_422(base, messages):
    response = httpx.post(
        f"{base}/v1/chat/completions", json={"model": "m", "messages": messages}, timeout=30
    )
    assert response.status_code == 422


def test_the_model_list_names_the_assistant(base):
    models = client(base).models.list()
    assert [model.id for model in models.data] == ["cooperation-assistant"]
