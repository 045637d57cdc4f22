"""The /remind conversation and the other reminder commands, as channel-neutral replies.

A draft per user remembers where a guided /remind is (what -> when -> how early); typed
dates go through :func:`parse_when`, which asks back instead of guessing. Drafts live in
memory and expire: losing one on restart costs the user a re-typed command, nothing more.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Literal

from bot.content import ContentStore
from bot.content.models import ReminderTexts
from bot.reminders.parse import NotUnderstood, parse_when
from bot.reminders.service import (
    DEFAULT_LEADS,
    KINDS,
    LEADS,
    MAX_TEXT,
    LimitReached,
    ReminderService,
)
from bot.replies import MENU_ACTION, Button, Message, Reply

PREFIX = "r:"
DRAFT_TTL = timedelta(minutes=30)
KIND_WORDS = {"复核": "review", "审核": "audit", "资格审核": "audit", "证书": "certificate"}
Step = Literal["text", "when", "release", "lead"]
Rows = tuple[tuple[Button, ...], ...]


@dataclass
class Draft:
    """A /remind in progress."""

    kind: str
    started: datetime
    step: Step = "when"
    text: str = ""
    due: datetime | None = None


@dataclass
class RemindFlow:
    """Reminder commands, button taps and typed answers for one bot."""

    service: ReminderService
    store: ContentStore
    menu_rows: Callable[[], Rows]
    drafts: dict[int, Draft] = field(default_factory=dict)

    @property
    def t(self) -> ReminderTexts:
        """The reminder texts of the live content."""
        return self.store.current.ui.reminders

    def _menu_row(self) -> tuple[Button, ...]:
        return (Button(self.store.current.ui.buttons.menu, MENU_ACTION),)

    def _cancel_row(self) -> tuple[Button, ...]:
        return (Button(self.t.cancel, f"{PREFIX}x"),)

    def _draft(self, user_id: int) -> Draft | None:
        draft = self.drafts.get(user_id)
        if draft is not None and self.service.clock() - draft.started > DRAFT_TTL:
            del self.drafts[user_id]
            return None
        return draft

    def waiting_for_text(self, user_id: int) -> bool:
        """True when the user's next typed message answers the /remind flow."""
        draft = self._draft(user_id)
        return draft is not None and draft.step in ("text", "when", "release")

    # -- /remind -------------------------------------------------------------------------

    async def start(self, user_id: int, chat_id: int, args: str) -> Reply:
        """``/remind`` (guided) or the one-line forms ``/remind review 2026-12-10 09:00``."""
        args = args.strip()
        if not args:
            self.drafts[user_id] = Draft("custom", self.service.clock(), step="when")
            kinds = tuple((Button(getattr(self.t, f"kind_{k}"), f"{PREFIX}k:{k}"),) for k in KINDS)
            return Reply.single(self.t.ask_what, (*kinds, self._cancel_row()))
        first, _, rest = args.partition(" ")
        kind = first if first in KINDS else KIND_WORDS.get(first)
        when = parse_when(rest if kind else args, self.service.now())
        if isinstance(when, NotUnderstood):
            return Reply.single(self.t.bad_time.replace("{reason}", when.reason))
        kind = kind or "custom"
        text = when.rest if kind == "custom" else ""
        if kind == "custom" and not text:
            self.drafts[user_id] = Draft(kind, self.service.clock(), "text", due=when.at)
            return Reply.single(self.t.ask_text, (self._cancel_row(),))
        if len(text) > MAX_TEXT:
            return Reply.single(self.t.text_too_long)
        draft = Draft(kind, self.service.clock(), text=text, due=when.at)
        return await self._save(user_id, chat_id, draft, DEFAULT_LEADS, chosen=False)

    async def on_text(self, user_id: int, chat_id: int, text: str) -> Reply:
        """A typed answer while a /remind is waiting for one."""
        draft = self._draft(user_id)
        if draft is None:
            return Reply.single(self.t.cancelled)
        text = text.strip()
        if draft.step == "text":
            if len(text) > MAX_TEXT:
                return Reply.single(self.t.text_too_long, (self._cancel_row(),))
            draft.text = text
            if draft.due is not None:
                return self._ask_lead(draft)
            draft.step = "when"
            return Reply.single(self.t.ask_when, (self._cancel_row(),))
        if draft.step == "release":
            release = parse_when(text, self.service.now(), allow_past=True)
            if isinstance(release, NotUnderstood):
                return Reply.single(
                    self.t.bad_time.replace("{reason}", release.reason), (self._cancel_row(),)
                )
            _, deadline = self.service.review_deadline(release.at.date())
            draft.due = self._end_of_day(deadline.day)
            return self._ask_lead(draft)
        when = parse_when(text, self.service.now())
        if isinstance(when, NotUnderstood):
            return Reply.single(
                self.t.bad_time.replace("{reason}", when.reason), (self._cancel_row(),)
            )
        draft.due = when.at
        return self._ask_lead(draft)

    def _end_of_day(self, day: date) -> datetime:
        # A deadline day counts until office hours end.
        return datetime.combine(day, time(17, 0), self.service.timezone)

    def _ask_lead(self, draft: Draft) -> Reply:
        draft.step = "lead"
        assert draft.due is not None
        rows = tuple(
            (
                Button(
                    getattr(self.t, f"lead_{code if code != 'b' else 'both'}"), f"{PREFIX}l:{code}"
                ),
            )
            for code in ("1d", "2h", "b", "0")
        )
        text = self.t.ask_lead.replace("{due}", self.service.fmt(draft.due))
        return Reply.single(text, (*rows, self._cancel_row()))

    async def on_action(self, user_id: int, chat_id: int, action: str) -> Reply:
        """A tap on one of the reminder buttons."""
        verb, _, arg = action.removeprefix(PREFIX).partition(":")
        if verb == "x":
            self.drafts.pop(user_id, None)
            return Reply.single(self.t.cancelled, self.menu_rows())
        if verb == "go":
            return await self.start(user_id, chat_id, "")
        if verb == "list":
            return await self.list(user_id)
        if verb in ("del", "snz") and arg.isdigit():
            return await self._change(user_id, verb, int(arg))
        if verb == "rel":
            return self._from_release(user_id, arg)
        draft = self._draft(user_id)
        if draft is None:
            return Reply.single(self.t.cancelled, self.menu_rows())
        if verb == "k" and arg in KINDS:
            draft.kind = arg
            if arg == "custom":
                draft.step = "text"
                return Reply.single(self.t.ask_text, (self._cancel_row(),))
            draft.step = "when"
            rows: list[tuple[Button, ...]] = []
            if arg == "review":
                rows.append((Button(self.t.from_release, f"{PREFIX}rel"),))
            return Reply.single(self.t.ask_when, (*rows, self._cancel_row()))
        if verb == "l" and arg in LEADS and draft.step == "lead":
            return await self._save(user_id, chat_id, draft, LEADS[arg])
        return Reply.single(self.t.cancelled, self.menu_rows())

    def _from_release(self, user_id: int, arg: str) -> Reply:
        """ "From the release date": ask for it, or use the date carried by /release."""
        now = self.service.clock()
        if not arg:
            draft = self._draft(user_id) or Draft("review", now)
            draft.kind, draft.step = "review", "release"
            self.drafts[user_id] = draft
            return Reply.single(self.t.ask_release, (self._cancel_row(),))
        try:
            release = date.fromisoformat(arg)
        except ValueError:
            return Reply.single(self.t.cancelled, self.menu_rows())
        _, deadline = self.service.review_deadline(release)
        draft = Draft("review", now, due=self._end_of_day(deadline.day))
        self.drafts[user_id] = draft
        return self._ask_lead(draft)

    async def _save(
        self,
        user_id: int,
        chat_id: int,
        draft: Draft,
        leads: tuple[int, ...],
        *,
        chosen: bool = True,
    ) -> Reply:
        """Store the draft; ``chosen``: the user picked the leads (say if some passed)."""
        self.drafts.pop(user_id, None)
        assert draft.due is not None
        created = await self.service.create(
            user_id=user_id,
            chat_id=chat_id,
            kind=draft.kind,
            text=draft.text,
            due_at=draft.due,
            leads=leads,
        )
        if isinstance(created, LimitReached):
            return Reply.single(self.t.limit.replace("{limit}", str(created.limit)))
        text = (
            self.t.saved.replace("{what}", self.service.label(draft.kind, draft.text))
            .replace("{due}", self.service.fmt(draft.due))
            .replace("{alerts}", "、".join(self.service.fmt(a) for a in created.alerts))
        )
        if created.leads_dropped and chosen:
            text = text.rstrip() + "\n" + self.t.leads_passed
        rows = ((Button(self.t.my_reminders, f"{PREFIX}list"),), self._menu_row())
        return Reply.single(text, rows)

    # -- /reminders, /release, /ics --------------------------------------------------------

    async def list(self, user_id: int) -> Reply:
        """The user's reminders, each with delete and snooze buttons."""
        reminders = await self.service.list(user_id)
        if not reminders:
            return Reply.single(self.t.list_empty, self.menu_rows())
        lines = [self.t.list_header.rstrip()]
        rows: list[tuple[Button, ...]] = []
        for n, reminder in enumerate(reminders[:20], 1):
            alerts = "、".join(self.service.fmt(a) for a in reminder.alerts) or "-"
            lines.append(
                self.t.list_item.rstrip()
                .replace("{n}", str(n))
                .replace("{what}", self.service.label(reminder.kind, reminder.text))
                .replace("{due}", self.service.fmt(reminder.due_at))
                .replace("{alerts}", alerts)
            )
            rows.append(
                (
                    Button(self.t.delete.replace("{n}", str(n)), f"{PREFIX}del:{reminder.id}"),
                    Button(self.t.snooze.replace("{n}", str(n)), f"{PREFIX}snz:{reminder.id}"),
                )
            )
        return Reply.single("\n\n".join(lines), (*rows, self._menu_row()))

    async def _change(self, user_id: int, verb: str, reminder_id: int) -> Reply:
        if verb == "del":
            gone = await self.service.cancel(user_id, reminder_id)
            if gone is None:
                return Reply.single(self.t.not_found, self.menu_rows())
            what = self.service.label(gone.kind, gone.text)
            return Reply.single(
                self.t.deleted.replace("{what}", what),
                ((Button(self.t.my_reminders, f"{PREFIX}list"),),),
            )
        snoozed = await self.service.snooze(user_id, reminder_id)
        if snoozed is None:
            return Reply.single(self.t.not_found, self.menu_rows())
        reminder, at = snoozed
        text = self.t.snoozed.replace("{at}", self.service.fmt(at)).replace(
            "{what}", self.service.label(reminder.kind, reminder.text)
        )
        return Reply.single(text, ((Button(self.t.my_reminders, f"{PREFIX}list"),),))

    async def release(self, args: str) -> Reply:
        """``/release DATE``: the review deadline N working days later, offered as a reminder."""
        settings = self.store.current.settings
        args = args.strip()
        if args:
            parsed = parse_when(args, self.service.now(), allow_past=True)
            if isinstance(parsed, NotUnderstood):
                return Reply.single(self.t.bad_time.replace("{reason}", parsed.reason))
            release = parsed.at.date()
        elif settings.score_release_date is not None:
            release = settings.score_release_date
        else:
            return Reply.single(self.t.release_usage)
        workdays, deadline = self.service.review_deadline(release)
        text = (
            self.t.release_result.replace("{release}", self.service.fmt_day(release))
            .replace("{workdays}", str(workdays))
            .replace("{deadline}", self.service.fmt_day(deadline.day))
        )
        if not deadline.exact:
            years = "、".join(str(y) for y in deadline.years_without_data)
            text = text.rstrip() + "\n" + self.t.release_approx.replace("{years}", years)
        rows: list[tuple[Button, ...]] = []
        if self._end_of_day(deadline.day) > self.service.clock():
            rows.append((Button(self.t.release_remind, f"{PREFIX}rel:{release.isoformat()}"),))
        return Reply.single(text, (*rows, self._menu_row()))

    async def ics(self, user_id: int) -> Reply:
        """A calendar file of all the user's reminders."""
        reminders = await self.service.list(user_id)
        if not reminders:
            return Reply.single(self.t.ics_empty, self.menu_rows())
        return Reply((Message(self.t.ics_caption, (), self.service.ics(reminders)),))
