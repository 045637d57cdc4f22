"""Message text with a small markup vocabulary, independent of any chat platform.

A :class:`Text` is a sequence of spans, each plain characters with a set of styles (bold,
italic, underline, strike, code, pre, quote) and an optional link. Content files write it in
a tag syntax (``<b>…</b>``, ``<a href="…">…</a>``, ``<blockquote>``); text a user typed is
always inserted as plain characters, so it can never turn into markup. Each channel renders a
Text its own way: Telegram as HTML, WeChat and the console as plain text.
"""

from __future__ import annotations

import functools
import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser

# Tag of the content syntax -> style. Order of STYLE_ORDER is the nesting order when rendering.
TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "s": "strike",
    "code": "code",
    "pre": "pre",
    "blockquote": "quote",
}
STYLE_ORDER = ("quote", "link", "bold", "italic", "underline", "strike", "code", "pre")
ALLOWED_ENTITIES = frozenset({"lt", "gt", "amp", "quot"})
PLACEHOLDER_RE = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


class MarkupError(ValueError):
    """Content text that is not valid markup; ``reasons`` says why."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


@dataclass(frozen=True)
class Span:
    """A run of characters with one set of styles."""

    text: str
    styles: frozenset[str] = frozenset()
    href: str | None = None


@dataclass(frozen=True)
class Text:
    """Styled text: what every message the bot sends is made of."""

    spans: tuple[Span, ...] = ()

    @classmethod
    def plain(cls, text: str) -> Text:
        """Characters shown exactly as given (a user's words, a file name, a number)."""
        return cls((Span(text),)) if text else cls()

    @classmethod
    def parse(cls, source: str) -> Text:
        """Text written in the content syntax; raises :class:`MarkupError` when invalid."""
        parser = _Parser()
        parser.feed(source)
        parser.close()
        reasons = parser.finish(source)
        if reasons:
            raise MarkupError(reasons)
        return cls(_merge(parser.spans))

    def __add__(self, other: Text) -> Text:
        return Text(_merge((*self.spans, *other.spans)))

    def __bool__(self) -> bool:
        return any(span.text for span in self.spans)

    @property
    def plain_text(self) -> str:
        """The characters a reader sees, styles dropped."""
        return "".join(span.text for span in self.spans)

    @classmethod
    def join(cls, separator: str, parts: Iterable[Text]) -> Text:
        """``parts`` one after another with a plain ``separator`` between them."""
        spans: list[Span] = []
        for index, part in enumerate(parts):
            if index and separator:
                spans.append(Span(separator))
            spans.extend(part.spans)
        return cls(_merge(spans))

    def lines(self) -> list[Text]:
        """The text cut at line breaks (styles carried into every line)."""
        lines: list[list[Span]] = [[]]
        for span in self.spans:
            pieces = span.text.split("\n")
            for index, piece in enumerate(pieces):
                if index:
                    lines.append([])
                if piece:
                    lines[-1].append(Span(piece, span.styles, span.href))
        return [Text(tuple(line)) for line in lines]

    def strip(self) -> Text:
        """Without white space at either end."""
        spans = list(self.spans)
        while spans and not spans[0].text.strip():
            spans.pop(0)
        while spans and not spans[-1].text.strip():
            spans.pop()
        if not spans:
            return Text()
        first, last = spans[0], spans[-1]
        spans[0] = Span(first.text.lstrip(), first.styles, first.href)
        last = spans[-1]
        spans[-1] = Span(last.text.rstrip(), last.styles, last.href)
        return Text(tuple(spans))

    def fill(self, values: Mapping[str, str | Text]) -> Text:
        """Replace ``{name}`` placeholders: strings as plain characters, Texts as they are.

        A value takes on the styles of the place it is put (a name inside ``<b>`` is bold).
        Unknown placeholders stay as written.
        """
        spans: list[Span] = []
        for span in self.spans:
            last = 0
            for match in PLACEHOLDER_RE.finditer(span.text):
                value = values.get(match.group(1))
                if value is None:
                    continue
                spans.append(Span(span.text[last : match.start()], span.styles, span.href))
                if isinstance(value, Text):
                    spans.extend(
                        Span(v.text, v.styles | span.styles, v.href or span.href)
                        for v in value.spans
                    )
                else:
                    spans.append(Span(value, span.styles, span.href))
                last = match.end()
            spans.append(Span(span.text[last:], span.styles, span.href))
        return Text(_merge(spans))


def _merge(spans: Iterable[Span]) -> tuple[Span, ...]:
    """Drop empty spans and join neighbours of the same style."""
    merged: list[Span] = []
    for span in spans:
        if not span.text:
            continue
        if merged and merged[-1].styles == span.styles and merged[-1].href == span.href:
            merged[-1] = Span(merged[-1].text + span.text, span.styles, span.href)
        else:
            merged.append(span)
    return tuple(merged)


class _Parser(HTMLParser):
    """Builds spans from the content syntax and collects every reason it is invalid."""

    def __init__(self) -> None:
        # Entities are decoded here (handle_entityref, handle_charref), not before
        # handle_data: a bare '<' or '>' in the data is then one the author typed, while
        # &lt; and &gt; (the form the error asks for) become literal characters.
        super().__init__(convert_charrefs=False)
        self.stack: list[tuple[str, str | None]] = []  # (tag, href)
        self.spans: list[Span] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "a" and tag not in TAGS:
            allowed = ", ".join(sorted({*TAGS, "a"}))
            self.errors.append(f"tag <{tag}> is not allowed (use {allowed})")
            return
        href = dict(attrs).get("href") if tag == "a" else None
        if tag == "a" and not href:
            self.errors.append("<a> needs an href attribute")
        self.stack.append((tag, href))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.errors.append(f"self-closing <{tag}/> is not allowed")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1][0] != tag:
            self.errors.append(f"closing </{tag}> does not match an open tag")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if "<" in data or ">" in data:
            self.errors.append("a bare '<' or '>' must be written as &lt; or &gt;")
        self._add(data)

    def handle_entityref(self, name: str) -> None:
        # Unsupported names are reported by finish(); kept as written meanwhile.
        self._add(html.unescape(f"&{name};") if name in ALLOWED_ENTITIES else f"&{name};")

    def handle_charref(self, name: str) -> None:
        self._add(html.unescape(f"&#{name};"))

    def _add(self, text: str) -> None:
        styles = frozenset(TAGS[tag] if tag != "a" else "link" for tag, _ in self.stack)
        href = next((h for tag, h in reversed(self.stack) if tag == "a"), None)
        self.spans.append(Span(text, styles, href))

    def finish(self, source: str) -> list[str]:
        for name in re.findall(r"&([A-Za-z]+);", source):
            if name not in ALLOWED_ENTITIES:
                self.errors.append(
                    f"entity &{name}; is not supported (only &lt; &gt; &amp; &quot;)"
                )
        if re.search(r"&(?![A-Za-z]+;|#\d+;|#x[0-9A-Fa-f]+;)", source):
            self.errors.append("a bare '&' must be written as &amp;")
        if self.stack:
            self.errors.append(f"<{self.stack[-1][0]}> is never closed")
        return list(dict.fromkeys(self.errors))


