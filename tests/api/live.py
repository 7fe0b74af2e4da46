"""A live `create_app` server over the test corpus, and a reader for server-sent events."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from assistant.api.app import create_app
from tests.api.conftest import Corpus, open_with_fake_model, with_settings
from tests.live_server import serve_in_thread


@contextmanager
def live_api(corpus: Corpus, **changes: Any) -> Iterator[str]:
    """The API over `corpus` (settings fields replaced by `changes`), served on a free port
    and ready; yields its base URL."""
    app = create_app(with_settings(corpus, **changes), resource_factory=open_with_fake_model)
    with serve_in_thread(app) as base:
        wait_until_ready(base)
        yield base


def wait_until_ready(base: str, timeout: float = 30.0) -> None:
    """Wait for `/readyz` to say 200."""
    deadline = time.monotonic() + timeout
    while httpx.get(f"{base}/readyz").status_code != 200:
        assert time.monotonic() < deadline, "the API never became ready"
        time.sleep(0.05)


def parse_sse(raw: str) -> list[tuple[str, Any]]:
    """`(event, data)` pairs of a server-sent event stream; comments are skipped; JSON data
    is decoded."""
    events: list[tuple[str, Any]] = []
    for block in raw.split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith(":") or not line:
                continue
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)
        if data:
            text = "\n".join(data)
            try:
                events.append((name, json.loads(text)))
            except json.JSONDecodeError:
                events.append((name, text))
    return events
