"""What a channel reports back after trying to deliver one message."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from bot.replies import Reply


class Outcome(Enum):
    """How a send ended."""

    SENT = "sent"
    BLOCKED = "blocked"  # the user blocked the bot / chat gone: never send there again
    RETRY = "retry"  # flood limit or network trouble: try again after ``retry_after``
    FAILED = "failed"  # permanent for this message (bad request): count and move on


@dataclass(frozen=True)
class Result:
    """Outcome plus what the caller needs to act on it."""

    outcome: Outcome
    retry_after: float = 0.0
    reason: str = ""


class Sender(Protocol):
    """A channel's way to deliver messages on its own initiative; never raises for delivery."""

    async def send(self, chat_id: int, reply: Reply) -> Result:
        """Deliver ``reply`` to ``chat_id``."""
        ...

    async def copy(self, chat_id: int, from_chat_id: int, message_id: int) -> Result:
        """Deliver a copy of an existing message, formatting and media included."""
        ...

    async def edit(self, chat_id: int, message_id: int, reply: Reply) -> Result:
        """Replace a message the bot sent earlier (progress reports)."""
        ...


class RoutingSender:
    """Sends through the channel that owns a chat id (Telegram below, WeChat above 10^15)."""

    def __init__(self, routes: list[tuple[tuple[int, int], Sender]]) -> None:
        self.routes = routes

    def _sender(self, chat_id: int) -> Sender | None:
        return next((s for (low, high), s in self.routes if low <= chat_id < high), None)

    async def send(self, chat_id: int, reply: Reply) -> Result:
        """Send via the owning channel."""
        sender = self._sender(chat_id)
        if sender is None:
            return Result(Outcome.FAILED, reason="no channel for this chat")
        return await sender.send(chat_id, reply)

    async def copy(self, chat_id: int, from_chat_id: int, message_id: int) -> Result:
        """Copy via the owning channel."""
        sender = self._sender(chat_id)
        if sender is None:
            return Result(Outcome.FAILED, reason="no channel for this chat")
        return await sender.copy(chat_id, from_chat_id, message_id)

    async def edit(self, chat_id: int, message_id: int, reply: Reply) -> Result:
        """Edit via the owning channel."""
        sender = self._sender(chat_id)
        if sender is None:
            return Result(Outcome.FAILED, reason="no channel for this chat")
        return await sender.edit(chat_id, message_id, reply)
