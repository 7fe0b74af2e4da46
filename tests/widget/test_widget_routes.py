"""`GET /widget.js` and `GET /` (the demo page): what a site owner's page and a browser receive,
before any JavaScript runs."""

from __future__ import annotations

import base64
import hashlib
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assistant.api.app import create_app
from assistant.resources import Resources
from assistant.settings import Settings
from bots.widget import read_asset
from tests.conftest import make_settings

ALLOWED_ORIGIN = "https://institute.example.org"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    """An app whose model and stores are still loading: the widget must not need them."""
    release = threading.Event()

    def still_loading(settings: Settings) -> Resources:
        release.wait(timeout=30)
        raise RuntimeError("this test serves static files only")

    settings = make_settings(tmp_path / "var", cors_origins=[ALLOWED_ORIGIN])
    with TestClient(create_app(settings, resource_factory=still_loading)) as test_client:
        try:
            yield test_client
        finally:
            release.set()


def test_widget_script_is_javascript_with_short_caching_and_an_etag(client: TestClient) -> None:
    response = client.get("/widget.js")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/javascript; charset=utf-8"
    max_age = re.search(r"max-age=(\d+)", response.headers["cache-control"])
    assert max_age is not None and 0 < int(max_age.group(1)) <= 3600
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.content == read_asset("widget.js")
    assert "customElements.define" in response.text


def test_widget_script_answers_304_when_the_browser_has_it(client: TestClient) -> None:
    etag = client.get("/widget.js").headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')
    cached = client.get("/widget.js", headers={"If-None-Match": etag})
    assert cached.status_code == 304
    assert cached.content == b""
    assert cached.headers["etag"] == etag
    stale = client.get("/widget.js", headers={"If-None-Match": '"something-older"'})
    assert stale.status_code == 200 and stale.content


def test_widget_is_served_while_the_assistant_is_still_loading(client: TestClient) -> None:
    assert client.get("/readyz").status_code == 503
    assert client.get("/widget.js").status_code == 200
    assert client.get("/").status_code == 200


def test_widget_script_is_small_and_never_builds_html_from_strings() -> None:
    script = read_asset("widget.js")
    assert len(script) < 25 * 1024, f"widget.js is {len(script)} bytes; keep it under 25 KB"
    text = script.decode("utf-8")
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in text, f"widget.js uses {sink}"
    # The widget is always a visitor: it never sends credentials of any kind.
    assert "Authorization" not in text
    assert 'credentials: "omit"' in text


def test_demo_page_embeds_the_widget_from_this_server(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = response.text
    assert '<html lang="en">' in page
    tag = re.search(r"<script [^>]*src=\"/widget.js\"[^>]*>", page)
    assert tag is not None, "the demo page must load the widget from this server"
    assert "defer" in tag.group(0)
    assert page.count("<script") == 1, "the widget is the demo page's only script"


def test_demo_page_policy_allows_its_own_script_and_styles_only(client: TestClient) -> None:
    response = client.get("/")
    policy = dict(
        part.strip().split(" ", 1)
        for part in response.headers["content-security-policy"].split(";")
        if part.strip()
    )
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert policy["connect-src"] == "'self'"
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    style = re.search(r"<style>(.*?)</style>", response.text, re.DOTALL)
    assert style is not None
    digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
    assert policy["style-src"] == f"'sha256-{digest}'"


def test_widget_routes_are_documented_under_their_own_tag(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert paths["/widget.js"]["get"]["tags"] == ["widget"]
    assert "application/javascript" in paths["/widget.js"]["get"]["responses"]["200"]["content"]
    assert paths["/"]["get"]["tags"] == ["widget"]
    assert "text/html" in paths["/"]["get"]["responses"]["200"]["content"]


def test_cors_lets_allowed_sites_read_rate_limit_waits_and_refuses_others(
    client: TestClient,
) -> None:
    """The browser half of 'works only from allowed origins': the preflight the widget's POST
    needs succeeds for an allowed origin and fails for any other."""
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type",
    }
    allowed = client.options("/v1/ask/stream", headers={"Origin": ALLOWED_ORIGIN, **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "content-type" in allowed.headers["access-control-allow-headers"].lower()
    refused = client.options(
        "/v1/ask/stream", headers={"Origin": "https://elsewhere.example.com", **preflight}
    )
    assert "access-control-allow-origin" not in refused.headers
    simple = client.get("/healthz", headers={"Origin": ALLOWED_ORIGIN})
    assert "retry-after" in simple.headers["access-control-expose-headers"].lower()


def test_read_asset_serves_only_the_widget_files() -> None:
    assert read_asset("demo.html").startswith(b"<!doctype html>")
    with pytest.raises(ValueError, match="not a widget asset"):
        read_asset("../__init__.py")
