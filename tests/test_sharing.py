"""Deep links, admins' topic links, inline mode and the profile texts, in-process.

The conversation over a copy of the content (deep links, /link, the share button), the real
Telegram Application over the stand-in (inline answers, pacing, /link's t.me link), and the
content checks of the description lengths.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from bot.app import App, assemble
from bot.channels import CHANNELS
from bot.channels.console.session import ConsoleSender
from bot.channels.telegram.inline import LIMIT
from bot.config import Settings
from bot.content import ContentError, ContentStore, load_content
from bot.core.router import Who
from bot.delivery.pacer import Priority
from bot.storage import ChatRepo
from tests.standin import BOT_USERNAME, FakeBotAPI
from tests.telegram_harness import ADMIN, USER, Harness, buttons

USER_WHO = Who("telegram", 5, 5)
ADMIN_WHO = Who("telegram", 6, 6, is_admin=True)


@pytest.fixture
async def linked(content_copy: Path) -> AsyncIterator[App]:
    """The bot as assembled for Telegram, with a link maker for its channel."""
    settings = Settings(content_dir=content_copy, db=content_copy.parent / "bot.db")
    store = ContentStore.open(content_copy, CHANNELS)
    app = await assemble(
        settings,
        store,
        {"console": ConsoleSender(io.StringIO())},
        links={"telegram": lambda payload: f"https://t.me/exam_bot?start={payload}"},
    )
    try:
        yield app
    finally:
        await app.close()


def plain(reply: object) -> str:
    return "\n".join(m.text.plain_text for m in reply.messages)  # type: ignore[attr-defined]


async def test_start_payloads_open_topics_and_features(linked: App) -> None:
    conversation = linked.conversation
    lost = await conversation.command("start", USER_WHO, "lost_ticket")
    assert lost is not None and "忘记准考证号怎么办" in plain(lost)
    assert "不是官方渠道" not in plain(lost)  # the topic, not the welcome
    review = await conversation.command("start", USER_WHO, "remind_review")
    assert review is not None and "是什么时间" in plain(review)
    assert ("📅 按成绩公布日期估算", "r:rel") in [
        (b.label, b.action) for r in review.last_buttons for b in r
    ]
    subscribe = await conversation.command("start", USER_WHO, "subscribe")
    assert subscribe is not None and [b.action for b in subscribe.last_buttons[0]] == ["s:on"]
    row = await ChatRepo(linked.db).get("telegram", USER_WHO.chat_id)
    assert row is None or not row.subscribed  # an offer to confirm, never subscribed silently
    for unknown in ("nonsense", "../steps", "x" * 300):
        welcome = await conversation.command("start", USER_WHO, unknown)
        assert welcome is not None and "不是官方渠道" in plain(welcome)


async def test_admins_get_a_topics_link_from_the_topic(linked: App) -> None:
    conversation = linked.conversation
    steps = await conversation.command("steps", ADMIN_WHO)
    assert steps is not None and steps.last_buttons[-1][0].action == "ln:steps"
    for who in (USER_WHO, Who("telegram", 6, -100, is_admin=True, chat_type="supergroup")):
        other = await conversation.command("steps", who)
        assert other is not None
        assert all(b.action != "ln:steps" for row in other.last_buttons for b in row)
    shared = await conversation.action("ln:steps", ADMIN_WHO)
    assert "https://t.me/exam_bot?start=steps" in plain(shared)
    assert "wechat-qr steps" in plain(shared)
    refused = await conversation.action("ln:steps", USER_WHO)
    assert refused.alert and "仅限管理员" in plain(refused)


async def test_link_command(linked: App) -> None:
    conversation = linked.conversation

    async def link(args: str, who: Who = ADMIN_WHO) -> str:
        reply = await conversation.command("link", who, args)
        assert reply is not None
        return plain(reply)

    assert "https://t.me/exam_bot?start=remind_audit" in await link("remind_audit")
    assert "https://t.me/exam_bot?start=lost_ticket" in await link("LOST_TICKET")
    assert "用法" in await link("")
    assert "没有“nope”这一项" in await link("nope")
    assert "仅限管理员" in await link("steps", USER_WHO)
    console_admin = Who("console", 1, 1, is_admin=True)
    assert "wechat-qr steps" in await link("steps", console_admin)  # no links in a terminal


async def test_inline_search_uses_the_free_text_matcher(linked: App) -> None:
    sharing = linked.sharing
    assert sharing.matching("复核", 8)[0] == "review"
    assert sharing.matching("准考证号忘了", 8)[0] == "lost_ticket"
    assert sharing.matching("", 3) == ["authority", "prepare", "steps"]  # the menu's order
    assert sharing.matching("今天天气怎么样", 8) == []


def _write_share(content_copy: Path, **texts: str) -> None:
    path = content_copy / "ui.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["share"].update(texts)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def _problems(content_copy: Path) -> list[str]:
    with pytest.raises(ContentError) as caught:
        load_content(content_copy, CHANNELS)
    return [f"{p.file}:{p.line}: {p.reason}" for p in caught.value.problems]


def test_profile_texts_longer_than_telegram_allows_are_refused(content_copy: Path) -> None:
    # 109 characters and a placeholder (11) that fills to 13: 120 as written, 122 once filled.
    _write_share(content_copy, short_description="考" * 109 + "{hrss_name}")
    (problem,) = _problems(content_copy)
    assert problem.startswith("ui.yaml:")
    assert problem.endswith("share.short_description: 122 characters; Telegram allows 120")
    _write_share(content_copy, short_description="考试助手", description="简" * 513)
    (problem,) = _problems(content_copy)
    assert problem.startswith("ui.yaml:") and "share.description" in problem and "512" in problem


async def test_inline_query_answers_cards_paced_per_user(tg: Harness) -> None:
    api = tg.api
    api.bot_info["supports_inline_queries"] = True
    await tg.feed(api.push_inline_query("复核", USER))
    (answer,) = api.inline_answers.values()
    assert int(answer["cache_time"]) == 300 and answer["is_personal"] in (False, "false")
    first = answer["results"][0]
    assert first["id"] == "review" and first["type"] == "article"
    text = first["input_message_content"]["message_text"]
    assert "成绩复核" in text and len(text) <= 4096
    (button,) = first["reply_markup"]["inline_keyboard"][0]
    assert button["url"] == f"https://t.me/{BOT_USERNAME}?start=review"
    for _ in range(LIMIT + 5):  # a user typing far too fast: answers stop for a pause
        await tg.feed(api.push_inline_query("复", USER + 1))
    answered = [c for c in api.calls_of("answerInlineQuery") if c.ok]
    assert len(answered) == 1 + LIMIT


async def test_admin_link_on_telegram_uses_the_bots_username(tg: Harness) -> None:
    await tg.command("/steps", ADMIN)
    sent = tg.sent()
    assert ("🔗 分享链接", "ln:steps") in buttons(sent[-1])
    await tg.command("/link after", ADMIN)
    assert f"https://t.me/{BOT_USERNAME}?start=after" in tg.sent()[-1]["text"]
    await tg.command("/steps", USER)
    assert all(data != "ln:steps" for _, data in buttons(tg.sent()[-1]))


async def test_standin_refuses_a_second_inline_answer_and_long_descriptions() -> None:
    api = FakeBotAPI()
    api.bot_info["supports_inline_queries"] = True
    query = api.push_inline_query("复核", USER)["inline_query"]
    article = {
        "type": "article",
        "id": "review",
        "title": "复核",
        "input_message_content": {"message_text": "成绩复核"},
    }
    params = {"inline_query_id": query["id"], "results": [article]}
    assert (await api.handle("answerInlineQuery", params))[0] == 200
    status, body = await api.handle("answerInlineQuery", params)
    assert status == 400 and "query ID is invalid" in body["description"]
    status, _ = await api.handle("setMyShortDescription", {"short_description": "短" * 121})
    assert status == 400
    assert (await api.handle("setMyDescription", {"description": "长" * 512}))[0] == 200
    assert api.descriptions[("description", "")] == "长" * 512
    with pytest.raises(ValueError):
        FakeBotAPI().push_inline_query("复核", USER)  # inline mode off: Telegram sends none


async def test_a_broadcast_carries_a_deep_link_as_typed(tg: Harness) -> None:
    link = f"https://t.me/{BOT_USERNAME}?start=steps"
    await tg.command(f"/broadcast 明天公布成绩，查分步骤：{link}", ADMIN)
    (preview,) = tg.sent()
    assert link in preview["text"]  # Telegram shows it as a link; nothing escaped it


async def test_inline_answers_take_a_slot_of_the_send_budget(
    tg: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    pacer = tg.app.bot.rate_limiter.pacer  # type: ignore[union-attr]
    slots: list[tuple[int | None, Priority]] = []
    take = pacer.wait

    async def wait(
        chat_id: int | None = None, priority: Priority = Priority.REPLY, **kw: bool
    ) -> None:
        slots.append((chat_id, priority))
        await take(chat_id, priority, **kw)

    monkeypatch.setattr(pacer, "wait", wait)
    tg.api.bot_info["supports_inline_queries"] = True
    await tg.feed(tg.api.push_inline_query("准考证", USER))
    assert slots == [(None, Priority.REPLY)]  # the overall rate, as every reply
    assert len(tg.api.inline_answers) == 1
