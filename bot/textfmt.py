"""Telegram-HTML helpers shared by every channel: validate, strip to plain text, measure.

Content is written in the small HTML subset Telegram accepts. Telegram renders it; the console
and (later) WeChat show the plain text that :func:`visible_text` leaves.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

ALLOWED_TAGS = frozenset({"b", "strong", "i", "em", "u", "s", "code", "pre", "a", "blockquote"})
ALLOWED_ENTITIES = frozenset({"lt", "gt", "amp", "quot"})
TELEGRAM_TEXT_LIMIT = 4096
_TAG_RE = re.compile(r"<[^>]*>")


def utf16_len(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units: most emoji count twice)."""
    return len(text.encode("utf-16-le")) // 2


def visible_text(markup: str) -> str:
    """The text a reader sees: tags removed, entities decoded."""
    return html.unescape(_TAG_RE.sub("", markup))


def escape(text: str) -> str:
    """Escape user- or file-provided text for inclusion in Telegram HTML."""
    return html.escape(text, quote=False)


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ALLOWED_TAGS:
            self.errors.append(
                f"tag <{tag}> is not allowed (use b, i, u, s, code, pre, a, blockquote)"
            )
            return
        names = {name for name, _ in attrs}
        if tag == "a" and "href" not in names:
            self.errors.append("<a> needs an href attribute")
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.errors.append(f"self-closing <{tag}/> is not allowed")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"closing </{tag}> does not match an open tag")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if "<" in data or ">" in data:
            self.errors.append("a bare '<' or '>' must be written as &lt; or &gt;")

    def handle_entityref(self, name: str) -> None:
        if name not in ALLOWED_ENTITIES:
            self.errors.append(f"entity &{name}; is not supported (only &lt; &gt; &amp; &quot;)")


def check_html(markup: str) -> list[str]:
    """Reasons why Telegram would refuse ``markup`` as HTML; empty when it is fine."""
    checker = _Checker()
    checker.feed(markup)
    checker.close()
    errors = checker.errors
    if re.search(r"&(?![A-Za-z]+;|#\d+;|#x[0-9A-Fa-f]+;)", markup):
        errors.append("a bare '&' must be written as &amp;")
    if checker.stack:
        errors.append(f"<{checker.stack[-1]}> is never closed")
    return list(dict.fromkeys(errors))


def split_text(text: str, limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    """Split generated text at line breaks into parts that each fit one Telegram message.

    Lines are kept whole (each generated line is balanced markup on its own); a single line
    longer than the limit is cut, which only happens with absurd content.
    """
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while utf16_len(line) > limit:
            cut = limit // 2
            parts.append(line[:cut])
            line = line[cut:]
        candidate = f"{current}\n{line}" if current else line
        if utf16_len(visible_text(candidate)) > limit and current:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current or not parts:
        parts.append(current)
    return parts
