"""The website help widget: a plain JavaScript custom element (`widget.js`) and a demo page of an
institute website that embeds it (`demo.html`). Both are static files, served by the API
(`assistant.api.routes_widget`) as they are: nothing is built."""

from __future__ import annotations

from importlib import resources

ASSETS = frozenset({"widget.js", "demo.html"})


def read_asset(name: str) -> bytes:
    """The bytes of one of the widget's static files (`widget.js` or `demo.html`)."""
    if name not in ASSETS:
        raise ValueError(f"not a widget asset: {name!r} (expected one of {sorted(ASSETS)})")
    return resources.files(__name__).joinpath(name).read_bytes()
