"""The help widget in a real browser: Debian's Chromium driven by Playwright, against a real API
server (uvicorn on a loopback port) and, for the cross-origin cases, plain "host" pages served
from other origins, as a site owner would embed it.

Chromium is never downloaded: `scripts/install_chromium.sh` installs Debian's package.
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect, sync_playwright

from assistant.api.app import create_app
from assistant.resources import Resources, open_resources
from assistant.settings import APISettings, Settings
from ingest.sync import IngestService
from tests.conftest import REPO, SAMPLE_DIR, FakeEmbedder, free_port, make_settings, wait_http

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
DOCS = REPO / "docs"
QUESTION = "What did the Ministry of Labor sign with the Skolkovo Foundation?"
MARKUP = "<img src=x onerror=alert(1)>"
MARKUP_QUESTION = "What did the Wombat Institute sign with Quokka University?"
UNANSWERABLE = "What is the recipe for borscht with beetroot?"
HOSTILE_CSS = (
    "* { color: red !important; background: yellow !important; font: 30px/3 serif !important;"
    " border: 4px dashed red !important; }"
    " button, textarea { display: none !important; }"
    " div { position: static !important; }"
)
CHROMIUM_MISSING = f"{CHROMIUM} is missing: run scripts/install_chromium.sh (Debian's chromium)"


# --- servers -------------------------------------------------------------------------------


class ApiServer:
    """`create_app(settings)` served by uvicorn in a background thread on 127.0.0.1."""

    def __init__(self, settings: Settings, factory: Callable[[Settings], Resources]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_app(settings, resource_factory=factory),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            timeout_graceful_shutdown=5,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self, ready: bool = True) -> ApiServer:
        self._thread.start()
        wait_http(f"{self.url}/healthz", timeout=60)
        if ready:
            wait_http(f"{self.url}/readyz", timeout=120)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=30)


SLOW_START = {"session_id": "slow", "answer_id": "b" * 32, "language": "en"}
SLOW_TEXT = "The first part of a slow answer"


class HostSite:
    """A plain static web site on its own origin, serving the pages added to it. Its
    `POST /v1/ask/stream` stands in for an assistant that starts an answer and then stalls."""

    def __init__(self) -> None:
        pages: dict[str, bytes] = {}
        self._pages = pages
        self.stall = stall = threading.Event()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(self.path.split("?")[0])
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(body or b"not found")

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                try:
                    self.wfile.write(
                        f"event: start\ndata: {json.dumps(SLOW_START)}\n\n"
                        f"event: delta\ndata: {json.dumps({'text': SLOW_TEXT})}\n\n".encode()
                    )
                    self.wfile.flush()
                except OSError:
                    return
                stall.wait(timeout=30)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.port = free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def add(self, html: str) -> str:
        """Serve `html` at a new path; returns its URL."""
        path = f"/page-{len(self._pages)}.html"
        self._pages[path] = html.encode("utf-8")
        return f"{self.origin}{path}"

    def stop(self) -> None:
        self.stall.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=10)


def host_page(
    api: str,
    lang: str = "en",
    data_lang: str | None = None,
    css: str = "",
    data_api: str | None = None,
) -> str:
    """A page as a site owner writes it: their own markup and CSS, plus the widget's tag
    (the script from `api`, asking `data_api`, by default the same server)."""
    data_lang_attr = f' data-lang="{data_lang}"' if data_lang else ""
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>Partner page</title><style>{css}</style></head><body>"
        "<h1>Partner university</h1>"
        '<p class="msg launcher panel" id="own">The host page\'s own paragraph.</p>'
        f'<script src="{api}/widget.js" data-api="{data_api or api}"{data_lang_attr} defer>'
        "</script>"
        "</body></html>"
    )


def build_corpus(data_dir: Path, embedder: Any, extra: dict[str, str] | None = None) -> Settings:
    """Ingest the sample documents (plus `extra` files) as public documents under `data_dir`."""
    public = data_dir.parent / f"{data_dir.name}-documents"
    shutil.copytree(SAMPLE_DIR, public)
    for name, text in (extra or {}).items():
        (public / name).write_text(text, encoding="utf-8")
    settings = make_settings(data_dir, api=APISettings(rate_per_minute=0))
    resources = open_resources(settings, embedder=embedder)
    try:
        assert resources.embedder is not None
        service = IngestService(
            settings, resources.facts, resources.vectors, resources.lexical, resources.embedder
        )
        assert not service.ingest([public], "public").failed
    finally:
        resources.close()
    return settings


def fake_model(settings: Settings) -> Resources:
    return open_resources(settings, embedder=FakeEmbedder())


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Sample documents and a public page whose sentence carries live-looking markup."""
    with pytest.MonkeyPatch.context() as patch:  # as the autouse fixture does, for this module
        for name in [name for name in os.environ if name.startswith("COOP_")]:
            patch.delenv(name)
        patch.setenv("ANONYMIZED_TELEMETRY", "False")
        return build_corpus(
            tmp_path_factory.mktemp("widget") / "var",
            FakeEmbedder(),
            {
                "wombat.txt": "Wombat Institute news\n\nThe Wombat Institute signed a partnership "
                f"agreement with {MARKUP} Quokka University in March 2024.\n"
            },
        )


