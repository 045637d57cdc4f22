"""Buttons every feature uses: the main menu, a way back to it, related topics."""

from __future__ import annotations

from collections.abc import Sequence

from bot.content import Content
from bot.core.reply import MENU_ACTION, Button, Reply, Rows, topic_action
from bot.core.text import markup

BUTTONS_PER_ROW = 2


def menu_button(content: Content) -> tuple[Button, ...]:
    """One row with the "back to the menu" button."""
    return (Button(content.ui.buttons.menu, MENU_ACTION),)


def menu_rows(content: Content) -> Rows:
    """The main menu's buttons."""
    return tuple(
        tuple(Button(content.topics[t].button, topic_action(t)) for t in row)
        for row in content.menu
    )


def topic_rows(content: Content, topic_ids: Sequence[str]) -> Rows:
    """Buttons to ``topic_ids``, two per row, then the way back to the menu."""
    related = [Button(content.topics[t].button, topic_action(t)) for t in topic_ids]
    rows = [
        tuple(related[i : i + BUTTONS_PER_ROW]) for i in range(0, len(related), BUTTONS_PER_ROW)
    ]
    return (*rows, menu_button(content))


def with_menu(content: Content, source: str) -> Reply:
    """A content text with the main menu under it."""
    return Reply.single(markup(source), menu_rows(content))
