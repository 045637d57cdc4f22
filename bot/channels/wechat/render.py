"""Fit core replies to WeChat: plain text, choices as numbers, long text in parts."""

from __future__ import annotations

from bot.content.models import WeChatTexts
from bot.replies import Button, Reply
from bot.textfmt import visible_text

MAX_REPLY_BYTES = 2000  # WeChat passive text replies take about 2048 bytes
TELEGRAM_ONLY = ("s:", "b:")  # subscriptions and broadcasts reach Telegram chats only
REMINDER_ACTIONS = ("r:",)


def choices_of(reply: Reply, *, reminders: bool = False) -> list[Button]:
    """The buttons a WeChat user can pick by number (features WeChat cannot serve dropped)."""
    dropped = TELEGRAM_ONLY if reminders else TELEGRAM_ONLY + REMINDER_ACTIONS
    return [b for row in reply.last_buttons for b in row if not b.action.startswith(dropped)]


def render(
    reply: Reply, texts: WeChatTexts, *, reminders: bool = False
) -> tuple[list[str], list[Button]]:
    """Parts of at most MAX_REPLY_BYTES each, and the numbered choices at the end.

    ``reminders``: reminder buttons are kept (the account can push reminders).
    """
    blocks = []
    for message in reply.messages:
        blocks.append(visible_text(message.text).strip())
        if message.document is not None and message.document.mime_type.startswith("text/"):
            # No files in passive replies: a calendar file is given as a text block.
            blocks.append(message.document.data.decode("utf-8").strip())
    body = "\n\n".join(blocks)
    choices = choices_of(reply, reminders=reminders)
    if choices:
        lines = "\n".join(f"{n}. {b.label}" for n, b in enumerate(choices, 1))
        body += f"\n\n{texts.choose}\n{lines}"
    return split(body, texts.more), choices


def split(text: str, more: str) -> list[str]:
    """Cut at paragraph or line ends so each part plus the "more" hint fits one reply."""
    budget = MAX_REPLY_BYTES - len(more.encode()) - 2
    parts: list[str] = []
    while len(text.encode()) > MAX_REPLY_BYTES:
        cut = _cut(text, budget)
        parts.append(text[:cut].rstrip() + "\n" + more)
        text = text[cut:].lstrip("\n")
    parts.append(text)
    return parts


def _cut(text: str, budget: int) -> int:
    size, last_break, end = 0, 0, 0
    for index, char in enumerate(text):
        size += len(char.encode())
        if size > budget:
            break
        end = index + 1
        if char == "\n":
            last_break = index + 1
    return last_break or end
