"""One-tap teaching: /unanswered, an admin's tap, votes on "did you mean", export-learned."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime
from pathlib import Path

import yaml

from bot.app import App, assemble
from bot.channels import CHANNELS
from bot.channels.console.session import ConsoleSender
from bot.config import Settings
from bot.content import ContentStore, build_matcher, load_content
from bot.core.reply import Button, Reply
from bot.core.router import Who
from bot.faq.normalize import normalize
from bot.storage import Database, LearnedRepo, UnansweredRepo, VoteRepo
from tests.conftest import CONTENT_DIR
from tests.test_console import run_cli

ADMIN = Who("telegram", 900, 900, is_admin=True)
USER = Who("telegram", 1001, 1001)
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
QUESTION = "二建成绩到底啥时候能出"  # declined: another exam
VAGUE = "查询"  # no clear topic: "did you mean" buttons


def texts(reply: Reply) -> list[str]:
    return [m.text.plain_text for m in reply.messages]


def actions(reply: Reply, index: int = -1) -> list[str]:
    return [b.action for row in reply.messages[index].buttons for b in row]


def labelled(reply: Reply, index: int = -1) -> list[Button]:
    return [b for row in reply.messages[index].buttons for b in row]


async def unanswered_rows(app: App) -> list[tuple[int, str]]:
    rows = await UnansweredRepo(app.db).top(50)
    return [(r.id, r.example) for r in rows]


async def test_unanswered_shows_each_question_with_topic_buttons(app: App) -> None:
    for _ in range(2):
        await app.conversation.text(QUESTION, USER)
    await app.conversation.text("带啥东西", USER)  # prepare or audit? "did you mean"
    reply = await app.conversation.command("unanswered", ADMIN)
    assert reply is not None
    header, *items = texts(reply)
    assert "没答上的问题" in header and "共 2 条" in header
    (first_id, first), (second_id, _) = await unanswered_rows(app)
    assert first == QUESTION  # most asked first
    assert items[0].startswith(f"2× {QUESTION}")
    first_actions = actions(reply, 1)
    assert first_actions[-2:] == [f"u:m:{first_id}", f"u:o:{first_id}"]
    assert [b.label for b in labelled(reply, 1)][-2:] == ["其他主题…", "🚫 不在范围内"]
    second = actions(reply, 2)
    topics = [a.rsplit(":", 1)[1] for a in second if a.startswith(f"u:t:{second_id}:")]
    assert 1 <= len(topics) <= 3 and "audit" in topics  # the matcher's likely topics
    for message in reply.messages:
        assert all(len(b.action.encode()) <= 64 for row in message.buttons for b in row)


async def test_admin_tap_teaches_at_once_and_keeps_it_over_reload_and_restart(
    app: App, content_copy: Path
) -> None:
    await app.conversation.text(QUESTION, USER)
    ((row_id, _),) = await unanswered_rows(app)
    done = await app.conversation.action(f"u:t:{row_id}:pass_line", ADMIN)
    assert texts(done) == [f"✅ 已学会：{QUESTION} → 📏 合格标准\n以后同样的问题会直接回答。\n"]
    (learned,) = await LearnedRepo(app.db).all()
    assert (learned.question, learned.normalized, learned.topic) == (
        QUESTION,
        normalize(QUESTION),
        "pass_line",
    )
    assert (learned.channel, learned.user_id) == ("telegram", 900)
    assert await unanswered_rows(app) == []  # handled: off the list
    assert "合格标准" in texts(await app.conversation.text(QUESTION + "？", USER))[0]
    await app.conversation.command("reload", ADMIN)
    assert app.store.matcher.match(QUESTION).topic == "pass_line"
    again = await app.conversation.action(f"u:t:{row_id}:review", ADMIN)
    assert "已经处理过" in texts(again)[0]  # a second tap (another admin) changes nothing
    assert [e.topic for e in await LearnedRepo(app.db).all()] == ["pass_line"]

    settings = Settings(content_dir=content_copy, db=content_copy.parent / "bot.db")
    store = ContentStore.open(content_copy, CHANNELS)
    assert store.matcher.match(QUESTION).topic != "pass_line"
    restarted = await assemble(settings, store, {"console": ConsoleSender(io.StringIO())})
    try:
        assert store.matcher.match(QUESTION).topic == "pass_line"
    finally:
        await restarted.close()


async def test_out_of_scope_tap_stays_declined_and_off_the_list(app: App) -> None:
    await app.conversation.text("青蛙王子去哪了", USER)
    ((row_id, _),) = await unanswered_rows(app)
    done = await app.conversation.action(f"u:o:{row_id}", ADMIN)
    assert texts(done)[0].startswith("✅ 已记下：青蛙王子去哪了 → 不在范围内")
    assert [e.topic for e in await LearnedRepo(app.db).all()] == ["out_of_scope"]
    answer = await app.conversation.text("青蛙王子去哪了！", USER)
    assert "回答不了" in texts(answer)[0]
    reply = await app.conversation.command("unanswered", ADMIN)
    assert reply is not None and "目前没有记录到答不上的问题" in texts(reply)[0]


async def test_other_topics_lists_every_topic_and_feature(app: App) -> None:
    await app.conversation.text(QUESTION, USER)
    ((row_id, _),) = await unanswered_rows(app)
    reply = await app.conversation.action(f"u:m:{row_id}", ADMIN)
    assert QUESTION in texts(reply)[0]
    topics = [a.rsplit(":", 1)[1] for a in actions(reply) if a.startswith("u:t:")]
    assert topics == [*app.store.current.topics, "remind", "subscribe", "unsubscribe", "news"]
    assert actions(reply)[-1] == f"u:o:{row_id}"
    done = await app.conversation.action(f"u:t:{row_id}:subscribe", ADMIN)
    assert "→ 🔔 订阅通知" in texts(done)[0]
    assert app.store.matcher.match(QUESTION).topic == "subscribe"


async def test_non_admin_taps_change_nothing(app: App) -> None:
    await app.conversation.text(QUESTION, USER)
    ((row_id, _),) = await unanswered_rows(app)
    for data in (f"u:t:{row_id}:review", f"u:o:{row_id}", f"u:m:{row_id}", "u:p:0"):
        reply = await app.conversation.action(data, USER)
        assert reply.alert and "仅限管理员" in texts(reply)[0], data
    refused = await app.conversation.command("unanswered", USER)
    assert refused is not None and "仅限管理员" in texts(refused)[0]
    assert await LearnedRepo(app.db).all() == []
    assert await unanswered_rows(app) == [(row_id, QUESTION)]


async def test_stale_and_unknown_data_get_a_polite_answer(app: App) -> None:
    await app.conversation.text(QUESTION, USER)
    ((row_id, _),) = await unanswered_rows(app)
    for data in ("u:t:99999:review", "u:o:abc", "u:x:1", "u:t:", f"u:t:{row_id}:"):
        assert "已经处理过" in texts(await app.conversation.action(data, ADMIN))[0], data
    unknown = await app.conversation.action(f"u:t:{row_id}:no_such_topic", ADMIN)
    assert "没有这个主题" in texts(unknown)[0]
    assert await LearnedRepo(app.db).all() == []
    assert await unanswered_rows(app) == [(row_id, QUESTION)]


async def test_did_you_mean_pick_is_a_vote_admins_see(app: App) -> None:
    match = app.store.matcher.match(VAGUE)
    assert match.kind == "none" and match.candidates  # precondition: a "did you mean"
    asked = await app.conversation.text(VAGUE, USER)
    ((row_id, _),) = await unanswered_rows(app)
    picks = [a for a in actions(asked) if a != "m"]
    assert picks and all(a.startswith(f"v:{row_id}:") for a in picks)
    topic = picks[0].rsplit(":", 1)[1]
    shown = await app.conversation.action(picks[0], USER)
    direct = await app.conversation.action(f"t:{topic}", USER)
    assert shown == direct  # the topic exactly as its own button shows it
    await app.conversation.text(VAGUE, Who("telegram", 1002, 1002))
    await app.conversation.action(picks[0], Who("telegram", 1002, 1002))
    votes = await VoteRepo(app.db).for_questions([normalize(VAGUE)])
    assert [(v.topic, v.count) for v in votes[normalize(VAGUE)]] == [(topic, 2)]
    listing = await app.conversation.command("unanswered", ADMIN)
    assert listing is not None
    label = app.store.current.topics[topic].button
    assert f"用户选过：{label} ×2" in texts(listing)[1]
    assert actions(listing, 1)[0] == f"u:t:{row_id}:{topic}"  # the voted topic first


async def test_vote_for_a_missing_row_or_topic_still_answers(app: App) -> None:
    reply = await app.conversation.action("v:424242:steps", USER)
    assert "四步走" in texts(reply)[0]
    stale = await app.conversation.action("v:1:removed_topic", USER)
    assert "选项已过期" in texts(stale)[0]
    assert await VoteRepo(app.db).for_questions(["x"]) == {}


async def test_pages_of_ten_with_a_next_page_button(app: App) -> None:
    repo = UnansweredRepo(app.db)
    for n in range(12):
        for _ in range(12 - n):  # question n asked 12 - n times: a clear order
            await repo.record(f"问题{n}", f"问题{n}", T0)
    first = await app.conversation.command("unanswered", ADMIN)
    assert first is not None
    assert len(first.messages) == 12  # header, ten questions, "more"
    assert texts(first)[1].startswith("12× 问题0") and texts(first)[10].startswith("3× 问题9")
    assert "还有 2 条" in texts(first)[-1] and actions(first) == ["u:p:10"]
    second = await app.conversation.action("u:p:10", ADMIN)
    assert "第 11–12 条" in texts(second)[0]
    assert [t.split(" ")[0] for t in texts(second)[1:]] == ["2×", "1×"]


async def test_numbered_channel_shows_one_question_with_its_choices(app: App) -> None:
    repo = UnansweredRepo(app.db)
    for n in range(2):
        await repo.record(f"问题{n}", f"问题{n}", T0)
    console = Who("console", 1, 1, is_admin=True)
    reply = await app.conversation.command("unanswered", console)
    assert reply is not None and len(reply.messages) == 2
    assert actions(reply)[-1] == "u:p:1"  # next page among the last message's choices


def test_learned_examples_take_precedence_and_build_fast() -> None:
    content = load_content(CONTENT_DIR, CHANNELS)
    example = content.examples["review"][0]
    started = time.perf_counter()
    judge = build_matcher(content, [(example + "！", "links"), ("随便问问的新问题", "nope")])
    elapsed = time.perf_counter() - started
    assert judge.examples.exact[normalize(example)] == "links"
    assert judge.match(example).topic == "links"
    assert "nope" not in judge.topic_ids  # a topic the content no longer has is left out
    assert elapsed < 0.5


async def test_export_learned_prints_yaml_for_examples(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    db = await Database.open(path)
    repo = LearnedRepo(db)
    try:
        for question, topic in (("复审咋弄", "review"), ("讲个笑话", "out_of_scope")):
            await repo.teach(
                question, normalize(question), topic, channel="telegram", user_id=9, now=T0
            )
        await repo.teach(
            '他说"官网"', normalize('他说"官网"'), "links", channel="telegram", user_id=9, now=T0
        )
    finally:
        await db.close()
    result = run_cli("export-learned", env={"BOT_DB": str(path)})
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load(result.stdout) == {
        "review": ["复审咋弄"],
        "links": ['他说"官网"'],
        "out_of_scope": ["讲个笑话"],
    }
    assert "telegram:9 2026-12-01" in result.stdout
    missing = tmp_path / "none.db"
    empty = run_cli("export-learned", env={"BOT_DB": str(missing)})
    assert empty.returncode == 0 and yaml.safe_load(empty.stdout) is None
    assert not missing.exists()
