"""The website help widget: `GET /widget.js`, the script a site embeds with one tag, and `GET /`,
a demo page of an institute website with the widget in it.

Both are static files from `bots/widget/`, read once when the app is built and served as they are.
Neither needs the model or the stores, so they answer while the assistant is still loading.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request, Response

from assistant.settings import Settings
from bots.widget import read_asset

# Short, so that sites pick up a new version within minutes; revalidation is cheap (ETag).
SCRIPT_CACHE_CONTROL = "public, max-age=300"
DEMO_CACHE_CONTROL = "no-cache"
SCRIPT_MEDIA_TYPE = "application/javascript; charset=utf-8"
HTML_MEDIA_TYPE = "text/html; charset=utf-8"

_STYLE_BLOCK = re.compile(rb"<style>(.*?)</style>", re.DOTALL)


@dataclass(frozen=True)
class StaticFile:
    """A file served with a strong ETag, answering 304 to a matching `If-None-Match`."""

    body: bytes
    media_type: str
    headers: dict[str, str]

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'

    def response(self, request: Request) -> Response:
        headers = {"ETag": self.etag, **self.headers}
        if _etag_matches(request.headers.get("if-none-match"), self.etag):
            return Response(status_code=304, headers=headers)
        return Response(self.body, media_type=self.media_type, headers=headers)


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in candidates or etag in candidates


def demo_content_security_policy(page: bytes) -> str:
    """The demo page may run scripts from this server only (the widget), talk to this server
    only, and use its own inline styles (by hash); nothing else."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(block).digest()).decode() + "'"
        for block in _STYLE_BLOCK.findall(page)
    )
    styles = hashes or "'none'"
    return (
        "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' data:; "
        f"style-src {styles}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def install(app: FastAPI, settings: Settings) -> None:
    """Add `GET /widget.js` and `GET /` to `app`."""
    script = StaticFile(
        read_asset("widget.js"),
        SCRIPT_MEDIA_TYPE,
        {
            "Cache-Control": SCRIPT_CACHE_CONTROL,
            "X-Content-Type-Options": "nosniff",
            # Any site may load the script; what it can ask is decided by CORS on the API.
            "Cross-Origin-Resource-Policy": "cross-origin",
        },
    )
    page = read_asset("demo.html")
    demo = StaticFile(
        page,
        HTML_MEDIA_TYPE,
        {
            "Cache-Control": DEMO_CACHE_CONTROL,
            "Content-Security-Policy": demo_content_security_policy(page),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )
    not_modified: dict[int | str, dict[str, Any]] = {
        304: {"description": "Not modified: the `If-None-Match` ETag is current."}
    }

    @app.get(
        "/widget.js",
        tags=["widget"],
        response_class=Response,
        summary="The website help widget (plain JavaScript) to embed with one script tag",
        responses={
            200: {
                "content": {"application/javascript": {}},
                "description": 'The script. Embed it with `<script src=".../widget.js" '
                'data-api="https://assistant.example.org" data-lang="ru" defer></script>`.',
            },
            **not_modified,
        },
    )
    def widget_js(request: Request) -> Response:
        """The widget: a help button opening a chat panel that asks `POST /v1/ask/stream` as a
        visitor. The embedding page's origin must be listed in `COOP_CORS_ORIGINS`. Cached
        briefly (`Cache-Control: max-age`), revalidated by ETag."""
        return script.response(request)

    @app.get(
        "/",
        tags=["widget"],
        response_class=Response,
        summary="A demo page of an institute website with the widget embedded",
        responses={
            200: {"content": {"text/html": {}}, "description": "The demo page."},
            **not_modified,
        },
    )
    def demo_page(request: Request) -> Response:
        """An example international-cooperation web page with the help widget in it (served
        from this server, so it needs no CORS set-up)."""
        return demo.response(request)
