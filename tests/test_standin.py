"""Tests of the local Bot API stand-in itself (tests/standin.py), through both transports."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    Update,
)
from telegram.error import BadRequest, Forbidden, RetryAfter, TimedOut
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from tests.standin import (
    BOT_ID,
    BOT_USERNAME,
    Call,
    FakeBotAPI,
    FakeRequest,
    StandinServer,
    UploadedFile,
    html_to_plain,
)

TOKEN = "123456:TEST"


class ManualClock:
    """A monotonic clock the test moves by hand (for flood windows)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def api() -> FakeBotAPI:
    return FakeBotAPI()


@pytest.fixture
async def bot(api: FakeBotAPI) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, request=FakeRequest(api), get_updates_request=FakeRequest(api)) as bot:
        yield bot


def ids(updates: list[dict]) -> list[int]:
    return [u["update_id"] for u in updates]


# --------------------------------------------------------------------------- getUpdates


async def test_get_updates_offset_confirms_and_limit_caps(api: FakeBotAPI) -> None:
    pushed = [api.push_text(f"m{i}", user_id=1)["update_id"] for i in range(3)]
    assert pushed == [1, 2, 3]

    status, body = await api.handle("getUpdates", {})
    assert status == 200
    assert ids(body["result"]) == pushed

    _, body = await api.handle("getUpdates", {"offset": str(pushed[1]), "limit": "1"})
    assert ids(body["result"]) == [pushed[1]]
    assert ids(api.pending_updates) == pushed[1:]  # the first one is confirmed and dropped

    _, body = await api.handle("getUpdates", {"offset": str(pushed[2] + 1), "timeout": "0"})
    assert body["result"] == []
    assert api.pending_updates == []


async def test_get_updates_negative_offset_keeps_only_the_last(api: FakeBotAPI) -> None:
    for i in range(3):
        api.push_text(f"m{i}", user_id=1)
    _, body = await api.handle("getUpdates", {"offset": "-1"})
    assert ids(body["result"]) == [3]
    assert ids(api.pending_updates) == [3]


async def test_get_updates_long_poll_times_out_empty(api: FakeBotAPI) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    _, body = await api.handle("getUpdates", {"timeout": "0.2"})
    assert body == {"ok": True, "result": []}
    assert loop.time() - started >= 0.19


async def test_get_updates_long_poll_wakes_on_push(api: FakeBotAPI) -> None:
    poll = asyncio.create_task(api.handle("getUpdates", {"timeout": "30"}))
    await api.wait_calls("getUpdates", 1)
    assert not poll.done()
    update = api.push_command("/start", user_id=7)
    _, body = await asyncio.wait_for(poll, 5)
    assert body["result"] == [update]


async def test_release_pollers_ends_long_polls(api: FakeBotAPI) -> None:
    poll = asyncio.create_task(api.handle("getUpdates", {"timeout": "30"}))
    await api.wait_calls("getUpdates", 1)
    api.release_pollers()
    _, body = await asyncio.wait_for(poll, 5)
    assert body["result"] == []


# --------------------------------------------------------------------------- update builders


def test_push_command_entity_covers_command_and_bot_name(api: FakeBotAPI) -> None:
    update = api.push_command(
        "/steps 2024", user_id=7, chat_id=-1001, chat_type="group", username_suffix=True
    )
    message = update["message"]
    assert message["text"] == f"/steps@{BOT_USERNAME} 2024"
    assert message["entities"] == [
        {"type": "bot_command", "offset": 0, "length": len(f"/steps@{BOT_USERNAME}")}
    ]
    assert message["chat"] == {"id": -1001, "type": "group", "title": "考生交流群"}
    assert message["from"] == {
        "id": 7,
        "is_bot": False,
        "first_name": "考生",
        "language_code": "zh-hans",
    }
    assert Update.de_json(update, None).message.text.startswith("/steps@")


