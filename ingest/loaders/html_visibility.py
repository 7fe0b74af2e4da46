"""Which parts of an HTML page a reader would not see: hidden by attribute, by inline style, by a
simple rule of the page's own `<style>` sheets, or by a colour that matches its background.

Text a visitor cannot see must not become text the assistant quotes: a page can carry hidden
instructions ("ignore previous instructions ...") or stale content nobody reviews. What counts:

- the `hidden` attribute (not `aria-hidden`, which hides from screen readers what the eye
  sees: often a visual duplicate of `sr-only` text, which is what is dropped instead);
- `display:none`, `visibility:hidden|collapse`, `opacity:0`, `font-size:0` (or under 2px),
  `color:transparent`, `transform:scale(0)`, zero `width`/`height`/`max-height` with
  `overflow:hidden`, `clip:rect(0...)` or `clip-path:inset(50%)`, and positioning far off screen
  (`left`, `top`, `text-indent` or `margin-left` of -999px or less);
- the class names frameworks use for hiding (`hidden`, `d-none`, `sr-only`, ...);
- text whose colour (inherited or its own) is nearly the same as its background (contrast ratio
  under 1.1): `faint` says so for the text directly inside an element, whose children may well
  be visible. Undeclared colours count as the browser's black on white unless the page links an
  external stylesheet, whose colours cannot be known.

Only simple rules of inline `<style>` sheets are read (`tag`, `.class`, `#id` and their
compounds, comma-separated); rules inside `@media` and other at-rules are ignored.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import TypeGuard

from bs4 import BeautifulSoup
from bs4.element import Tag

HIDING_CLASSES = frozenset(
    {"hidden", "d-none", "sr-only", "visually-hidden", "visuallyhidden", "screen-reader-text",
     "invisible", "is-hidden", "hide", "hidden-xs-up"}
)  # fmt: skip
_COMMENTS = re.compile(r"/\*.*?\*/", re.DOTALL)
_SIMPLE_SELECTOR = re.compile(r"^([a-zA-Z][\w-]*)?((?:[.#][\w-]+)*)$")
_LENGTH = re.compile(r"^(-?\d*\.?\d+)\s*(px|pt|em|rem|%|vh|vw)?$")
_FAR_OFF = -999.0
_MIN_CONTRAST = 1.1
_NAMED = {
    "white": (255, 255, 255), "black": (0, 0, 0), "red": (255, 0, 0), "green": (0, 128, 0),
    "blue": (0, 0, 255), "yellow": (255, 255, 0), "gray": (128, 128, 128),
    "grey": (128, 128, 128), "silver": (192, 192, 192), "navy": (0, 0, 128),
    "snow": (255, 250, 250), "ivory": (255, 255, 240), "whitesmoke": (245, 245, 245),
}  # fmt: skip
Colour = tuple[int, int, int] | None  # None: transparent
TRANSPARENT: Colour = None


@functools.lru_cache(maxsize=1024)
def declarations(style: str) -> dict[str, str]:
    """`property: value` pairs of a CSS declaration block, lower-cased, `!important` dropped.
    (Cached: do not change the dict returned.)"""
    found: dict[str, str] = {}
    for part in _COMMENTS.sub(" ", style).split(";"):
        name, colon, value = part.partition(":")
        if colon:
            value = value.lower().replace("!important", "").strip()
            found[name.strip().lower()] = " ".join(value.split())
    return found


def _length(value: str) -> float | None:
    match = _LENGTH.match(value.strip())
    if match is None:
        return None
    number = float(match.group(1))
    unit = match.group(2) or "px"
    return number * 16 if unit in ("em", "rem") else number * 1.333 if unit == "pt" else number


def hidden_by_declarations(decls: dict[str, str]) -> bool:
    """Whether these declarations alone make an element's text invisible."""
    if not decls:
        return False
    if decls.get("display") == "none" or decls.get("visibility") in ("hidden", "collapse"):
        return True
    opacity = _length(decls.get("opacity", "1").removesuffix("%"))
    if opacity is not None and opacity <= 0:
        return True
    size = decls.get("font-size")
    if size is not None:
        pixels = _length(size)
        if pixels is not None and pixels < 2 and not size.endswith("%"):
            return True
        if pixels is not None and size.endswith("%") and pixels <= 0:
            return True
    if re.search(r"scale\(\s*0(\.0+)?\s*[,)]", decls.get("transform", "")):
        return True
    clip = decls.get("clip", "") + " " + decls.get("clip-path", "")
    if re.search(r"rect\(\s*0(px)?[\s,]+0|inset\(\s*50%|circle\(\s*0", clip):
        return True
    overflow = decls.get("overflow", "")
    if overflow in ("hidden", "clip"):
        for name in ("width", "height", "max-height", "max-width"):
            size_px = _length(decls.get(name, "1"))
            if size_px is not None and size_px <= 1:
                return True
    for name in ("left", "top", "text-indent", "margin-left", "right"):
        offset = _length(decls.get(name, "0"))
        if offset is not None and offset <= _FAR_OFF:
            return True
    return parse_colour(decls.get("color", "")) is TRANSPARENT and "color" in decls


