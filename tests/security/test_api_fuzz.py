"""Hostile bodies on every POST route of the API: a 100,000-character question, random bytes,
wrong content types, invalid UTF-8, deeply nested JSON, huge arrays, NUL characters, numbers
Python cannot read. Each gets a 4xx that says what is wrong — 400 (unreadable), 413 (too
large), 415 or 422 (not what the route takes), 401 for a route that needs a key and has none —
quickly, and never a 5xx. (Schemathesis in tests/api/test_schemathesis.py fuzzes the documented
schema; these are the bodies no schema describes.)

The server is the security suite's live API (`served`). The time of every response is
measured; the slowest is printed and must stay under `FAST_S`, a generous cap: a junk body
must be refused before any model or store is touched."""

from __future__ import annotations

import json
import random
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from tests.security.corpus import STAFF_KEY

FAST_S = 2.0
REFUSED = {400, 413, 415, 422}
STAFF = {"Authorization": f"Bearer {STAFF_KEY}"}
ROUTES = ["/v1/ask", "/v1/ask/stream", "/v1/chat/completions", "/v1/feedback", "/v1/ingest"]


@dataclass(frozen=True)
class Junk:
    """One hostile body."""

    name: str
    body: bytes
    content_type: str | None = "application/json"


def _random_bytes(seed: int, size: int) -> bytes:
    return random.Random(seed).randbytes(size)


def _deep(depth: int, opening: str, middle: str, closing: str) -> bytes:
    return (opening * depth + middle + closing * depth).encode()


def _field_for(route: str) -> str:
    """The free-text field of a route's body, where a long or odd string goes."""
    return {"/v1/feedback": "comment", "/v1/ingest": "folder"}.get(route, "question")


def _valid_shape(route: str, text: str) -> dict[str, object]:
    """A body of the route's shape with `text` in its free-text field."""
    if route == "/v1/chat/completions":
        return {"model": "cooperation-assistant", "messages": [{"role": "user", "content": text}]}
    if route == "/v1/feedback":
        return {"answer_id": "0" * 32, "rating": "up", "comment": text}
    if route == "/v1/ingest":
        return {"visibility": "public", "folder": text}
    return {"question": text}


