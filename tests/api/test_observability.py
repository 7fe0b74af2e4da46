"""What an operator sees of the HTTP API: request ids on responses and in logs, one access line
per request, JSON log lines, and Prometheus metrics at `/metrics`."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from assistant.api import observability
from assistant.api.app import create_app
from assistant.api.observability import RequestIdFilter, uvicorn_log_config
from assistant.settings import APISettings
from tests.api.conftest import (
    PUBLIC_QUESTION,
    STAFF_KEY,
    Corpus,
    open_with_fake_model,
    staff,
    wait_ready,
    with_settings,
)
from tests.conftest import REPO, free_port, wait_http

ASK = {"question": PUBLIC_QUESTION}
GENERATED_ID = re.compile(r"[0-9a-f]{32}")

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def request_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """caplog whose handler has the request-id filter, as `uvicorn_log_config`'s handler has."""
    caplog.set_level(logging.INFO)
    request_filter = RequestIdFilter()
    caplog.handler.addFilter(request_filter)
    yield caplog
    caplog.handler.removeFilter(request_filter)


def _access_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "assistant.access"]


def _samples(client: TestClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


# --- request ids -------------------------------------------------------------------------------


def test_a_valid_request_id_is_echoed(client: TestClient) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.2_x-9"})
    assert response.headers["X-Request-ID"] == "lb-7f3a.2_x-9"


@pytest.mark.parametrize(
    "given", [None, "", "has space", "x" * 65, "semi;colon", "a/b", "<script>"]
)
def test_a_missing_or_unusable_request_id_is_replaced(
    client: TestClient, given: str | None
) -> None:
    headers = {} if given is None else {"X-Request-ID": given}
    response = client.get("/healthz", headers=headers)
    assert GENERATED_ID.fullmatch(response.headers["X-Request-ID"])


def test_each_request_gets_its_own_id_even_when_refused(corpus: Corpus) -> None:
    settings = with_settings(corpus, api=APISettings(rate_per_minute=1))
    with TestClient(create_app(settings, resource_factory=open_with_fake_model)) as client:
        wait_ready(client)
        responses = [
            client.post("/v1/ask", json=ASK),
            client.post("/v1/ask", json=ASK),  # 429
            client.post("/v1/ask", json={"question": "x" * 100_000}),  # 413
            client.get("/no/such/page"),  # 404
        ]
    assert [r.status_code for r in responses] == [200, 429, 413, 404]
    ids = [r.headers["X-Request-ID"] for r in responses]
    assert all(GENERATED_ID.fullmatch(i) for i in ids)
    assert len(set(ids)) == len(ids)


# --- logs --------------------------------------------------------------------------------------


def test_one_access_line_per_request_with_its_id(
    client: TestClient, request_logs: pytest.LogCaptureFixture
) -> None:
    client.post("/v1/ask", json=ASK, headers={**staff(), "X-Request-ID": "trace-ask-1"})
    client.get("/healthz?probe=secret-value", headers={"X-Request-ID": "trace-health-2"})
    logging.getLogger("assistant.tests").warning("outside any request")

    access = _access_records(request_logs)
    ask = [r for r in access if getattr(r, "request_id", None) == "trace-ask-1"]
    assert len(ask) == 1
    assert (ask[0].method, ask[0].path, ask[0].status) == ("POST", "/v1/ask", 200)  # type: ignore[attr-defined]
    assert ask[0].duration_ms > 0  # type: ignore[attr-defined]
    health = [r for r in access if getattr(r, "request_id", None) == "trace-health-2"]
    assert [r.path for r in health] == ["/healthz"]  # type: ignore[attr-defined]
    outside = [r for r in request_logs.records if r.name == "assistant.tests"]
    assert outside[0].request_id == "-"  # type: ignore[attr-defined]
    # Neither the key nor the query string reaches the server's logs (the test client logs
    # its own URLs).
    server = [r for r in request_logs.records if not r.name.startswith("httpx")]
    assert all(STAFF_KEY not in str(vars(record)) for record in server)
    assert all("secret-value" not in str(vars(record)) for record in server)


def test_text_log_lines_show_the_request_id(
    corpus: Corpus, client: TestClient, request_logs: pytest.LogCaptureFixture
) -> None:
    client.post("/v1/ask", json=ASK, headers={"X-Request-ID": "trace-text-3"})
    config = uvicorn_log_config(corpus.settings)
    formatter = logging.Formatter(config["formatters"]["default"]["format"])
    lines = [formatter.format(r) for r in _access_records(request_logs)]
    mine = [line for line in lines if "[trace-text-3]" in line]
    assert len(mine) == 1
    assert '"POST /v1/ask" 200' in mine[0]


_SERVE_JSON_LOGS = """
import sys
from pathlib import Path

import uvicorn

from assistant.api.app import create_app
from assistant.api.observability import uvicorn_log_config
from assistant.settings import APISettings, Settings
from tests.api.conftest import STAFF_KEY, open_with_fake_model

settings = Settings(
    _env_file=None,
    data_dir=Path(sys.argv[1]),
    staff_api_keys=[STAFF_KEY],
    api=APISettings(log_format="json", rate_per_minute=0, staff_rate_per_minute=0),
)
uvicorn.run(
    create_app(settings, resource_factory=open_with_fake_model),
    host="127.0.0.1",
    port=int(sys.argv[2]),
    log_config=uvicorn_log_config(settings),
    access_log=False,
)
"""


def test_json_logs_are_one_object_per_line_with_request_ids(corpus: Corpus) -> None:
    """`coop serve` with `api.log_format=json`, as the lead runs it: every stderr line parses."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", _SERVE_JSON_LOGS, str(corpus.settings.data_dir), str(port)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/readyz", process=process)
        with httpx.Client(base_url=base, timeout=30) as http:
            asked = http.post(
                "/v1/ask", json=ASK, headers={**staff(), "X-Request-ID": "json-trace-1"}
            )
            http.get("/healthz?probe=secret-value")
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    assert asked.status_code == 200
    lines = [json.loads(line) for line in stderr.decode().splitlines() if line.strip()]
    assert all({"time", "level", "logger", "message", "request_id"} <= set(e) for e in lines)
    ask = [
        e for e in lines if e["request_id"] == "json-trace-1" and e["logger"] == "assistant.access"
    ]
    assert len(ask) == 1
    assert ask[0]["method"] == "POST"
    assert ask[0]["path"] == "/v1/ask"
    assert ask[0]["status"] == 200
    assert ask[0]["client"] == "127.0.0.1"
    assert isinstance(ask[0]["duration_ms"], float)
    assert any(e["logger"].startswith("uvicorn") and e["request_id"] == "-" for e in lines)
    assert not any(e["logger"] == "uvicorn.access" for e in lines)  # ours replaces it
    text = stderr.decode()
    assert STAFF_KEY not in text
    assert "secret-value" not in text
    assert PUBLIC_QUESTION not in text


# --- metrics -----------------------------------------------------------------------------------


def test_metrics_count_requests_by_route_template(corpus: Corpus) -> None:
    settings = with_settings(corpus, api=APISettings(rate_per_minute=1))
    with TestClient(create_app(settings, resource_factory=open_with_fake_model)) as client:
        wait_ready(client)
        before = _samples(client)
        assert client.post("/v1/ask", json=ASK).status_code == 200
        assert client.post("/v1/ask", json=ASK).status_code == 429
        assert client.get(f"/v1/sources/{corpus.script_id}").status_code == 200
        assert client.get("/no/such/page").status_code == 404
        after = _samples(client)
        scrape = client.get("/metrics")

    def grew(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    requests = "coop_http_requests_total"
    assert grew(requests, method="POST", route="/v1/ask", status="200") == 1
    assert grew(requests, method="POST", route="/v1/ask", status="429") == 1
    assert grew(requests, method="GET", route="/v1/sources/{doc_id}", status="200") == 1
    assert grew(requests, method="GET", route="unmatched", status="404") == 1
    assert grew("coop_http_request_duration_seconds_count", method="POST", route="/v1/ask") == 2
    assert grew("coop_rate_limited_total") == 1
    assert _value(after, "coop_http_requests_in_progress") >= 1  # the scrape itself
    routes = {dict(labels).get("route") for _, labels in after}
    assert corpus.script_id not in str(routes)
    assert "/no/such/page" not in routes
    assert scrape.headers["content-type"].startswith("text/plain")


def test_answers_and_ingests_are_counted(client: TestClient) -> None:
    before = _samples(client)
    observability.record_answer(found=True, mode="extractive", audience="staff", route="/v1/ask")
    observability.record_answer(found=False, mode="extractive", audience="staff", route="/v1/ask")
    observability.record_answer(found=False, mode="extractive", audience="staff", route="/v1/ask")
    observability.record_ingest(added=3, changed=1, removed=0, failed=2)
    after = _samples(client)

    def grew(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    answers = "coop_answers_total"
    common = {"mode": "extractive", "audience": "staff", "route": "/v1/ask"}
    assert grew(answers, found="true", **common) == 1
    assert grew(answers, found="false", **common) == 2
    files = "coop_ingest_files_total"
    assert [grew(files, outcome=o) for o in ("added", "changed", "removed", "failed")] == [
        3,
        1,
        0,
        2,
    ]


def test_metrics_are_public_documented_and_survive_many_apps(corpus: Corpus) -> None:
    for _ in range(3):  # as a test session or a reloading server builds apps again and again
        app = create_app(corpus.settings, resource_factory=open_with_fake_model)
        with TestClient(app) as client:
            response = client.get("/metrics")  # no key, though staff keys are configured
            assert response.status_code == 200
            assert "coop_http_requests_total" in response.text
    operation = app.openapi()["paths"]["/metrics"]["get"]
    assert operation["tags"] == ["operations"]
    assert "text/plain" in operation["responses"]["200"]["content"]


_WORKERS = """
import multiprocessing
import sys
from pathlib import Path

from assistant.api import observability


def worker(found: bool) -> None:
    observability.record_answer(found=found, mode="extractive", audience="public", route="/v1/ask")
    observability.record_ingest(added=1, changed=0, removed=0, failed=0)


if __name__ == "__main__":
    observability.prepare_multiprocess_metrics(Path(sys.argv[1]))
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=worker, args=(found,)) for found in (True, True, False)]
    for process in workers:
        process.start()
    for process in workers:
        process.join()
        assert process.exitcode == 0
    sys.stdout.write(observability.exposition().decode())
"""


def test_metrics_of_several_workers_are_added_up(tmp_path: Path) -> None:
    """What `coop serve --workers N` does: each worker counts, `/metrics` shows the sum, and
    files left by an earlier run are cleared first."""
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_999999.db").write_bytes(b"left over from an earlier run")
    script = tmp_path / "workers.py"
    script.write_text(textwrap.dedent(_WORKERS), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(script), str(directory)],
        cwd=REPO,
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    samples = {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(result.stdout.decode())
        for sample in family.samples
    }
    common = {"mode": "extractive", "audience": "public", "route": "/v1/ask"}
    assert _value(samples, "coop_answers_total", found="true", **common) == 2
    assert _value(samples, "coop_answers_total", found="false", **common) == 1
    assert _value(samples, "coop_ingest_files_total", outcome="added") == 3
    assert not (directory / "counter_999999.db").exists()
