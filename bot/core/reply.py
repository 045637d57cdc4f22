"""What the core answers, before any channel renders it: messages, buttons, documents.

A button carries an *action* string that a feature registered with the router (see
:mod:`bot.core.router`); channels hand it back unchanged when the button is chosen, whether
as Telegram callback data or as a number typed on WeChat or in the console.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.core.text import Text

MENU_ACTION = "m"
TOPIC_ACTION_PREFIX = "t:"

Rows = tuple[tuple["Button", ...], ...]


@dataclass(frozen=True)
class Button:
    """One choice under a message."""

    label: str
    action: str


@dataclass(frozen=True)
class Document:
    """A file sent with a message (the message text is its caption)."""

    filename: str
    data: bytes
    mime_type: str = "application/octet-stream"


@dataclass(frozen=True)
class CopyOf:
    """A message that already exists on a channel, to be delivered as composed."""

    channel: str
    chat_id: int
    message_id: int


@dataclass(frozen=True)
class Message:
    """One message: text, rows of buttons under it, optionally a file or a copied message."""

    text: Text
    buttons: Rows = ()
    document: Document | None = None
    copy_of: CopyOf | None = None


@dataclass(frozen=True)
class Reply:
    """What the bot says in answer to one input: one or more messages, in order.

    No messages: say nothing (an input the flood guard ignores). ``alert``: a short note
    for the person who tapped a button only (none when there are no messages), while the
    tapped message stays as it is; channels with pop-ups (Telegram's ``show_alert``) show
    it so, the others (private chats only) as an ordinary message.
    """

    messages: tuple[Message, ...] = field(default_factory=tuple)
    alert: bool = False

    @classmethod
    def single(cls, text: Text, buttons: Rows = ()) -> Reply:
        """A reply of one message."""
        return cls((Message(text, buttons),))

    @classmethod
    def tap_alert(cls, text: Text) -> Reply:
        """A private note to whoever tapped; nothing else changes (see ``alert``)."""
        return cls((Message(text),), alert=True)

    @classmethod
    def of(cls, texts: Sequence[Text], buttons: Rows = ()) -> Reply:
        """Several messages in order, the buttons under the last one (where the reader is)."""
        last = len(texts) - 1
        return cls(tuple(Message(t, buttons if i == last else ()) for i, t in enumerate(texts)))

    @property
    def last_buttons(self) -> Rows:
        """Buttons of the last message (the ones a user can act on next)."""
        return self.messages[-1].buttons if self.messages else ()

    def then(self, other: Reply) -> Reply:
        """This reply followed by ``other``."""
        return Reply(self.messages + other.messages)

    def __add__(self, other: Reply) -> Reply:
        return self.then(other)


def topic_action(topic_id: str) -> str:
    """Action of a button that opens a guide topic."""
    return f"{TOPIC_ACTION_PREFIX}{topic_id}"
