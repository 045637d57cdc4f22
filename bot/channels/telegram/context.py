"""Typed access to the bot's shared services from any handler."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from bot.app import App
from bot.config import Settings
from bot.core.conversation import Conversation
from bot.delivery.pacer import Priority

APP_KEY = "app"
SETTINGS_KEY = "settings"


class BotContext(CallbackContext[ExtBot[Priority], dict, dict, dict]):
    """CallbackContext with typed properties for the services put in bot_data."""

    @property
    def app(self) -> App:
        """The assembled bot (set in post_init, before any update is handled)."""
        return self.bot_data[APP_KEY]

    @property
    def conversation(self) -> Conversation:
        """The channel-neutral conversation core."""
        return self.app.conversation

    @property
    def settings(self) -> Settings:
        """Settings read from the environment."""
        return self.bot_data[SETTINGS_KEY]


BotApplication = Application[ExtBot[Priority], BotContext, dict, dict, dict, Any]