def test_push_command_splits_at_any_whitespace(api: FakeBotAPI) -> None:
    message = api.push_command("/steps\n第二行", user_id=7, username_suffix=True)["message"]
    assert message["text"] == f"/steps@{BOT_USERNAME}\n第二行"
    assert message["entities"][0]["length"] == len(f"/steps@{BOT_USERNAME}")


def test_push_helpers_reject_inconsistent_chats(api: FakeBotAPI) -> None:
    with pytest.raises(ValueError, match="supergroup"):
        api.push_text("hi", user_id=7, chat_id=-5)
    with pytest.raises(ValueError, match="negative chat_id"):
        api.push_text("hi", user_id=7, chat_type="group")
    with pytest.raises(ValueError, match="must start with"):
        api.push_command("steps", user_id=7)


def test_message_ids_increase_per_chat_across_users_and_bot(api: FakeBotAPI) -> None:
    first = api.push_text("a", user_id=7)["message"]["message_id"]
    second = api.push_text("b", user_id=7)["message"]["message_id"]
    other = api.push_text("c", user_id=8)["message"]["message_id"]
    assert (first, second, other) == (1, 2, 1)


# --------------------------------------------------------------------------- FakeRequest + Bot


async def test_fake_request_round_trip_through_bot(api: FakeBotAPI, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.username, me.first_name, me.is_bot) == (
        BOT_ID,
        BOT_USERNAME,
        "ExamBot",
        True,
    )
    assert me.can_join_groups and not me.can_read_all_group_messages

    sent = await bot.send_message(1, "你好")
    assert api.sent_texts(1) == ["你好"]
    assert api.sent_texts("1") == ["你好"]
    assert sent.text == "你好"
    assert sent.chat.type == "private"
    assert sent.from_user.id == BOT_ID

    [call] = api.calls_of("sendMessage")
    assert call.params == {"chat_id": "1", "text": "你好"}
    assert call.chat_id == 1
    assert call.token == TOKEN

    group = await bot.send_message(-100200, "群消息")
    again = await bot.send_message(1, "再见")
    assert group.chat.type == "supergroup" and group.chat.title
    assert (sent.message_id, again.message_id, group.message_id) == (1, 2, 1)
    assert api.sent_texts() == ["你好", "群消息", "再见"]


async def test_send_message_decodes_json_params_and_echoes_inline_keyboard(
    api: FakeBotAPI, bot: Bot
) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("步骤", callback_data="t:steps")]])
    sent = await bot.send_message(5, "<b>菜单</b>", parse_mode="HTML", reply_markup=keyboard)
    [call] = api.calls_of("sendMessage")
    assert call.params["reply_markup"] == {
        "inline_keyboard": [[{"text": "步骤", "callback_data": "t:steps"}]]
    }
    assert call.params["parse_mode"] == "HTML"
    assert sent.reply_markup == keyboard
    assert sent.text == "菜单"  # markup is parsed away, as Telegram does
    assert api.sent_texts(5) == ["<b>菜单</b>"]

    # Reply keyboards are accepted but, as on Telegram, not part of the returned Message.
    reply_kb = ReplyKeyboardMarkup([[KeyboardButton("好")]])
    plain = await bot.send_message(5, "ok", reply_markup=reply_kb)
    assert plain.reply_markup is None
    assert api.calls_of("sendMessage")[-1].params["reply_markup"]["keyboard"] == [[{"text": "好"}]]


async def test_realistic_bad_requests(api: FakeBotAPI, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r'(?i)unsupported start tag "br"'):
        await bot.send_message(1, "a<br>b", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)can't find end tag"):
        await bot.send_message(1, "<b>open", parse_mode="HTML")
    with pytest.raises(BadRequest, match="too long"):
        await bot.send_message(1, "长" * 4097)
    with pytest.raises(BadRequest, match=r"(?i)button_data_invalid"):
        await bot.send_message(
            1,
            "x",
            reply_markup=InlineKeyboardMarkup(
                [[InlineKeyboardButton("b", callback_data="d" * 65)]]
            ),
        )
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await bot.set_my_commands([BotCommand("查询", "中文命令名")])
    assert api.sent_texts() == []
    assert len(api.sent_texts(include_failed=True)) == 4


