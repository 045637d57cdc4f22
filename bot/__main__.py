"""Command line: ``python -m bot [run | console | check-content [DIR]]``.

Without a sub-command it runs on Telegram when BOT_TOKEN is set and in the terminal otherwise,
so a newcomer sees the bot in seconds. This module only parses arguments and wires parts.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from bot.config import Settings
from bot.content import ContentError, load_content
from bot.conversation import ContentStore, Conversation
from bot.logs import setup_logging

EXIT_OK, EXIT_CONTENT, EXIT_USAGE = 0, 1, 2

log = logging.getLogger("bot")


def _settings() -> Settings | None:
    try:
        return Settings()
    except ValidationError as exc:
        for err in exc.errors():
            field = "BOT_" + str(err["loc"][0]).upper() if err["loc"] else "environment"
            print(f"error: {field}: {err['msg']}", file=sys.stderr)
        return None


def _store(settings: Settings) -> ContentStore | None:
    try:
        return ContentStore.open(settings.content_dir)
    except ContentError as exc:
        _print_problems(exc, settings.content_dir)
        print("error: refusing to start with invalid content", file=sys.stderr)
        return None


def _print_problems(exc: ContentError, directory: Path) -> None:
    for problem in exc.problems:
        print(f"{directory / problem.file}:{problem.line}: {problem.reason}", file=sys.stderr)


def cmd_check_content(directory: Path | None) -> int:
    """Validate a content folder; print ``file:line: reason`` per problem."""
    if directory is None:
        settings = _settings()
        if settings is None:
            return EXIT_USAGE
        directory = settings.content_dir
    try:
        content = load_content(directory)
    except ContentError as exc:
        _print_problems(exc, directory)
        print(f"{len(exc.problems)} problem(s) found", file=sys.stderr)
        return EXIT_CONTENT
    print(f"content OK: {len(content.topics)} topics in {directory}")
    return EXIT_OK


def cmd_console() -> int:
    """Run the conversation in this terminal (no token needed)."""
    from bot.channels.console import run_console

    settings = _settings()
    store = _store(settings) if settings else None
    if store is None:
        return EXIT_USAGE if settings is None else EXIT_CONTENT
    try:
        asyncio.run(run_console(Conversation(store)))
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:
        # The reader went away (`... | head`): stop quietly, as command-line tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_OK


def cmd_run() -> int:
    """Telegram long polling until SIGINT/SIGTERM."""
    settings = _settings()
    if settings is None:
        return EXIT_USAGE
    if settings.token is None:
        print(
            "BOT_TOKEN is not set: export BOT_TOKEN=<token from @BotFather> to run on Telegram, "
            "or run `python -m bot console` to try the bot in this terminal without a token.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    token = settings.token.get_secret_value()
    setup_logging(secrets=[token])
    store = _store(settings)
    if store is None:
        return EXIT_CONTENT

    from telegram import Update
    from telegram.error import InvalidToken

    from bot.channels.telegram import build_application

    app = build_application(settings, Conversation(store), token=token)
    log.info("starting long polling against %s", settings.api_base_url)
    try:
        app.run_polling(allowed_updates=Update.ALL_TYPES)
    except InvalidToken:
        print(
            "error: Telegram rejected BOT_TOKEN; check the token from @BotFather.", file=sys.stderr
        )
        return EXIT_USAGE
    log.info("stopped")
    return EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot",
        description="Score-query helper bot for Shanxi's second-class cost engineer exam.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("run", help="run on Telegram (long polling); needs BOT_TOKEN")
    sub.add_parser("console", help="the same conversation in this terminal; no token needed")
    check = sub.add_parser("check-content", help="validate content files; exit 1 on problems")
    check.add_argument("directory", nargs="?", type=Path, help="content folder (BOT_CONTENT_DIR)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m bot`` and the ``exam-score-bot`` script."""
    args = _parser().parse_args(argv)
    if args.command == "check-content":
        return cmd_check_content(args.directory)
    if args.command == "run":
        return cmd_run()
    if args.command == "console":
        return cmd_console()
    settings = _settings()
    if settings is None:
        return EXIT_USAGE
    return cmd_run() if settings.token is not None else cmd_console()


if __name__ == "__main__":
    sys.exit(main())