def junk_for(route: str) -> Iterator[Junk]:
    """Every hostile body, shaped for `route` where the shape matters."""
    field = _field_for(route)
    yield Junk("100k-char text", json.dumps(_valid_shape(route, "й" * 100_000)).encode())
    yield Junk(
        "60k-char text (under the body cap)", json.dumps(_valid_shape(route, "q" * 60_000)).encode()
    )
    for seed in range(3):
        yield Junk(f"random bytes #{seed} as JSON", _random_bytes(seed, 4096))
    yield Junk("random bytes, no content type", _random_bytes(7, 4096), None)
    yield Junk(
        "random bytes as multipart", _random_bytes(8, 4096), "multipart/form-data; boundary=xyz"
    )
    yield Junk("multipart without a boundary", b"--x\r\n\r\n", "multipart/form-data")
    valid = json.dumps(_valid_shape(route, "Do you cooperate with Vietnam?")).encode()
    yield Junk("JSON sent as text/plain", valid, "text/plain")
    yield Junk("JSON sent as XML", valid, "application/xml")
    yield Junk("JSON as a form", valid, "application/x-www-form-urlencoded")
    yield Junk("invalid UTF-8", b'{"' + field.encode() + b'": "\xff\xfe\xc3( \xed\xa0\x80"}')
    yield Junk("lone surrogate escape", b'{"' + field.encode() + b'": "\\ud800\\udfff\\ud800"}')
    yield Junk("raw NUL byte in a string", b'{"' + field.encode() + b'": "a\x00b"}')
    yield Junk("NUL in a key", json.dumps({f"{field}\u0000": "x"}).encode())
    yield Junk("deeply nested arrays", _deep(30_000, "[", "", "]"))
    yield Junk("deeply nested objects", _deep(10_000, '{"a":', "1", "}"))
    yield Junk(
        "deep nesting in a field",
        b'{"' + field.encode() + b'": ' + _deep(20_000, "[", "", "]") + b"}",
    )
    yield Junk("huge array (under the body cap)", json.dumps([0] * 30_000).encode())
    yield Junk("huge array in a field", json.dumps({field: ["x"] * 20_000}).encode())
    yield Junk("huge array over the body cap", json.dumps(list(range(300_000))).encode())
    yield Junk("a 5,000-digit number", b'{"' + field.encode() + b'": ' + b"9" * 5000 + b"}")
    yield Junk("infinity", b'{"' + field.encode() + b'": 1e999999}')
    yield Junk("NaN", b'{"' + field.encode() + b'": NaN}')
    yield Junk("empty body", b"")
    yield Junk("null", b"null")
    yield Junk("a bare string", b'"Do you cooperate with Vietnam?"')
    yield Junk("wrong types", json.dumps({field: {"$ne": None}, "session_id": ["a"]}).encode())
    yield Junk("truncated JSON", valid[: len(valid) // 2])


@pytest.fixture(scope="module")
def client(served: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served, timeout=30) as http:
        yield http


def _post(
    client: httpx.Client, route: str, junk: Junk, headers: dict[str, str]
) -> tuple[int, float]:
    sent = dict(headers)
    if junk.content_type is not None:
        sent["Content-Type"] = junk.content_type
    started = time.perf_counter()
    response = client.post(route, content=junk.body, headers=sent)
    seconds = time.perf_counter() - started
    if response.status_code < 500:  # a refusal says why, as JSON
        assert isinstance(response.json()["detail"], str | list), (junk.name, response.text)
    return response.status_code, seconds


def test_the_fuzzed_routes_are_all_the_post_routes(client):
    schema = client.get("/openapi.json").json()
    posts = sorted(path for path, ops in schema["paths"].items() if "post" in ops)
    assert posts == sorted(ROUTES)


@pytest.mark.parametrize("route", ROUTES)
def test_junk_bodies_get_a_fast_4xx_never_a_5xx(client, route):
    headers = STAFF if route == "/v1/ingest" else {}  # else the key check answers first
    allowed = REFUSED | ({404} if route == "/v1/feedback" else set())  # a well-formed unknown id
    outcomes: dict[str, tuple[int, float]] = {}
    for junk in junk_for(route):
        outcomes[junk.name] = _post(client, route, junk, headers)
    wrong = {name: code for name, (code, _) in outcomes.items() if code not in allowed}
    slow = {name: round(s, 3) for name, (_, s) in outcomes.items() if s > FAST_S}
    seconds = [s for _, s in outcomes.values()]
    codes = sorted({c for c, _ in outcomes.values()})
    slowest = max(outcomes, key=lambda name: outcomes[name][1])
    print(
        f"\n{route}: {len(outcomes)} junk bodies, codes {codes}, median "
        f"{statistics.median(seconds) * 1000:.1f} ms, slowest {max(seconds) * 1000:.1f} ms "
        f"({slowest})"
    )
    assert not wrong, wrong
    assert not slow, slow
    if route != "/v1/ingest":  # uploads may be 100 MiB; a 100k-character folder name is a 422
        assert outcomes["100k-char text"][0] == 413  # over the 64 KiB body cap
        assert outcomes["huge array over the body cap"][0] == 413


@pytest.mark.parametrize("route", ["/v1/ask", "/v1/ask/stream", "/v1/chat/completions"])
def test_a_100k_character_question_in_a_chunked_body_is_refused_fast(client, route):
    """No Content-Length to refuse up front: the cap is counted as the body arrives."""
    body = json.dumps(_valid_shape(route, "q" * 100_000)).encode()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(body), 8192):
            yield body[start : start + 8192]

    started = time.perf_counter()
    response = client.post(route, content=chunks(), headers={"Content-Type": "application/json"})
    seconds = time.perf_counter() - started
    assert response.status_code == 413, response.text
    assert seconds < FAST_S


@pytest.mark.parametrize("route", ROUTES[:4])
def test_a_nul_inside_a_question_is_answered_or_refused_never_a_5xx(client, route):
    """A NUL escaped in JSON is a valid string: an answer (or a 404 for an unknown answer id)
    or a 422, as the route decides — never a server error, and never a crash of the stores."""
    body = _valid_shape(route, "Do you cooperate\u0000 with Vietnam?\u0000")
    started = time.perf_counter()
    response = client.post(route, json=body)
    assert response.status_code in {200, 404, 422}, response.text
    assert time.perf_counter() - started < 30  # an ordinary answer with the fake model
    assert client.get("/readyz").status_code == 200


def test_without_a_key_junk_uploads_are_refused_before_the_body_is_read(client):
    for junk in junk_for("/v1/ingest"):
        code, seconds = _post(client, "/v1/ingest", junk, {})
        assert code in {401, 413}, (junk.name, code)
        assert seconds < FAST_S
