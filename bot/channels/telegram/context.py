"""Typed access to the bot's shared services from any handler."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.config import Settings
from bot.conversation import Conversation

CONVERSATION_KEY = "conversation"
SETTINGS_KEY = "settings"


class BotContext(CallbackContext[ExtBot[None], dict, dict, dict]):
    """CallbackContext with typed properties for the services put in bot_data at build time."""

    @property
    def conversation(self) -> Conversation:
        """The channel-neutral conversation core."""
        return self.bot_data[CONVERSATION_KEY]

    @property
    def settings(self) -> Settings:
        """Settings read from the environment."""
        return self.bot_data[SETTINGS_KEY]


BotApplication = Application[ExtBot[None], BotContext, dict, dict, dict, Any]
