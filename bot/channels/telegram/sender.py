"""Deliver messages the bot sends on its own (reminders, broadcasts): Telegram errors mapped
to outcomes."""

from __future__ import annotations

import logging
from collections.abc import Awaitable

from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import ExtBot

from bot.channels.telegram.limiter import seconds
from bot.channels.telegram.render import edit_message, fit, send_reply
from bot.core.reply import Reply
from bot.delivery import Outcome, Priority, Result

log = logging.getLogger(__name__)
GONE = ("chat not found", "user is deactivated", "bot was kicked", "not enough rights")
NETWORK_RETRY = 5.0


def went_out(exc: TimedOut) -> bool:
    """Whether a timed-out request may have reached Telegram.

    Waiting for a connection (pool) or for connecting means nothing was sent; a timeout
    while writing or reading the answer means Telegram may have the message.
    """
    cause = type(exc.__cause__).__name__  # httpx's exception classes, as PTB chains them
    return cause not in ("ConnectTimeout", "PoolTimeout") and "Pool timeout" not in str(exc)


class TelegramSender:
    """:class:`bot.delivery.Sender` and :class:`bot.delivery.Editor` for Telegram."""

    def __init__(self, bot: ExtBot[Priority]) -> None:
        self.bot = bot

    async def send(self, chat_id: int, reply: Reply, priority: Priority = Priority.REPLY) -> Result:
        """Send; 403 and vanished chats are BLOCKED, 429 and network trouble RETRY."""
        return await self._attempt(send_reply(self.bot, chat_id, reply, priority=priority))

    async def edit(self, chat_id: int, message_id: int, reply: Reply) -> Result:
        """Edit a text message in place; "not modified" counts as done."""
        message = fit(reply)[0]
        result = await self._attempt(edit_message(self.bot, chat_id, message_id, message))
        if result.outcome is Outcome.FAILED and "not modified" in result.reason.lower():
            return Result(Outcome.SENT)
        return result

    @staticmethod
    async def _attempt(call: Awaitable[object]) -> Result:
        try:
            await call
        except Forbidden as exc:
            return Result(Outcome.BLOCKED, reason=str(exc))
        except RetryAfter as exc:
            return Result(Outcome.RETRY, retry_after=seconds(exc.retry_after), reason=str(exc))
        except BadRequest as exc:
            if any(marker in str(exc).lower() for marker in GONE):
                return Result(Outcome.BLOCKED, reason=str(exc))
            return Result(Outcome.FAILED, reason=str(exc))
        except TimedOut as exc:
            if went_out(exc):  # the request was written; only the answer is missing
                return Result(Outcome.UNSURE, reason=f"timed out after sending: {exc}")
            return Result(Outcome.RETRY, retry_after=NETWORK_RETRY, reason=str(exc))
        except NetworkError as exc:  # no connection: nothing reached Telegram
            return Result(Outcome.RETRY, retry_after=NETWORK_RETRY, reason=str(exc))
        except TelegramError as exc:
            return Result(Outcome.FAILED, reason=str(exc))
        return Result(Outcome.SENT)
