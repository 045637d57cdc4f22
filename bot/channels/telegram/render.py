"""Render core replies on Telegram: HTML text within the limit, inline keyboards, edits."""

from __future__ import annotations

import logging

from telegram import (
    BotCommand,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    ReplyParameters,
)
from telegram import Message as TelegramMessage
from telegram.error import BadRequest, TelegramError
from telegram.ext import ExtBot

from bot.channels.telegram.capabilities import TELEGRAM
from bot.commands import PUBLIC_BUILTINS
from bot.content import Content
from bot.core.channel import split_to_fit
from bot.core.reply import Message, Reply, Rows
from bot.core.text import to_html
from bot.delivery.pacer import Priority

log = logging.getLogger(__name__)

CAPTION_LIMIT = 1024  # a document's caption


def build_keyboard(rows: Rows) -> InlineKeyboardMarkup | None:
    """Inline keyboard whose callback data is the button's action."""
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.action) for b in row] for row in rows]
    )


def fit(reply: Reply) -> list[Message]:
    """The reply's messages, each too long one split at line breaks (buttons on the last)."""
    messages: list[Message] = []
    for message in reply.messages:
        limit = CAPTION_LIMIT if message.document is not None else TELEGRAM.text_limit
        parts = split_to_fit(message.text, limit, TELEGRAM.measure)
        last = len(parts) - 1
        for index, part in enumerate(parts):
            messages.append(
                Message(
                    part,
                    message.buttons if index == last else (),
                    message.document if index == 0 else None,
                    message.copy_of if index == 0 else None,
                )
            )
    return messages


def bot_commands(content: Content) -> list[BotCommand]:
    """The public command menu (setMyCommands) in /help order."""
    builtins = [BotCommand(name, getattr(content.ui.commands, name)) for name in PUBLIC_BUILTINS]
    return builtins + [BotCommand(t.id, t.description) for t in content.topics.values()]


async def publish_commands(bot: ExtBot[Priority], content: Content) -> None:
    """Set Telegram's command menu from ``content`` (start-up and /reload); failures only log."""
    try:
        await bot.set_my_commands(bot_commands(content))
    except TelegramError as exc:
        log.warning("setMyCommands failed: %s", exc)


async def send_reply(
    bot: ExtBot[Priority],
    chat_id: int,
    reply: Reply,
    *,
    reply_to: int | None = None,
    priority: Priority = Priority.REPLY,
) -> None:
    """Send every message of ``reply``; the first quotes ``reply_to`` when given (groups).

    Every call waits for the flood budget at ``priority`` (see limiter.py); the messages
    after the first of a reply at :attr:`Priority.FOLLOW_UP`, so that in a burst every user
    gets a first answer before anyone gets a second message.
    """
    for index, message in enumerate(fit(reply)):
        paced = Priority.FOLLOW_UP if index and priority is Priority.REPLY else priority
        quote = (
            ReplyParameters(reply_to, allow_sending_without_reply=True)
            if reply_to is not None and index == 0
            else None
        )
        keyboard = build_keyboard(message.buttons)
        if message.copy_of is not None:
            source = message.copy_of
            await bot.copy_message(
                chat_id, source.chat_id, source.message_id, rate_limit_args=paced
            )
        elif message.document is not None:
            await bot.send_document(
                chat_id,
                InputFile(message.document.data, filename=message.document.filename),
                caption=to_html(message.text),
                reply_markup=keyboard,
                reply_parameters=quote,
                rate_limit_args=paced,
            )
        else:
            await bot.send_message(
                chat_id,
                to_html(message.text),
                reply_markup=keyboard,
                reply_parameters=quote,
                rate_limit_args=paced,
            )


async def edit_message(
    bot: ExtBot[Priority], chat_id: int, message_id: int, message: Message
) -> None:
    """Replace a text message the bot sent; raises BadRequest when Telegram refuses."""
    await bot.edit_message_text(
        to_html(message.text),
        chat_id=chat_id,
        message_id=message_id,
        reply_markup=build_keyboard(message.buttons),
    )


async def edit_with_reply(bot: ExtBot[Priority], query: CallbackQuery, reply: Reply) -> None:
    """Show ``reply`` in place of the message whose button was tapped.

    The first message replaces the tapped one; further messages follow as new ones. When the
    old message can no longer be edited, the reply is sent as new messages instead.
    """
    target = query.message
    if not isinstance(target, TelegramMessage):
        if query.from_user is not None:
            await send_reply(bot, query.from_user.id, reply)
        return
    messages = fit(reply)
    first = messages[0]
    if first.document is not None or first.copy_of is not None:  # cannot replace a text
        await send_reply(bot, target.chat_id, reply)
        return
    try:
        await edit_message(bot, target.chat_id, target.message_id, first)
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            log.info("edit failed (%s); sending a new message instead", exc)
            await send_reply(bot, target.chat_id, reply)
            return
    if messages[1:]:
        await send_reply(bot, target.chat_id, Reply(tuple(messages[1:])))
