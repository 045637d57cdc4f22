"""Telegram handlers: real Updates through the real Application, answered in-process.

The FakeRequest transport answers from the stand-in's FakeBotAPI without any socket, so
these tests see exactly what the bot would send to Telegram: method, text, buttons.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.commands import PUBLIC_BUILTINS
from bot.content import REQUIRED_TOPICS
from bot.core.text import to_html
from tests.telegram_harness import ADMIN, GROUP, USER, Harness, buttons, membership


async def test_start_shows_welcome_and_menu(tg: Harness) -> None:
    await tg.command("/start")
    sent, offer = tg.sent()
    assert "🔕 通知订阅：未开启" in sent["text"]
    assert [d for _, d in buttons(offer)] == ["s:on", "s:no"]
    assert int(sent["chat_id"]) == USER
    assert sent["parse_mode"] == "HTML"
    assert "不是官方渠道" in sent["text"]
    labels = buttons(sent)
    assert ("🏛 谁发布成绩", "t:authority") in labels
    assert ("🔍 查询四步走", "t:steps") in labels
    assert [data for _, data in labels] == [
        "t:authority", "t:prepare", "t:steps", "t:links", "t:problems", "t:after", "t:tracking",
    ]  # fmt: skip


async def test_help_lists_every_command(tg: Harness) -> None:
    await tg.command("/help")
    text = tg.sent()[0]["text"]
    for name in (*PUBLIC_BUILTINS, *REQUIRED_TOPICS):
        assert f"/{name} — " in text
    assert "/reload" not in text


async def test_help_for_admin_lists_reload(tg: Harness) -> None:
    await tg.command("/help", user=ADMIN)
    assert "/reload — " in tg.sent()[0]["text"]


@pytest.mark.parametrize("topic", REQUIRED_TOPICS)
async def test_every_topic_command_answers_with_related_and_menu(tg: Harness, topic: str) -> None:
    await tg.command(f"/{topic}")
    sent = tg.sent()
    assert sent, f"/{topic} sent nothing"
    topic_content = tg.app.bot_data["app"].store.current.topics[topic]
    assert [p["text"] for p in sent] == [to_html(m) for m in topic_content.messages]
    labels = buttons(sent[-1])
    assert labels[-1] == ("🏠 返回主菜单", "m")
    assert [data for _, data in labels[:-1]] == [f"t:{t}" for t in topic_content.related]
    for params in sent:
        assert len(params["text"]) <= 4096
        assert all(len(data.encode()) <= 64 for _, data in buttons(params))


async def test_steps_has_the_four_steps_and_screenshot_advice(tg: Harness) -> None:
    await tg.command("/steps")
    first, second = (sent["text"] for sent in tg.sent())  # two messages, one screen each
    assert "1. 访问官方网站" in first and "2. 找到“成绩查询”入口" in first
    assert "3. 选择考试项目并登录" in second and "4. 查看并核实成绩" in second
    assert "截图" in second


async def test_authority_says_province_not_city(tg: Harness) -> None:
    await tg.command("/authority")
    text = tg.sent()[0]["text"]
    assert "山西省" in text and "不是" in text and "阳泉" in text


async def test_button_tap_edits_the_message_in_place(tg: Harness) -> None:
    await tg.command("/start")
    menu_id = tg.api.calls_of("sendMessage")[0].response["message_id"]
    await tg.feed(tg.api.push_callback("t:problems", USER, menu_id))
    assert len(tg.sent("answerCallbackQuery")) == 1
    (edit,) = tg.sent("editMessageText")
    assert int(edit["message_id"]) == menu_id
    assert "遇到问题" in edit["text"]
    assert [d for _, d in buttons(edit)] == ["t:site_slow", "t:lost_ticket", "t:no_result", "m"]
    # Back to the menu from there.
    await tg.feed(tg.api.push_callback("m", USER, menu_id))
    assert "主菜单" in tg.sent("editMessageText")[-1]["text"]
    assert len(tg.sent()) == 2  # still only /start's welcome and offer: taps edit, never spam


async def test_same_button_twice_is_not_an_error(tg: Harness) -> None:
    await tg.command("/start")
    menu_id = tg.api.calls_of("sendMessage")[0].response["message_id"]
    for _ in range(2):
        await tg.feed(tg.api.push_callback("t:steps", USER, menu_id))
    assert len(tg.sent("answerCallbackQuery")) == 2
    assert len(tg.sent("editMessageText")) == 1  # the second edit is "not modified"
    assert all("出了点问题" not in t for t in tg.api.sent_texts())


async def test_stale_button_gets_current_menu(tg: Harness) -> None:
    await tg.command("/start")
    menu_id = tg.api.calls_of("sendMessage")[0].response["message_id"]
    update = tg.api.push_callback("t:removed_topic", USER, menu_id)
    # The menu was sent before a reload removed this topic: its keyboard still has the button
    # (taps with data on no button of the message are ignored as forged).
    stale = {"text": "旧主题", "callback_data": "t:removed_topic"}
    update["callback_query"]["message"]["reply_markup"] = {"inline_keyboard": [[stale]]}
    await tg.feed(update)
    edit = tg.sent("editMessageText")[-1]
    assert "已过期" in edit["text"]
    assert ("🏠 返回主菜单", "m") not in buttons(edit)
    assert ("🏛 谁发布成绩", "t:authority") in buttons(edit)


async def test_unknown_command_in_private_gets_polite_answer_and_menu(tg: Harness) -> None:
    await tg.command("/weather")
    (sent,) = tg.sent()
    assert "没有这个命令" in sent["text"]
    assert ("🔍 查询四步走", "t:steps") in buttons(sent)


async def test_free_text_question_gets_topic_and_alternatives(tg: Harness) -> None:
    await tg.feed(tg.api.push_text("准考正号忘了咋办😭", USER))
    (sent,) = tg.sent()
    assert "忘记准考证号怎么办" in sent["text"]
    labels = buttons(sent)
    assert labels[-1] == ("🏠 返回主菜单", "m")
    assert 1 <= len(labels) - 1 <= 3
    assert ("🎫 忘记准考证号", "t:lost_ticket") not in labels


async def test_out_of_scope_question_is_declined_and_recorded(tg: Harness) -> None:
    await tg.feed(tg.api.push_text("二建成绩什么时候出？", USER))
    await tg.feed(tg.api.push_text("二建成绩什么时候出", USER + 1))
    sent = tg.sent()
    assert all("这个问题我回答不了" in p["text"] for p in sent)
    assert ("🔍 查询四步走", "t:steps") in buttons(sent[0])
    await tg.command("/unanswered", user=ADMIN)
    listing = tg.sent()[-1]["text"]
    assert "2× 二建成绩什么时候出" in listing


async def test_unanswered_is_admin_only(tg: Harness) -> None:
    await tg.command("/unanswered")
    assert "仅限管理员" in tg.sent()[0]["text"]


async def test_unanswered_tap_teaches_and_edits_that_question_in_place(tg: Harness) -> None:
    await tg.feed(tg.api.push_text("二建成绩什么时候出", USER))
    await tg.command("/unanswered", user=ADMIN)
    header, item = tg.sent()[-2:]
    assert "没答上的问题" in header["text"] and "共 1 条" in header["text"]
    assert item["text"].startswith("1× 二建成绩什么时候出")
    data = [d for _, d in buttons(item)]
    assert data[-2].startswith("u:m:") and data[-1].startswith("u:o:")
    item_id = tg.api.calls_of("sendMessage")[-1].response["message_id"]
    await tg.feed(tg.api.push_callback(data[-1], ADMIN, item_id))
    (edit,) = tg.sent("editMessageText")
    assert int(edit["message_id"]) == item_id
    assert "已记下：二建成绩什么时候出 → 不在范围内" in edit["text"]
    assert buttons(edit) == []
    await tg.command("/unanswered", user=ADMIN)
    assert "目前没有记录到答不上的问题" in tg.sent()[-1]["text"]


async def test_did_you_mean_button_counts_a_vote_and_shows_the_topic(tg: Harness) -> None:
    await tg.feed(tg.api.push_text("查询", USER))
    (sent,) = tg.sent()
    picks = [d for _, d in buttons(sent) if d.startswith("v:")]
    assert picks and all(len(d.encode()) <= 64 for d in picks)
    asked_id = tg.api.calls_of("sendMessage")[-1].response["message_id"]
    await tg.feed(tg.api.push_callback(picks[0], USER, asked_id))
    (edit,) = tg.sent("editMessageText")
    topic = picks[0].rsplit(":", 1)[1]
    label = tg.app.bot_data["app"].store.current.topics[topic].button
    assert int(edit["message_id"]) == asked_id and label.split(" ")[-1] in edit["text"]
    await tg.command("/unanswered", user=ADMIN)
    assert f"用户选过：{label} ×1" in tg.sent()[-1]["text"]


async def test_greeting_and_sticker(tg: Harness) -> None:
    await tg.feed(tg.api.push_text("谢谢！", USER))
    sticker = tg.api.push_text("x", USER)
    del sticker["message"]["text"]
    sticker["message"]["sticker"] = {
        "file_id": "s1", "file_unique_id": "u1", "width": 512, "height": 512,
        "is_animated": False, "is_video": False, "type": "regular",
    }  # fmt: skip
    await tg.feed(sticker)
    thanks, other = tg.sent()
    assert "不客气" in thanks["text"]
    assert "只能看懂文字消息" in other["text"]


async def test_group_question_only_when_mentioned_or_replied(tg: Harness) -> None:
    await tg.feed(tg.api.push_text("准考证号忘了怎么办", USER, chat_id=GROUP, chat_type="group"))
    assert tg.sent() == []
    mention = tg.api.push_text("@exam_test_bot 准考证号忘了怎么办", USER, GROUP, "group")
    mention["message"]["entities"] = [{"type": "mention", "offset": 0, "length": 14}]
    await tg.feed(mention)
    (answer,) = tg.sent()
    assert "忘记准考证号怎么办" in answer["text"]
    reply = tg.api.push_text("那成绩复核呢", USER, GROUP, "group")
    reply["message"]["reply_to_message"] = tg.api.calls_of("sendMessage")[0].response
    await tg.feed(reply)
    assert "成绩复核" in tg.sent()[-1]["text"]
    assert len(tg.sent()) == 2


async def test_group_command_with_suffix_is_answered_as_reply(tg: Harness) -> None:
    await tg.command("/steps", chat_id=GROUP, chat_type="supergroup", username_suffix=True)
    sent, rest = tg.sent()  # /steps is two messages: the first quotes the command
    assert int(sent["chat_id"]) == GROUP == int(rest["chat_id"])
    assert "成绩查询四步走" in sent["text"]
    assert sent["reply_parameters"]["message_id"] > 0 and "reply_parameters" not in rest


async def test_group_stays_silent_on_chatter_and_other_bots(tg: Harness) -> None:
    await tg.feed(
        tg.api.push_text("大家好，今天查成绩了吗", USER, chat_id=GROUP, chat_type="group")
    )
    await tg.command("/start", chat_id=GROUP, chat_type="group", username_suffix="other_bot")
    await tg.command("/weather", chat_id=GROUP, chat_type="group")
    assert tg.sent() == []


async def test_group_unknown_command_addressed_to_us_is_answered(tg: Harness) -> None:
    await tg.command("/weather", chat_id=GROUP, chat_type="group", username_suffix=True)
    assert "没有这个命令" in tg.sent()[0]["text"]


async def test_reload_refused_for_non_admin(tg: Harness, content_copy: Path) -> None:
    (content_copy / "guide.yaml").write_text("broken: [\n", encoding="utf-8")
    await tg.command("/reload")
    assert "仅限管理员" in tg.sent()[0]["text"]
    assert len(tg.sent("setMyCommands")) == 1  # only the one from start-up


async def test_reload_by_admin_applies_good_content(tg: Harness, content_copy: Path) -> None:
    guide = content_copy / "guide.yaml"
    guide.write_text(
        guide.read_text(encoding="utf-8").replace("成绩查询四步走", "查分四步"), "utf-8"
    )
    await tg.command("/reload", user=ADMIN)
    assert "已重新加载" in tg.sent()[-1]["text"]
    assert len(tg.sent("setMyCommands")) == 2  # start-up, then the reload
    await tg.command("/steps")
    assert "查分四步" in tg.sent()[-2]["text"]  # the first of the two messages of /steps


async def test_reload_by_admin_rejects_bad_content_and_keeps_old(
    tg: Harness, content_copy: Path
) -> None:
    guide = content_copy / "guide.yaml"
    guide.write_text(
        guide.read_text(encoding="utf-8").replace("[links, steps, prepare]", "[x]"), "utf-8"
    )
    await tg.command("/reload", user=ADMIN)
    text = tg.sent()[-1]["text"]
    assert "重新加载失败" in text
    assert "guide.yaml:" in text
    assert "related topic 'x' does not exist" in text
    assert len(tg.sent("setMyCommands")) == 1  # only the one from start-up
    await tg.command("/authority")
    assert "成绩由谁发布" in tg.sent()[-1]["text"]


async def test_post_init_sets_chinese_command_menu(tg: Harness) -> None:
    (params,) = tg.sent("setMyCommands")
    commands = {c["command"]: c["description"] for c in params["commands"]}
    assert set(REQUIRED_TOPICS) | set(PUBLIC_BUILTINS) == set(commands)
    assert "reload" not in commands
    assert commands["steps"] == "成绩查询四步走：官网、入口、登录、核实"


async def test_handler_error_is_logged_and_user_told(
    tg: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    conversation = tg.app.bot_data["app"].conversation

    async def boom(*args: object) -> None:
        raise RuntimeError("kaboom 123456:TEST")

    monkeypatch.setattr(conversation, "command", boom)
    await tg.command("/menu")
    (sent,) = tg.sent()
    assert "出了点问题" in sent["text"]
    assert "kaboom" not in sent["text"]
    assert any("kaboom" in (r.exc_text or str(r.exc_info)) for r in caplog.records)


async def test_subscription_offer_once_and_commands(tg: Harness) -> None:
    await tg.command("/start")
    offer_id = tg.api.calls_of("sendMessage")[1].response["message_id"]
    await tg.feed(tg.api.push_callback("s:on", USER, offer_id))
    assert "已订阅通知" in tg.sent("editMessageText")[-1]["text"]
    await tg.command("/start")
    assert len(tg.sent()) == 3  # welcome only: the offer is made once
    assert "🔔 通知订阅：已开启" in tg.sent()[-1]["text"]
    await tg.command("/unsubscribe")
    assert "已取消订阅" in tg.sent()[-1]["text"]
    await tg.command("/stats", user=ADMIN)
    stats = tg.sent()[-1]["text"]
    assert "用户：2" in stats and "订阅通知的用户：0" in stats  # the user and the admin


async def test_stats_is_admin_only_and_counts_answers(tg: Harness) -> None:
    await tg.command("/stats")
    assert "仅限管理员" in tg.sent()[-1]["text"]
    await tg.feed(tg.api.push_text("准考证号忘了", USER))
    await tg.command("/stats", user=ADMIN)
    assert "已回答的问题：1" in tg.sent()[-1]["text"]


async def test_groups_and_channels_from_my_chat_member(tg: Harness) -> None:
    group = {"id": GROUP, "type": "supergroup", "title": "阳泉二造交流群"}
    channel = {"id": -100999, "type": "channel", "title": "培训学校公告"}
    await tg.feed(tg.api.push_update(membership(group, "member")))
    await tg.feed(tg.api.push_update(membership(channel, "administrator", can_post_messages=True)))
    await tg.feed(tg.api.push_text("hi", USER))  # a private user
    repo = tg.app.bot_data["app"].audience.repo
    assert (await repo.get("telegram", GROUP)).subscribed  # groups get announcements once added
    assert (await repo.get("telegram", -100999)).member
    stats = await repo.stats()
    assert (stats.users, stats.groups, stats.channels, stats.subscribers) == (1, 1, 1, 0)
    await tg.feed(tg.api.push_update(membership(group, "kicked")))
    assert not (await repo.get("telegram", GROUP)).member
    # The private user blocks the bot.
    blocked = membership({"id": USER, "type": "private", "first_name": "考生"}, "kicked")
    await tg.feed(tg.api.push_update(blocked))
    assert (await repo.stats()).users == 0


async def test_group_migration_keeps_subscription(tg: Harness) -> None:
    old = {"id": -4242, "type": "group", "title": "老群"}
    await tg.feed(tg.api.push_update(membership(old, "member")))
    update = tg.api.push_text("x", USER, chat_id=-4242, chat_type="group")
    del update["message"]["text"]
    update["message"]["migrate_to_chat_id"] = -1004242
    await tg.feed(update)
    repo = tg.app.bot_data["app"].audience.repo
    assert await repo.get("telegram", -4242) is None
    moved = await repo.get("telegram", -1004242)
    assert moved is not None and moved.subscribed and moved.type == "supergroup"


async def test_only_group_admins_switch_group_announcements(tg: Harness) -> None:
    statuses = {USER: "member", ADMIN: "administrator"}

    def get_chat_member(params: dict[str, Any]) -> dict[str, Any]:
        user_id = int(params["user_id"])
        status = statuses[user_id]
        member = membership({"id": GROUP, "type": "supergroup", "title": "群"}, status)
        new = member["my_chat_member"]["new_chat_member"]
        new["user"] = {"id": user_id, "is_bot": False, "first_name": "人"}
        return new

    tg.api.set_handler("getChatMember", get_chat_member)
    await tg.command("/unsubscribe", chat_id=GROUP, chat_type="supergroup", username_suffix=True)
    assert "只有本群的管理员" in tg.sent()[-1]["text"]
    await tg.command(
        "/unsubscribe", user=ADMIN, chat_id=GROUP, chat_type="supergroup", username_suffix=True
    )
    assert "本群已关闭通知" in tg.sent()[-1]["text"]
    repo = tg.app.bot_data["app"].audience.repo
    assert not (await repo.get("telegram", GROUP)).subscribed


async def test_error_after_a_button_still_apologises(
    tg: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await tg.command("/menu")
    menu_id = tg.api.calls_of("sendMessage")[0].response["message_id"]
    conversation = tg.app.bot_data["app"].conversation

    async def boom(*args: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(conversation, "action", boom)
    await tg.feed(tg.api.push_callback("t:steps", USER, menu_id))
    # The handler answered the tap already; the second answer is refused, the apology is sent.
    assert "出了点问题" in tg.sent()[-1]["text"]
