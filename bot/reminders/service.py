"""Reminder rules: create within limits, list, cancel, snooze, export, render alerts.

Channel-neutral: takes user and chat ids and datetimes, returns plain values or Replies.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar, Event

from bot.content import Content, ContentStore
from bot.core.reply import MENU_ACTION, Button, Document, Reply, topic_action
from bot.core.text import Text, fill
from bot.dates import MAX_YEARS_AHEAD, Deadline, WorkCalendar, reject
from bot.storage import DueAlert, Reminder, ReminderRepo

KINDS = ("review", "audit", "certificate", "custom")
KIND_TOPIC = {"review": "review", "audit": "audit", "certificate": "certificate"}
MAX_ACTIVE = 50
MAX_TEXT = 100
SNOOZE = timedelta(days=1)
LEADS = {"1d": (1440,), "2h": (120,), "b": (1440, 120), "0": (0,)}
DEFAULT_LEADS = (1440, 120, 0)


@dataclass(frozen=True)
class Created:
    """A stored reminder and the alert times that remain in the future."""

    reminder_id: int
    alerts: tuple[datetime, ...]
    leads_dropped: bool


@dataclass(frozen=True)
class ReviewDates:
    """When a score review may close: both ends of the window after the release date.

    ``official``: the working days the year's notice gives (settings), when known; then
    ``first`` and ``last`` are the same day.
    """

    first: Deadline
    last: Deadline
    official: int | None = None

    @property
    def exact(self) -> bool:
        """False when either end was counted with weekdays only."""
        return self.first.exact and self.last.exact

    @property
    def years_without_data(self) -> tuple[int, ...]:
        """Years counted with weekdays only (no holiday data), for either end."""
        years = set(self.first.years_without_data) | set(self.last.years_without_data)
        return tuple(sorted(years))


@dataclass(frozen=True)
class LimitReached:
    """The user already has the maximum number of active reminders."""

    limit: int


class ReminderService:
    """Everything the conversation needs to do with reminders."""

    def __init__(
        self,
        repo: ReminderRepo,
        store: ContentStore,
        *,
        timezone: ZoneInfo,
        clock: Callable[[], datetime],
        on_change: Callable[[], None] = lambda: None,
        limit: int = MAX_ACTIVE,
    ) -> None:
        self.repo = repo
        self.store = store
        self.timezone = timezone
        self.clock = clock
        self.on_change = on_change
        self.limit = limit

    @property
    def content(self) -> Content:
        """Live content (texts, settings, holiday arrangements)."""
        return self.store.current

    def now(self) -> datetime:
        """The current time in the user's time zone."""
        return self.clock().astimezone(self.timezone)

    # -- working days ------------------------------------------------------------------

    def review_deadline(self, release: date) -> tuple[int, Deadline]:
        """``(N, deadline)``: the earliest the review can close, N working days after release.

        N is the official number of working days when settings give it, else the window's
        minimum: a reminder for this day comes before the review can have closed.

        A release date further ahead than a reminder may be set (``MAX_YEARS_AHEAD``, the
        limit typed dates have too) is refused: raises :class:`bot.dates.Reject` carrying the
        ``too_far`` refusal; answer it with ``explain(exc.answer, ...)``. Typed dates never get
        here that far ahead, but a button's data (``r:rel:9999-12-31``) can say anything.
        """
        self._check_reach(release)
        settings = self.content.settings
        workdays = settings.review_deadline_workdays or settings.review_window_workdays.min
        return workdays, self._calendar().add_workdays(release, workdays)

    def review_window(self, release: date) -> ReviewDates:
        """Both ends of the review window after ``release`` (settings' min and max working
        days), or the one official day when settings give it. Refuses like
        :meth:`review_deadline`."""
        self._check_reach(release)
        settings = self.content.settings
        calendar = self._calendar()
        official = settings.review_deadline_workdays
        if official is not None:
            day = calendar.add_workdays(release, official)
            return ReviewDates(day, day, official)
        window = settings.review_window_workdays
        return ReviewDates(
            calendar.add_workdays(release, window.min), calendar.add_workdays(release, window.max)
        )

    def _check_reach(self, release: date) -> None:
        today = self.now().date()
        if release > _years_later(today, MAX_YEARS_AHEAD):
            raise reject("too_far", at=release.isoformat(), years=MAX_YEARS_AHEAD)

    def _calendar(self) -> WorkCalendar:
        return WorkCalendar(self.content.holidays)

    # -- storage ---------------------------------------------------------------------------

    async def create(
        self,
        *,
        channel: str,
        user_id: int,
        chat_id: int,
        kind: str,
        text: str,
        due_at: datetime,
        leads: Sequence[int],
    ) -> Created | LimitReached:
        """Store a reminder; alerts already in the past are dropped (at due time remains)."""
        if await self.repo.count_active(channel, user_id) >= self.limit:
            return LimitReached(self.limit)
        now = self.clock()
        alerts = sorted({(due_at - timedelta(minutes=m), m) for m in leads if m >= 0})
        future = [(at, m) for at, m in alerts if at > now]
        dropped = len(future) < len(alerts)
        if not future:
            future = [(due_at, 0)]
        reminder_id = await self.repo.add(
            channel=channel,
            user_id=user_id,
            chat_id=chat_id,
            kind=kind,
            text=text,
            due_at=due_at,
            alerts=future,
            now=now,
        )
        self.on_change()
        return Created(reminder_id, tuple(at for at, _ in future), dropped)

    async def list(self, channel: str, user_id: int) -> list[Reminder]:
        """The user's active reminders, soonest first."""
        return await self.repo.list_active(channel, user_id)

    async def cancel(self, channel: str, user_id: int, reminder_id: int) -> Reminder | None:
        """Cancel one of the user's reminders; None when it is not theirs or not active."""
        found = await self._own(channel, user_id, reminder_id)
        if found is not None and await self.repo.cancel(channel, user_id, reminder_id):
            self.on_change()
            return found
        return None

    async def snooze(
        self, channel: str, user_id: int, reminder_id: int
    ) -> tuple[Reminder, datetime] | None:
        """One more alert a day later than the next one (or than now)."""
        found = await self._own(channel, user_id, reminder_id)
        if found is None:
            return None
        base = max(self.clock(), min(found.alerts, default=self.clock()))
        at = base + SNOOZE
        if not await self.repo.snooze(channel, user_id, reminder_id, at):
            return None
        self.on_change()
        return found, at

    async def _own(self, channel: str, user_id: int, reminder_id: int) -> Reminder | None:
        mine = await self.repo.list_active(channel, user_id)
        return next((r for r in mine if r.id == reminder_id), None)

    # -- presentation --------------------------------------------------------------------

    def label(self, kind: str, text: str) -> str:
        """What a reminder is about, as shown to the user (plain characters)."""
        texts = self.content.ui.reminders
        if kind == "custom":
            return text
        return str(getattr(texts, f"kind_{kind}")).split(" ", 1)[-1]

    def fmt(self, moment: datetime) -> str:
        """``12月10日（周四）09:00``, with the year when it is not this year's."""
        local = moment.astimezone(self.timezone)
        texts = self.content.ui.reminders
        template = texts.date_time if local.year == self.now().year else texts.date_time_year
        return self._date(template, local.date(), f"{local:%H:%M}")

    def fmt_day(self, day: date) -> str:
        """``2026年12月8日（周二）``."""
        return self._date(self.content.ui.reminders.date_only, day, "")

    def _date(self, template: str, day: date, clock: str) -> str:
        values = {
            "year": str(day.year),
            "month": str(day.month),
            "day": str(day.day),
            "weekday": self.content.ui.reminders.weekdays[day.weekday()],
            "time": clock,
        }
        return fill(template, **values).plain_text.strip()

    def left(self, due_at: datetime) -> Text:
        """Time left until ``due_at`` in words."""
        texts = self.content.ui.reminders
        seconds = (due_at - self.clock()).total_seconds()
        if seconds <= 0:
            return fill(texts.due_passed).strip()
        if seconds >= 86400:
            return fill(texts.left_days, n=str(round(seconds / 86400))).strip()
        if seconds >= 3600:
            return fill(texts.left_hours, n=str(round(seconds / 3600))).strip()
        return fill(texts.left_minutes, n=str(max(1, round(seconds / 60)))).strip()

    def render_alert(self, alert: DueAlert, late: bool) -> Reply:
        """The reminder message: what is due, when, a late note, a link to the topic."""
        texts = self.content.ui.reminders
        text = fill(
            texts.alert,
            what=self.label(alert.kind, alert.text),
            due=self.fmt(alert.due_at),
            left=self.left(alert.due_at),
        )
        if late:
            text = Text.join("\n", [text.strip(), fill(texts.alert_late)])
        rows: list[tuple[Button, ...]] = []
        topic = self.content.topics.get(KIND_TOPIC.get(alert.kind, ""))
        if topic is not None:
            rows.append((Button(topic.button, topic_action(topic.id)),))
        rows.append((Button(self.content.ui.buttons.menu, MENU_ACTION),))
        return Reply.single(text, tuple(rows))

    def ics(self, reminders: Sequence[Reminder]) -> Document:
        """A calendar file with one event per reminder and an alarm per pending alert."""
        calendar = Calendar()
        calendar.add("prodid", "-//exam-score-bot//zh-CN")
        calendar.add("version", "2.0")
        stamp = self.clock()
        for reminder in reminders:
            event = Event()
            event.add("uid", f"reminder-{reminder.id}@exam-score-bot")
            event.add("dtstamp", stamp)
            event.add("summary", self.label(reminder.kind, reminder.text))
            event.add("dtstart", reminder.due_at)
            event.add("dtend", reminder.due_at + timedelta(minutes=30))
            for at in reminder.alerts:
                alarm = Alarm()
                alarm.add("action", "DISPLAY")
                alarm.add("description", self.label(reminder.kind, reminder.text))
                alarm.add("trigger", at - reminder.due_at)
                event.add_component(alarm)
            calendar.add_component(event)
        return Document("reminders.ics", calendar.to_ical(), "text/calendar")


def _years_later(day: date, years: int) -> date:
    """The same day ``years`` later (28 February for a 29th); ``date.max`` past the end."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        if day.year + years > date.max.year:
            return date.max
        return day.replace(year=day.year + years, day=28)
