"""Telegram update handlers. Each is thin: ask the conversation core, render the reply."""

from __future__ import annotations

import logging

from telegram import Message, MessageEntity, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot.channels.telegram.context import BotContext
from bot.channels.telegram.render import edit_with_reply, publish_commands, send_reply

log = logging.getLogger(__name__)


def parse_command(message: Message, bot_username: str | None) -> tuple[str, bool] | None:
    """``(name, addressed)`` for a message starting with a command meant for this bot.

    ``addressed`` is True for ``/name@ourbot``. None when the message is no command or the
    command names another bot (``/start@otherbot`` in a group).
    """
    entity = next(iter(message.entities), None)
    if entity is None or entity.type != MessageEntity.BOT_COMMAND or entity.offset != 0:
        return None
    raw = message.parse_entity(entity)[1:]
    name, _, target = raw.partition("@")
    if target and (bot_username is None or target.lower() != bot_username.lower()):
        return None
    return name.lower(), bool(target)


def _is_private(update: Update) -> bool:
    return update.effective_chat is not None and update.effective_chat.type == ChatType.PRIVATE


async def on_command(update: Update, context: BotContext) -> None:
    """Answer any /command: guide topics, built-ins, admin commands and unknown ones."""
    message = update.effective_message
    if message is None or update.effective_chat is None:
        return
    parsed = parse_command(message, context.bot.username)
    if parsed is None:
        return
    name, addressed = parsed
    private = _is_private(update)
    conversation = context.conversation
    before = conversation.content
    user = update.effective_user
    reply = await conversation.command(
        name, is_admin=context.settings.is_admin(user.id if user else None)
    )
    if reply is None:
        if not private and not addressed:
            return  # in a group an unaddressed unknown command may be another bot's
        reply = conversation.unknown_command()
    await send_reply(
        context.bot,
        update.effective_chat.id,
        reply,
        reply_to=None if private else message.message_id,
    )
    if conversation.content is not before:
        await publish_commands(context.bot, conversation.content)


async def on_private_message(update: Update, context: BotContext) -> None:
    """Answer non-command messages in a private chat so a user never meets silence."""
    if update.effective_chat is None:
        return
    await send_reply(context.bot, update.effective_chat.id, context.conversation.free_text())


async def on_button(update: Update, context: BotContext) -> None:
    """Answer a tap on an inline button by showing its topic or menu in place."""
    query = update.callback_query
    if query is None:
        return
    await query.answer()
    await edit_with_reply(context.bot, query, context.conversation.action(query.data or ""))


async def on_error(update: object, context: BotContext) -> None:
    """Log the failure with its traceback and tell the user something useful."""
    log.error("error while handling an update", exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    try:
        if update.callback_query is not None:
            await update.callback_query.answer()
        await send_reply(context.bot, update.effective_chat.id, context.conversation.error())
    except TelegramError:
        log.warning("could not tell the user about the error", exc_info=True)


HANDLERS: list[BaseHandler] = [
    # Commands in messages (not edits or channel posts); unknown ones included.
    MessageHandler(filters.UpdateType.MESSAGE & filters.COMMAND, on_command),
    CallbackQueryHandler(on_button),
    # Anything else sent privately: the free-text answer. Groups stay silent on chatter.
    MessageHandler(
        filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE & ~filters.COMMAND,
        on_private_message,
    ),
]