def parse_colour(value: str) -> Colour | bool:
    """An RGB triple, `TRANSPARENT` (None), or False when the value is not understood."""
    value = value.strip().lower()
    if value in _NAMED:
        return _NAMED[value]
    if value == "transparent":
        return TRANSPARENT
    if re.fullmatch(r"#[0-9a-f]{3,4}", value):
        r, g, b = (int(c * 2, 16) for c in value[1:4])
        return TRANSPARENT if len(value) == 5 and value[4] == "0" else (r, g, b)
    if re.fullmatch(r"#[0-9a-f]{6}([0-9a-f]{2})?", value):
        if len(value) == 9 and value[7:] == "00":
            return TRANSPARENT
        return (int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16))
    match = re.fullmatch(r"rgba?\(([^)]*)\)", value)
    if match:
        parts = [p for p in re.split(r"[\s,/]+", match.group(1)) if p]
        try:
            channels = [_channel(p) for p in parts[:3]]
            alpha = float(parts[3].removesuffix("%")) if len(parts) > 3 else 1.0
        except ValueError:
            return False
        if len(channels) == 3:
            return TRANSPARENT if alpha <= 0 else (channels[0], channels[1], channels[2])
    return False


def _channel(part: str) -> int:
    if part.endswith("%"):
        return round(float(part[:-1]) * 2.55)
    return round(float(part))


def _background(decls: dict[str, str]) -> Colour | bool:
    if "background-color" in decls:
        return parse_colour(decls["background-color"])
    if "background" in decls:
        value = decls["background"]
        if "url(" in value or "gradient" in value:
            return False  # an image: its colours are unknown
        return parse_colour(value.split()[0]) if value else False
    return False


def _luminance(colour: tuple[int, int, int]) -> float:
    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


@functools.lru_cache(maxsize=256)
def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    """The WCAG contrast ratio of two colours (1 = identical, 21 = black on white)."""
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@dataclass
class _Rule:
    tag: str | None
    ident: str | None
    classes: frozenset[str]
    decls: dict[str, str]

    def matches(self, tag: Tag) -> bool:
        if self.tag is not None and tag.name != self.tag:
            return False
        if self.ident is not None and tag.get("id") != self.ident:
            return False
        return self.classes <= _classes(tag)


def _classes(tag: Tag) -> set[str]:
    value = tag.get("class")
    if value is None:
        return set()
    return set(value.split() if isinstance(value, str) else value)


def _rules(css: str) -> list[_Rule]:
    """The simple top-level rules of a style sheet (at-rule blocks are skipped)."""
    css = _COMMENTS.sub(" ", css)
    rules: list[_Rule] = []
    depth, start, selector = 0, 0, ""
    for i, char in enumerate(css):
        if char == "{":
            if depth == 0:
                selector = css[start:i].strip()
                start = i + 1
            depth += 1
        elif char == "}":
            depth = max(depth - 1, 0)
            if depth == 0:
                if not selector.startswith("@"):
                    rules.extend(_rules_for(selector, declarations(css[start:i])))
                start = i + 1
        elif char == ";" and depth == 0:
            start = i + 1  # e.g. @import ...;
    return rules


