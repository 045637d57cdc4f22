"""The notice watcher against a local stand-in of the official sites (tests/notice_site.py):
only new relevant notices reach the admins, each once, across restarts; the announcement's
one-tap reminder is stored with the right date; a broken page alerts once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import yaml

from bot.app import App, assemble
from bot.channels import CHANNELS
from bot.config import Settings
from bot.content import ContentStore
from bot.core.reply import Reply
from bot.core.router import Who
from bot.delivery import Outcome, Priority, Result
from bot.storage import BroadcastRepo, ReminderRepo
from bot.storage.notices import NoticeRepo
from bot.watch.fetch import Fetcher
from bot.watch.watcher import FAILURES_TO_ALERT, NoticeWatcher
from tests.notice_site import AUDIT_TITLE, NoticeSite

ADMIN = 4242
USER = 5151


@dataclass
class Recorder:
    """The Telegram sender: what reached whom."""

    sent: list[tuple[int, Reply]] = field(default_factory=list)

    async def send(self, chat_id: int, reply: Reply, priority: Priority = Priority.REPLY) -> Result:
        self.sent.append((chat_id, reply))
        return Result(Outcome.SENT)

    def texts(self) -> list[str]:
        return [reply.messages[0].text.plain_text for _, reply in self.sent]


def actions(reply: Reply) -> list[str]:
    return [b.action for m in reply.messages for row in m.buttons for b in row]


def configure(content: Path, site: NoticeSite, **pages: dict[str, object]) -> None:
    watch = yaml.safe_load((content / "watch.yaml").read_text(encoding="utf-8"))
    watch["pages"] = [{"id": key, "name": key, **page} for key, page in pages.items()]
    (content / "watch.yaml").write_text(yaml.safe_dump(watch, allow_unicode=True), "utf-8")


async def start(content: Path, recorder: Recorder) -> tuple[App, NoticeWatcher]:
    settings = Settings(
        content_dir=content, db=content.parent / "bot.db", admin_ids=frozenset({ADMIN})
    )
    store = ContentStore.open(content, CHANNELS)
    app = await assemble(settings, store, {"telegram": recorder})
    watcher = next(w for w in app.workers if isinstance(w, NoticeWatcher))
    return app, watcher


async def check(watcher: NoticeWatcher, page_id: str) -> int:
    watch = watcher.store.current.watch
    assert watch is not None
    page = next(p for p in watch.pages if p.id == page_id)
    async with Fetcher() as fetcher:
        return await watcher.check(page, watch, fetcher)


async def test_only_new_relevant_notices_reach_the_admins_once_across_restarts(
    content_copy: Path,
) -> None:
    recorder = Recorder()
    async with NoticeSite() as site:
        configure(
            content_copy,
            site,
            hrss={"url": site.url(site.LIST), "selector": "ul.list li"},
            feed={"url": site.url(site.RSS), "kind": "feed"},
        )
        app, watcher = await start(content_copy, recorder)
        try:
            await watcher.step()  # the first look at each page: its baseline, nobody told
            assert recorder.sent == []
            assert site.requests_to(site.LIST)[0].headers["User-Agent"].startswith("exam-score")
            await check(watcher, "hrss")  # unchanged: a 304, nothing new
            assert "If-None-Match" in site.requests_to(site.LIST)[-1].headers
            site.add_notice(AUDIT_TITLE, "2026-11-25")
            site.add_notice("关于2026年度一级造价工程师资格审核的通知", "2026-11-25")
            site.add_notice("2026年度二级建造师证书领取通知", "2026-11-25")
            site.reorder(list(reversed(range(len(site.notices)))))
            assert await check(watcher, "hrss") == 1
            assert await check(watcher, "hrss") == 0  # seen: never twice
        finally:
            await app.close()
        (admin, alert), *others = recorder.sent
        assert others == [] and admin == ADMIN
        text = alert.messages[0].text.plain_text
        assert AUDIT_TITLE in text and "二级造价" in text and "http://" in text
        assert any(a.startswith("n:a:") for a in actions(alert))
        assert any(a.startswith("n:d:") for a in actions(alert))  # audit: set its deadline

        app, watcher = await start(content_copy, recorder)  # a restart, the same database
        try:
            site.reorder(list(reversed(range(len(site.notices)))))
            assert await check(watcher, "hrss") == 0
            news = await app.conversation.command("news", Who("telegram", USER, USER))
            assert news is not None and AUDIT_TITLE in news.messages[0].text.plain_text
        finally:
            await app.close()
    assert len(recorder.sent) == 1


async def test_an_announcement_sets_the_reminder_in_one_tap(content_copy: Path) -> None:
    recorder = Recorder()
    admin = Who("telegram", ADMIN, ADMIN, is_admin=True)
    user = Who("telegram", USER, USER)
    async with NoticeSite() as site:
        configure(content_copy, site, hrss={"url": site.url(site.LIST), "selector": "ul.list li"})
        app, watcher = await start(content_copy, recorder)
        try:
            await watcher.step()
            today = date.today()
            site.add_notice("关于2026年度二级造价工程师考试成绩复核工作的通知", today.isoformat())
            site.add_notice(AUDIT_TITLE, today.isoformat())
            assert await check(watcher, "hrss") == 2
            alerts = {r.messages[0].text.plain_text.splitlines()[1]: r for _, r in recorder.sent}
            review = alerts["关于2026年度二级造价工程师考试成绩复核工作的通知"]
            (one_tap,) = [a for a in actions(review) if a.startswith("r:now:review:")]
            assert one_tap == f"r:now:review:{today.isoformat()}"

            # The admin announces it: the usual broadcast preview, the buttons stored with it.
            (announce,) = [a for a in actions(review) if a.startswith("n:a:")]
            preview = await app.conversation.action(announce, admin)
            assert any(a.startswith("b:a:") for a in actions(preview))
            row = await app.db.fetchone("SELECT id FROM broadcasts ORDER BY id DESC LIMIT 1")
            assert row is not None
            draft = await BroadcastRepo(app.db).get(int(row[0]))
            assert draft is not None and draft.status == "draft"
            assert ("⏰ 提醒我复核截止", one_tap) in [b for r in draft.buttons for b in r]
            # A second tap (or another admin) creates nothing more.
            again = await app.conversation.action(announce, admin)
            assert not any(a.startswith("b:a:") for a in actions(again))

            # A user taps "remind me of the review deadline": stored, no typing.
            saved = await app.conversation.action(one_tap, user)
            assert "r:list" in actions(saved)
            (reminder,) = await ReminderRepo(app.db).list_active("telegram", USER)
            _, deadline = app_service(app).review_deadline(today)
            assert reminder.kind == "review"
            assert reminder.due_at.astimezone(app_service(app).timezone).date() == deadline.day

            # The audit notice states no date: the admin types it, the button follows.
            audit = alerts[AUDIT_TITLE]
            (ask,) = [a for a in actions(audit) if a.startswith("n:d:")]
            await app.conversation.action(ask, admin)
            day = today + timedelta(days=20)
            updated = await app.conversation.text(day.isoformat(), admin)
            assert f"r:now:audit:{day.isoformat()}" in actions(updated)
            await app.conversation.action(f"r:now:audit:{day.isoformat()}", user)
            kinds = sorted(r.kind for r in await ReminderRepo(app.db).list_active("telegram", USER))
            assert kinds == ["audit", "review"]
            # Forged or stale one-tap data changes nothing.
            for forged in ("r:now:audit:2020-01-01", "r:now:review:9999-12-31", "r:now:x:1"):
                await app.conversation.action(forged, user)
            assert len(await ReminderRepo(app.db).list_active("telegram", USER)) == 2
        finally:
            await app.close()


def app_service(app: App):  # type: ignore[no-untyped-def]
    """The reminder service the app's remind flow uses."""
    from bot.reminders.flow import RemindFlow

    for route in app.conversation.router.actions.values():
        owner = getattr(route.handler, "__self__", None)
        if isinstance(owner, RemindFlow):
            return owner.service
    raise AssertionError("no remind flow")


