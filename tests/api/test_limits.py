"""The HTTP API's limits as a client meets them: 413 for oversize bodies (declared or streamed),
429 with Retry-After for too many questions, per client, shared between workers."""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from assistant.api.app import create_app
from assistant.api.rate_limiter import RATE_LIMIT_FILE, RateLimiter
from assistant.settings import APISettings
from tests.api.conftest import (
    OTHER_STAFF_KEY,
    PUBLIC_QUESTION,
    Corpus,
    open_with_fake_model,
    staff,
    wait_ready,
    with_settings,
)
from tests.conftest import free_port, wait_http

ASK = {"question": PUBLIC_QUESTION}


def _client_from(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": f"{address}, 10.0.0.1"}


@contextmanager
def _ready_client(corpus: Corpus, **api: Any) -> Iterator[TestClient]:
    settings = with_settings(corpus, api=APISettings(**api))
    with TestClient(create_app(settings, resource_factory=open_with_fake_model)) as client:
        wait_ready(client)
        yield client


@contextmanager
def _served(app: FastAPI) -> Iterator[str]:
    """`app` behind a real uvicorn on a free loopback port, in a thread."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_http(f"http://127.0.0.1:{port}/readyz", timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _chunks(question: str, size: int = 100) -> Iterator[bytes]:
    """A JSON body asking `question`, streamed in pieces without a Content-Length."""
    body = json.dumps({"question": question}).encode()
    for start in range(0, len(body), size):
        yield body[start : start + size]


# --- body size ---------------------------------------------------------------------------------


def test_a_100k_character_question_gets_413_at_once(corpus: Corpus) -> None:
    with _ready_client(corpus, rate_per_minute=0, staff_rate_per_minute=0) as client:
        started = time.monotonic()
        response = client.post("/v1/ask", json={"question": "x" * 100_000})
        elapsed = time.monotonic() - started
    assert response.status_code == 413
    assert "64 KiB" in response.json()["detail"]
    assert elapsed < 2.0


def test_a_body_under_the_cap_is_not_refused(corpus: Corpus) -> None:
    with _ready_client(corpus, max_body_kb=2, rate_per_minute=0) as client:
        under = client.post("/v1/ask", json={"question": PUBLIC_QUESTION + " " + "a" * 1500})
        over = client.post("/v1/ask", json={"question": PUBLIC_QUESTION + " " + "a" * 2100})
    assert under.status_code != 413
    assert over.status_code == 413
    assert "2 KiB" in over.json()["detail"]


def test_a_chunked_body_without_content_length_is_counted_and_refused(corpus: Corpus) -> None:
    settings = with_settings(corpus, api=APISettings(max_body_kb=1, rate_per_minute=0))
    app = create_app(settings, resource_factory=open_with_fake_model)
    with _served(app) as base, httpx.Client(base_url=base, timeout=30) as http:
        headers = {"Content-Type": "application/json"}
        small = http.post("/v1/ask", content=_chunks(PUBLIC_QUESTION), headers=headers)
        big = http.post("/v1/ask", content=_chunks("x" * 8 * 1024), headers=headers)
        assert "content-length" not in big.request.headers
        assert big.request.headers["transfer-encoding"] == "chunked"
        # The connection is still usable afterwards.
        after = http.post("/v1/ask", json=ASK)
    assert small.status_code == 200  # read in full, reassembled and answered
    assert small.json()["found"]
    assert big.status_code == 413
    assert "1 KiB" in big.json()["detail"]
    assert after.status_code == 200


def test_the_upload_route_has_its_own_bigger_cap(corpus: Corpus) -> None:
    with _ready_client(corpus, max_body_kb=1, max_upload_mb=0.05, rate_per_minute=0) as client:
        files = {"files": ("notes.md", b"# Notes\n" + b"x" * 10_000, "text/markdown")}
        within = client.post("/v1/ingest", files=files, headers=staff())
        files = {"files": ("big.md", b"# Big\n" + b"x" * 80_000, "text/markdown")}
        beyond = client.post("/v1/ingest", files=files, headers=staff())
        question = client.post("/v1/ask", json={"question": "x" * 10_000})
    assert within.status_code != 413
    assert beyond.status_code == 413
    assert "0.05 MiB" in beyond.json()["detail"]
    assert question.status_code == 413


# --- rate limits -------------------------------------------------------------------------------


def _retry_after(response: httpx2.Response) -> int:
    assert response.status_code == 429, response.text
    wait = int(response.headers["Retry-After"])
    assert wait >= 1
    detail = response.json()["detail"]
    assert detail.startswith("Too many questions")
    assert re.search(rf"try again in {wait} s", detail)
    return wait


def test_the_question_after_the_quota_gets_429_and_other_clients_go_on(corpus: Corpus) -> None:
    with _ready_client(
        corpus, rate_per_minute=3, staff_rate_per_minute=5, trust_forwarded_for=True
    ) as client:
        first = [
            client.post("/v1/ask", json=ASK, headers=_client_from("203.0.113.7")) for _ in "abc"
        ]
        refused = client.post("/v1/ask", json=ASK, headers=_client_from("203.0.113.7"))
        other_visitor = client.post("/v1/ask", json=ASK, headers=_client_from("198.51.100.2"))
        staff_member = client.post(
            "/v1/ask", json=ASK, headers={**staff(), **_client_from("203.0.113.7")}
        )
    assert [r.status_code for r in first] == [200, 200, 200]
    assert _retry_after(refused) <= 20  # one question every 20 s at 3 per minute
    assert other_visitor.status_code == 200
    assert staff_member.status_code == 200


def test_without_trusted_proxy_x_forwarded_for_does_not_make_a_new_client(
    corpus: Corpus,
) -> None:
    with _ready_client(corpus, rate_per_minute=2) as client:
        statuses = [
            client.post("/v1/ask", json=ASK, headers=_client_from(f"192.0.2.{n}")).status_code
            for n in range(3)
        ]
    assert statuses == [200, 200, 429]


def test_each_staff_key_has_its_own_quota(corpus: Corpus) -> None:
    with _ready_client(corpus, rate_per_minute=1, staff_rate_per_minute=2) as client:
        mine = [client.post("/v1/ask", json=ASK, headers=staff()) for _ in range(3)]
        theirs = client.post("/v1/ask", json=ASK, headers=staff(OTHER_STAFF_KEY))
        visitor = client.post("/v1/ask", json=ASK)
    assert [r.status_code for r in mine[:2]] == [200, 200]
    _retry_after(mine[2])
    assert theirs.status_code == 200
    assert visitor.status_code == 200


def test_a_wrong_key_gets_401_and_is_not_counted(corpus: Corpus) -> None:
    with _ready_client(corpus, rate_per_minute=2) as client:
        wrong = [client.post("/v1/ask", json=ASK, headers=staff("not-a-key")) for _ in range(5)]
        visitor = [client.post("/v1/ask", json=ASK).status_code for _ in range(2)]
    assert [r.status_code for r in wrong] == [401] * 5
    assert visitor == [200, 200]


def test_two_apps_on_one_data_dir_share_the_quota(corpus: Corpus) -> None:
    """What two `coop serve --workers 2` processes do: one count per client for both."""
    settings = with_settings(corpus, api=APISettings(rate_per_minute=3))
    first_app = create_app(settings, resource_factory=open_with_fake_model)
    second_app = create_app(settings, resource_factory=open_with_fake_model)
    with TestClient(first_app) as first, TestClient(second_app) as second:
        wait_ready(first)
        wait_ready(second)
        statuses = [
            first.post("/v1/ask", json=ASK).status_code,
            second.post("/v1/ask", json=ASK).status_code,
            first.post("/v1/ask", json=ASK).status_code,
        ]
        refused = second.post("/v1/ask", json=ASK)
    assert statuses == [200, 200, 200]
    _retry_after(refused)


def test_feedback_has_its_own_quota_at_twice_the_rate(corpus: Corpus) -> None:
    settings = with_settings(corpus, api=APISettings(rate_per_minute=2))
    app = create_app(settings, resource_factory=open_with_fake_model)
    with TestClient(app) as client:
        wait_ready(client)
        body = {"answer_id": "a" * 32, "rating": "up"}
        feedback = [client.post("/v1/feedback", json=body) for _ in range(5)]
        question = client.post("/v1/ask", json=ASK)
    assert all(r.status_code != 429 for r in feedback[:4])
    assert feedback[4].status_code == 429
    assert feedback[4].json()["detail"].startswith("Too many feedback messages")
    assert int(feedback[4].headers["Retry-After"]) >= 1
    assert question.status_code == 200


def test_other_routes_and_preflights_are_never_limited(corpus: Corpus) -> None:
    origin = "https://partner.example"
    settings = with_settings(corpus, cors_origins=[origin], api=APISettings(rate_per_minute=1))
    app = create_app(settings, resource_factory=open_with_fake_model)
    with TestClient(app) as client:
        wait_ready(client)
        assert client.post("/v1/ask", json=ASK).status_code == 200
        assert client.post("/v1/ask", json=ASK).status_code == 429
        preflight = client.options(
            "/v1/ask",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
        )
        health = [client.get("/healthz").status_code for _ in range(3)]
        missing = client.post("/v1/no-such-route", json=ASK)
    assert preflight.status_code == 200
    assert health == [200, 200, 200]
    assert missing.status_code == 404


def test_429_and_413_carry_cors_headers(corpus: Corpus) -> None:
    origin = "https://partner.example"
    settings = with_settings(corpus, cors_origins=[origin], api=APISettings(rate_per_minute=1))
    app = create_app(settings, resource_factory=open_with_fake_model)
    headers = {"Origin": origin}
    with TestClient(app) as client:
        wait_ready(client)
        client.post("/v1/ask", json=ASK, headers=headers)
        limited = client.post("/v1/ask", json=ASK, headers=headers)
        too_big = client.post("/v1/ask", json={"question": "x" * 100_000}, headers=headers)
    assert limited.status_code == 429
    assert limited.headers["access-control-allow-origin"] == origin
    assert "retry-after" in limited.headers["access-control-expose-headers"].lower()
    assert too_big.status_code == 413
    assert too_big.headers["access-control-allow-origin"] == origin


def test_unlimited_rates_open_no_database(corpus: Corpus) -> None:
    settings = with_settings(corpus, api=APISettings(rate_per_minute=0, staff_rate_per_minute=0))
    app = create_app(settings, resource_factory=open_with_fake_model)
    with TestClient(app) as client:
        wait_ready(client)
        statuses = [client.post("/v1/ask", json=ASK).status_code for _ in range(3)]
    assert statuses == [200, 200, 200]
    assert app.state.rate_limiter is None
    assert not (settings.data_dir / RATE_LIMIT_FILE).exists()


# --- the limiter itself ------------------------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_limiter_allows_a_full_minute_at_once_then_one_per_interval(tmp_path: Path) -> None:
    clock = _Clock()
    limiter = RateLimiter(tmp_path / RATE_LIMIT_FILE, clock=clock)
    try:
        burst = [limiter.check("client", 30).allowed for _ in range(30)]
        refused = limiter.check("client", 30)
        clock.now += refused.retry_after
        again = limiter.check("client", 30)
        right_after = limiter.check("client", 30)
        clock.now += 60
        after_a_quiet_minute = [limiter.check("client", 30).allowed for _ in range(30)]
    finally:
        limiter.close()
    assert all(burst)
    assert not refused.allowed
    assert refused.retry_after == 2  # 60 s / 30
    assert again.allowed
    assert not right_after.allowed
    assert all(after_a_quiet_minute)


def test_limiter_state_is_shared_by_two_connections_and_pruned(tmp_path: Path) -> None:
    clock = _Clock()
    path = tmp_path / RATE_LIMIT_FILE
    first = RateLimiter(path, clock=clock)
    second = RateLimiter(path, clock=clock)
    try:
        assert first.check("a", 2).allowed
        assert second.check("a", 2).allowed
        assert not first.check("a", 2).allowed
        assert second.check("b", 2).allowed
        assert first.check("unlimited", 0).allowed
        clock.now += 3600
        assert first.check("c", 2).allowed  # a check a minute later prunes the rest
    finally:
        first.close()
        second.close()
    with sqlite3.connect(path) as conn:
        keys = {key for (key,) in conn.execute("SELECT key FROM rate_buckets")}
    conn.close()
    assert keys == {"c"}


def test_limiter_with_rate_zero_stores_nothing(tmp_path: Path) -> None:
    limiter = RateLimiter(tmp_path / RATE_LIMIT_FILE)
    try:
        assert all(limiter.check("x", 0).allowed for _ in range(100))
    finally:
        limiter.close()
    with sqlite3.connect(tmp_path / RATE_LIMIT_FILE) as conn:
        count = conn.execute("SELECT COUNT(*) FROM rate_buckets").fetchone()[0]
    conn.close()
    assert count == 0


@pytest.mark.parametrize("rate", [1, 7, 30])
def test_retry_after_is_when_the_next_request_gets_in(tmp_path: Path, rate: int) -> None:
    clock = _Clock()
    limiter = RateLimiter(tmp_path / RATE_LIMIT_FILE, clock=clock)
    try:
        for _ in range(rate):
            assert limiter.check("k", rate).allowed
        refused = limiter.check("k", rate)
        clock.now += refused.retry_after - 1
        too_early = limiter.check("k", rate)
        clock.now += 1
        in_time = limiter.check("k", rate)
    finally:
        limiter.close()
    assert not refused.allowed
    assert not too_early.allowed or refused.retry_after == 1
    assert in_time.allowed
