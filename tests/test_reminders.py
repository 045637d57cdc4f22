"""Reminder service, flow and dispatcher: stored, listed, delivered once, never lost."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.app import assemble
from bot.channels import CHANNELS
from bot.config import Settings
from bot.content import ContentStore
from bot.core.conversation import Conversation
from bot.core.reply import Reply
from bot.core.router import Who
from bot.delivery import Outcome, Priority, Result
from bot.reminders.dispatcher import Dispatcher
from bot.reminders.service import LimitReached, ReminderService
from bot.storage import Database, ReminderRepo

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 24, 2, 30, tzinfo=UTC)  # 10:30 in Shanghai, a Tuesday
ALICE = Who("telegram", 101, 101)
BOB = Who("telegram", 202, 202)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class FakeSender:
    """Records deliveries; answers per chat as told."""

    outcomes: dict[int, list[Result]] = field(default_factory=dict)
    sent: list[tuple[int, str]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    async def send(self, chat_id: int, reply: Reply, priority: Priority = Priority.REPLY) -> Result:
        queue = self.outcomes.get(chat_id)
        result = queue.pop(0) if queue else Result(Outcome.SENT)
        if result.outcome is Outcome.SENT:
            self.sent.append((chat_id, reply.messages[0].text.plain_text))
            self.changed.set()
        return result

    async def wait_sent(self, count: int) -> None:
        while len(self.sent) < count:
            self.changed.clear()
            await self.changed.wait()


@dataclass
class Env:
    conversation: Conversation
    service: ReminderService
    db: Database
    clock: Clock


@pytest.fixture
async def env(content_copy: Path) -> AsyncIterator[Env]:
    clock = Clock(START)
    settings = Settings(content_dir=content_copy, db=content_copy.parent / "bot.db")
    store = ContentStore.open(content_copy, CHANNELS)
    app = await assemble(settings, store, {"telegram": FakeSender()}, clock=clock)
    service = ReminderService(ReminderRepo(app.db), store, timezone=SHANGHAI, clock=clock)
    try:
        yield Env(app.conversation, service, app.db, clock)
    finally:
        await app.close()


def text_of(reply: Reply) -> str:
    return "\n".join(m.text.plain_text for m in reply.messages)


def actions(reply: Reply) -> dict[str, str]:
    return {b.label: b.action for row in reply.last_buttons for b in row}


async def run_dispatcher(env: Env, sender: FakeSender, until: int) -> Dispatcher:
    dispatcher = Dispatcher(
        env.service.repo,
        {"telegram": sender},
        env.service.render_alert,
        clock=env.clock,
    )
    task = asyncio.create_task(dispatcher.run())
    try:
        async with asyncio.timeout(5):
            await sender.wait_sent(until)
        await asyncio.sleep(0.05)  # give a wrong extra send the chance to show up
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    return dispatcher


# -- the guided flow --------------------------------------------------------------------


async def test_guided_remind_flow_stores_alerts(env: Env) -> None:
    c = env.conversation
    reply = await c.command("remind", who=ALICE)
    assert "要提醒你什么" in text_of(reply)
    reply = await c.action(actions(reply)["🗂 资格审核截止"], who=ALICE)
    assert "是什么时间" in text_of(reply)
    reply = await c.text("12月10日 3点", who=ALICE)  # ambiguous hour: asked back
    assert "上午还是下午" in text_of(reply)
    reply = await c.text("12月10日下午5点", who=ALICE)
    assert "12月10日（周四）17:00" in text_of(reply)
    reply = await c.action(actions(reply)["提前1天和2小时"], who=ALICE)
    assert "已设置提醒：资格审核截止" in text_of(reply)
    assert "12月9日（周三）17:00、12月10日（周四）15:00" in text_of(reply)
    (stored,) = await env.service.list("telegram", ALICE.user_id)
    assert stored.kind == "audit"
    assert stored.due_at == datetime(2026, 12, 10, 9, 0, tzinfo=UTC)
    assert [a.astimezone(SHANGHAI).hour for a in stored.alerts] == [17, 15]
    # The flow is over: the next text is a normal question again.
    reply = await c.text("准考证号忘了", who=ALICE)
    assert "忘记准考证号" in text_of(reply)


async def test_custom_text_then_date(env: Env) -> None:
    c = env.conversation
    reply = await c.command("remind", who=ALICE)
    reply = await c.action(actions(reply)["✏️ 自己写内容"], who=ALICE)
    reply = await c.text("交 <b>学历证明</b> 复印件", who=ALICE)
    reply = await c.text("下周一上午9点", who=ALICE)
    reply = await c.action(actions(reply)["到时间提醒"], who=ALICE)
    assert "交 <b>学历证明</b> 复印件" in text_of(reply)  # user text shown literally
    assert "11月30日（周一）09:00" in text_of(reply)


async def test_cancel_leaves_nothing(env: Env) -> None:
    c = env.conversation
    reply = await c.command("remind", who=ALICE)
    reply = await c.action(actions(reply)["✖️ 取消"], who=ALICE)
    assert "没有设置提醒" in text_of(reply)
    assert await env.service.list("telegram", ALICE.user_id) == []


async def test_one_line_forms(env: Env) -> None:
    c = env.conversation
    reply = await c.command("remind", who=ALICE, args="review 2026-12-10 09:00")
    assert "已设置提醒：复核申请截止" in text_of(reply)
    reply = await c.command("remind", who=ALICE, args="12月10日 交材料")
    assert "已设置提醒：交材料" in text_of(reply)
    reply = await c.command("remind", who=ALICE, args="2026-02-30 交材料")
    assert "2月没有30日" in text_of(reply)
    reply = await c.command("remind", who=ALICE, args="2026-11-01 交材料")
    assert "已经过去" in text_of(reply)
    assert len(await env.service.list("telegram", ALICE.user_id)) == 2


async def test_past_leads_are_dropped_and_said_when_chosen(env: Env) -> None:
    c = env.conversation
    reply = await c.command("remind", who=ALICE, args="今天下午5点 交表")
    text = text_of(reply)
    assert "提醒时间：11月24日（周二）15:00、11月24日（周二）17:00" in text
    assert "提前的时间已经过了" not in text  # one-line form: the user chose no leads
    reply = await c.command("remind", who=ALICE)
    reply = await c.action(actions(reply)["🗂 资格审核截止"], who=ALICE)
    reply = await c.text("今天下午1点", who=ALICE)
    reply = await c.action(actions(reply)["提前1天"], who=ALICE)
    assert "提醒时间：11月24日（周二）13:00" in text_of(reply)
    assert "提前的时间已经过了" in text_of(reply)


async def test_release_computes_deadline_and_offers_reminder(env: Env) -> None:
    c = env.conversation
    reply = await c.command("release", who=ALICE, args="2026-12-01")
    text = text_of(reply)
    # Both ends of the 5-15 working-day window, and what to do after the first one.
    assert "最早：2026年12月8日（周二）" in text and "最晚：2026年12月22日（周二）" in text
    assert "以当年官方通知为准" in text and "别直接放弃" in text
    # The reminder is for the earliest day, and its button says so.
    reply = await c.action(actions(reply)["⏰ 按最早日期提醒我：2026年12月8日（周二）"], who=ALICE)
    assert "12月8日（周二）17:00" in text_of(reply)
    reply = await c.action(actions(reply)["提前1天"], who=ALICE)
    assert "已设置提醒：复核申请截止" in text_of(reply)


async def test_release_without_date_explains_usage(env: Env) -> None:
    reply = await env.conversation.command("release", who=ALICE)
    assert "/release 2026-12-01" in text_of(reply)


async def test_release_into_a_year_without_data_says_approximate(env: Env) -> None:
    reply = await env.conversation.command("release", who=ALICE, args="2026-12-28")
    assert "2027 年的节假日安排还没有数据" in text_of(reply)


async def test_list_delete_snooze_only_own(env: Env) -> None:
    c = env.conversation
    await c.command("remind", who=ALICE, args="12月10日 交材料")
    reply = await c.command("reminders", who=ALICE)
    assert "1. 交材料" in text_of(reply)
    buttons = actions(reply)
    # Bob cannot touch Alice's reminder with her button's data.
    reply = await c.action(buttons["🗑 删除 1"], who=BOB)
    assert "找不到这个提醒" in text_of(reply)
    reply = await c.action(buttons["💤 1 推迟1天"], who=ALICE)
    assert "再提醒你一次" in text_of(reply)
    (stored,) = await env.service.list("telegram", ALICE.user_id)
    assert len(stored.alerts) == 4  # 1 day, 2 hours, at due, plus the snooze
    reply = await c.action(buttons["🗑 删除 1"], who=ALICE)
    assert "已删除提醒：交材料" in text_of(reply)
    assert await env.service.list("telegram", ALICE.user_id) == []
    assert "还没有设置提醒" in text_of(await c.command("reminders", who=ALICE))


async def test_limit_per_user(env: Env) -> None:
    due = START + timedelta(days=3)
    for n in range(env.service.limit):
        await env.service.create(
            channel="telegram",
            user_id=1,
            chat_id=1,
            kind="custom",
            text=str(n),
            due_at=due,
            leads=(0,),
        )
    result = await env.service.create(
        channel="telegram", user_id=1, chat_id=1, kind="custom", text="x", due_at=due, leads=(0,)
    )
    assert isinstance(result, LimitReached)
    other = await env.service.create(
        channel="wechat", user_id=1, chat_id=1, kind="custom", text="x", due_at=due, leads=(0,)
    )
    assert not isinstance(other, LimitReached)  # WeChat user 1 is someone else
    reply = await env.conversation.command(
        "remind", who=Who("telegram", 1, 1), args="12月10日 再来一个"
    )
    assert "50 个提醒" in text_of(reply)


async def test_ics_export(env: Env) -> None:
    c = env.conversation
    assert "没有可以导出" in text_of(await c.command("ics", who=ALICE))
    await c.command("remind", who=ALICE, args="audit 2026-12-10 17:00")
    reply = await c.command("ics", who=ALICE)
    document = reply.messages[0].document
    assert document is not None and document.filename == "reminders.ics"
    ics = document.data.decode()
    assert "BEGIN:VEVENT" in ics and "SUMMARY:资格审核截止" in ics
    assert "DTSTART:20261210T090000Z" in ics
    assert ics.count("BEGIN:VALARM") == 3


# -- delivery ---------------------------------------------------------------------------


async def test_due_alerts_are_sent_once_with_topic_link(env: Env) -> None:
    await env.conversation.command("remind", who=ALICE, args="audit 2026-11-24 13:00")
    env.clock.now = START + timedelta(hours=3)  # 13:30 local: 11:00 and 13:00 alerts due
    sender = FakeSender()
    await run_dispatcher(env, sender, until=2)
    assert [chat for chat, _ in sender.sent] == [101, 101]
    assert all("提醒：资格审核截止" in text for _, text in sender.sent)
    assert "已到时间" in sender.sent[1][1]
    assert await env.service.list("telegram", ALICE.user_id) == []  # all alerts done: inactive


async def test_alert_due_while_down_is_marked_late(env: Env) -> None:
    await env.conversation.command("remind", who=ALICE, args="1小时后 交材料")
    env.clock.now = START + timedelta(hours=3)  # the "process" starts after it came due
    sender = FakeSender()
    await run_dispatcher(env, sender, until=1)
    assert "离线期间到期" in sender.sent[0][1]


async def test_crash_between_claim_and_record_resends_once(env: Env) -> None:
    await env.conversation.command("remind", who=ALICE, args="1小时后 交材料")
    env.clock.now = START + timedelta(hours=2)
    (alert,) = await env.service.repo.due(env.clock.now, 200, ["telegram"])
    assert await env.service.repo.claim(alert.id)  # "sending" and then the process died
    assert await env.service.repo.due(env.clock.now, 200, ["telegram"]) == []
    sender = FakeSender()
    await run_dispatcher(env, sender, until=1)  # a new process: recovers and sends
    assert len(sender.sent) == 1


async def test_blocked_user_stops_their_reminders(env: Env) -> None:
    c = env.conversation
    await c.command("remind", who=ALICE, args="1小时后 甲")
    await c.command("remind", who=ALICE, args="12月10日 乙")
    await c.command("remind", who=BOB, args="1小时后 丙")
    env.clock.now = START + timedelta(hours=2)
    sender = FakeSender(outcomes={101: [Result(Outcome.BLOCKED, reason="Forbidden")]})
    await run_dispatcher(env, sender, until=1)
    assert [chat for chat, _ in sender.sent] == [202]
    assert await env.service.list("telegram", ALICE.user_id) == []  # the future one is stopped too


async def test_retry_after_flood_limit_then_sent(env: Env) -> None:
    await env.conversation.command("remind", who=ALICE, args="1小时后 交材料")
    env.clock.now = START + timedelta(hours=2)
    sender = FakeSender(outcomes={101: [Result(Outcome.RETRY, retry_after=0.05)]})
    await run_dispatcher(env, sender, until=1)
    assert len(sender.sent) == 1


async def test_asking_about_reminders_offers_the_feature(env: Env) -> None:
    c = env.conversation
    reply = await c.text("怎么设置提醒", who=ALICE)
    assert "我可以按你定的时间提醒你" in text_of(reply)
    reply = await c.action(actions(reply)["⏰ 设置提醒"], who=ALICE)
    assert "要提醒你什么" in text_of(reply)


async def test_concurrent_writes_keep_each_reminder_whole(env: Env) -> None:
    due = START + timedelta(days=2)
    await asyncio.gather(
        *(
            env.service.create(
                channel="telegram",
                user_id=n,
                chat_id=n,
                kind="custom",
                text=f"r{n}",
                due_at=due,
                leads=(1440, 120, 0),
            )
            for n in range(1, 31)
        )
    )
    for n in range(1, 31):
        (reminder,) = await env.service.list("telegram", n)
        assert len(reminder.alerts) == 3
