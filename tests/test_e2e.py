"""End to end: ``python -m bot run`` as a process, talking HTTP to the local stand-in."""

from __future__ import annotations

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
            (welcome,) = await api.wait_calls("sendMessage", 1)
            assert "不是官方渠道" in welcome.params["text"]
            keyboard = welcome.params["reply_markup"]["inline_keyboard"]
            assert keyboard[1][0] == {"text": "🔍 查询四步走", "callback_data": "t:steps"}

            api.push_callback("t:steps", USER, welcome.response["message_id"])
            (edit,) = await api.wait_calls("editMessageText", 1)
            assert "成绩查询四步走" in edit.params["text"]
            await api.wait_calls("answerCallbackQuery", 1)

            api.push_command("/steps", USER)
            sends = await api.wait_calls("sendMessage", 2)
            assert "1. 访问官方网站" in sends[1].params["text"]

            api.push_text("準考證號忘記了怎麼辦😭", USER)
            sends = await api.wait_calls("sendMessage", 3)
            assert "忘记准考证号怎么办" in sends[2].params["text"]
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
