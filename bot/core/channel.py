"""What a channel can do, declared by the channel and used by content checks and rendering.

Each channel adapter (Telegram, WeChat, console) exports one :class:`Capabilities`. The
content loader checks every text against every channel's limit; renderers split long texts
with :func:`split_to_fit`; the conversation leaves out buttons whose feature a channel
cannot serve.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from bot.core.text import Text


def utf16_units(text: str) -> int:
    """Length in UTF-16 code units (Telegram's count: most emoji count twice)."""
    return len(text.encode("utf-16-le")) // 2


def utf8_bytes(text: str) -> int:
    """Length in UTF-8 bytes (WeChat's count: a Chinese character is three)."""
    return len(text.encode())


@dataclass(frozen=True)
class Capabilities:
    """One channel's limits and means."""

    name: str
    text_limit: int  # per message, counted by ``measure`` on the visible text
    measure: Callable[[str], int]
    unit: str  # how ``measure`` counts, for error messages
    choices: Literal["buttons", "numbers"]  # tappable buttons, or numbered choices to type
    action_limit: int | None = None  # bytes of one button action (Telegram callback data)
    files: bool = False  # can send a file (else a text file is shown inline)
    edits: bool = False  # can replace a message it sent earlier
    copies: bool = False  # can deliver a copy of an existing message (Telegram copyMessage)
    bare_commands: bool = False  # "ics" works like "/ics" (users cannot type a slash easily)
    announcements: bool = True  # its chats can subscribe to broadcasts (not a terminal)

    def fits(self, text: Text) -> bool:
        """True when ``text`` fits one message."""
        return self.measure(text.plain_text) <= self.text_limit


def split_to_fit(text: Text, limit: int, measure: Callable[[str], int]) -> list[Text]:
    """Cut ``text`` at line breaks into parts that each fit ``limit``.

    Lines are kept whole and keep their styles; a single line longer than the limit is cut
    inside, which only happens with absurd input.
    """
    if measure(text.plain_text) <= limit:
        return [text]  # the common case: nothing to cut
    parts: list[Text] = []
    current: list[Text] = []
    size = 0
    for line in text.lines():
        length = measure(line.plain_text)
        while length > limit:
            head, line = _cut_line(line, limit, measure)
            if current:
                parts.append(Text.join("\n", current))
                current, size = [], 0
            parts.append(head)
            length = measure(line.plain_text)
        extra = length + (1 if current else 0)
        if current and size + extra > limit:
            parts.append(Text.join("\n", current))
            current, size = [], 0
            extra = length
        current.append(line)
        size += extra
    if current or not parts:
        parts.append(Text.join("\n", current))
    return parts


def _cut_line(line: Text, limit: int, measure: Callable[[str], int]) -> tuple[Text, Text]:
    """The longest head of ``line`` that fits, and the rest."""
    plain = line.plain_text
    low, high = 1, len(plain)
    while low < high:
        mid = (low + high + 1) // 2
        if measure(plain[:mid]) <= limit:
            low = mid
        else:
            high = mid - 1
    head, rest, taken = [], [], 0
    for span in line.spans:
        if taken >= low:
            rest.append(span)
        elif taken + len(span.text) <= low:
            head.append(span)
        else:
            cut = low - taken
            head.append(type(span)(span.text[:cut], span.styles, span.href))
            rest.append(type(span)(span.text[cut:], span.styles, span.href))
        taken += len(span.text)
    return Text(tuple(head)), Text(tuple(rest))