@functools.lru_cache(maxsize=4096)
def markup(source: str) -> Text:
    """Content text (already validated at load) as a :class:`Text`; cached."""
    return Text.parse(source)


def fill(template: str, **values: str | Text) -> Text:
    """Content text with its runtime ``{placeholders}`` filled (strings stay plain)."""
    return markup(template).fill(values)


def check_markup(source: str) -> list[str]:
    """Reasons why ``source`` is not valid content markup; empty when it is fine."""
    try:
        Text.parse(source)
    except MarkupError as exc:
        return exc.reasons
    return []


@functools.lru_cache(maxsize=4096)
def to_html(text: Text) -> str:
    """The text as HTML with properly nested tags (Telegram's parse_mode=HTML)."""
    out: list[str] = []
    open_tags: list[tuple[str, str | None]] = []  # (style, href)
    for span in text.spans:
        wanted = [
            (style, span.href if style == "link" else None)
            for style in STYLE_ORDER
            if style in span.styles or (style == "link" and span.href)
        ]
        keep = 0
        while keep < min(len(open_tags), len(wanted)) and open_tags[keep] == wanted[keep]:
            keep += 1
        for style, _ in reversed(open_tags[keep:]):
            out.append(f"</{_HTML_TAG[style]}>")
        for style, href in wanted[keep:]:
            if style == "link":
                out.append(f'<a href="{html.escape(href or "", quote=True)}">')
            else:
                out.append(f"<{_HTML_TAG[style]}>")
        open_tags = wanted
        out.append(html.escape(span.text, quote=False))
    for style, _ in reversed(open_tags):
        out.append(f"</{_HTML_TAG[style]}>")
    return "".join(out)


_HTML_TAG = {
    "quote": "blockquote",
    "link": "a",
    "bold": "b",
    "italic": "i",
    "underline": "u",
    "strike": "s",
    "code": "code",
    "pre": "pre",
}