@pytest.fixture(scope="module")
def sites() -> Iterator[tuple[HostSite, HostSite]]:
    """Two host sites: the first's origin is on the API's CORS allowlist, the second's is not."""
    allowed, other = HostSite(), HostSite()
    yield allowed, other
    allowed.stop()
    other.stop()


@pytest.fixture(scope="module")
def api(corpus: Settings, sites: tuple[HostSite, HostSite]) -> Iterator[str]:
    """The API over the corpus with the fake embedder; only the first host site may use it."""
    settings = corpus.model_copy(update={"cors_origins": [sites[0].origin]})
    server = ApiServer(settings, fake_model).start()
    yield server.url
    server.stop()


# --- browser -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(CHROMIUM_MISSING)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox"], headless=True
        )
        yield launched
        launched.close()


@dataclass
class Tab:
    """One browser tab with what it reported: JavaScript dialogs and console errors."""

    context: BrowserContext
    page: Page
    dialogs: list[str]
    errors: list[str]

    @property
    def widget(self) -> Locator:
        return self.page.locator("coop-assistant")

    def open_widget(self, name: str = "Ask the assistant") -> None:
        self.page.get_by_role("button", name=name).click()
        expect(self.page.get_by_role("dialog")).to_be_visible()

    def ask(self, question: str) -> Locator:
        """Type and send a question; the answer's message, once finished (or failed)."""
        box = self.page.get_by_role("textbox")
        before = self.widget.locator(".msg.a").count()
        box.fill(question)
        box.press("Enter")
        answer = self.widget.locator(".msg.a").nth(before)
        expect(answer).to_have_attribute("aria-busy", "false", timeout=30_000)
        return answer


@pytest.fixture
def tab(browser: Browser) -> Iterator[Callable[..., Tab]]:
    opened: list[BrowserContext] = []

    def open_tab(url: str, width: int = 1280, height: int = 800, scale: float = 1) -> Tab:
        context = browser.new_context(
            viewport={"width": width, "height": height}, device_scale_factor=scale
        )
        opened.append(context)
        page = context.new_page()
        dialogs: list[str] = []
        errors: list[str] = []

        def on_dialog(dialog: Any) -> None:
            dialogs.append(dialog.message)
            dialog.dismiss()

        page.on("dialog", on_dialog)
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(url)
        expect(page.locator("coop-assistant")).to_be_attached()
        return Tab(context, page, dialogs, errors)

    yield open_tab
    for context in opened:
        context.close()


# --- tests ---------------------------------------------------------------------------------


def shadow(tab: Tab, script: str) -> Any:
    """Evaluate `script` (a function of the widget's shadow root) in the page."""
    return tab.widget.evaluate(f"host => ({script})(host.shadowRoot)")


def sse_events(body: str) -> list[tuple[str, Any]]:
    """The (event, data) pairs of a server-sent event stream with JSON data."""
    events = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.split("\n") if ": " in line)
        if "event" in fields:
            events.append((fields["event"], json.loads(fields["data"])))
    return events


def focused(tab: Tab) -> str:
    """What has the keyboard focus: `launcher`, the id of an element inside the widget, or the
    tag of a page element."""
    return str(
        tab.page.evaluate(
            """() => {
              const host = document.activeElement;
              if (host?.localName !== 'coop-assistant') return host?.localName || '';
              const inner = host.shadowRoot.activeElement;
              if (inner?.classList.contains('launcher')) return 'launcher';
              return inner?.id || inner?.localName || '';
            }"""
        )
    )


# --- tests ---------------------------------------------------------------------------------


