"""One user's reminders as an iCalendar feed: events, alarms, time zone, UIDs, ETag.

Pure values in, bytes out. Each deadline is an event starting at its time (in the bot's time
zone, with its VTIMEZONE), each pending alert an alarm (VALARM) relative to it; the calendar
asks apps to refresh hourly. UIDs are an HMAC of the reminder id under the user's own key:
stable, so apps update events instead of duplicating them, and revealing no id. (The ETag
is computed from the stored reminders, before any of this: bot/calendar/links.py.)
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar, Event, Timezone, vDuration

FORMAT = 1  # the layout of the bytes below; ETags change with it
PRODID = "-//exam-score-bot//calendar feed//ZH-CN"
REFRESH = timedelta(hours=1)  # how often calendar apps should fetch the feed again
LENGTH = timedelta(minutes=30)  # an event's length (a deadline is a moment)
UID_DOMAIN = "exam-score-bot"
# The time zone's rules are written out for this range (fixed, so the bytes are stable).
ZONE_FROM, ZONE_TO = date(2000, 1, 1), date(2040, 1, 1)


@dataclass(frozen=True)
class FeedEvent:
    """One reminder as it appears in a calendar."""

    uid: str
    summary: str
    description: str
    start: datetime  # aware
    stamp: datetime  # aware: when the reminder was set (DTSTAMP)
    alarms: tuple[timedelta, ...]  # relative to ``start`` (negative: before)


@dataclass(frozen=True)
class Feed:
    """A whole calendar: its name, time zone and events."""

    name: str
    timezone: str
    events: tuple[FeedEvent, ...]

    def to_ical(self) -> bytes:
        """The feed as iCalendar (RFC 5545) bytes."""
        zone = ZoneInfo(self.timezone)
        calendar = Calendar()
        calendar.add("prodid", PRODID)
        calendar.add("version", "2.0")
        calendar.add("calscale", "GREGORIAN")
        calendar.add("method", "PUBLISH")
        calendar.add("name", self.name)
        calendar.add("x-wr-calname", self.name)
        calendar.add("x-wr-timezone", self.timezone)
        calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
        calendar.add("x-published-ttl", vDuration(REFRESH).to_ical().decode())  # Outlook's
        calendar.add_component(_vtimezone(self.timezone))
        for item in self.events:
            event = Event()
            event.add("uid", item.uid)
            event.add("dtstamp", item.stamp.astimezone(UTC))
            event.add("dtstart", item.start.astimezone(zone))
            event.add("dtend", item.start.astimezone(zone) + LENGTH)
            event.add("summary", item.summary)
            event.add("description", item.description)
            event.add("transp", "TRANSPARENT")  # a reminder does not make the user busy
            for offset in item.alarms:
                alarm = Alarm()
                alarm.add("action", "DISPLAY")
                alarm.add("description", item.summary)
                alarm.add("trigger", offset)
                event.add_component(alarm)
            calendar.add_component(event)
        return calendar.to_ical()


def event_uid(uid_key: str, reminder_id: int) -> str:
    """A reminder's UID in its owner's feeds: stable, and no way back to the id."""
    digest = hmac.new(uid_key.encode(), str(reminder_id).encode(), hashlib.sha256)
    return f"{digest.hexdigest()[:32]}@{UID_DOMAIN}"


@functools.lru_cache(maxsize=8)
def _vtimezone(name: str) -> Timezone:
    """The VTIMEZONE of ``name`` (built once per zone; only ever serialised)."""
    return Timezone.from_tzinfo(ZoneInfo(name), tzid=name, first_date=ZONE_FROM, last_date=ZONE_TO)
