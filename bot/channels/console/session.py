"""A terminal session: read lines, answer through the core, print plain text.

Works interactively and with piped stdin (it stops at end of input). Lines are read in a
worker thread so the event loop never blocks. On the console's own scratch database the
person at the terminal runs the bot, so admin commands (/reload) are allowed; on a database
it shares (``--db``) they are an ordinary user (see runtime.py). Files (the .ics export) are
written to ``export_dir`` and their path printed.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TextIO

from bot.channels.console.capabilities import CONSOLE
from bot.core.conversation import Conversation
from bot.core.numbers import parse_int
from bot.core.reply import Button, Reply
from bot.core.router import Who
from bot.core.text import fill
from bot.delivery import Outcome, Priority, Result

RULE = "─" * 24
CONSOLE_USER = Who(CONSOLE.name, user_id=1, chat_id=1, is_admin=True)
CHOICE_DIGITS = 9  # longer digit runs are text, not a choice


def render(reply: Reply) -> tuple[str, list[Button]]:
    """Plain text of ``reply`` plus the numbered choices offered under it."""
    blocks = [message.text.plain_text.strip() for message in reply.messages]
    choices = [button for row in reply.last_buttons for button in row]
    text = f"\n{RULE}\n".join(blocks)
    if choices:
        text += "\n\n" + "\n".join(f"  [{n}] {b.label}" for n, b in enumerate(choices, 1))
    return text, choices


async def answer_line(
    conversation: Conversation, line: str, choices: list[Button], who: Who = CONSOLE_USER
) -> Reply | None:
    """The reply to one typed line; None for a blank line."""
    line = line.strip()
    if not line:
        return None
    number = parse_int(line, max_digits=CHOICE_DIGITS)
    if number is not None:
        if 1 <= number <= len(choices):
            return await conversation.action(choices[number - 1].action, who)
        limit = str(len(choices)) if choices else "0"
        return Reply.single(fill(conversation.content.ui.texts.console_bad_choice, max=limit))
    return await conversation.text(line, who)


class ConsoleSender:
    """Prints reminders that come due while the console runs."""

    def __init__(self, stdout: TextIO) -> None:
        self.stdout = stdout

    async def send(self, chat_id: int, reply: Reply, priority: Priority = Priority.REPLY) -> Result:
        """Print ``reply`` as if it arrived in the chat."""
        text, _ = render(reply)
        print(f"\n{text}", file=self.stdout, flush=True)
        return Result(Outcome.SENT)

    async def edit(self, chat_id: int, message_id: int, reply: Reply) -> Result:
        """Print the new version of the message."""
        return await self.send(chat_id, reply)


def _save_documents(reply: Reply, export_dir: Path | None, stdout: TextIO) -> None:
    for message in reply.messages:
        if message.document is not None and export_dir is not None:
            export_dir.mkdir(parents=True, exist_ok=True)
            path = export_dir / message.document.filename
            path.write_bytes(message.document.data)
            print(f"→ {path}", file=stdout, flush=True)


async def run_console(
    conversation: Conversation,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    export_dir: Path | None = None,
    who: Who = CONSOLE_USER,
) -> None:
    """Run the conversation on a terminal until end of input or Ctrl-C."""
    interactive = stdin.isatty()
    start = await conversation.command("start", who)
    text, choices = render(start or conversation.unknown_command())
    print(text, file=stdout, flush=True)
    while True:
        if interactive:
            print("\n> ", end="", file=stdout, flush=True)
        line = await asyncio.to_thread(stdin.readline)
        if not line:
            break
        reply = await answer_line(conversation, line, choices, who)
        if reply is None or not reply.messages:
            continue
        text, new_choices = render(reply)
        if new_choices:
            choices = new_choices
        print(f"\n{text}", file=stdout, flush=True)
        _save_documents(reply, export_dir, stdout)
