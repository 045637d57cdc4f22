"""A user's calendar links: hand them out, reset them, and open the feed a token names.

A token is :data:`TOKEN_BYTES` random bytes (192 bits) in URL-safe base64; the database keeps
only its SHA-256 (:class:`~bot.storage.calendars.CalendarLinkRepo`). Links live under the
public base URL (``BOT_PUBLIC_URL``): ``/calendar/TOKEN.ics`` subscribes (``webcal://`` for
iPhone), ``/calendar/once/TOKEN.ics`` downloads the file once (:data:`FILE_USES` fetches
within :data:`FILE_TTL`, so WeChat's own browser and then the phone's may both open it).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from bot.calendar.feed import FORMAT, Feed, FeedEvent, event_uid
from bot.content import Content
from bot.content.ui_models import CalendarTexts
from bot.core.text import fill
from bot.reminders.service import KIND_TOPIC, ReminderService
from bot.storage import Reminder
from bot.storage.calendars import CalendarLinkRepo, LinkOwner

TOKEN_BYTES = 24
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{32}")  # what token_urlsafe(24) gives
FILE_TTL = timedelta(hours=24)
FILE_USES = 3
TOUCH_EVERY = timedelta(hours=1)  # how stale a subscription's "last used" may get
FEED_DIR, FILE_DIR = "/calendar/", "/calendar/once/"
SUFFIX = ".ics"


@dataclass(frozen=True)
class Links:
    """What a user is given: the subscription (https and webcal) and the one-time download."""

    feed: str
    webcal: str
    download: str


@dataclass(frozen=True)
class FeedSource:
    """A feed's ETag, known from the stored reminders before anything is written out, and
    how to write it out (CPU only: callers may run it in a thread)."""

    etag: str
    build: Callable[[], Feed]


def new_token() -> str:
    """A fresh unguessable token."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """What is stored of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_of(segment: str) -> str | None:
    """The token in a path segment ``TOKEN.ics`` (or bare), None when it cannot be one."""
    token = segment.removesuffix(SUFFIX)
    return token if TOKEN_SHAPE.fullmatch(token) else None


class CalendarLinks:
    """Issue, reset and resolve the calendar links of users."""

    def __init__(
        self,
        repo: CalendarLinkRepo,
        service: ReminderService,
        base_url: str,
        clock: Callable[[], datetime],
    ) -> None:
        self.repo = repo
        self.service = service
        self.base_url = base_url.rstrip("/")
        self.clock = clock
        self._content: Content | None = None  # the content _texts_key was computed for
        self._texts_key = ""

    @property
    def base_path(self) -> str:
        """The path the public URL adds before ``/calendar/`` (served on the same path)."""
        return urlsplit(self.base_url).path.rstrip("/")

    @property
    def texts(self) -> CalendarTexts:
        """The calendar texts of the live content."""
        return self.service.content.ui.calendar

    async def issue(self, channel: str, user_id: int) -> Links:
        """A new subscription link (earlier ones keep working) and a new download link."""
        now = self.clock()
        feed, file, key = new_token(), new_token(), new_token()
        await self.repo.add_feed(
            channel=channel, user_id=user_id, token_hash=token_hash(feed), new_key=key, now=now
        )
        await self.repo.add_file(
            channel=channel,
            user_id=user_id,
            token_hash=token_hash(file),
            new_key=key,
            now=now,
            expires_at=now + FILE_TTL,
            uses=FILE_USES,
        )
        url = f"{self.base_url}{FEED_DIR}{feed}{SUFFIX}"
        webcal = "webcal://" + url.split("://", 1)[1]
        return Links(url, webcal, f"{self.base_url}{FILE_DIR}{file}{SUFFIX}")

    async def reset(self, channel: str, user_id: int) -> Links:
        """Every earlier link of the user stops working; new ones are issued."""
        await self.repo.revoke(channel, user_id)
        return await self.issue(channel, user_id)

    async def feed(self, token: str) -> FeedSource | None:
        """The subscription ``token`` opens, or None."""
        digest = token_hash(token)
        owner = await self.repo.feed_owner(digest)
        if owner is None:
            return None
        now = self.clock()
        if owner.used_at is None or now - owner.used_at > TOUCH_EVERY:
            await self.repo.touch(digest, now)
        return await self._feed_of(owner)

    async def download(self, token: str) -> FeedSource | None:
        """The file a download ``token`` gives (one of its fetches), or None."""
        owner = await self.repo.take_file(token_hash(token), self.clock())
        return None if owner is None else await self._feed_of(owner)

    async def _feed_of(self, owner: LinkOwner) -> FeedSource:
        """The owner's active reminders, and their feed's ETag: a digest of everything the
        feed is written from (the reminders, the texts, the zone, the year dates are shown
        without), so a calendar app that has this version costs no writing out."""
        reminders = await self.service.list(owner.channel, owner.user_id)
        rows = [
            [r.id, r.kind, r.text, r.due_at.isoformat(), str(r.created_at)]
            + [at.isoformat() for at in r.alerts]
            for r in reminders
        ]
        year = self.service.now().year
        data = [FORMAT, self._texts(), self.service.timezone.key, year, owner.uid_key, rows]
        etag = hashlib.sha256(json.dumps(data, ensure_ascii=False).encode()).hexdigest()[:32]
        return FeedSource(etag, lambda: self._build(owner, reminders))

    def _texts(self) -> str:
        """A digest of the content the feed's texts come from (once per loaded content)."""
        content = self.service.content
        if content is not self._content:
            ui = content.ui
            data = [ui.calendar.model_dump(), ui.reminders.model_dump(), sorted(content.topics)]
            text = json.dumps(data, ensure_ascii=False, sort_keys=True)
            self._texts_key = hashlib.sha256(text.encode()).hexdigest()
            self._content = content
        return self._texts_key

    def _build(self, owner: LinkOwner, reminders: Sequence[Reminder]) -> Feed:
        """The owner's reminders as calendar events: texts, times and alarms, nothing else."""
        service, texts = self.service, self.texts
        topics = service.content.topics
        events = []
        for reminder in reminders:
            what = service.label(reminder.kind, reminder.text)
            lines = [fill(texts.event_description, what=what, due=service.fmt(reminder.due_at))]
            topic = KIND_TOPIC.get(reminder.kind)
            if topic is not None and topic in topics:
                lines.append(fill(texts.event_topic, command=topic))
            events.append(
                FeedEvent(
                    uid=event_uid(owner.uid_key, reminder.id),
                    summary=what,
                    description="\n".join(line.plain_text.strip() for line in lines),
                    start=reminder.due_at,
                    stamp=reminder.created_at or reminder.due_at,
                    alarms=tuple(at - reminder.due_at for at in reminder.alerts),
                )
            )
        name = texts.calendar_name.strip()
        return Feed(name, service.timezone.key, tuple(events))
