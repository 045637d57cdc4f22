"""The guided /remind conversation and its one-line forms, as channel-neutral replies.

A draft per user remembers where a guided /remind is (what -> when -> how early); typed
reminders go through :func:`bot.dates.read_reminder` (filler such as 提醒我 and deadline words
such as 之前 are not kept in the text), which asks back instead of guessing. Drafts
live in the database (``shared_state``, scope ``remind``) and expire after
:data:`DRAFT_TTL`: the user's next message may reach another replica, or the same process
after a restart, and the /remind goes on where it was.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, time

from bot.content import ContentStore
from bot.content.ui_models import ReminderTexts
from bot.core.keyboards import menu_button, menu_rows
from bot.core.reply import Button, Message, Reply
from bot.core.router import Request, Router, TextHandler, Who
from bot.core.text import Text, fill, markup
from bot.dates import NotUnderstood, Reject, When, explain, read_reminder
from bot.reminders.drafts import Draft
from bot.reminders.service import (
    DEFAULT_LEADS,
    KINDS,
    LEADS,
    MAX_TEXT,
    LimitReached,
    ReminderService,
)
from bot.storage.state import Scope

PREFIX = "r:"
DRAFT_TTL = 30 * 60.0  # seconds a /remind in progress is kept
KIND_WORDS = {"复核": "review", "审核": "audit", "资格审核": "audit", "证书": "certificate"}
# Per channel: a note shown before the first step of /remind (how reminders reach the user).
ReminderNotes = Mapping[str, Callable[[], Text | None]]


class RemindFlow:
    """/remind, its buttons and the typed answers it waits for."""

    def __init__(
        self,
        service: ReminderService,
        store: ContentStore,
        drafts: Scope,
        notes: ReminderNotes | None = None,
    ) -> None:
        self.service = service
        self.store = store
        self.drafts = drafts
        self.notes = notes or {}

    @property
    def t(self) -> ReminderTexts:
        """The reminder texts of the live content."""
        return self.store.current.ui.reminders

    def register(self, router: Router) -> None:
        """/remind, the guided flow's buttons and typed answers, the "remind" topic."""
        router.command("remind", self._remind)
        router.action(f"{PREFIX}go", self._go)
        router.action(f"{PREFIX}x", self._cancel)
        router.action(f"{PREFIX}k:", self._kind)
        router.action(f"{PREFIX}l:", self._lead)
        router.action(f"{PREFIX}rel", self._from_release)
        router.action(f"{PREFIX}rel:", self._from_release)
        router.action(f"{PREFIX}now:", self._one_tap)
        router.text_input(self._waiting)
        router.topic_answer("remind", self.offer)

    def offer(self, who: Who) -> Reply:
        """A question about reminders: offer to set one or to see mine."""
        rows = (
            (Button(self.t.start, f"{PREFIX}go"),),
            (Button(self.t.my_reminders, f"{PREFIX}list"),),
            menu_button(self.store.current),
        )
        return Reply.single(markup(self.t.offer), rows)

    def _cancel_row(self) -> tuple[Button, ...]:
        return (Button(self.t.cancel, f"{PREFIX}x"),)

    def refusal(self, refusal: NotUnderstood, *, cancel: bool = True) -> Reply:
        """Why a typed date cannot be used (text from content), with a cancel button."""
        reason = explain(refusal, self.store.current.ui.dates.model_dump())
        rows = (self._cancel_row(),) if cancel else ()
        return Reply.single(fill(self.t.bad_time, reason=reason), rows)

    @staticmethod
    def _key(who: Who) -> str:
        return f"{who.channel}:{who.user_id}"

    async def _draft(self, who: Who) -> Draft | None:
        draft = Draft.load(await self.drafts.get(self._key(who)))
        if draft is not None and (self.service.clock() - draft.started).total_seconds() > DRAFT_TTL:
            await self._drop(who)
            return None
        return draft

    async def _keep(self, who: Who, draft: Draft) -> None:
        await self.drafts.put(self._key(who), draft.dump())

    async def _drop(self, who: Who) -> None:
        await self.drafts.delete(self._key(who))

    async def _waiting(self, who: Who) -> TextHandler | None:
        draft = await self._draft(who)
        if draft is not None and draft.step in ("text", "when", "release"):
            return self._on_text
        return None

    # -- /remind -------------------------------------------------------------------------

    async def _remind(self, request: Request) -> Reply:
        return self._noted(request.who, await self.start(request.who, request.args))

    def _noted(self, who: Who, reply: Reply) -> Reply:
        """``reply`` after the channel's note on how reminders reach the user, if any."""
        note = self.notes.get(who.channel)
        text = note() if note is not None else None
        return Reply((Message(text),)) + reply if text else reply

    async def open(self, who: Who, kind: str) -> Reply:
        """A deep link (``remind_review``): the guided /remind with ``kind`` already chosen."""
        await self._keep(who, Draft(kind, self.service.clock(), step="when"))
        return self._noted(who, await self._kind(who, f"{PREFIX}k:{kind}"))

    async def _go(self, who: Who, action: str) -> Reply:
        return await self._remind(Request(who))

    async def start(self, who: Who, args: str) -> Reply:
        """``/remind`` (guided) or the one-line forms ``/remind review 2026-12-10 09:00``."""
        now = self.service.clock()
        if not args:
            await self._keep(who, Draft("custom", now, step="when"))
            kinds = tuple((Button(getattr(self.t, f"kind_{k}"), f"{PREFIX}k:{k}"),) for k in KINDS)
            return Reply.single(markup(self.t.ask_what), (*kinds, self._cancel_row()))
        first, _, rest = args.partition(" ")
        kind = first if first in KINDS else KIND_WORDS.get(first)
        when = read_reminder(rest if kind else args, self.service.now())
        if isinstance(when, NotUnderstood):
            return self.refusal(when, cancel=False)
        kind = kind or "custom"
        text = when.rest if kind == "custom" else ""
        if kind == "custom" and not text:
            await self._keep(who, Draft(kind, now, "text", due=when.at))
            return Reply.single(markup(self.t.ask_text), (self._cancel_row(),))
        if len(text) > MAX_TEXT:
            return Reply.single(markup(self.t.text_too_long))
        draft = Draft(kind, now, text=text, due=when.at)
        return await self._save(who, draft, DEFAULT_LEADS, chosen=False)

    async def _on_text(self, who: Who, text: str) -> Reply:
        """A typed answer while a /remind is waiting for one."""
        draft = await self._draft(who)
        if draft is None:
            return Reply.single(markup(self.t.cancelled))
        text = text.strip()
        if draft.step == "text":
            if len(text) > MAX_TEXT:
                return Reply.single(markup(self.t.text_too_long), (self._cancel_row(),))
            draft.text = text
            if draft.due is not None:
                return await self._ask_lead(who, draft)
            draft.step = "when"
            await self._keep(who, draft)
            return Reply.single(markup(self.t.ask_when), (self._cancel_row(),))
        allow_past = draft.step == "release"
        parsed: When | NotUnderstood = read_reminder(
            text, self.service.now(), allow_past=allow_past
        )
        if isinstance(parsed, NotUnderstood):
            return self.refusal(parsed)
        if draft.step == "release":
            try:
                _, deadline = self.service.review_deadline(parsed.at.date())
            except Reject as refused:
                return self.refusal(refused.answer)
            draft.due = self.end_of_day(deadline.day)
        else:
            draft.due = parsed.at
        return await self._ask_lead(who, draft)

    def end_of_day(self, day: date) -> datetime:
        """A deadline day counts until office hours end."""
        return datetime.combine(day, time(17, 0), self.service.timezone)

    async def _ask_lead(self, who: Who, draft: Draft) -> Reply:
        draft.step = "lead"
        assert draft.due is not None
        await self._keep(who, draft)
        rows = tuple(
            (Button(getattr(self.t, f"lead_{'both' if c == 'b' else c}"), f"{PREFIX}l:{c}"),)
            for c in ("1d", "2h", "b", "0")
        )
        text = fill(self.t.ask_lead, due=self.service.fmt(draft.due))
        return Reply.single(text, (*rows, self._cancel_row()))

    async def _cancel(self, who: Who, action: str) -> Reply:
        await self._drop(who)
        return self._cancelled()

    def _cancelled(self) -> Reply:
        return Reply.single(markup(self.t.cancelled), menu_rows(self.store.current))

    async def _kind(self, who: Who, action: str) -> Reply:
        kind = action.removeprefix(f"{PREFIX}k:")
        draft = await self._draft(who)
        if draft is None or kind not in KINDS:
            return self._cancelled()
        draft.kind = kind
        if kind == "custom":
            draft.step = "text"
            await self._keep(who, draft)
            return Reply.single(markup(self.t.ask_text), (self._cancel_row(),))
        draft.step = "when"
        await self._keep(who, draft)
        rows: list[tuple[Button, ...]] = []
        if kind == "review":
            rows.append((Button(self.t.from_release, f"{PREFIX}rel"),))
        return Reply.single(markup(self.t.ask_when), (*rows, self._cancel_row()))

    async def _lead(self, who: Who, action: str) -> Reply:
        code = action.removeprefix(f"{PREFIX}l:")
        draft = await self._draft(who)
        if draft is None or code not in LEADS or draft.step != "lead":
            return self._cancelled()
        return await self._save(who, draft, LEADS[code])

    async def _from_release(self, who: Who, action: str) -> Reply:
        """ "From the release date": ask for it, or use the date carried by /release."""
        now = self.service.clock()
        arg = action.removeprefix(f"{PREFIX}rel").removeprefix(":")
        if not arg:
            draft = await self._draft(who) or Draft("review", now)
            draft.kind, draft.step = "review", "release"
            await self._keep(who, draft)
            return Reply.single(markup(self.t.ask_release), (self._cancel_row(),))
        try:
            release = date.fromisoformat(arg)
        except ValueError:
            return self._cancelled()
        try:
            _, deadline = self.service.review_deadline(release)
        except Reject as refused:  # a forged or stale button with a date beyond the calendar
            return self.refusal(refused.answer, cancel=False)
        draft = Draft("review", now, due=self.end_of_day(deadline.day))
        return await self._ask_lead(who, draft)

    async def _one_tap(self, who: Who, action: str) -> Reply:
        """``r:now:review:RELEASE`` / ``r:now:audit:DEADLINE`` (an announcement's buttons): set
        the reminder at once with the default lead times, no typing. A review reminder is
        computed from the release date as /release does; a date already past, beyond the
        calendar or forged is refused with the usual hint."""
        kind, _, arg = action.removeprefix(f"{PREFIX}now:").partition(":")
        try:
            day = date.fromisoformat(arg)
        except ValueError:
            return self._cancelled()
        if kind not in ("review", "audit", "certificate"):
            return self._cancelled()
        if kind == "review":
            try:
                _, deadline = self.service.review_deadline(day)
            except Reject as refused:
                return self.refusal(refused.answer, cancel=False)
            day = deadline.day
        due = self.end_of_day(day)
        if due <= self.service.now():
            past = NotUnderstood("past", {"at": self.service.fmt(due)})
            return self.refusal(past, cancel=False)
        draft = Draft(kind, self.service.clock(), step="lead", due=due)
        return await self._save(who, draft, DEFAULT_LEADS, chosen=False)

    async def _save(
        self, who: Who, draft: Draft, leads: tuple[int, ...], *, chosen: bool = True
    ) -> Reply:
        """Store the draft; ``chosen``: the user picked the leads (say if some passed)."""
        await self._drop(who)
        assert draft.due is not None
        created = await self.service.create(
            channel=who.channel,
            user_id=who.user_id,
            chat_id=who.chat_id,
            kind=draft.kind,
            text=draft.text,
            due_at=draft.due,
            leads=leads,
        )
        if isinstance(created, LimitReached):
            return Reply.single(fill(self.t.limit, limit=str(created.limit)))
        text = fill(
            self.t.saved,
            what=self.service.label(draft.kind, draft.text),
            due=self.service.fmt(draft.due),
            alerts="、".join(self.service.fmt(a) for a in created.alerts),
        )
        if created.leads_dropped and chosen:
            text = Text.join("\n", [text.strip(), markup(self.t.leads_passed)])
        rows = (
            (Button(self.t.export, f"{PREFIX}ics"),),  # /ics: add it to the phone's calendar
            (Button(self.t.my_reminders, f"{PREFIX}list"),),
            menu_button(self.store.current),
        )
        return Reply.single(text, rows)
