"""Command line: ``python -m bot [run | console | ask | wechat | wechat-menu | wechat-qr |
check-content | export-learned | migrate-db]``.

Without a sub-command it runs on Telegram when BOT_TOKEN is set and in the terminal otherwise,
so a newcomer sees the bot in seconds. This module parses arguments, reads settings and
content, and hands over to the channel's runtime; the parts are put together in bot.app.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from bot.app import open_content, questions_only
from bot.channels import CHANNELS
from bot.config import Settings
from bot.content import ContentError, ContentStore, load_content
from bot.content.loader import OUT_OF_SCOPE_KEY
from bot.faq.examples import OUT_OF_SCOPE, ranked
from bot.logs import setup_logging

if TYPE_CHECKING:
    from bot.channels.wechat.config import WeChatSettings

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
        return open_content(settings)
    except ContentError as exc:
        _print_problems(exc, settings.content_dir)
        print("error: refusing to start with invalid content", file=sys.stderr)
        return None


def _load() -> tuple[Settings, ContentStore] | int:
    """Settings and live content, or the exit code after saying what is wrong."""
    settings = _settings()
    if settings is None:
        return EXIT_USAGE
    store = _store(settings)
    if store is None:
        return EXIT_CONTENT
    return settings, store


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
        content = load_content(directory, CHANNELS)
    except ContentError as exc:
        _print_problems(exc, directory)
        print(f"{len(exc.problems)} problem(s) found", file=sys.stderr)
        return EXIT_CONTENT
    print(f"content OK: {len(content.topics)} topics in {directory}")
    return EXIT_OK


def _sqlite_path(value: str) -> Path:
    """``console --db``: a SQLite file only (a replica's PostgreSQL is not for trying out)."""
    if "://" in value:
        raise argparse.ArgumentTypeError("console --db takes a SQLite file path, not a URL")
    return Path(value)


def cmd_console(db: Path | None = None) -> int:
    """Run the conversation in this terminal (no token needed).

    ``db`` None: the console's own scratch database, never BOT_DB (see console/runtime.py).
    """
    from bot.channels.console.runtime import serve

    loaded = _load()
    if isinstance(loaded, int):
        return loaded
    try:
        asyncio.run(serve(*loaded, db))
    except KeyboardInterrupt:
        pass
    except BrokenPipeError:
        # The reader went away (`... | head`): stop quietly, as command-line tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_OK


def cmd_ask(questions: list[str], *, as_json: bool) -> int:
    """Match questions (``-``: one per line from stdin) and print topic, score and answer."""
    loaded = _load()
    if isinstance(loaded, int):
        return loaded
    matcher = questions_only(*loaded)
    if questions == ["-"]:
        questions = [line.rstrip("\n") for line in sys.stdin]
    for question in questions:
        match, reply = matcher.answer(question)
        answer = "\n\n".join(m.text.plain_text.strip() for m in reply.messages)
        if as_json:
            nearest = match.nearest or tuple(
                (n.topic, round(n.similarity, 3), n.example)
                for n in ranked(matcher.store.matcher.examples.nearest(match.normalized))[:3]
            )
            shown = {OUT_OF_SCOPE: OUT_OF_SCOPE_KEY}  # the example bank's key, as in content
            record = {
                "question": question,
                "topic": match.topic,
                "score": round(match.score, 3),
                "answer": answer,
                "kind": match.kind,
                "matched": [asdict(hit) for hit in match.hits],
                "candidates": [list(c) for c in match.candidates[:5]],
                # classifier: topic, probability; nearest: topic, similarity, closest example
                "learned": [[shown.get(t, t), p] for t, p in match.learned],
                "nearest": [[shown.get(t, t), s, e] for t, s, e in nearest],
                # in scope vs out of scope (mean log-odds, keyword bonus); answered from gate
                "in_scope": match.in_scope,
                "gate": matcher.store.matcher.weights.gate,
            }
            print(json.dumps(record, ensure_ascii=False), flush=True)
        else:
            found = ", ".join(f"{h.keyword}[{h.how}]→{h.topic}" for h in match.hits) or "-"
            print(f"{question}\n  → {match.topic or match.kind} (score {match.score:.2f}; {found})")
    return EXIT_OK


def cmd_export_learned() -> int:
    """Print what admins taught (BOT_DB) as YAML in the shape of content/examples.yaml."""
    from bot.app import learned_examples
    from bot.teach import learned_yaml

    settings = _settings()
    if settings is None:
        return EXIT_USAGE
    print(learned_yaml(asyncio.run(learned_examples(settings))), end="", flush=True)
    return EXIT_OK


def cmd_migrate_db(source: str, destination: str, *, force: bool) -> int:
    """Copy a database into another (SQLite file or postgresql:// URL); compare every table."""
    from bot.storage.copy import run_copy

    return run_copy(source, destination, force=force)


def cmd_wechat(*, menu_only: bool) -> int:
    """Serve the WeChat Official Account callback, or print its custom menu JSON."""
    from bot.app import until_signal
    from bot.channels.wechat.runtime import menu_json, serve

    loaded = _load()
    if isinstance(loaded, int):
        return loaded
    settings, store = loaded
    if menu_only:
        print(json.dumps(menu_json(store), ensure_ascii=False, indent=2))
        return EXIT_OK
    wechat = _wechat_settings()
    if wechat is None:
        return EXIT_USAGE
    if wechat.token is None:
        print(
            "WECHAT_TOKEN is not set: set it to the Token of the account's server settings.",
            file=sys.stderr,
        )
        return EXIT_USAGE
    secrets = [s.get_secret_value() for s in (wechat.token, wechat.app_secret, wechat.aes_key) if s]
    setup_logging(secrets=secrets)
    if wechat.push != "none" and not (wechat.app_id and wechat.app_secret):
        print("WECHAT_PUSH needs WECHAT_APP_ID and WECHAT_APP_SECRET.", file=sys.stderr)
        return EXIT_USAGE
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(until_signal(serve(settings, wechat, store)))
    return EXIT_OK


def _wechat_settings() -> WeChatSettings | None:
    """WECHAT_* settings, or None after printing what is wrong with them."""
    from bot.channels.wechat.config import WeChatSettings

    try:
        return WeChatSettings()
    except ValidationError as exc:
        for err in exc.errors():
            print(f"error: WECHAT_{str(err['loc'][0]).upper()}: {err['msg']}", file=sys.stderr)
        return None


def cmd_wechat_qr(payload: str) -> int:
    """Print the image address of a permanent WeChat QR code that opens ``payload``."""
    from bot.app import utc_now
    from bot.channels.wechat.qr import QrError, permanent_qr
    from bot.sharing import Sharing
    from bot.storage import Database

    loaded = _load()
    if isinstance(loaded, int):
        return loaded
    settings, store = loaded
    payloads = Sharing.payloads(store.current)
    if payload not in payloads:
        print(f"error: unknown topic {payload!r}; one of: {', '.join(payloads)}", file=sys.stderr)
        return EXIT_USAGE
    wechat = _wechat_settings()
    if wechat is None:
        return EXIT_USAGE
    if not (wechat.app_id and wechat.app_secret):
        print("wechat-qr needs WECHAT_APP_ID and WECHAT_APP_SECRET.", file=sys.stderr)
        return EXIT_USAGE
    setup_logging(secrets=[wechat.app_secret.get_secret_value()])

    async def create() -> str:
        db = await Database.open(settings.db)  # the account's token, shared with the bot
        try:
            return await permanent_qr(wechat, db, payload, utc_now)
        finally:
            await db.close()

    try:
        print(asyncio.run(create()))
    except (QrError, RuntimeError, OSError) as exc:  # TokenError and aiohttp errors included
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONTENT
    return EXIT_OK


def cmd_run() -> int:
    """Telegram long polling (webhooks when BOT_WEBHOOK_URL is set) until SIGINT/SIGTERM."""
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

    from bot.channels.telegram.app import run_polling, run_webhook
    from bot.channels.wechat.runtime import other_channel

    if settings.webhook_url:
        log.info("starting webhook mode for %s", settings.webhook_url)
        run = run_webhook
    else:
        log.info("starting long polling against %s", settings.api_base_url)
        run = run_polling
    if not run(settings, store, token, other_channel):
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
    sub.add_parser(
        "run",
        help="run on Telegram (long polling, or webhooks with BOT_WEBHOOK_URL); needs BOT_TOKEN",
    )
    console = sub.add_parser(
        "console", help="the same conversation in this terminal; no token needed"
    )
    console.add_argument(
        "--db",
        type=_sqlite_path,
        metavar="PATH",
        help="use this SQLite database (default: a scratch data/console.db, never BOT_DB); "
        "even then only the console user is served: no admin rights, no broadcasts, "
        "no other users' reminders",
    )
    ask = sub.add_parser("ask", help="match questions to topics (debugging the matcher)")
    ask.add_argument("--json", action="store_true", help="one JSON object per line")
    ask.add_argument("question", nargs="+", help="questions, or - to read one per line")
    sub.add_parser("wechat", help="serve the WeChat Official Account callback (WECHAT_*)")
    sub.add_parser("wechat-menu", help="print the WeChat custom menu JSON built from content")
    qr = sub.add_parser(
        "wechat-qr",
        help="print the image address of a permanent WeChat QR code opening a topic "
        "(WECHAT_APP_ID, WECHAT_APP_SECRET)",
    )
    qr.add_argument("topic", help="a topic id (steps, review, ...), remind_review, subscribe, ...")
    check = sub.add_parser("check-content", help="validate content files; exit 1 on problems")
    check.add_argument("directory", nargs="?", type=Path, help="content folder (BOT_CONTENT_DIR)")
    sub.add_parser(
        "export-learned",
        help="print the examples admins taught in /unanswered (BOT_DB) as YAML for "
        "content/examples.yaml",
    )
    migrate = sub.add_parser(
        "migrate-db",
        help="copy a database into another, e.g. the SQLite file into PostgreSQL "
        "(row counts and checksums compared per table)",
    )
    migrate.add_argument("source", help="SQLite file or postgresql:// URL to copy from")
    migrate.add_argument("destination", help="SQLite file or postgresql:// URL to copy into")
    migrate.add_argument(
        "--force", action="store_true", help="replace the rows a non-empty destination has"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m bot`` and the ``exam-score-bot`` script."""
    args = _parser().parse_args(argv)
    if args.command == "check-content":
        return cmd_check_content(args.directory)
    if args.command == "ask":
        return cmd_ask(args.question, as_json=args.json)
    if args.command == "run":
        return cmd_run()
    if args.command == "wechat-qr":
        return cmd_wechat_qr(args.topic)
    if args.command in ("wechat", "wechat-menu"):
        return cmd_wechat(menu_only=args.command == "wechat-menu")
    if args.command == "console":
        return cmd_console(args.db)
    if args.command == "export-learned":
        return cmd_export_learned()
    if args.command == "migrate-db":
        return cmd_migrate_db(args.source, args.destination, force=args.force)
    settings = _settings()
    if settings is None:
        return EXIT_USAGE
    return cmd_run() if settings.token is not None else cmd_console()


if __name__ == "__main__":
    sys.exit(main())
