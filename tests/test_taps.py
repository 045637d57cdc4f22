"""Taps in groups and forged taps: another member's buttons get a private alert and change
nothing; forged callback data changes nothing stored; a failed tap still gets its apology."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.app import App
from bot.channels.telegram import handlers
from bot.core.reply import Reply
from bot.core.router import Who
from bot.storage import BroadcastRepo, ReminderRepo
from tests.telegram_harness import ADMIN, GROUP, USER, Harness, buttons

NOT_YOURS = "其他成员的按钮"
NOT_ADMIN = "仅限管理员"
OWNER, OTHER, OTHER_ADMIN = 11, 12, 901


def member(user_id: int, *, admin: bool = False, message_id: int | None = 1) -> Who:
    return Who(
        "telegram", user_id, GROUP, is_admin=admin, chat_type="supergroup", message_id=message_id
    )


def actions(reply: Reply) -> list[str]:
    return [b.action for m in reply.messages for row in m.buttons for b in row]


def first(reply: Reply) -> str:
    return reply.messages[0].text.plain_text


async def test_group_buttons_belong_to_the_user_answered(app: App) -> None:
    reply = await app.conversation.command("remind", member(OWNER))
    assert reply is not None and actions(reply)
    assert all(a.endswith(f"~{OWNER}") for a in actions(reply))
    assert all(len(a.encode()) <= 64 for a in actions(reply))  # Telegram's callback data
    private = await app.conversation.command("remind", Who("telegram", OWNER, OWNER))
    assert private is not None and "r:x" in actions(private)  # private chats: no marks


async def test_another_members_tap_on_a_remind_step_changes_nothing(app: App) -> None:
    conversation = app.conversation
    await conversation.command("remind", member(OWNER))
    for data in (f"r:k:audit~{OWNER}", f"r:x~{OWNER}", f"r:l:1d~{OWNER}", f"m~{OWNER}"):
        reply = await conversation.action(data, member(OTHER))
        assert reply.alert and NOT_YOURS in first(reply), data
    assert await conversation.router.waiting_for(member(OTHER)) is None  # no draft for the tapper
    # The owner's flow is where it was: choosing the kind, then the date.
    reply = await conversation.action(f"r:k:audit~{OWNER}", member(OWNER))
    assert not reply.alert and f"r:x~{OWNER}" in actions(reply)
    reply = await conversation.text("2026-12-10 9点", member(OWNER))
    assert f"r:l:1d~{OWNER}" in actions(reply)


async def test_reminder_list_in_a_group_and_forged_deletes(app: App) -> None:
    conversation, repo = app.conversation, ReminderRepo(app.db)
    await conversation.command("remind", member(OWNER), "review 2026-12-10 09:00")
    listed = await conversation.command("reminders", member(OWNER))
    assert listed is not None
    (reminder,) = await repo.list_active("telegram", OWNER)
    delete, snooze = f"r:del:{reminder.id}", f"r:snz:{reminder.id}"
    assert f"{delete}~{OWNER}" in actions(listed)
    for data in (f"{delete}~{OWNER}", f"{snooze}~{OWNER}", f"r:list~{OWNER}"):
        reply = await conversation.action(data, member(OTHER))
        assert reply.alert and NOT_YOURS in first(reply)
    # Forged: the tapper's own mark, no mark, in private; an admin is no exception.
    for who in (member(OTHER), Who("telegram", OTHER, OTHER), member(ADMIN, admin=True)):
        for data in (f"{delete}~{who.user_id}", delete, snooze, f"{snooze}~{who.user_id}"):
            reply = await conversation.action(data, who)
            assert "找不到这个提醒" in first(reply), data
    (after,) = await repo.list_active("telegram", OWNER)
    assert after == reminder  # same alerts, not snoozed, not deleted
    reply = await conversation.action(f"{delete}~{OWNER}", member(OWNER))
    assert not reply.alert and await repo.list_active("telegram", OWNER) == []


async def _preview(app: App) -> tuple[int, Reply]:
    reply = await app.conversation.command("broadcast", member(ADMIN, admin=True), "通知")
    assert reply is not None
    choose = next(a for a in actions(reply) if a.startswith("b:a:"))
    return int(choose.split(":")[2]), reply


async def test_broadcast_preview_in_a_group_is_the_admins(app: App) -> None:
    conversation, repo = app.conversation, BroadcastRepo(app.db)
    broadcast_id, preview = await _preview(app)
    assert f"b:a:{broadcast_id}:all~{ADMIN}" in actions(preview)
    for who in (member(OTHER), member(OTHER_ADMIN, admin=True)):
        for data in (f"b:a:{broadcast_id}:all~{ADMIN}", f"b:x:{broadcast_id}~{ADMIN}"):
            reply = await conversation.action(data, who)
            assert reply.alert and NOT_YOURS in first(reply)
    confirm = await conversation.action(
        f"b:a:{broadcast_id}:all~{ADMIN}", member(ADMIN, admin=True)
    )
    assert f"b:c:{broadcast_id}:all~{ADMIN}" in actions(confirm)
    reply = await conversation.action(f"b:c:{broadcast_id}:all~{ADMIN}", member(OTHER))
    assert reply.alert and NOT_YOURS in first(reply)
    broadcast = await repo.get(broadcast_id)
    assert broadcast is not None and broadcast.status == "draft"


async def test_forged_broadcast_actions_change_nothing(app: App) -> None:
    conversation, repo = app.conversation, BroadcastRepo(app.db)
    broadcast_id, _ = await _preview(app)
    forged = [f"b:c:{broadcast_id}:all", f"b:x:{broadcast_id}", f"b:s:{broadcast_id}"]
    for who in (Who("telegram", OTHER, OTHER), member(OTHER)):
        for data in forged + [f"{d}~{who.user_id}" for d in forged]:
            reply = await conversation.action(data, who)  # a non-admin: refused by rights
            assert reply.alert and NOT_ADMIN in first(reply), data
    other_admin = Who("telegram", OTHER_ADMIN, OTHER_ADMIN, is_admin=True)
    for data in forged[:2]:  # another admin may not confirm or drop someone else's draft
        reply = await conversation.action(data, other_admin)
        assert "找不到这个广播" in first(reply)
    broadcast = await repo.get(broadcast_id)
    assert broadcast is not None and broadcast.status == "draft"


async def test_telegram_tap_on_another_members_button_is_a_private_alert(tg: Harness) -> None:
    await tg.command("/remind", chat_id=GROUP, chat_type="supergroup", username_suffix=True)
    question = tg.api.calls_of("sendMessage")[-1]
    data = dict(buttons(question.params))
    kind = next(d for label, d in data.items() if "审核" in label)
    assert kind.endswith(f"~{USER}")
    message_id = question.response["message_id"]
    await tg.feed(tg.api.push_callback(kind, OTHER, message_id, chat_id=GROUP))
    (answer,) = tg.api.calls_of("answerCallbackQuery")
    assert answer.ok and answer.params.get("show_alert") in (True, "true", "True")
    assert NOT_YOURS in str(answer.params.get("text"))
    assert not tg.api.calls_of("editMessageText")  # the owner's message is untouched
    assert len(tg.api.calls_of("sendMessage")) == 1
    await tg.feed(tg.api.push_callback(kind, USER, message_id, chat_id=GROUP))
    (edit,) = tg.api.calls_of("editMessageText")  # the owner's own tap goes on as before
    assert int(edit.params["message_id"]) == message_id


async def test_telegram_forged_data_on_a_message_changes_nothing(tg: Harness) -> None:
    app = tg.app.bot_data["app"]
    await tg.command("/remind", chat_id=GROUP, chat_type="supergroup", username_suffix=True)
    victim = tg.api.calls_of("sendMessage")[-1].response["message_id"]
    await tg.command("/remind review 2026-12-10 09:00")
    (reminder,) = await ReminderRepo(app.db).list_active("telegram", USER)
    await tg.command("/menu", user=OTHER)
    menu = tg.api.calls_of("sendMessage")[-1].response["message_id"]
    forged = [
        (victim, GROUP, "r:k:review"),  # the owner's mark stripped
        (victim, GROUP, f"r:x~{OTHER}"),  # the tapper's own mark
        (victim, GROUP, f"r:del:{reminder.id}~{USER}"),
        (menu, OTHER, f"r:del:{reminder.id}"),  # someone else's reminder, in private
        (menu, OTHER, f"r:snz:{reminder.id}"),
        (menu, OTHER, "b:c:1:all"),
    ]
    for message_id, chat_id, data in forged:
        await tg.feed(tg.api.push_callback(data, OTHER, message_id, chat_id=chat_id))
    assert not tg.api.calls_of("editMessageText")
    answers = tg.api.calls_of("answerCallbackQuery")
    assert len(answers) == len(forged) and not any(a.params.get("text") for a in answers)
    assert await ReminderRepo(app.db).list_active("telegram", USER) == [reminder]


async def test_non_admin_tap_on_an_admin_button_is_an_alert(tg: Harness) -> None:
    app = tg.app.bot_data["app"]
    repo, now = BroadcastRepo(app.db), app.clock()
    broadcast_id = await repo.create(
        admin_id=ADMIN, kind="text", text="通知", from_chat_id=None, from_message=None,
        run_at=now + timedelta(days=1), now=now,
    )  # fmt: skip
    assert await repo.confirm(broadcast_id, "all", None, now)
    # The progress report in a group: its stop button is the runner's, unmarked.
    stop = f"b:s:{broadcast_id}"
    update = tg.api.push_callback(stop, USER, 77, chat_id=GROUP, message_text="进度")
    keyboard = [[{"text": "⏹ 停止", "callback_data": stop}]]
    update["callback_query"]["message"]["reply_markup"] = {"inline_keyboard": keyboard}
    await tg.feed(update)
    (answer,) = tg.api.calls_of("answerCallbackQuery")
    assert NOT_ADMIN in str(answer.params.get("text"))
    assert not tg.api.calls_of("editMessageText")
    broadcast = await repo.get(broadcast_id)
    assert broadcast is not None and broadcast.status == "scheduled"


async def test_error_after_the_tap_was_answered_still_apologises(
    tg: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await tg.command("/menu")
    menu_id = tg.api.calls_of("sendMessage")[0].response["message_id"]

    async def boom(*args: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(handlers, "edit_with_reply", boom)  # fails after the answer
    await tg.feed(tg.api.push_callback("t:steps", USER, menu_id))
    assert "出了点问题" in tg.sent()[-1]["text"]
    answers = tg.api.calls_of("answerCallbackQuery")
    assert len(answers) == 1 and answers[0].ok  # no second answer for Telegram to refuse


async def test_error_before_the_tap_was_answered_answers_once_and_apologises(
    tg: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await tg.command("/menu")
    menu_id = tg.api.calls_of("sendMessage")[0].response["message_id"]

    async def boom(*args: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(tg.app.bot_data["app"].conversation, "action", boom)
    await tg.feed(tg.api.push_callback("t:steps", USER, menu_id))
    assert "出了点问题" in tg.sent()[-1]["text"]
    answers = tg.api.calls_of("answerCallbackQuery")
    assert len(answers) == 1 and answers[0].ok  # the spinner stops