async def test_a_broken_page_alerts_the_admins_once(content_copy: Path) -> None:
    recorder = Recorder()
    async with NoticeSite() as site:
        configure(
            content_copy,
            site,
            busy={"url": site.url(site.BUSY), "selector": "ul.list li"},
            hrss={"url": site.url(site.LIST), "selector": "ul.list li"},
        )
        app, watcher = await start(content_copy, recorder)
        try:
            for _ in range(FAILURES_TO_ALERT + 2):
                await check(watcher, "busy")
            broken = [t for t in recorder.texts() if "出问题" in t]
            assert len(broken) == 1 and "503" in broken[0]
            state = await NoticeRepo(app.db).state("busy")
            assert state.failures == FAILURES_TO_ALERT + 2

            await check(watcher, "hrss")  # baseline: six notices listed
            site.layout_changed = True  # the site was redesigned: the selector finds nothing
            await check(watcher, "hrss")
            await check(watcher, "hrss")
            broken = [t for t in recorder.texts() if "出问题" in t]
            assert len(broken) == 2 and "layout" in broken[1]
            site.layout_changed = False  # fixed: works again, and could alert again later
            await check(watcher, "hrss")
            assert not (await NoticeRepo(app.db).state("hrss")).alerted
        finally:
            await app.close()


def test_shipped_watch_file_is_valid_and_watches_nothing_unchecked() -> None:
    from tests.conftest import shipped_content

    watch = shipped_content().watch
    assert watch is not None and watch.pages == []  # the operator checks selectors first
    assert "二级造价" in watch.keywords and "一级建造师" in watch.exclude


async def test_a_page_set_to_announce_by_itself_queues_the_broadcast(content_copy: Path) -> None:
    recorder = Recorder()
    async with NoticeSite() as site:
        page = {"url": site.url(site.LIST), "selector": "ul.list li", "announce": "auto"}
        configure(content_copy, site, hrss=page)
        app, watcher = await start(content_copy, recorder)
        try:
            await watcher.step()
            site.add_notice("二级造价工程师证书领取通知（补发）", "2026-11-25")
            assert await check(watcher, "hrss") == 1
            row = await app.db.fetchone("SELECT id FROM broadcasts ORDER BY id DESC LIMIT 1")
            assert row is not None
            broadcast = await BroadcastRepo(app.db).get(int(row[0]))
        finally:
            await app.close()
    assert broadcast is not None and broadcast.status == "queued" and broadcast.audience == "all"
    assert "证书领取通知（补发）" in broadcast.text
    assert [b for r in broadcast.buttons for b in r] == [("📜 证书怎么领", "t:certificate")]
    (admin, told), *_ = recorder.sent
    assert admin == ADMIN and "已自动发布" in told.messages[0].text.plain_text
