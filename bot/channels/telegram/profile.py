"""What Telegram shows about the bot before anyone writes to it, published from content at
start-up and after /reload: the command menu, the description ("What can this bot do?",
before the Start button) and the short description (profile page, shared links).

Failures only log: the bot answers users whether or not its profile could be updated.
"""

from __future__ import annotations

import logging

from telegram.error import TelegramError
from telegram.ext import ExtBot

from bot.channels.telegram.render import publish_commands
from bot.content import Content
from bot.core.text import markup
from bot.delivery.pacer import Priority

log = logging.getLogger(__name__)


def profile_texts(content: Content) -> tuple[str, str]:
    """(description, short description) as plain text (Telegram shows them unformatted)."""
    share = content.ui.share
    return (
        markup(share.description).plain_text.strip(),
        markup(share.short_description).plain_text.strip(),
    )


async def publish_profile(bot: ExtBot[Priority], content: Content) -> None:
    """Set the command menu, the description and the short description from ``content``."""
    await publish_commands(bot, content)
    description, short = profile_texts(content)
    try:
        await bot.set_my_description(description)
        await bot.set_my_short_description(short)
    except TelegramError as exc:
        log.warning("setMyDescription / setMyShortDescription failed: %s", exc)
