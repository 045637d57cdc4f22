"""Baseline bot for the throughput benchmark: bare python-telegram-bot that echoes text.

Reads ``BOT_TOKEN`` and ``BOT_API_BASE_URL`` (like the real bot) and long-polls until
SIGINT/SIGTERM. ``--sequential`` keeps PTB's defaults (one update at a time);
``--concurrent N`` handles N updates at once with an HTTP pool of N connections.

    BOT_TOKEN=123456:BENCH BOT_API_BASE_URL=http://127.0.0.1:PORT/bot \\
        python bench/echo_bot.py --concurrent 32
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from telegram import Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

DEFAULT_API_BASE_URL = "https://api.telegram.org/bot"


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reply with the text of the incoming message (commands included)."""
    message = update.effective_message
    if message is not None and message.text:
        await context.bot.send_message(message.chat_id, message.text)


def build_application(concurrency: int | None) -> Application:
    """The echo Application; ``concurrency`` None means PTB's sequential defaults."""
    token = os.environ["BOT_TOKEN"]
    base_url = os.environ.get("BOT_API_BASE_URL") or DEFAULT_API_BASE_URL
    builder = ApplicationBuilder().token(token).base_url(base_url)
    if base_url.endswith("/bot"):
        builder = builder.base_file_url(base_url[: -len("bot")] + "file/bot")
    if concurrency:
        builder = builder.concurrent_updates(concurrency).connection_pool_size(concurrency)
    app = builder.build()
    app.add_handler(CommandHandler("steps", echo))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    return app


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the mode and long-poll until a stop signal."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--sequential", action="store_true", help="PTB defaults (the default)")
    mode.add_argument("--concurrent", type=int, metavar="N", help="handle N updates at once")
    args = parser.parse_args(argv)
    if "BOT_TOKEN" not in os.environ:
        print("error: BOT_TOKEN is not set", file=sys.stderr)
        return 2
    build_application(args.concurrent).run_polling()
    return 0


if __name__ == "__main__":
    sys.exit(main())
