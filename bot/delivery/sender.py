"""What a channel reports back after trying to deliver one message, and the send contract."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Protocol, runtime_checkable

from bot.core.reply import Reply
from bot.delivery.pacer import Priority


class Outcome(Enum):
    """How a send ended."""

    SENT = "sent"
    BLOCKED = "blocked"  # the user blocked the bot / chat gone: never send there again
    RETRY = "retry"  # flood limit or network trouble: try again after ``retry_after``
    FAILED = "failed"  # permanent for this message (bad request): count and move on
    UNSURE = "unsure"  # sent, but no answer came back (a timeout): it may have arrived


@dataclass(frozen=True)
class Result:
    """Outcome plus what the caller needs to act on it."""

    outcome: Outcome
    retry_after: float = 0.0
    reason: str = ""


class Sender(Protocol):
    """A channel's way to deliver messages on its own initiative; never raises for delivery."""

    async def send(self, chat_id: int, reply: Reply, priority: Priority = Priority.REPLY) -> Result:
        """Deliver ``reply`` to ``chat_id`` (a chat of this sender's channel).

        ``priority`` says who goes first where the channel paces its sends.
        """
        ...


@runtime_checkable
class Editor(Protocol):
    """A sender that can also replace a message it sent earlier (progress reports)."""

    async def edit(self, chat_id: int, message_id: int, reply: Reply) -> Result:
        """Replace the message ``message_id`` in ``chat_id`` with ``reply``'s first message."""
        ...


Senders = Mapping[str, Sender]  # channel name -> its sender, for the channels this process serves

NO_SENDER = Result(Outcome.FAILED, reason="this process has no sender for the chat's channel")
