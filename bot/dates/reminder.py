"""A typed reminder ("提醒我明天下午3点交材料") read into its datetime and its text.

:func:`read_reminder` is what the reminders flow uses on a one-line reminder.
"""

from __future__ import annotations

from datetime import datetime

from bot.dates.parse import When, parse_when
from bot.dates.refusals import NotUnderstood


def read_reminder(text: str, now: datetime) -> When | NotUnderstood:
    """The reminder's datetime and text (``rest``), or the question to ask back."""
    return parse_when(text, now)
