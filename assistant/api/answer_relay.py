"""One question answered in a worker thread, its events relayed to the event loop.

Every question route (`/v1/ask`, `/v1/ask/stream`, `/v1/chat/completions`) goes through
`AnswerRelay`: the assistant's generator runs in the app's answer pool, each event crosses to
the loop through a queue, and the caller awaits them with a deadline. Stopping the relay (the
client went away, the deadline passed) sets a flag the assistant checks between steps, so an
abandoned question stops retrieval and closes an LLM's stream instead of running to the end.
Finished answers are recorded (for feedback) and counted (for /metrics) in the worker thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from fastapi import FastAPI

from assistant.answering.models import Answer
from assistant.answering.service import (
    AnswerEvent,
    AssistantService,
    Cited,
    Delta,
    Finished,
    Started,
)
from assistant.api import observability
from assistant.retrieval.audience import Audience

logger = logging.getLogger(__name__)

ANSWER_THREADS = 32


class AnswerTimeoutError(TimeoutError):
    """The answer took longer than the request timeout."""


class AnswerFailedError(RuntimeError):
    """The assistant raised while answering (logged in full where it happened)."""


@dataclass(frozen=True)
class Question:
    """What a route asks, and for whom."""

    text: str
    audience: Audience
    session_id: str | None = None
    history: Sequence[str] | None = None
    channel: str = "api"  # recorded with the answer: api, stream, chat
    route: str = "/v1/ask"  # the metrics label


_END = object()


class AnswerRelay:
    """Runs one question; `next_event` hands its events to the loop in order.

    Use as an async context manager: leaving it stops the work if it is still running.
    """

    def __init__(self, app: FastAPI, question: Question, *, whole: bool = False) -> None:
        """`whole`: only the finished answer crosses to the loop, for a route that returns it
        in one piece (each event that crosses wakes the loop, which then competes with the
        answering thread for the GIL)."""
        self._app = app
        self._question = question
        self._whole = whole
        self._cancel = threading.Event()
        self._queue: asyncio.Queue[object] = asyncio.Queue()
        self._loop = asyncio.get_running_loop()
        self._deadline = self._loop.time() + app.state.settings.api.request_timeout_s
        self._done = False

    async def __aenter__(self) -> AnswerRelay:
        assistant: AssistantService = self._app.state.assistant
        pool: ThreadPoolExecutor = self._app.state.answer_pool
        pool.submit(self._produce, assistant)
        return self

    async def __aexit__(self, *_: object) -> None:
        self.stop()

    @property
    def ended(self) -> bool:
        """Whether the last event (or the failure) has been handed over."""
        return self._done

    def stop(self) -> None:
        """Stop the work at its next step (harmless when it has finished)."""
        self._cancel.set()

    async def next_event(self, wait_s: float | None = None) -> AnswerEvent | None:
        """The next event; None at the end, or when `wait_s` passed with nothing new (the
        caller may send a keep-alive and ask again). Raises `AnswerTimeoutError` past the
        request deadline and `AnswerFailedError` when the assistant failed."""
        if self._done:
            return None
        remaining = self._deadline - self._loop.time()
        if remaining <= 0:
            self.stop()
            raise AnswerTimeoutError
        timeout = remaining if wait_s is None else min(wait_s, remaining)
        try:
            item = await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            if self._loop.time() >= self._deadline:
                self.stop()
                raise AnswerTimeoutError from None
            return None
        if item is _END:
            self._done = True
            return None
        if isinstance(item, BaseException):
            self._done = True
            raise AnswerFailedError(str(item)) from item
        if not isinstance(item, Started | Delta | Cited | Finished):
            raise AnswerFailedError(f"unexpected event {item!r}")
        return item

    async def answer(self) -> Answer:
        """Wait for the whole answer."""
        while True:
            event = await self.next_event()
            if isinstance(event, Finished):
                return event.answer
            if event is None and self._done:
                raise AnswerFailedError("the answer ended without a result")

    def _produce(self, assistant: AssistantService) -> None:
        """Worker thread: run the assistant and pass each event to the loop."""
        question = self._question
        events = assistant.ask_stream(
            question.text,
            question.audience,
            question.session_id,
            history=question.history,
            cancelled=self._cancel.is_set,
        )
        try:
            for event in events:
                if self._cancel.is_set():
                    break
                if isinstance(event, Finished):
                    self._record(event.answer)
                elif self._whole:
                    continue
                self._put(event)
        except Exception as error:
            logger.exception("answering failed")
            self._put(error)
        finally:
            events.close()
            self._put(_END)

    def _record(self, answer: Answer) -> None:
        question = self._question
        observability.record_answer(
            found=answer.found, mode=answer.mode, audience=question.audience, route=question.route
        )
        feedback = getattr(self._app.state, "feedback", None)
        if feedback is None:
            return
        try:
            feedback.record_answer(
                answer, question=question.text, audience=question.audience, channel=question.channel
            )
        except Exception:  # feedback is a convenience: never lose the answer over it
            logger.exception("could not record answer %s for feedback", answer.answer_id)

    def _put(self, item: object) -> None:
        # RuntimeError: the loop has closed (shutdown), nobody is listening any more.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)


def answer_pool() -> tuple[ThreadPoolExecutor, Callable[[], None]]:
    """The worker threads questions run in, and how to shut them down."""
    pool = ThreadPoolExecutor(max_workers=ANSWER_THREADS, thread_name_prefix="answer")

    def close() -> None:
        pool.shutdown(wait=False, cancel_futures=True)

    return pool, close
