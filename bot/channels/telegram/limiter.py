"""Every Bot API call the Telegram channel makes waits for the shared flood budget.

python-telegram-bot hands each request to this rate limiter (replies in handlers, edits,
callback answers, documents, reminders, broadcasts alike). Calls that deliver a message
wait for a slot of the :class:`~bot.delivery.pacer.Pacer` (priority from ``rate_limit_args``,
a reply when none is given); edits keep only the chat's gap; callback answers take a slot of
the overall rate only; everything else (getUpdates, getChatMember, setMyCommands) goes
straight through. A 429 is waited out and the call retried; after ``MAX_RETRIES`` 429s or
``MAX_WAIT`` seconds of waiting the call gives up with a log line and the 429 is raised to
the caller.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.delivery.pacer import Pacer, Priority

log = logging.getLogger(__name__)

# Set by the webhook server around the handling of one update: told once the update's first
# message went out (the webhook is then acknowledged; see webhook.py).
ANSWERED: ContextVar[asyncio.Event | None] = ContextVar("answered", default=None)

MAX_RETRIES = 5
MAX_WAIT = 300.0  # seconds of retry_after one call may wait in total before giving up
GLOBAL_ONLY = frozenset({"answerCallbackQuery", "answerInlineQuery"})
UNPACED = frozenset({"sendChatAction"})


def is_edit(endpoint: str) -> bool:
    """An edit of a message already sent: the chat's gap applies, not the overall rate.

    Telegram's overall limit counts messages sent; an edit sends none (the stand-in counts
    the same way), so a broadcast's progress edits do not slow the broadcast down.
    """
    return endpoint.startswith("editMessage")


def is_paced(endpoint: str) -> bool:
    """Whether a call delivers or changes a message in a chat (counts against the limits)."""
    if endpoint in UNPACED:
        return False
    return endpoint.startswith(("send", "copyMessage", "forwardMessage", "editMessage"))


def seconds(delay: float | timedelta) -> float:
    """``retry_after`` as seconds (PTB gives an int or a timedelta)."""
    return delay.total_seconds() if isinstance(delay, timedelta) else float(delay)


def _chat_of(data: dict[str, Any]) -> int | None:
    chat = data.get("chat_id")
    if isinstance(chat, int):
        return chat
    if isinstance(chat, str) and chat.lstrip("-").isascii() and chat.lstrip("-").isdigit():
        return int(chat)
    return None  # inline messages and @channel names: the overall rate only


class PacedLimiter(BaseRateLimiter[Priority]):
    """PTB's rate limiter hook backed by one :class:`Pacer` for the whole bot."""

    def __init__(self, pacer: Pacer | None = None) -> None:
        self.pacer = pacer or Pacer()

    async def initialize(self) -> None:
        """Nothing to open: the pacer starts its pump on the first wait."""

    async def shutdown(self) -> None:
        """Cancel what still waits for a slot."""
        await self.pacer.close()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Priority | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        """Wait for a slot, call, and wait out 429s within the bounds."""
        paced = is_paced(endpoint)
        if not paced and endpoint not in GLOBAL_ONLY:
            return await callback(*args, **kwargs)
        chat = _chat_of(data) if paced else None
        priority = rate_limit_args if isinstance(rate_limit_args, Priority) else Priority.REPLY
        waited = 0.0
        for attempt in range(MAX_RETRIES + 1):
            await self.pacer.wait(chat, priority, counts=not is_edit(endpoint))
            try:
                result = await callback(*args, **kwargs)
                answered = ANSWERED.get() if paced else None
                if answered is not None:
                    answered.set()
                return result
            except RetryAfter as exc:
                delay = seconds(exc.retry_after)
                if attempt == MAX_RETRIES or waited + delay > MAX_WAIT:
                    log.warning(
                        "%s to chat %s: giving up after %d flood-limit answers (%.0f s waited)",
                        endpoint,
                        chat,
                        attempt + 1,
                        waited,
                    )
                    raise
                log.info("%s to chat %s: 429, waiting %.1f s", endpoint, chat, delay)
                self.pacer.pause(delay, chat)
                if chat is None or delay > 1.5:  # more than a chat's own gap: everyone waits
                    self.pacer.pause(delay)
                waited += delay
            finally:
                if chat is not None:
                    self.pacer.sent(chat)
        raise AssertionError("unreachable")  # the loop returns or raises