def test_html_to_plain() -> None:
    assert html_to_plain('<a href="https://x.cn">官网</a> &lt;3 &amp; R&D') == "官网 <3 & R&D"
    assert html_to_plain("<b>粗<i>斜</i></b>") == "粗斜"


async def test_edit_message_text_and_not_modified(api: FakeBotAPI, bot: Bot) -> None:
    sent = await bot.send_message(3, "第一版")
    edited = await bot.edit_message_text("第二版", chat_id=3, message_id=sent.message_id)
    assert edited.text == "第二版" and edited.edit_date is not None
    assert api.messages[(3, sent.message_id)]["text"] == "第二版"
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("第二版", chat_id=3, message_id=sent.message_id)


async def test_my_commands_round_trip(api: FakeBotAPI, bot: Bot) -> None:
    assert await bot.set_my_commands([BotCommand("steps", "查询步骤")])
    assert await bot.set_my_commands([BotCommand("help", "帮助")], language_code="en")
    assert [c.command for c in await bot.get_my_commands()] == ["steps"]
    assert [c.command for c in await bot.get_my_commands(language_code="en")] == ["help"]
    assert await bot.delete_my_commands()
    assert await bot.get_my_commands() == ()


async def test_send_document_and_copy_message(api: FakeBotAPI, bot: Bot) -> None:
    sent = await bot.send_document(9, b"a,b\n1,2\n", filename="scores.csv", caption="导出")
    assert sent.document.file_name == "scores.csv"
    assert sent.document.file_size == 8
    assert sent.caption == "导出"
    upload = api.calls_of("sendDocument")[0].params["document"]
    assert upload == UploadedFile("scores.csv", "text/csv", b"a,b\n1,2\n")

    copied = await bot.copy_message(10, from_chat_id=9, message_id=sent.message_id)
    assert copied.message_id == 1
    assert api.messages[(10, 1)]["document"]["file_name"] == "scores.csv"


