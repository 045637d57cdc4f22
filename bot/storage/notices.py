"""Notices seen on watched pages, and each page's fetch state (the notice watcher, bot/watch).

A notice is stored once, by URL, the first time any replica sees it, whatever the page does
later; a notice whose title was already seen on the same page under another URL (a site that
moved its files) counts as seen too. Each page's next check is claimed with a conditional
UPDATE, so among replicas exactly one fetches a page each time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from bot.storage.db import Database, Tx
from bot.storage.leases import stamp

# new: found, not yet told; alerted: the admins were told; announced: broadcast;
# dismissed: an admin said no; baseline: on the page when it was first watched (never told);
# ignored: not relevant.
STATUSES = ("new", "alerted", "announced", "dismissed", "baseline", "ignored")


@dataclass(frozen=True)
class StoredNotice:
    """One notice as stored."""

    id: int
    page: str
    url: str
    title: str
    published: date | None
    found_at: str
    relevant: bool
    matched: tuple[str, ...]
    category: str | None
    deadline: date | None
    status: str


@dataclass(frozen=True)
class PageState:
    """What the watcher remembers of one page between checks."""

    page: str
    etag: str | None
    last_modified: str | None
    failures: int
    last_count: int
    alerted: bool
    checked: bool  # checked successfully at least once (its notices are the baseline)


@dataclass(frozen=True)
class NewNotice:
    """A notice to store: what the page said and what the watcher made of it."""

    url: str
    title: str
    published: date | None
    relevant: bool
    matched: tuple[str, ...]
    category: str | None
    deadline: date | None


_COLUMNS = (
    "id, page, url, title, published, found_at, relevant, matched, category, deadline, status"
)


def _date(value: object) -> date | None:
    return date.fromisoformat(str(value)) if value else None


def _notice(row: tuple[object, ...]) -> StoredNotice:
    return StoredNotice(
        id=int(row[0]),  # type: ignore[call-overload]
        page=str(row[1]),
        url=str(row[2]),
        title=str(row[3]),
        published=_date(row[4]),
        found_at=str(row[5]),
        relevant=bool(row[6]),
        matched=tuple(m for m in str(row[7]).split("|") if m),
        category=str(row[8]) if row[8] else None,
        deadline=_date(row[9]),
        status=str(row[10]),
    )


async def _ensure(tx: Tx, page: str, next_at: datetime) -> None:
    """The page's row, made if this is its first check."""
    await tx.execute(
        "INSERT INTO watched_pages (page, next_at) VALUES (?, ?) ON CONFLICT (page) DO NOTHING",
        (page, stamp(next_at)),
    )