def test_question_streams_an_answer_whose_citation_opens_the_highlighted_quote(
    api: str, tab: Callable[..., Tab]
) -> None:
    t = tab(f"{api}/")
    t.open_widget()
    dialog = t.page.get_by_role("dialog", name="Cooperation assistant")
    expect(dialog).to_be_visible()
    expect(t.page.get_by_role("log", name="Conversation")).to_have_attribute("aria-live", "polite")
    with t.page.expect_response(f"{api}/v1/ask/stream") as streamed:
        answer = t.ask(QUESTION)
    assert streamed.value.headers["content-type"].startswith("text/event-stream")
    events = sse_events(streamed.value.text())
    assert [name for name, _ in events][:2] == ["start", "delta"]
    deltas = [data["text"] for name, data in events if name == "delta"]
    assert len(deltas) > 1, "the answer should come in pieces"
    # (That pieces show while the stream is still open is tested with a stalled stream below.)
    shown = answer.locator(".t").evaluate("e => e.textContent")
    assert shown == "".join(deltas) == events[-1][1]["answer"]
    assert "Skolkovo" in shown

    citation = answer.locator("a.cite").first
    expect(citation).to_have_text("[1]")
    href = citation.get_attribute("href") or ""
    assert href.startswith(f"{api}/sources/")
    assert citation.get_attribute("target") == "_blank"
    assert "noopener" in (citation.get_attribute("rel") or "")
    quote = answer.locator(".src li").first.locator("q").inner_text().rstrip("…")
    with t.context.expect_page() as opened:
        citation.click()
    viewer = opened.value
    viewer.wait_for_load_state()
    assert viewer.url == href
    mark = viewer.locator("mark#quote")
    expect(mark).to_be_visible()
    expect(mark).to_be_in_viewport()
    assert mark.inner_text().startswith(quote)
    assert t.errors == []


def test_answer_not_in_the_documents_is_shown_distinctly(api: str, tab: Callable[..., Tab]) -> None:
    t = tab(f"{api}/")
    t.open_widget()
    found = t.ask(QUESTION)
    not_found = t.ask(UNANSWERABLE)
    expect(not_found.get_by_text("Not in the documents", exact=True)).to_be_visible()
    expect(found.get_by_text("Not in the documents", exact=True)).to_have_count(0)
    found_look = found.evaluate("e => getComputedStyle(e).backgroundColor")
    not_found_look = not_found.evaluate("e => getComputedStyle(e).backgroundColor")
    assert found_look != not_found_look
    expect(not_found.locator("a.cite")).to_have_count(0)


def test_starter_question_then_thumbs_up_is_recorded(api: str, tab: Callable[..., Tab]) -> None:
    t = tab(f"{api}/")
    t.open_widget()
    starters = t.widget.locator(".starters button")
    expect(starters).to_have_count(4)
    expect(starters.first).to_have_text("Which agreements expire this year?")
    starters.first.click()
    answer = t.widget.locator(".msg.a").last
    expect(answer).to_have_attribute("aria-busy", "false", timeout=30_000)
    expect(t.widget.locator(".msg.u")).to_have_text("You: Which agreements expire this year?")
    expect(t.widget.locator(".starters")).to_have_count(0)
    with t.page.expect_response(f"{api}/v1/feedback") as posted:
        answer.get_by_role("button", name="Helpful", exact=True).click()
    assert posted.value.status == 201
    body = json.loads(posted.value.request.post_data or "{}")
    assert body["rating"] == "up" and len(body["answer_id"]) == 32
    expect(answer.get_by_role("status")).to_have_text("Thank you for the feedback.")
    expect(answer.get_by_role("button", name="Helpful", exact=True)).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(answer.get_by_role("button", name="Not helpful")).to_be_disabled()


def test_conversation_survives_a_reload_of_the_tab_and_continues_the_session(
    api: str, tab: Callable[..., Tab]
) -> None:
    t = tab(f"{api}/")
    t.open_widget()
    with t.page.expect_response(f"{api}/v1/ask/stream") as first:
        t.ask(QUESTION)
    session_id = sse_events(first.value.text())[0][1]["session_id"]
    t.page.reload()
    expect(t.page.get_by_role("dialog")).to_be_visible()  # it was open: it stays open
    expect(t.widget.locator(".msg.u")).to_have_text([f"You: {QUESTION}"])
    expect(t.widget.locator(".msg.a a.cite").first).to_have_text("[1]")
    with t.page.expect_request(f"{api}/v1/ask/stream") as follow_up:
        t.ask("And when was it signed?")
    assert json.loads(follow_up.value.post_data or "{}")["session_id"] == session_id
    # A new conversation forgets the old one, also across reloads.
    t.page.get_by_role("button", name="New conversation").click()
    expect(t.widget.locator(".msg.u")).to_have_count(0)
    t.page.reload()
    expect(t.widget.locator(".starters")).to_be_visible()


