"""RSS 2.0 and Atom feeds as notices (feedparser), for the sites that have one."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import feedparser
from bs4 import BeautifulSoup

from bot.watch.parse import BEIJING, Notice, absolute_url, collapse, first_date


def feed_notices(text: str, base_url: str) -> list[Notice]:
    """The entries of an RSS 2.0 or Atom feed, in feed order, each URL once.

    Links are resolved against ``xml:base`` and ``base_url``; the date is the entry's
    published date, else its updated date, as a Beijing date. Entries without a link or a
    title are skipped. Text that is not a feed gives an empty list.
    """
    # feedparser treats a str as a URL or file name if it looks like one: give it a stream,
    # and tell it the text is UTF-8 now whatever the XML declaration says.
    parsed = feedparser.parse(
        io.BytesIO(text.encode("utf-8")),
        response_headers={
            "content-type": "application/xml; charset=utf-8",
            "content-location": base_url,
        },
        sanitize_html=True,
        resolve_relative_uris=True,
    )
    notices: list[Notice] = []
    seen: set[str] = set()
    for entry in parsed.entries:
        url = absolute_url(_entry_link(entry), base_url)
        title = _feed_title(entry)
        if url is None or url in seen or not title:
            continue
        seen.add(url)
        notices.append(Notice(url, title, _entry_date(entry)))
    return notices


def _entry_link(entry: Any) -> str:
    link = entry.get("link")
    if link:
        return str(link)
    for candidate in entry.get("links", ()):
        if candidate.get("href") and candidate.get("rel", "alternate") == "alternate":
            return str(candidate["href"])
    guid = entry.get("id")
    if isinstance(guid, str) and guid.startswith(("http://", "https://")):
        return guid
    return ""


def _feed_title(entry: Any) -> str:
    title = str(entry.get("title") or "")
    detail = entry.get("title_detail") or {}
    if "<" in title and "html" in str(detail.get("type", "")):
        title = BeautifulSoup(title, "html.parser").get_text()
    return collapse(title)


def _entry_date(entry: Any) -> date | None:
    for key in ("published", "updated", "created"):
        raw = entry.get(key)
        if raw:
            day = _raw_date(str(raw))
            if day is not None:
                return day
        struct = entry.get(f"{key}_parsed")
        if struct:  # feedparser's reading, normalised to UTC
            try:
                stamp = datetime(*struct[:6]).replace(tzinfo=UTC)
                return stamp.astimezone(BEIJING).date()
            except (TypeError, ValueError):
                continue
    return None


def _raw_date(raw: str) -> date | None:
    """The date of an RFC 822 or ISO 8601 timestamp, in Beijing time when it has a zone."""
    raw = raw.strip()
    parsed: datetime | None = None
    try:
        parsed = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        try:
            parsed = datetime.fromisoformat(raw)
        except ValueError:
            return first_date(raw)
    if parsed.tzinfo is None:
        return parsed.date()
    return parsed.astimezone(BEIJING).date()
