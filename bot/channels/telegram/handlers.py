"""Telegram update handlers. Each is thin: ask the conversation core, render the reply."""

from __future__ import annotations

import logging

from telegram import Message, MessageEntity, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import TelegramError
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    ChatMemberHandler,
    MessageHandler,
    filters,
)

from bot.channels.telegram.capabilities import TELEGRAM
from bot.channels.telegram.context import BotContext
from bot.channels.telegram.profile import publish_profile
from bot.channels.telegram.render import edit_with_reply, send_reply
from bot.channels.telegram.taps import answer_tap, offered
from bot.core.router import Who

CHANNEL = TELEGRAM.name
ALERT_LIMIT = 200  # characters of an answerCallbackQuery text

log = logging.getLogger(__name__)


def parse_command(message: Message, bot_username: str | None) -> tuple[str, bool, str] | None:
    """``(name, addressed, args)`` for a message starting with a command meant for this bot.

    ``addressed`` is True for ``/name@ourbot``; ``args`` is the text after the command.
    None when the message is no command or the command names another bot
    (``/start@otherbot`` in a group).
    """
    entity = next(iter(message.entities), None)
    if entity is None or entity.type != MessageEntity.BOT_COMMAND or entity.offset != 0:
        return None
    command = message.parse_entity(entity)
    raw = command[1:]
    name, _, target = raw.partition("@")
    if target and (bot_username is None or target.lower() != bot_username.lower()):
        return None
    args = (message.text or "")[len(command) :].strip()
    return name.lower(), bool(target), args


def who(update: Update, context: BotContext, message_id: int | None = None) -> Who:
    """The user and chat of an update, and whether the user is a bot admin."""
    user = update.effective_user
    chat = update.effective_chat
    user_id = user.id if user else 0
    chat_type = chat.type if chat else ChatType.PRIVATE
    title = (chat.title if chat and chat.title else None) or (user.full_name if user else "")

    async def chat_admin() -> bool:
        return await is_chat_admin(update, context)

    return Who(
        CHANNEL,
        user_id,
        chat.id if chat else user_id,
        is_admin=context.settings.is_admin(user_id),
        chat_type=str(chat_type),
        chat_title=title,
        message_id=message_id,
        is_chat_admin=chat_admin,
    )


async def is_chat_admin(update: Update, context: BotContext) -> bool:
    """True when the sender administers this group (asked from Telegram)."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return False
    try:
        member = await context.bot.get_chat_member(chat.id, user.id)
    except TelegramError:
        log.warning("getChatMember failed; treating the user as no admin", exc_info=True)
        return False
    return member.status in (ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR)


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
    name, addressed, args = parsed
    private = _is_private(update)
    conversation = context.conversation
    before = conversation.content
    replied = message.reply_to_message
    reply = await conversation.command(
        name,
        who(update, context),
        args,
        (replied.chat_id, replied.message_id) if replied is not None else None,
    )
    if reply is None:
        if not private and not addressed:
            return  # in a group an unaddressed unknown command may be another bot's
        reply = conversation.unknown_command(who(update, context))
    await send_reply(
        context.bot,
        update.effective_chat.id,
        reply,
        reply_to=None if private else message.message_id,
    )
    if conversation.content is not before:  # /reload: the menu and descriptions follow
        await publish_profile(context.bot, conversation.content)


def addressed_text(message: Message, bot_id: int, bot_username: str | None) -> str | None:
    """The question in a group message meant for the bot, mention removed; else None.

    A group message is for the bot when it @-mentions it or replies to one of its messages.
    """
    text = message.text or ""
    replied = message.reply_to_message
    if replied is not None and replied.from_user is not None and replied.from_user.id == bot_id:
        return text
    mention = f"@{bot_username}".lower() if bot_username else None
    for value in message.parse_entities([MessageEntity.MENTION]).values():
        if mention and value.lower() == mention:
            return text.replace(value, " ", 1)
    for entity in message.entities:
        if entity.type == MessageEntity.TEXT_MENTION and entity.user and entity.user.id == bot_id:
            return text
    return None


async def on_private_text(update: Update, context: BotContext) -> None:
    """Answer a free-text question in a private chat."""
    message = update.effective_message
    if message is None or update.effective_chat is None:
        return
    reply = await context.conversation.text(message.text or "", who(update, context))
    await send_reply(context.bot, update.effective_chat.id, reply)


async def on_group_text(update: Update, context: BotContext) -> None:
    """Answer a group question only when the bot is mentioned or replied to."""
    message = update.effective_message
    if message is None or update.effective_chat is None:
        return
    question = addressed_text(message, context.bot.id, context.bot.username)
    if question is None:
        return
    reply = await context.conversation.text(question, who(update, context))
    await send_reply(context.bot, update.effective_chat.id, reply, reply_to=message.message_id)


async def on_private_other(update: Update, context: BotContext) -> None:
    """Answer stickers, photos and the like in a private chat so a user never meets silence."""
    if update.effective_chat is None:
        return
    reply = context.conversation.free_text(who(update, context))
    await send_reply(context.bot, update.effective_chat.id, reply)


class AnsweredTapError(Exception):
    """A button's handling failed after its tap was answered (Telegram takes one answer)."""