def test_host_page_css_does_not_leak_in_nor_out_and_cors_lets_the_allowed_site_ask(
    api: str, sites: tuple[HostSite, HostSite], tab: Callable[..., Tab]
) -> None:
    allowed, _ = sites
    t = tab(allowed.add(host_page(api, css=HOSTILE_CSS)))
    launcher = t.page.get_by_role("button", name="Ask the assistant")
    expect(launcher).to_be_visible()
    assert launcher.evaluate("e => getComputedStyle(e).color") == "rgb(255, 255, 255)"
    assert launcher.evaluate("e => getComputedStyle(e).position") == "fixed"
    t.open_widget()
    answer = t.ask(QUESTION)
    expect(answer.locator("a.cite").first).to_be_visible()
    for element in (answer, answer.locator(".t"), t.page.get_by_role("textbox")):
        style = element.evaluate(
            "e => { const s = getComputedStyle(e);"
            " return [s.color, s.fontSize, s.fontFamily, s.borderStyle, s.display]; }"
        )
        assert style[0] != "rgb(255, 0, 0)" and style[1] == "15px", style
        assert style[2] != "serif" and "dashed" not in style[3] and style[4] != "none", style
    # ... and the widget's own rules (.msg, .launcher, .panel) do not touch the host page.
    own = t.page.locator("#own")
    assert own.evaluate("e => getComputedStyle(e).position") == "static"
    assert own.evaluate("e => getComputedStyle(e).color") == "rgb(255, 0, 0)"
    assert t.errors == []


@pytest.mark.parametrize("where", ["origin not allowed", "server down"])
def test_widget_says_plainly_when_it_cannot_reach_the_assistant(
    where: str, api: str, sites: tuple[HostSite, HostSite], tab: Callable[..., Tab]
) -> None:
    allowed, other = sites
    if where == "origin not allowed":
        url = other.add(host_page(api))
    else:
        url = allowed.add(host_page(api, data_api=f"http://127.0.0.1:{free_port()}"))
    t = tab(url)
    t.open_widget()
    answer = t.ask(QUESTION)
    expect(answer.get_by_role("alert")).to_have_text(
        "Cannot reach the assistant. Check your connection, or try again later."
    )
    expect(answer.get_by_role("button", name="Try again")).to_be_visible()
    # The question is kept, and the visitor can try again.
    expect(t.widget.locator(".msg.u")).to_have_text([f"You: {QUESTION}"])
    answer.get_by_role("button", name="Try again").click()
    expect(t.widget.locator(".msg.u")).to_have_count(1)
    expect(t.widget.locator(".msg.a").last.get_by_role("alert")).to_be_visible()


def test_markup_in_documents_stays_inert_text(api: str, tab: Callable[..., Tab]) -> None:
    t = tab(f"{api}/")
    t.open_widget()
    answer = t.ask(MARKUP_QUESTION)
    expect(answer.locator(".t")).to_contain_text(MARKUP)
    expect(answer.locator(".src q").filter(has_text=MARKUP)).to_have_count(1)
    assert shadow(t, "root => root.querySelectorAll('img, script, iframe').length") == 0
    assert t.page.evaluate("document.querySelectorAll('img').length") == 0
    with t.context.expect_page() as opened:
        answer.locator("a.cite").last.click()
    viewer = opened.value
    expect(viewer.locator("mark#quote")).to_contain_text(MARKUP)
    assert viewer.evaluate("document.querySelectorAll('img').length") == 0
    t.page.wait_for_timeout(300)  # an onerror handler would have fired by now
    assert t.dialogs == []


