"""A user's reminders after they are set: /reminders (delete, snooze, export), /release.

The export button opens /ics (bot/calendar/command.py).
"""

from __future__ import annotations

from bot.content.ui_models import ReminderTexts
from bot.core.keyboards import menu_button, menu_rows
from bot.core.numbers import parse_int
from bot.core.reply import Button, Reply
from bot.core.router import Request, Router, Who
from bot.core.text import Text, fill, markup
from bot.dates import NotUnderstood, Reject, parse_when
from bot.reminders.flow import PREFIX, RemindFlow
from bot.reminders.service import ReminderService

LISTED = 20
ID_DIGITS = 18  # a stored id (SQLite integers are 64-bit)


class ManageReminders:
    """Listing, deleting and snoozing reminders; the review deadline."""

    def __init__(self, service: ReminderService, flow: RemindFlow) -> None:
        self.service = service
        self.flow = flow
        self.store = flow.store

    @property
    def t(self) -> ReminderTexts:
        """The reminder texts of the live content."""
        return self.store.current.ui.reminders

    def register(self, router: Router) -> None:
        """/reminders, /release and the list's buttons (its export button is /ics's)."""
        router.command("reminders", self._reminders)
        router.command("release", self._release)
        router.action(f"{PREFIX}list", self._list_action)
        router.action(f"{PREFIX}del:", self._change)
        router.action(f"{PREFIX}snz:", self._change)

    def _my_reminders_row(self) -> tuple[Button, ...]:
        return (Button(self.t.my_reminders, f"{PREFIX}list"),)

    async def _reminders(self, request: Request) -> Reply:
        return await self.list(request.who)

    async def _list_action(self, who: Who, action: str) -> Reply:
        return await self.list(who)

    async def list(self, who: Who) -> Reply:
        """The user's reminders, each with delete and snooze buttons."""
        reminders = await self.service.list(who.channel, who.user_id)
        if not reminders:
            return Reply.single(markup(self.t.list_empty), menu_rows(self.store.current))
        items = [markup(self.t.list_header).strip()]
        rows: list[tuple[Button, ...]] = []
        for n, reminder in enumerate(reminders[:LISTED], 1):
            alerts = "、".join(self.service.fmt(a) for a in reminder.alerts) or "-"
            item = fill(
                self.t.list_item,
                n=str(n),
                what=self.service.label(reminder.kind, reminder.text),
                due=self.service.fmt(reminder.due_at),
                alerts=alerts,
            )
            items.append(item.strip())
            rows.append(
                (
                    Button(self.t.delete.replace("{n}", str(n)), f"{PREFIX}del:{reminder.id}"),
                    Button(self.t.snooze.replace("{n}", str(n)), f"{PREFIX}snz:{reminder.id}"),
                )
            )
        rows.append((Button(self.t.export, f"{PREFIX}ics"),))
        return Reply.single(Text.join("\n\n", items), (*rows, menu_button(self.store.current)))

    async def _change(self, who: Who, action: str) -> Reply:
        verb, _, number = action.removeprefix(PREFIX).partition(":")
        reminder_id = parse_int(number, max_digits=ID_DIGITS)
        if reminder_id is None:
            return Reply.single(markup(self.t.not_found), menu_rows(self.store.current))
        if verb == "del":
            gone = await self.service.cancel(who.channel, who.user_id, reminder_id)
            if gone is None:
                return Reply.single(markup(self.t.not_found), menu_rows(self.store.current))
            text = fill(self.t.deleted, what=self.service.label(gone.kind, gone.text))
            return Reply.single(text, (self._my_reminders_row(),))
        snoozed = await self.service.snooze(who.channel, who.user_id, reminder_id)
        if snoozed is None:
            return Reply.single(markup(self.t.not_found), menu_rows(self.store.current))
        reminder, at = snoozed
        text = fill(
            self.t.snoozed,
            at=self.service.fmt(at),
            what=self.service.label(reminder.kind, reminder.text),
        )
        return Reply.single(text, (self._my_reminders_row(),))

    async def _release(self, request: Request) -> Reply:
        """``/release DATE``: when the review may close (both ends), offered as a reminder."""
        settings = self.store.current.settings
        if request.args:
            parsed = parse_when(request.args, self.service.now(), allow_past=True)
            if isinstance(parsed, NotUnderstood):
                return self.flow.refusal(parsed, cancel=False)
            release = parsed.at.date()
        elif settings.score_release_date is not None:
            release = settings.score_release_date
        else:
            return Reply.single(markup(self.t.release_usage))
        try:
            window = self.service.review_window(release)
        except Reject as refused:
            return self.flow.refusal(refused.answer, cancel=False)
        first = self.service.fmt_day(window.first.day)
        if window.official is not None:
            text = fill(
                self.t.release_exact,
                release=self.service.fmt_day(release),
                workdays=str(window.official),
                deadline=first,
            )
        else:
            text = fill(
                self.t.release_result,
                release=self.service.fmt_day(release),
                first=first,
                last=self.service.fmt_day(window.last.day),
            )
        if not window.exact:
            years = "、".join(str(y) for y in window.years_without_data)
            text = Text.join("\n", [text.strip(), fill(self.t.release_approx, years=years)])
        rows: list[tuple[Button, ...]] = []
        if self.flow.end_of_day(window.first.day) > self.service.clock():
            # The reminder is for the earliest day (the flow's "r:rel:" uses the same one),
            # and its label names that day.
            label = fill(self.t.release_remind, deadline=first).plain_text.strip()
            rows.append((Button(label, f"{PREFIX}rel:{release.isoformat()}"),))
        return Reply.single(text, (*rows, menu_button(self.store.current)))
