"""Chinese dates: parsing typed dates/times and counting working days (调休).

A low-level package: it imports no bot feature and no content. Refusals come back as codes
with values; :func:`explain` renders them with the ``dates`` texts of ``content/ui.yaml``.
"""

from bot.dates.parse import DEFAULT_TIME, MAX_INPUT_CHARS, MAX_YEARS_AHEAD, When, parse_when
from bot.dates.refusals import (
    CODES,
    PIECES,
    PLACEHOLDERS,
    TEMPLATES,
    NotUnderstood,
    Reject,
    explain,
    reject,
)
from bot.dates.reminder import read_reminder
from bot.dates.workdays import Deadline, WorkCalendar, YearArrangement, arrangement

__all__ = [
    "CODES",
    "DEFAULT_TIME",
    "MAX_INPUT_CHARS",
    "MAX_YEARS_AHEAD",
    "PIECES",
    "PLACEHOLDERS",
    "TEMPLATES",
    "Deadline",
    "NotUnderstood",
    "Reject",
    "When",
    "WorkCalendar",
    "YearArrangement",
    "arrangement",
    "explain",
    "parse_when",
    "read_reminder",
    "reject",
]