def _rules_for(selectors: str, decls: dict[str, str]) -> list[_Rule]:
    rules = []
    for raw in selectors.split(","):
        match = _SIMPLE_SELECTOR.match(raw.strip())
        if match is None or not raw.strip():
            continue
        parts = re.findall(r"[.#][\w-]+", match.group(2))
        idents = [p[1:] for p in parts if p.startswith("#")]
        rules.append(
            _Rule(
                tag=match.group(1).lower() if match.group(1) else None,
                ident=idents[0] if idents else None,
                classes=frozenset(p[1:] for p in parts if p.startswith(".")),
                decls=decls,
            )
        )
    return rules


@dataclass
class PageVisibility:
    """Decides, element by element, whether a page's reader would see its text."""

    rules: list[_Rule] = field(default_factory=list)
    colours_known: bool = True
    _cache: dict[int, _State] = field(default_factory=dict)

    @classmethod
    def of(cls, soup: BeautifulSoup) -> PageVisibility:
        """The page's own style rules, and whether its default colours can be known."""
        rules: list[_Rule] = []
        for sheet in soup.find_all("style"):
            rules.extend(_rules(sheet.get_text()))
        linked = any(
            "stylesheet" in str(link.get("rel", "")).lower()
            or "stylesheet" in [str(r).lower() for r in (link.get("rel") or [])]
            for link in soup.find_all("link")
            if isinstance(link, Tag)
        )
        return cls(rules=rules, colours_known=not linked)

    def style_of(self, tag: Tag) -> dict[str, str]:
        """The declarations that apply to `tag`: matching rules in order, then its inline style."""
        inline = declarations(str(tag.get("style", "")))
        matching = [rule.decls for rule in self.rules if rule.matches(tag)]
        if not matching:
            return inline
        decls: dict[str, str] = {}
        for rule_decls in matching:
            decls.update(rule_decls)
        decls.update(inline)
        return decls

    def hidden(self, tag: Tag) -> bool:
        """Whether `tag` itself hides everything in it (ancestors are not looked at, except for
        the colours it inherits)."""
        return self._state(tag).hidden

    def faint(self, tag: Tag) -> bool:
        """Whether the text directly inside `tag` has (nearly) the colour of its background."""
        return self._state(tag).faint

    def _state(self, tag: Tag) -> _State:
        key = id(tag)
        if key not in self._cache:
            chain = [tag]  # the ancestors not yet known, computed from the top down
            parent = tag.parent
            while _is_element(parent) and id(parent) not in self._cache:
                chain.append(parent)
                parent = parent.parent
            for element in reversed(chain):
                self._cache[id(element)] = self._compute(element)
        return self._cache[key]

    def _compute(self, tag: Tag) -> _State:
        parent = tag.parent
        inherited: _State | None = None
        if _is_element(parent):
            inherited = self._cache[id(parent)]
            colour, background = inherited.colour, inherited.background
        elif self.colours_known:
            colour, background = (0, 0, 0), (255, 255, 255)
        else:
            colour, background = False, False
        decls = self.style_of(tag)
        hidden = (
            tag.has_attr("hidden")
            or bool(_classes(tag) & HIDING_CLASSES)
            or hidden_by_declarations(decls)
        )
        if "color" in decls:
            own_colour = parse_colour(decls["color"])
            colour = own_colour if own_colour is not False else False
        if "background" in decls or "background-color" in decls:
            own_background = _background(decls)
            if own_background is False:
                background = False  # an image, or a value not understood
            elif own_background is not TRANSPARENT:
                background = own_background
        declares = "color" in decls or "background" in decls or "background-color" in decls
        if inherited is not None and not declares:
            return _State(hidden, colour, background, inherited.faint)
        faint = (
            isinstance(colour, tuple)
            and isinstance(background, tuple)
            and contrast(colour, background) < _MIN_CONTRAST
        )
        return _State(hidden, colour, background, faint)


@dataclass(frozen=True)
class _State:
    hidden: bool
    colour: Colour | bool  # False: unknown
    background: Colour | bool
    faint: bool


def _is_element(node: object) -> TypeGuard[Tag]:
    return isinstance(node, Tag) and node.name != "[document]"
