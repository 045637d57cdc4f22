"""Console channel: the same conversation in a terminal, buttons shown as numbered choices."""

from bot.channels.console.session import run_console

__all__ = ["run_console"]
