"""holidays.yaml: official working-day arrangements for years the holiday library lacks."""

from __future__ import annotations

from datetime import date, timedelta

from bot.content.models import HolidaysFile
from bot.content.source import Problem, SourceFile, format_path
from bot.dates import YearArrangement, arrangement


def _dates(text: str, year: int) -> list[date]:
    """``2027-01-01`` or a range ``2027-02-06..2027-02-12``, all inside ``year``."""
    first, _, last = text.partition("..")
    start = date.fromisoformat(first.strip())
    end = date.fromisoformat(last.strip()) if last else start
    if start > end or start.year != year or end.year != year or (end - start).days > 31:
        raise ValueError(f"{text!r} must be a date or a short range within {year}")
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def holidays(
    raw: HolidaysFile | None, src: SourceFile, problems: list[Problem]
) -> dict[int, YearArrangement] | None:
    """Each year's days off and working weekends; problems for malformed dates."""
    if raw is None:
        return None
    years: dict[int, YearArrangement] = {}
    for year, listed in raw.years.items():
        days: dict[str, list[date]] = {"holidays": [], "workdays": []}
        for key in days:
            for index, text in enumerate(getattr(listed, key)):
                try:
                    days[key] += _dates(text, year)
                except ValueError as exc:
                    path = ("years", str(year), key, index)
                    problems.append(src.problem(path, f"{format_path(path)}: {exc}"))
        years[year] = arrangement(days["holidays"], days["workdays"])
    return years
