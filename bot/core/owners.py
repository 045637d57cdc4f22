"""Whose buttons these are: in a shared chat (a group) a reply's buttons belong to its user.

The conversation marks every button action of a reply in a group with the user it answered
(``r:l:1d~12345``); a tap carrying another user's mark is refused before any feature sees
it. The mark keeps members from steering each other's messages; a channel whose taps carry
the tapped message checks that the data is on one of its buttons (Telegram: ``offered`` in
handlers.py), so a mark cannot be stripped or swapped there. What a tap may change is still
checked by the feature against the person who tapped (their own drafts, their own reminders,
an admin's own broadcast), so even forged data changes nothing stored.
"""

from __future__ import annotations

from dataclasses import replace

from bot.core.numbers import parse_int
from bot.core.reply import Button, Message, Reply

MARK = "~"
USER_ID_DIGITS = 20


def shared_chat(chat_type: str) -> bool:
    """True where several people see (and could tap) the bot's buttons."""
    return chat_type != "private"


def mark(reply: Reply, owner: int, action_limit: int | None = None) -> Reply:
    """``reply`` with each button action marked as ``owner``'s (when it still fits)."""
    suffix = f"{MARK}{owner}"

    def marked(button: Button) -> Button:
        action = button.action + suffix
        if action_limit is not None and len(action.encode()) > action_limit:
            return button  # too long to mark: the feature's own checks still apply
        return Button(button.label, action)

    messages: list[Message] = []
    for message in reply.messages:
        rows = tuple(tuple(marked(b) for b in row) for row in message.buttons)
        messages.append(replace(message, buttons=rows))
    return replace(reply, messages=tuple(messages))


def split(action: str) -> tuple[str, int | None]:
    """The action without its mark, and the owner it names (None: no mark)."""
    head, found, tail = action.rpartition(MARK)
    if not found:
        return action, None
    owner = parse_int(tail, max_digits=USER_ID_DIGITS)
    if owner is None:
        return action, None
    return head, owner
