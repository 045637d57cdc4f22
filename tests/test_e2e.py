"""End to end: ``python -m bot run`` as a process, talking HTTP to the local stand-in."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from tests.botproc import TOKEN, BotProcess
from tests.standin import StandinServer

USER = 4242


async def test_start_tap_steps_and_clean_sigterm(tmp_path: Path) -> None:
    async with StandinServer() as server:
        api = server.api
        bot = BotProcess(api, server.base_url, tmp_path)
        await bot.start()
        try:
            # Start-up published the Chinese command menu.
            (commands_call,) = await api.wait_calls("setMyCommands", 1)
            described = {c["command"]: c["description"] for c in commands_call.params["commands"]}
            assert described["steps"] == "成绩查询四步走：官网、入口、登录、核实"

            api.push_command("/start", USER)
            welcome, offer = await api.wait_calls("sendMessage", 2)
            assert "不是官方渠道" in welcome.params["text"]
            assert "要不要接收重要通知" in offer.params["text"]  # asked once, not subscribed
            keyboard = welcome.params["reply_markup"]["inline_keyboard"]
            assert keyboard[1][0] == {"text": "🔍 查询四步走", "callback_data": "t:steps"}

            api.push_callback("t:steps", USER, welcome.response["message_id"])
            (edit,) = await api.wait_calls("editMessageText", 1)
            assert "成绩查询四步走" in edit.params["text"]
            await api.wait_calls("answerCallbackQuery", 1)
            # /steps is two messages: the tapped one shows steps 1-2, steps 3-4 follow.
            sends = await api.wait_calls("sendMessage", 3)
            assert "4. 查看并核实成绩" in sends[2].params["text"]

            api.push_command("/steps", USER)
            sends = await api.wait_calls("sendMessage", 5)
            assert "1. 访问官方网站" in sends[3].params["text"]
            assert "4. 查看并核实成绩" in sends[4].params["text"]

            api.push_text("準考證號忘記了怎麼辦😭", USER)
            sends = await api.wait_calls("sendMessage", 6)
            assert "忘记准考证号怎么办" in sends[5].params["text"]
            # Every answered request succeeded (a long poll still open has no status yet).
            failed = [c for c in api.calls if c.status not in (0, 200)]
            assert failed == [], api.describe_calls()
        finally:
            code = await bot.stop(signal.SIGTERM)
        assert code == 0, bot.log_tail()
        log = bot.log()
        assert TOKEN not in log
        assert "Traceback" not in log


async def test_group_suffix_answered_chatter_ignored(tmp_path: Path) -> None:
    async with StandinServer() as server:
        api = server.api
        async with BotProcess(api, server.base_url, tmp_path):
            api.push_text("有人查到了吗", USER, chat_id=-1001, chat_type="supergroup")
            api.push_command(
                "/links", USER, chat_id=-1001, chat_type="supergroup", username_suffix=True
            )
            (sent,) = await api.wait_calls("sendMessage", 1)
            assert sent.chat_id == -1001
            assert "官方网站" in sent.params["text"]
            # A later command is answered too, and still nothing went to the chatter.
            api.push_command("/menu", USER, chat_id=-1001, chat_type="supergroup")
            await api.wait_calls("sendMessage", 2)
            texts = api.sent_texts(-1001)
            assert len(texts) == 2
            assert "主菜单" in texts[1]


def reminder_texts(api_texts: list[str]) -> list[str]:
    return [t for t in api_texts if t.startswith("⏰ <b>提醒：")]


async def test_reminder_due_in_seconds_arrives(tmp_path: Path) -> None:
    async with StandinServer() as server:
        api = server.api
        async with BotProcess(api, server.base_url, tmp_path):
            api.push_command("/remind 3秒后 测试提醒", USER)
            (saved,) = await api.wait_calls("sendMessage", 1)
            assert "已设置提醒：<b>测试提醒</b>" in saved.params["text"]
            await api.wait_for(lambda calls: len(reminder_texts(api.sent_texts(USER))) >= 1, 15)
            (alert,) = reminder_texts(api.sent_texts(USER))
            assert "测试提醒" in alert
            assert "离线期间" not in alert


async def test_kill_9_with_reminders_due_loses_none(tmp_path: Path) -> None:
    users = [USER + n for n in range(3)]
    async with StandinServer() as server:
        api = server.api
        bot = BotProcess(api, server.base_url, tmp_path, name="first")
        await bot.start()
        for n, user in enumerate(users):
            api.push_command(f"/remind {4 + n}秒后 交材料{n}", user)
        await api.wait_calls("sendMessage", len(users))  # all three stored and confirmed
        assert await bot.stop(signal.SIGKILL) == -signal.SIGKILL
        await asyncio.sleep(8)  # every reminder comes due while the bot is down
        async with BotProcess(api, server.base_url, tmp_path, name="second"):
            await api.wait_for(
                lambda calls: all(reminder_texts(api.sent_texts(u)) for u in users), 20
            )
            await asyncio.sleep(1)  # a duplicate would show up now
            for n, user in enumerate(users):
                (alert,) = reminder_texts(api.sent_texts(user))
                assert f"交材料{n}" in alert
                assert "离线期间到期" in alert


async def test_large_telegram_id_gets_its_reminder_on_telegram(tmp_path: Path) -> None:
    """Telegram ids go up to 2**52. Chats used to be routed by id range (WeChat from 10**15
    up); now the channel is stored with the reminder. With WeChat push configured in the same
    process, a Telegram user with id 2*10**15 still gets the reminder on Telegram."""
    from tests.test_wechat import APP_ID, wechat_api

    big = 2_000_000_000_000_000
    async with wechat_api() as (wechat, port), StandinServer() as server:
        api = server.api
        extra = {
            "WECHAT_PUSH": "customer_service",
            "WECHAT_APP_ID": APP_ID,
            "WECHAT_APP_SECRET": "app-secret",
            "WECHAT_API_BASE_URL": f"http://127.0.0.1:{port}/cgi-bin/",
        }
        async with BotProcess(api, server.base_url, tmp_path, env=extra):
            api.push_command("/remind 5秒后 交学历证明", big)  # due soon: the test is about routing
            (saved,) = await api.wait_calls("sendMessage", 1)
            assert saved.chat_id == big
            assert "已设置提醒：<b>交学历证明</b>" in saved.params["text"]
            await api.wait_for(lambda calls: len(reminder_texts(api.sent_texts(big))) >= 1, 90)
            (alert,) = reminder_texts(api.sent_texts(big))
            assert "交学历证明" in alert
    assert wechat.sent == []  # nothing went to WeChat's customer-service API
