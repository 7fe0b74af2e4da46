"""The relay between the answering thread and the event loop: a route that returns the answer
whole gets only the finished answer across (each event that crosses wakes the loop); a
streaming route gets every event, in order."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI

from assistant.answering.models import Answer
from assistant.answering.service import Cited, Delta, Finished, Started
from assistant.api.answer_relay import AnswerRelay, Question

ANSWER = Answer(
    answer="one two three four", citations=[], found=False, mode="extractive", language="en",
    session_id="s", answer_id="a",
)  # fmt: skip


class _Assistant:
    def ask_stream(self, question: str, audience: str, session_id: Any, **_: Any) -> Iterator[Any]:
        yield Started("s", "a", "en")
        for word in ANSWER.answer.split():
            yield Delta(word + " ")
        yield Cited(False, [])
        yield Finished(ANSWER)


@pytest.fixture
def app() -> Iterator[FastAPI]:
    app = FastAPI()
    app.state.assistant = _Assistant()
    app.state.settings = SimpleNamespace(api=SimpleNamespace(request_timeout_s=10.0))
    with ThreadPoolExecutor(2) as pool:
        app.state.answer_pool = pool
        yield app


def _crossings(relay: AnswerRelay) -> list[object]:
    crossed: list[object] = []
    put = relay._put

    def counting(item: object) -> None:
        crossed.append(item)
        put(item)

    relay._put = counting  # type: ignore[method-assign]
    return crossed


def test_a_whole_answer_crosses_to_the_loop_alone(app: FastAPI) -> None:
    async def run() -> tuple[Answer, list[object]]:
        relay = AnswerRelay(app, Question("q?", "public"), whole=True)
        crossed = _crossings(relay)
        async with relay:
            answer = await relay.answer()
        return answer, crossed

    answer, crossed = asyncio.run(run())
    assert answer == ANSWER
    assert [type(item).__name__ for item in crossed[:1]] == ["Finished"]
    assert not any(isinstance(item, Started | Delta | Cited) for item in crossed)


def test_a_streamed_answer_gets_every_event_in_order(app: FastAPI) -> None:
    async def run() -> list[object]:
        events: list[object] = []
        async with AnswerRelay(app, Question("q?", "public")) as relay:
            while (event := await relay.next_event()) is not None:
                events.append(event)
        return events

    events = asyncio.run(run())
    assert [type(e).__name__ for e in events] == [
        "Started", "Delta", "Delta", "Delta", "Delta", "Cited", "Finished",
    ]  # fmt: skip
    assert "".join(e.text for e in events if isinstance(e, Delta)) == ANSWER.answer + " "