class NoticeRepo:
    """All SQL of the notice watcher."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def claim_check(self, page: str, now: datetime, next_at: datetime) -> bool:
        """Take this page's check if it is due (or never checked); True for the one winner."""
        async with self.db.transaction() as tx:
            await _ensure(tx, page, now)
            changed = await tx.execute(
                "UPDATE watched_pages SET next_at = ? WHERE page = ? AND next_at <= ?",
                (stamp(next_at), page, stamp(now)),
            )
        return changed > 0

    async def next_check(self) -> datetime | None:
        """When the earliest page is due again."""
        row = await self.db.fetchone("SELECT MIN(next_at) FROM watched_pages")
        return datetime.fromisoformat(str(row[0])) if row and row[0] else None

    async def state(self, page: str) -> PageState:
        """The page's remembered state (a fresh one if never seen)."""
        row = await self.db.fetchone(
            "SELECT etag, last_modified, failures, last_count, alerted, checked_at"
            " FROM watched_pages WHERE page = ?",
            (page,),
        )
        if row is None:
            return PageState(page, None, None, 0, 0, False, False)
        return PageState(
            page,
            str(row[0]) if row[0] else None,
            str(row[1]) if row[1] else None,
            int(row[2]),
            int(row[3]),
            bool(row[4]),
            row[5] is not None,
        )

    async def checked(
        self,
        page: str,
        now: datetime,
        *,
        etag: str | None,
        last_modified: str | None,
        count: int | None,
        next_at: datetime,
    ) -> None:
        """A good check: validators kept, failures reset; ``count`` None when unchanged (304)."""
        async with self.db.transaction() as tx:
            await _ensure(tx, page, next_at)
            await tx.execute(
                "UPDATE watched_pages SET etag = ?, last_modified = ?, checked_at = ?,"
                " failures = 0, last_error = NULL, next_at = ?,"
                " last_count = COALESCE(?, last_count), alerted = 0 WHERE page = ?",
                (etag, last_modified, stamp(now), stamp(next_at), count, page),
            )

    async def failed(self, page: str, error: str, next_at: datetime) -> int:
        """A failed check (down, refused, nothing found); the consecutive failures so far."""
        async with self.db.transaction() as tx:
            await _ensure(tx, page, next_at)
            row = await tx.fetchone(
                "UPDATE watched_pages SET failures = failures + 1, last_error = ?, next_at = ?"
                " WHERE page = ? RETURNING failures",
                (error[:200], stamp(next_at), page),
            )
        return int(row[0]) if row else 0

    async def mark_alerted(self, page: str) -> bool:
        """Record that the admins were told this page is broken; False if they already were."""
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE watched_pages SET alerted = 1 WHERE page = ? AND alerted = 0", (page,)
            )
        return changed > 0

    async def add(
        self, page: str, notices: Sequence[NewNotice], now: datetime, *, baseline: bool
    ) -> list[StoredNotice]:
        """Store the notices not seen before (by URL, or by title on this page); the new ones.

        ``baseline``: the page's first good check; its notices are remembered, never told.
        """
        added: list[StoredNotice] = []
        async with self.db.transaction() as tx:
            for notice in notices:
                seen = await tx.fetchone(
                    "SELECT 1 FROM notices WHERE url = ? OR (page = ? AND title = ?)",
                    (notice.url, page, notice.title),
                )
                if seen is not None:
                    continue
                status = "baseline" if baseline else "new" if notice.relevant else "ignored"
                row = await tx.fetchone(
                    "INSERT INTO notices (page, url, title, published, found_at, relevant,"
                    " matched, category, deadline, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (url) DO NOTHING RETURNING " + _COLUMNS,
                    (
                        page,
                        notice.url,
                        notice.title,
                        notice.published.isoformat() if notice.published else None,
                        stamp(now),
                        int(notice.relevant),
                        "|".join(notice.matched),
                        notice.category,
                        notice.deadline.isoformat() if notice.deadline else None,
                        status,
                    ),
                )
                if row is not None:
                    added.append(_notice(row))
        return added

    async def get(self, notice_id: int) -> StoredNotice | None:
        """One notice."""
        row = await self.db.fetchone(f"SELECT {_COLUMNS} FROM notices WHERE id = ?", (notice_id,))
        return _notice(row) if row else None

    async def set_status(self, notice_id: int, status: str, *, was: Sequence[str]) -> bool:
        """Move a notice on (new -> alerted -> announced / dismissed), only from ``was``."""
        if status not in STATUSES:
            raise ValueError(f"unknown notice status {status!r}")
        marks = ",".join("?" * len(was)) or "NULL"
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                f"UPDATE notices SET status = ? WHERE id = ? AND status IN ({marks})",
                (status, notice_id, *was),
            )
        return changed > 0

    async def set_deadline(self, notice_id: int, deadline: date) -> None:
        """The deadline an admin typed for this notice (an audit window, say)."""
        async with self.db.transaction() as tx:
            await tx.execute(
                "UPDATE notices SET deadline = ? WHERE id = ?", (deadline.isoformat(), notice_id)
            )

    async def recent(self, limit: int = 5) -> list[StoredNotice]:
        """The latest relevant notices, newest first (/news)."""
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM notices WHERE relevant = 1 AND status != 'dismissed'"
            " ORDER BY COALESCE(published, substr(found_at, 1, 10)) DESC, id DESC LIMIT ?",
            (limit,),
        )
        return [_notice(row) for row in rows]