def test_keyboard_alone_opens_asks_reads_and_closes(api: str, tab: Callable[..., Tab]) -> None:
    t = tab(f"{api}/")
    for _ in range(40):
        if focused(t) == "launcher":
            break
        t.page.keyboard.press("Tab")
    assert focused(t) == "launcher", "Tab never reached the help button"
    launcher = t.page.get_by_role("button", name="Ask the assistant")
    expect(launcher).to_have_attribute("aria-expanded", "false")
    t.page.keyboard.press("Enter")
    expect(t.page.get_by_role("dialog")).to_be_visible()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    assert focused(t) == "q"
    expect(t.page.get_by_role("textbox", name="Your question")).to_be_focused()
    t.page.keyboard.type(QUESTION)
    t.page.keyboard.press("Enter")
    answer = t.widget.locator(".msg.a").last
    expect(answer).to_have_attribute("aria-busy", "false", timeout=30_000)
    expect(answer.locator("a.cite").first).to_be_visible()
    assert focused(t) == "q", "focus stays in the question box while the answer arrives"
    # Shift+Tab walks back into the conversation: its links and buttons are reachable.
    reached: list[str] = []
    for _ in range(8):
        t.page.keyboard.press("Shift+Tab")
        reached.append(shadow(t, "root => root.activeElement?.getAttribute('aria-label') || ''"))
    assert "Not helpful" in reached and "Helpful" in reached
    t.page.keyboard.press("Escape")
    expect(t.page.get_by_role("dialog")).to_be_hidden()
    expect(launcher).to_have_attribute("aria-expanded", "false")
    assert focused(t) == "launcher"
    t.page.keyboard.press("Enter")
    expect(t.widget.locator(".msg.u")).to_have_count(1)  # reopening keeps the conversation
    assert focused(t) == "q"


def test_phone_screen_of_360_pixels_is_usable(api: str, tab: Callable[..., Tab]) -> None:
    t = tab(f"{api}/", width=360, height=640)
    t.open_widget()
    panel = t.page.get_by_role("dialog").bounding_box()
    assert panel is not None
    assert panel["x"] >= 0 and panel["x"] + panel["width"] <= 360
    assert panel["y"] >= 0 and panel["y"] + panel["height"] <= 640
    answer = t.ask(QUESTION)
    for control in (
        t.page.get_by_role("textbox"),
        t.page.get_by_role("button", name="Send"),
        t.page.get_by_role("button", name="Close"),
        answer.locator("a.cite").first,
    ):
        expect(control).to_be_in_viewport()
    box = t.page.get_by_role("button", name="Send").bounding_box()
    assert box is not None and box["width"] >= 44 and box["height"] >= 44  # a finger's target
    overflow = shadow(
        t, "root => root.querySelector('.log').scrollWidth - root.querySelector('.log').clientWidth"
    )
    assert overflow <= 0, "the conversation scrolls sideways on a phone"


def test_russian_interface_from_the_page_language(
    api: str, sites: tuple[HostSite, HostSite], tab: Callable[..., Tab]
) -> None:
    allowed, _ = sites
    t = tab(allowed.add(host_page(api, lang="ru")))
    t.open_widget("Задать вопрос")
    expect(t.page.get_by_role("dialog", name="Помощник по сотрудничеству")).to_be_visible()
    expect(t.widget.locator(".starters button").first).to_have_text(
        "Какие соглашения истекают в этом году?"
    )
    expect(t.page.get_by_role("textbox", name="Ваш вопрос")).to_be_focused()
    # data-lang wins over the page's language.
    t2 = tab(allowed.add(host_page(api, lang="ru", data_lang="en")))
    expect(t2.page.get_by_role("button", name="Ask the assistant")).to_be_visible()


def test_errors_mid_stream_and_unsafe_citation_links(api: str, tab: Callable[..., Tab]) -> None:
    """The browser half of the stream contract with responses the real server does not give on
    demand: a failure mid-stream, and citations whose URLs point anywhere but the viewer."""
    t = tab(f"{api}/")
    evil = [
        {"n": 1, "url": "/sources/abc?start=0&end=5", "title": "Good", "quote": "fine"},
        {"n": 2, "url": "https://evil.example/sources/x", "title": "Elsewhere", "quote": "x"},
        {"n": 3, "url": "javascript:alert(1)//", "title": "Script", "quote": "y"},
        {"n": 4, "url": "/sources/../v1/admin", "title": "Escapes", "quote": "z"},
    ]
    body = "".join(
        f"event: {event}\ndata: {json.dumps(data)}\n\n"
        for event, data in [
            ("start", {"session_id": "s1", "answer_id": "a" * 32, "language": "en"}),
            ("delta", {"text": "Partly [1] [2] "}),
            ("delta", {"text": "[3] [4]"}),
            ("citations", {"citations": evil, "found": True}),
            ("error", {"detail": "The answer took too long; try again.", "status": 504}),
        ]
    )
    t.page.route(
        f"{api}/v1/ask/stream",
        lambda route: route.fulfill(status=200, content_type="text/event-stream", body=body),
    )
    t.open_widget()
    answer = t.ask(QUESTION)
    expect(answer.get_by_role("alert")).to_have_text("The answer took too long; try again.")
    links = answer.locator("a")
    expect(links).to_have_count(2)  # [1] in the text and in the source list; nothing else
    for href in links.evaluate_all("links => links.map(a => a.href)"):
        assert href == f"{api}/sources/abc?start=0&end=5"
    expect(answer.locator(".t")).to_have_text("Partly [1] [2] [3] [4]")


