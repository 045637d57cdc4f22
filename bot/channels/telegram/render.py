"""Render core replies on Telegram: inline keyboards, sending and editing messages."""

from __future__ import annotations

import logging

from telegram import (
    BotCommand,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    Message,
    ReplyParameters,
)
from telegram.error import BadRequest, TelegramError
from telegram.ext import ExtBot

from bot.commands import PUBLIC_BUILTINS
from bot.content import Content
from bot.replies import Button, Reply

log = logging.getLogger(__name__)


def build_keyboard(rows: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup | None:
    """Inline keyboard whose callback data is the button's action."""
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.action) for b in row] for row in rows]
    )


def bot_commands(content: Content) -> list[BotCommand]:
    """The public command menu (setMyCommands) in /help order."""
    builtins = [BotCommand(name, getattr(content.ui.commands, name)) for name in PUBLIC_BUILTINS]
    return builtins + [BotCommand(t.id, t.description) for t in content.topics.values()]


async def publish_commands(bot: ExtBot[None], content: Content) -> None:
    """Set Telegram's command menu from ``content`` (start-up and /reload); failures only log."""
    try:
        await bot.set_my_commands(bot_commands(content))
    except TelegramError as exc:
        log.warning("setMyCommands failed: %s", exc)


async def send_reply(
    bot: ExtBot[None], chat_id: int, reply: Reply, *, reply_to: int | None = None
) -> None:
    """Send every message of ``reply``; the first quotes ``reply_to`` when given (groups)."""
    for index, message in enumerate(reply.messages):
        quote = (
            ReplyParameters(reply_to, allow_sending_without_reply=True)
            if reply_to is not None and index == 0
            else None
        )
        if message.document is not None:
            await bot.send_document(
                chat_id,
                InputFile(message.document.data, filename=message.document.filename),
                caption=message.text,
                reply_markup=build_keyboard(message.buttons),
                reply_parameters=quote,
            )
            continue
        await bot.send_message(
            chat_id,
            message.text,
            reply_markup=build_keyboard(message.buttons),
            reply_parameters=quote,
        )


async def edit_with_reply(bot: ExtBot[None], query: CallbackQuery, reply: Reply) -> None:
    """Show ``reply`` in place of the message whose button was tapped.

    The first message replaces the tapped one; further messages follow as new ones. When the
    old message can no longer be edited, the reply is sent as new messages instead.
    """
    target = query.message
    if not isinstance(target, Message):
        if query.from_user is not None:
            await send_reply(bot, query.from_user.id, reply)
        return
    first, rest = reply.messages[0], reply.messages[1:]
    if first.document is not None:  # a file cannot replace a text message: send it
        await send_reply(bot, target.chat_id, reply)
        return
    try:
        await bot.edit_message_text(
            first.text,
            chat_id=target.chat_id,
            message_id=target.message_id,
            reply_markup=build_keyboard(first.buttons),
        )
    except BadRequest as exc:
        if "not modified" not in str(exc).lower():
            log.info("edit failed (%s); sending a new message instead", exc)
            await send_reply(bot, target.chat_id, reply)
            return
    if rest:
        await send_reply(bot, target.chat_id, Reply(rest))
