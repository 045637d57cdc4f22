"""Whether a notice concerns this exam, what it is about, and a deadline its title states.

A title is compared in its normalised form (simplified characters, half-width, no spaces or
punctuation, as the matcher sees questions): relevant when it contains a keyword of
watch.yaml and no excluded word (一级, 建造师 ...). The first category (in the file's order)
whose words it contains decides the follow-up buttons of its announcement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from bot.content.watch_models import WatchFile
from bot.faq.normalize import normalize

# A date the title gives as a limit, after normalising (punctuation gone): "截止12月10日",
# "2026年12月10日前", "12月10日含之前".
_DATE = r"(?:(?P<y>20\d\d)年)?(?P<m>1[0-2]|0?[1-9])月(?P<d>3[01]|[12]\d|0?[1-9])[日号]"
_DEADLINES = (
    re.compile(rf"截止(?:到|至|日期为?|时间为?)?{_DATE}"),
    re.compile(rf"{_DATE}(?:含)?(?:前|之前|截止)"),
)


@dataclass(frozen=True)
class Judgement:
    """What the watcher makes of one notice title."""

    relevant: bool
    matched: tuple[str, ...]
    excluded: tuple[str, ...]
    category: str | None


def judge(title: str, watch: WatchFile) -> Judgement:
    """Relevance, the keywords that matched, the words that ruled it out, the category."""
    plain = normalize(title)
    matched = tuple(k for k in watch.keywords if normalize(k) in plain)
    excluded = tuple(x for x in watch.exclude if normalize(x) in plain)
    category = next(
        (
            name
            for name, words in watch.categories.items()
            if any(normalize(w) in plain for w in words)
        ),
        None,
    )
    return Judgement(bool(matched) and not excluded, matched, excluded, category)


def stated_deadline(text: str, published: date | None, today: date) -> date | None:
    """A deadline the text states ("12月10日前", "截止2026年12月10日"); a date without a year is
    the next such date from the notice's date (or today). None when there is none or it is
    impossible."""
    plain = normalize(text)
    found = next((m for m in (p.search(plain) for p in _DEADLINES) if m), None)
    if found is None:
        return None
    groups = {k: v for k, v in found.groupdict().items() if v}
    base = published or today
    try:
        month, day = int(groups["m"]), int(groups["d"])
        if "y" in groups:
            return date(int(groups["y"]), month, day)
        candidate = date(base.year, month, day)
        return candidate if candidate >= base else date(base.year + 1, month, day)
    except (KeyError, ValueError):
        return None
