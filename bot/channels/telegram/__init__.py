"""Telegram channel: python-telegram-bot Application, handlers, rendering, sending."""