async def test_unknown_method_is_404(api: FakeBotAPI) -> None:
    status, body = await api.handle("fooBar", {"x": "1"})
    assert status == 404
    assert body == {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
    assert api.calls[-1].method == "fooBar" and not api.calls[-1].ok


async def test_malformed_params_are_400(api: FakeBotAPI) -> None:
    status, body = await api.handle(
        "editMessageText", {"chat_id": "1", "message_id": "abc", "text": "x"}
    )
    assert status == 400
    assert body["description"].startswith("Bad Request: invalid parameters")
    status, body = await api.handle("sendMessage", {"chat_id": "@nobody", "text": "x"})
    assert (status, body["description"]) == (400, "Bad Request: chat not found")


async def test_wait_for_timeout_lists_recorded_methods(api: FakeBotAPI, bot: Bot) -> None:
    with pytest.raises(TimeoutError, match=r"sendMessage.*getMe×1"):
        await api.wait_calls("sendMessage", 1, timeout=0.05)


# --------------------------------------------------------------------------- failures & floods


async def test_fail_chat_403_only_for_that_chat(api: FakeBotAPI, bot: Bot) -> None:
    api.fail_chat(5, 403, "Forbidden: bot was blocked by the user")
    with pytest.raises(Forbidden, match="blocked by the user"):
        await bot.send_message(5, "提醒")
    await bot.send_message(6, "提醒")
    assert api.sent_texts() == ["提醒"]
    assert [c.chat_id for c in api.calls_of("sendMessage")] == [5, 6]
    assert api.calls_of("sendMessage")[0].status == 403

    api.unfail_chat(5)
    await bot.send_message(5, "又来了")
    assert api.sent_texts(5) == ["又来了"]


async def test_fail_chat_times_limits_the_failure(
    api: FakeBotAPI, bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")  # RetryAfter warns otherwise (filterwarnings=error)
    api.fail_chat(5, 429, "Too Many Requests: retry after 3", times=1, retry_after=3)
    with pytest.raises(RetryAfter) as info:
        await bot.send_message(5, "a")
    assert info.value.retry_after.total_seconds() == 3
    await bot.send_message(5, "b")
    assert api.sent_texts(5) == ["b"]


async def test_flood_limit_overall_30_per_second() -> None:
    clock = ManualClock()
    api = FakeBotAPI(flood_limits=True, clock=clock)
    for user in range(30):
        status, _ = await api.handle("sendMessage", {"chat_id": str(user + 1), "text": "x"})
        assert status == 200
    status, body = await api.handle("sendMessage", {"chat_id": "99", "text": "x"})
    assert status == 429
    assert body["parameters"] == {"retry_after": 1}
    assert body["description"] == "Too Many Requests: retry after 1"
    assert api.calls[-1].retry_after == 1
    assert api.flood_hits == {"overall": 1}
    # Non-message methods are not limited.
    status, _ = await api.handle("answerCallbackQuery", {"callback_query_id": "1"})
    assert status == 200

    clock.advance(1.01)
    status, _ = await api.handle("sendMessage", {"chat_id": "99", "text": "x"})
    assert status == 200


async def test_flood_limit_20_per_minute_per_group() -> None:
    clock = ManualClock()
    api = FakeBotAPI(flood_limits=True, clock=clock)
    for _ in range(20):
        clock.advance(1.5)  # slower than 1 per second: only the per-group limit applies
        status, _ = await api.handle("sendMessage", {"chat_id": "-100", "text": "x"})
        assert status == 200
    clock.advance(1.5)
    status, body = await api.handle("sendMessage", {"chat_id": "-100", "text": "x"})
    assert status == 429
    assert body["parameters"]["retry_after"] == 30  # first send was 30 s ago
    assert api.flood_hits == {"group": 1}
    status, _ = await api.handle("sendMessage", {"chat_id": "-200", "text": "x"})
    assert status == 200  # other groups are independent

    clock.advance(30)
    status, _ = await api.handle("sendMessage", {"chat_id": "-100", "text": "x"})
    assert status == 200


async def test_flood_limit_1_per_second_per_chat() -> None:
    clock = ManualClock()
    api = FakeBotAPI(flood_limits=True, clock=clock)
    status, _ = await api.handle("sendMessage", {"chat_id": "5", "text": "a"})
    assert status == 200
    clock.advance(0.4)
    status, body = await api.handle("sendMessage", {"chat_id": "5", "text": "b"})
    assert status == 429
    assert body["parameters"] == {"retry_after": 1}  # 0.6 s left, rounded up to whole seconds
    assert body["description"] == "Too Many Requests: retry after 1"
    assert api.calls[-1].retry_after == 1
    assert api.flood_hits == {"chat": 1}
    # Other chats are independent; edits and chat actions are not messages.
    status, _ = await api.handle("sendMessage", {"chat_id": "6", "text": "a"})
    assert status == 200
    status, _ = await api.handle("sendChatAction", {"chat_id": "5", "action": "typing"})
    assert status == 200
    status, _ = await api.handle(
        "editMessageText", {"chat_id": "5", "message_id": "1", "text": "a2"}
    )
    assert status == 200
    # Other message methods count against the same chat.
    status, _ = await api.handle(
        "copyMessage", {"chat_id": "5", "from_chat_id": "6", "message_id": "1"}
    )
    assert status == 429

    clock.advance(0.6)  # 1.0 s after the first message (the refused ones do not count)
    status, _ = await api.handle("sendMessage", {"chat_id": "5", "text": "b"})
    assert status == 200
    assert api.sent_texts(5) == ["a", "b"]
    assert [c.status for c in api.calls_of("sendMessage")] == [200, 429, 200, 200]
    assert [c.retry_after for c in api.calls_of("sendMessage")] == [None, 1, None, None]


async def test_flood_limit_1_per_second_in_groups_too() -> None:
    clock = ManualClock()
    api = FakeBotAPI(flood_limits=True, clock=clock)
    assert (await api.handle("sendMessage", {"chat_id": "-100", "text": "a"}))[0] == 200
    clock.advance(0.99)
    assert (await api.handle("sendMessage", {"chat_id": "-100", "text": "b"}))[0] == 429
    clock.advance(0.01)
    assert (await api.handle("sendMessage", {"chat_id": "-100", "text": "b"}))[0] == 200
    assert api.flood_hits == {"chat": 1}


async def test_per_chat_limit_only_with_flood_limits() -> None:
    api = FakeBotAPI(clock=ManualClock())
    for _ in range(3):
        assert (await api.handle("sendMessage", {"chat_id": "5", "text": "a"}))[0] == 200
    assert not api.flood_hits


async def test_flood_limit_raises_retry_after_in_ptb(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")  # RetryAfter warns otherwise (filterwarnings=error)
    clock = ManualClock()
    api = FakeBotAPI(flood_limits=True, clock=clock)
    async with Bot(TOKEN, request=FakeRequest(api), get_updates_request=FakeRequest(api)) as bot:
        await bot.send_message(7, "x")
        with pytest.raises(RetryAfter) as info:
            await bot.send_message(7, "x")  # the per-chat limit
        assert info.value.retry_after.total_seconds() == 1
        for _ in range(20):
            clock.advance(1.0)
            await bot.send_message(-100, "x")
        clock.advance(1.0)
        with pytest.raises(RetryAfter) as info:
            await bot.send_message(-100, "x")  # the per-group limit
        assert info.value.retry_after.total_seconds() == 40


async def test_latency_lets_requests_overlap() -> None:
    api = FakeBotAPI(latency=0.05)
    async with Bot(TOKEN, request=FakeRequest(api), get_updates_request=FakeRequest(api)) as bot:
        await asyncio.gather(*(bot.send_message(i, "x") for i in range(1, 6)))
    assert api.max_in_flight == 5
    assert api.in_flight == 0


async def test_fake_request_enforces_read_timeout() -> None:
    api = FakeBotAPI()
    request = FakeRequest(api, read_timeout=0.01)
    async with Bot(TOKEN, request=request, get_updates_request=FakeRequest(api)) as bot:
        api.latency = 0.5  # knobs are plain attributes: change them mid-test
        with pytest.raises(TimedOut):
            await bot.send_message(1, "慢")


# --------------------------------------------------------------------------- Application


async def test_application_handles_commands_and_callbacks_in_process(api: FakeBotAPI) -> None:
    async def menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("步骤", callback_data="t:steps")]])
        await update.effective_message.reply_text("菜单", reply_markup=keyboard)

    async def press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        await query.answer()
        await query.edit_message_text(f"你选了 {query.data}")

    app = (
        Application.builder()
        .token(TOKEN)
        .request(FakeRequest(api))
        .get_updates_request(FakeRequest(api))
        .build()
    )
    app.add_handler(CommandHandler("menu", menu))
    app.add_handler(CallbackQueryHandler(press))
    async with app:
        await app.start()
        await app.updater.start_polling(timeout=1)
        try:
            api.push_command("/menu", user_id=7)
            [sent] = await api.wait_calls("sendMessage", 1)
            message_id = sent.response["message_id"]

            api.push_callback("t:steps", user_id=7, message_id=message_id)
            await api.wait_calls("editMessageText", 1)
            await api.wait_calls("answerCallbackQuery", 1)

            # Group commands: ours (with @botname) is handled, another bot's is not.
            api.push_command("/menu", 8, chat_id=-500, chat_type="supergroup", username_suffix=True)
            api.push_command(
                "/menu", 8, chat_id=-500, chat_type="supergroup", username_suffix="x_bot"
            )
            api.push_text("done", user_id=8, chat_id=-500, chat_type="supergroup")
            await api.wait_calls("sendMessage", 2)
        finally:
            await app.updater.stop()
            await app.stop()  # drains the update queue: the other bot's command was seen

    assert sent.params["chat_id"] == "7"
    [edit] = api.calls_of("editMessageText")
    assert edit.ok and edit.params["text"] == "你选了 t:steps"
    assert api.messages[(7, message_id)]["text"] == "你选了 t:steps"
    assert api.sent_texts(-500) == ["菜单"]


