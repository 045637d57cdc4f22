"""Refusals: what the parser answers instead of guessing, as a code plus values, never as text.

A :class:`NotUnderstood` names a template (``code``) of the ``dates`` section of
``content/ui.yaml`` and carries the runtime values to fill in. :func:`explain` turns it into
the Chinese sentence. A template's ``{name}`` is filled from, in this order: the refusal's
``values``; the template its ``parts`` name for that placeholder (a sub-text chosen at run time,
such as how an hour is said); the template called ``name`` (a shared sub-text such as the
examples). Sub-texts are filled the same way. This module holds no user-facing text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

CODES = frozenset(
    {
        "empty",
        "unrecognised",
        "no_such_month",
        "no_such_day",
        "no_such_day_in_year",
        "month_day_past",
        "month_day_last_year",
        "this_month_day_past",
        "this_week_day_past",
        "weekday_today_past",
        "weekday_mismatch",
        "vague",
        "need_hour",
        "no_such_hour",
        "no_such_minute",
        "ambiguous_hour",
        "midnight",
        "period_hour_mismatch",
        "zero_duration",
        "time_past_today",
        "past_today_offer",
        "default_time_past",
        "past",
        "too_far",
    }
)
"""Every code a :class:`NotUnderstood` can carry."""
PIECES = frozenset(
    {
        "examples",
        "check_date",
        "month_day_order",
        "hour_label",
        "hour_label_half",
        "hour_label_minutes",
    }
)
"""Sub-texts that templates use: by name (``{examples}``) or chosen through ``parts``."""
TEMPLATES = CODES | PIECES
"""Every name the ``dates`` section of ui.yaml must define."""
VALUES = frozenset(
    {
        "year",
        "month",
        "day",
        "hour",
        "minute",
        "small",
        "clock",
        "period",
        "date",
        "time",
        "example",
        "weekday",
        "what",
        "actual",
        "at",
        "years",
    }
)
"""Names of the runtime values the parser fills in."""
PARTS = frozenset({"hint", "label"})
"""Placeholders filled with a sub-text the parser chooses (see ``NotUnderstood.parts``)."""
PLACEHOLDERS = VALUES | PARTS | PIECES
"""Every placeholder a ``dates`` template may use."""
MAX_NESTING = 3

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


@dataclass(frozen=True)
class NotUnderstood:
    """The input could not be turned into a datetime without guessing.

    Render it with :func:`explain` and the ``dates`` templates of the live content.
    """

    code: str
    """One of :data:`CODES`: which template explains the refusal."""
    values: dict[str, str] = field(default_factory=dict)
    """Runtime values for the template's placeholders (month, day, hour, example...)."""
    parts: dict[str, str] = field(default_factory=dict)
    """Placeholder -> name of the sub-text template to put there (``label`` -> ``hour_label``)."""


def refusal(code: str, parts: Mapping[str, str] | None = None, **values: object) -> NotUnderstood:
    """A :class:`NotUnderstood`; values are turned into strings."""
    if code not in CODES:
        raise ValueError(f"unknown refusal code {code!r}")
    chosen = dict(parts or {})
    if not chosen.keys() <= PARTS or not set(chosen.values()) <= PIECES:
        raise ValueError(f"unknown parts {chosen!r}")
    if not values.keys() <= VALUES:
        raise ValueError(f"unknown values {sorted(values.keys() - VALUES)}")
    return NotUnderstood(code, {name: str(value) for name, value in values.items()}, chosen)


class Reject(Exception):
    """Raised inside the parser to answer with a :class:`NotUnderstood`."""

    def __init__(self, answer: NotUnderstood) -> None:
        super().__init__(answer.code)
        self.answer = answer


def reject(code: str, parts: Mapping[str, str] | None = None, **values: object) -> Reject:
    """The exception to raise for ``code`` (``raise reject("no_such_hour", hour=25)``)."""
    return Reject(refusal(code, parts, **values))


def explain(refusal: NotUnderstood, templates: Mapping[str, str]) -> str:
    """The sentence for ``refusal``, filled from ``templates`` (the ``dates`` section of
    ui.yaml as a mapping, e.g. ``content.ui.dates.model_dump()``).

    Raises KeyError when ``templates`` lacks the code (content validation prevents that).
    """
    return _fill(refusal.code, refusal, templates, 0)


def _fill(name: str, answer: NotUnderstood, templates: Mapping[str, str], depth: int) -> str:
    template = templates[name]

    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        if key in answer.values:
            return answer.values[key]
        piece = answer.parts.get(key, key)
        if piece in templates and depth < MAX_NESTING:
            return _fill(piece, answer, templates, depth + 1)
        return match.group(0)

    return _PLACEHOLDER.sub(replace, template)
