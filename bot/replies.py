"""Channel-neutral replies: what the core answers, before any channel renders it.

A button carries an *action* string. Telegram uses it verbatim as callback data (so actions
stay under 64 bytes); the console shows numbered choices and feeds the action back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

MENU_ACTION = "m"
TOPIC_ACTION_PREFIX = "t:"


@dataclass(frozen=True)
class Button:
    """One tappable choice."""

    label: str
    action: str


@dataclass(frozen=True)
class Document:
    """A file to send with a message (the message text is its caption)."""

    filename: str
    data: bytes
    mime_type: str = "application/octet-stream"


@dataclass(frozen=True)
class Message:
    """One chat message in Telegram HTML, with optional rows of buttons under it."""

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    document: Document | None = None


@dataclass(frozen=True)
class Reply:
    """What the bot says in answer to one input: one or more messages, in order."""

    messages: tuple[Message, ...] = field(default_factory=tuple)

    @classmethod
    def single(cls, text: str, buttons: tuple[tuple[Button, ...], ...] = ()) -> Reply:
        """A reply of one message."""
        return cls((Message(text, buttons),))

    @classmethod
    def of(cls, texts: Sequence[str], buttons: tuple[tuple[Button, ...], ...] = ()) -> Reply:
        """Several messages in order, the buttons under the last one (where the reader is)."""
        last = len(texts) - 1
        return cls(tuple(Message(t, buttons if i == last else ()) for i, t in enumerate(texts)))

    @property
    def last_buttons(self) -> tuple[tuple[Button, ...], ...]:
        """Buttons of the last message (the ones a user can act on next)."""
        return self.messages[-1].buttons if self.messages else ()


def topic_action(topic_id: str) -> str:
    """Action (and Telegram callback data) of a button that opens ``topic_id``."""
    return f"{TOPIC_ACTION_PREFIX}{topic_id}"