async def test_callback_on_a_known_message_carries_its_current_state(
    api: FakeBotAPI, bot: Bot
) -> None:
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("返回", callback_data="m")]])
    sent = await bot.send_message(7, "详情", reply_markup=keyboard)
    update = api.push_callback("m", user_id=7, message_id=sent.message_id, message_text="ignored")
    query = Update.de_json(update, bot).callback_query
    assert query.message.text == "详情"
    assert query.message.reply_markup == keyboard
    assert query.message.from_user.id == BOT_ID


# --------------------------------------------------------------------------- HTTP server


async def test_server_form_json_multipart_and_404() -> None:
    async with StandinServer(latency=0.0) as server, aiohttp.ClientSession() as http:
        assert server.base_url == f"http://127.0.0.1:{server.port}/bot"
        url = f"{server.base_url}{TOKEN}"

        form = {"chat_id": "5", "text": "表单", "reply_markup": '{"inline_keyboard": []}'}
        async with http.post(f"{url}/sendMessage", data=form) as resp:
            assert resp.status == 200
            body = await resp.json()
        assert body["ok"] and body["result"]["chat"]["id"] == 5

        async with http.post(f"{url}/sendMessage", json={"chat_id": 5, "text": "JSON"}) as resp:
            assert (await resp.json())["result"]["message_id"] == 2

        data = aiohttp.FormData()
        data.add_field("chat_id", "5")
        data.add_field("document", b"%PDF", filename="a.pdf", content_type="application/pdf")
        async with http.post(f"{url}/sendDocument", data=data) as resp:
            assert (await resp.json())["result"]["document"]["file_name"] == "a.pdf"

        async with http.get(f"{url}/getMe") as resp:
            assert (await resp.json())["result"]["username"] == BOT_USERNAME

        async with http.post(f"{url}/noSuchMethod") as resp:
            assert resp.status == 404
            assert (await resp.json())["description"] == "Not Found: method not found"

    calls: list[Call] = server.api.calls
    assert [c.method for c in calls] == [
        "sendMessage",
        "sendMessage",
        "sendDocument",
        "getMe",
        "noSuchMethod",
    ]
    assert {c.token for c in calls} == {TOKEN}
    assert calls[0].params["reply_markup"] == {"inline_keyboard": []}
    assert calls[1].params["chat_id"] == 5
    assert calls[2].params["document"] == UploadedFile("a.pdf", "application/pdf", b"%PDF")
    assert server.api.sent_texts(5) == ["表单", "JSON"]


async def test_server_with_real_ptb_http_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    async with (
        StandinServer() as server,
        Bot(TOKEN, base_url=server.base_url, base_file_url=server.base_file_url) as bot,
    ):
        server.api.push_text("早上好", user_id=11)
        [update] = await bot.get_updates(timeout=5)
        assert update.message.text == "早上好"
        await bot.send_message(update.message.chat_id, "收到")
        # Confirm, as the Updater does on shutdown.
        assert await bot.get_updates(offset=update.update_id + 1, timeout=0) == ()
    assert server.api.sent_texts(11) == ["收到"]
    assert server.api.pending_updates == []


async def test_a_callback_query_takes_one_answer(api: FakeBotAPI) -> None:
    status, _ = await api.handle("answerCallbackQuery", {"callback_query_id": "77"})
    assert status == 200
    status, body = await api.handle("answerCallbackQuery", {"callback_query_id": "77"})
    assert status == 400 and "query is too old" in body["description"]