def test_rate_limited_and_starting_states_tell_the_visitor_when_to_retry(
    tmp_path: Path, tab: Callable[..., Tab]
) -> None:
    limited = build_corpus(tmp_path / "var", FakeEmbedder()).model_copy(
        update={"api": APISettings(rate_per_minute=1)}
    )
    server = ApiServer(limited, fake_model).start()
    release = threading.Event()

    def still_loading(settings: Settings) -> Resources:
        release.wait(timeout=60)
        raise RuntimeError("never ready in this test")

    starting = ApiServer(make_settings(tmp_path / "empty"), still_loading).start(ready=False)
    try:
        t = tab(f"{server.url}/")
        t.open_widget()
        t.ask(QUESTION)
        refused = t.ask("And when was it signed?")
        expect(refused.get_by_role("alert")).to_contain_text("Too many questions at once.")
        expect(t.page.get_by_role("button", name="Send")).to_be_disabled()
        expect(t.widget.locator(".hint")).to_contain_text("You can ask again in")

        t2 = tab(f"{starting.url}/")
        t2.open_widget()
        answer = t2.ask(QUESTION)
        expect(answer.get_by_role("alert")).to_have_text(
            "The assistant is starting up. Please try again in 5 s."
        )
    finally:
        release.set()
        server.stop()
        starting.stop()


def test_real_model_answer_and_screenshots(
    real_embedder: Any, tmp_path: Path, tab: Callable[..., Tab]
) -> None:
    """A real question answered with the real embedding model, as a visitor sees it on the demo
    page; saves the screenshots the README shows (docs/widget-desktop.png, widget-phone.png)."""
    settings = build_corpus(tmp_path / "var", real_embedder)
    server = ApiServer(settings, lambda s: open_resources(s, embedder=real_embedder)).start()
    try:
        DOCS.mkdir(exist_ok=True)
        for name, width, height in (("desktop", 1280, 800), ("phone", 360, 640)):
            t = tab(f"{server.url}/", width=width, height=height, scale=2 if name == "phone" else 1)
            t.open_widget()
            answer = t.ask(QUESTION)
            expect(answer.locator(".t")).to_contain_text("Skolkovo")
            citation = answer.locator("a.cite").first
            expect(citation).to_be_visible()
            quote = answer.locator(".src q").first.inner_text().rstrip("…")
            viewer_text = t.page.request.get(citation.get_attribute("href") or "").text()
            assert quote.replace("&", "&amp;")[:40] in viewer_text
            # Frame the exchange: the question at the top of the conversation.
            shadow(t, "root => [...root.querySelectorAll('.msg.u')].pop().scrollIntoView()")
            t.page.screenshot(path=str(DOCS / f"widget-{name}.png"))
            assert t.errors == []
    finally:
        server.stop()


def test_closing_the_panel_or_asking_again_stops_a_running_answer(
    api: str, sites: tuple[HostSite, HostSite], tab: Callable[..., Tab]
) -> None:
    allowed, _ = sites
    # The host site itself stands in for an assistant whose answers stall after a first part.
    t = tab(allowed.add(host_page(api, data_api=allowed.origin)))
    t.open_widget()
    box = t.page.get_by_role("textbox")
    box.fill("A first question")
    box.press("Enter")
    first = t.widget.locator(".msg.a").nth(1)
    expect(first.locator(".t")).to_have_text(SLOW_TEXT)
    expect(first).to_have_attribute("aria-busy", "true")
    box.fill("A second question replaces it")
    box.press("Enter")
    expect(first.get_by_role("alert")).to_have_text("Stopped.")
    expect(first).to_have_attribute("aria-busy", "false")
    second = t.widget.locator(".msg.a").nth(2)
    expect(second.locator(".t")).to_have_text(SLOW_TEXT)
    t.page.keyboard.press("Escape")
    t.open_widget()
    expect(second.get_by_role("alert")).to_have_text("Stopped.")
    expect(second.get_by_role("button", name="Try again")).to_be_visible()