async def on_button(update: Update, context: BotContext) -> None:
    """Answer a tap on an inline button by showing its topic or menu in place.

    A reply meant for the tapper only (another member's button, flood notice) is a pop-up
    (``show_alert``) and leaves the tapped message as it is. Data that no button of the
    tapped message carries (forged, or a second tap on a keyboard already replaced) changes
    nothing. Taps the flood guard ignores get no answer: answers draw on the shared budget.
    """
    query = update.callback_query
    if query is None:
        return
    tapped = query.message.message_id if query.message is not None else None
    tapper = who(update, context, tapped)
    conversation = context.conversation
    if offered(query):
        reply = await conversation.action(query.data or "", tapper)
    else:
        reply = conversation.unoffered_tap(tapper)
    if not reply.messages and not reply.alert:
        return  # the flood guard ignores this user for now
    if reply.alert:
        alert = "\n".join(m.text.plain_text.strip() for m in reply.messages)
        await answer_tap(query, alert[:ALERT_LIMIT] or None)
        return
    await answer_tap(query)
    try:
        await edit_with_reply(context.bot, query, reply)
    except Exception as exc:
        raise AnsweredTapError("showing the reply to a tap failed") from exc


async def on_error(update: object, context: BotContext) -> None:
    """Log the failure with its traceback and tell the user something useful."""
    error = context.error
    log.error("error while handling an update", exc_info=error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if update.callback_query is not None and not isinstance(error, AnsweredTapError):
        try:  # stop the button's spinner; the apology itself comes as a message below
            await update.callback_query.answer()
        except TelegramError:
            log.info("callback query could not be answered", exc_info=True)
    try:
        await send_reply(context.bot, update.effective_chat.id, context.conversation.error())
    except TelegramError:
        log.warning("could not tell the user about the error", exc_info=True)


async def track_private(update: Update, context: BotContext) -> None:
    """Remember every private user who writes: the audience for announcements."""
    user = update.effective_user
    if user is None or context.conversation.ignoring(who(update, context)):
        return  # a user the flood guard ignores was seen seconds ago
    await context.app.audience.private_seen(CHANNEL, user.id, user.full_name)


async def on_my_chat_member(update: Update, context: BotContext) -> None:
    """The bot was added, promoted, removed or blocked somewhere: update the audience."""
    change = update.my_chat_member
    audience = context.app.audience
    if change is None:
        return
    chat, member = change.chat, change.new_chat_member
    can_post = member.status in (ChatMemberStatus.MEMBER, ChatMemberStatus.ADMINISTRATOR)
    if chat.type == ChatType.CHANNEL:
        can_post = member.status == ChatMemberStatus.ADMINISTRATOR and bool(
            getattr(member, "can_post_messages", False)
        )
    if can_post:
        title = chat.title or (change.from_user.full_name if change.from_user else "")
        await audience.joined(CHANNEL, chat.id, str(chat.type), title)
    else:
        await audience.gone(CHANNEL, chat.id)


async def on_migrate(update: Update, context: BotContext) -> None:
    """A group became a supergroup: move its subscription to the new chat id."""
    message = update.effective_message
    if message is None or message.migrate_to_chat_id is None:
        return
    await context.app.audience.migrated(CHANNEL, message.chat_id, message.migrate_to_chat_id)


HANDLERS: list[BaseHandler] = [
    # The audience: the bot's own membership changes and group migrations.
    ChatMemberHandler(on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER),
    MessageHandler(filters.StatusUpdate.MIGRATE, on_migrate),
    # Commands in messages (not edits or channel posts); unknown ones included.
    MessageHandler(filters.UpdateType.MESSAGE & filters.COMMAND, on_command),
    CallbackQueryHandler(on_button),
    # Free text: always in private chats; in groups only when addressed (checked inside).
    MessageHandler(
        filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE & filters.TEXT & ~filters.COMMAND,
        on_private_text,
    ),
    MessageHandler(
        filters.UpdateType.MESSAGE & filters.ChatType.GROUPS & filters.TEXT & ~filters.COMMAND,
        on_group_text,
    ),
    # Anything else sent privately (stickers, photos): a pointer to text and the menu.
    MessageHandler(
        filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE & ~filters.COMMAND,
        on_private_other,
    ),
]

TRACKING_HANDLER = MessageHandler(
    filters.UpdateType.MESSAGE & filters.ChatType.PRIVATE, track_private
)
