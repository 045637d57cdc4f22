"""Telegram channel: python-telegram-bot Application, handlers and rendering."""

from bot.channels.telegram.app import build_application

__all__ = ["build_application"]
