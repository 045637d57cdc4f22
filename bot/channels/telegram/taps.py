"""Taps on inline buttons: was the data really on the tapped message, and answering once."""

from __future__ import annotations

import logging

from telegram import CallbackQuery, Message
from telegram.error import TelegramError

log = logging.getLogger(__name__)


def offered(query: CallbackQuery) -> bool:
    """False when the tapped message is known and none of its buttons carries this data.

    Telegram sends the tapped message as it is now, so data on none of its buttons did not
    come from a tap (or the keyboard changed meanwhile). A message too old to be shown
    (or none) cannot be compared; its reply goes out as a new message anyway.
    """
    message = query.message
    if not isinstance(message, Message):
        return True
    keyboard = message.reply_markup.inline_keyboard if message.reply_markup else ()
    return any(button.callback_data == query.data for row in keyboard for button in row)


async def answer_tap(query: CallbackQuery, alert: str | None = None) -> None:
    """Answer a tap (a pop-up when ``alert``); a refused answer (too old) only logs."""
    try:
        await query.answer(alert, show_alert=alert is not None)
    except TelegramError as exc:
        log.info("callback query not answered: %s", exc)
