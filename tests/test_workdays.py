"""Working days across Chinese holidays and adjusted weekends (调休)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from bot.channels import CHANNELS
from bot.content import ContentError, load_content
from bot.dates import WorkCalendar, arrangement

CAL = WorkCalendar()


@pytest.mark.parametrize(
    ("start", "count", "expected"),
    [
        # National Day 2025: Oct 1-8 off; Sun Sep 28 and Sat Oct 11 are working days.
        (date(2025, 9, 26), 1, date(2025, 9, 28)),
        (date(2025, 9, 30), 1, date(2025, 10, 9)),
        (date(2025, 9, 30), 3, date(2025, 10, 11)),
        (date(2025, 9, 30), 5, date(2025, 10, 14)),
        # Spring Festival 2026: Feb 15-23 off; Sat Feb 14 and Sat Feb 28 are working days.
        (date(2026, 2, 13), 1, date(2026, 2, 14)),
        (date(2026, 2, 13), 5, date(2026, 2, 27)),
        (date(2026, 2, 13), 6, date(2026, 2, 28)),
        # An ordinary stretch: Tuesday + 5 working days is the next Tuesday.
        (date(2026, 12, 1), 5, date(2026, 12, 8)),
        (date(2026, 12, 1), 15, date(2026, 12, 22)),
    ],
)
def test_add_workdays(start: date, count: int, expected: date) -> None:
    deadline = CAL.add_workdays(start, count)
    assert deadline.day == expected
    assert deadline.exact


def test_year_without_data_is_approximate_and_says_so() -> None:
    deadline = CAL.add_workdays(date(2026, 12, 28), 5)
    assert deadline.day == date(2027, 1, 4)  # weekdays only: Jan 1 2027 counted as working
    assert not deadline.exact
    assert deadline.years_without_data == (2027,)


def test_holidays_yaml_arrangement_is_used() -> None:
    cal = WorkCalendar({2027: arrangement([date(2027, 1, 1)], [date(2027, 1, 2)])})
    # Thu Dec 31 2026 + 1: Fri Jan 1 off (listed), Sat Jan 2 working (listed).
    deadline = cal.add_workdays(date(2026, 12, 31), 1)
    assert deadline == deadline.__class__(date(2027, 1, 2), True, ())


def test_holidays_yaml_is_validated(content_copy: Path) -> None:
    (content_copy / "holidays.yaml").write_text(
        'years:\n  2027:\n    holidays: ["2027-02-06..2027-02-12", "2028-01-01"]\n'
        '    workdays: ["2027-13-01"]\n',
        encoding="utf-8",
    )
    with pytest.raises(ContentError) as caught:
        load_content(content_copy, CHANNELS)
    problems = [str(p) for p in caught.value.problems]
    assert any(p.startswith("holidays.yaml:3:") and "2028-01-01" in p for p in problems), problems
    assert any(p.startswith("holidays.yaml:4:") for p in problems), problems


def test_holidays_yaml_loads(content_copy: Path) -> None:
    (content_copy / "holidays.yaml").write_text(
        'years:\n  2027:\n    holidays: ["2027-01-01", "2027-02-06..2027-02-08"]\n'
        '    workdays: ["2027-02-14"]\n',
        encoding="utf-8",
    )
    content = load_content(content_copy, CHANNELS)
    year = content.holidays[2027]
    assert date(2027, 2, 7) in year.holidays and date(2027, 2, 14) in year.workdays
