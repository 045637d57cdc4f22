"""What a candidate reads, checked as each channel shows it (issue 13).

Every topic is rendered the way Telegram (``render.fit``), WeChat (``render.render``) and the
console (``session.render``) render it, once as reached by a command or the menu (its related
topics as buttons) and once as the answer to a typed question, where the buttons below are
other guesses and only the way back to the menu is certain. For each message:

- **One phone screen.** At most ``SCREEN_CHARS`` (350) visible characters and ``SCREEN_ROWS``
  (30) rows, a row being a line wrapped at ``ROW_WIDTH`` (17) full-width characters (ASCII
  counts half; a blank line is a row). A 6-inch phone at the default font size shows about
  30 rows of 17 Chinese characters in a chat bubble between the header and the input field;
  the old ``/steps`` (594 characters, 32 lines) took about 50. WeChat joins a reply's
  messages into one passive reply (``channels/wechat/render.py``), so there each message is
  one block of that reply.
- **No doubled or nested brackets** once placeholders are filled: no "）（", "（（", "））" and
  no bracket pair inside another (title marks 《》 are not brackets).
- **No button named that is not there.** "点下方…", "下方按钮" and the like only where the
  channel shows tappable buttons under that very message; a quoted button name
  ("点“忘记准考证号”") only when a button with that label is shown under it in every way the
  topic can be reached.

Plus the issue's other promises: both ends of the review window from ``/release`` on every
channel, with a reminder offer that names the date it uses; no deadline the guide does not
give; WeChat texts without Telegram or calendar-format names; one name for the exam; the
not-official footer on the topics that state rules or deadlines.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import assemble
from bot.channels import CHANNELS, CONSOLE, TELEGRAM, WECHAT
from bot.channels.console.session import render as console_render
from bot.channels.telegram.render import fit
from bot.channels.wechat.render import render as wechat_render
from bot.config import Settings
from bot.content import Content, ContentError, ContentStore, load_content
from bot.content.checks import bracket_problems
from bot.core.conversation import Conversation
from bot.core.reply import Reply
from bot.core.router import Who
from bot.core.text import markup
from bot.delivery import Outcome, Priority, Result
from bot.guide import Guide
from tests.conftest import CONTENT_DIR

SCREEN_CHARS = 350
SCREEN_ROWS = 30
ROW_WIDTH = 17  # full-width characters per row of a chat bubble at the default font size
# Topics that state rules, deadlines or who decides: they end with the not-official line.
RULE_TOPICS = (
    "authority",
    "steps",
    "no_result",
    "after",
    "review",
    "pass_line",
    "audit",
    "certificate",
    "tracking",
)
# A pointer at "the button below" without naming it.
GENERIC_POINTER = re.compile(r"点(?:击)?下方|下方[^。\n]{0,8}按钮|下面的按钮|点[^。\n]{0,3}按钮")
# A pointer that names a button: 点“X”, 点击下方「X」, 点下方的按钮“X”, 按钮「X」.
NAMED_POINTER = re.compile(
    r"(?:点(?:击)?|按钮)(?:下方|下面)?(?:的)?(?:按钮)?[“「\"]([^”」\"\n]+)[”」\"]"
)


@dataclass(frozen=True)
class Shown:
    """One message as a channel shows it: its visible text and the choices under it."""

    channel: str
    text: str
    choices: tuple[str, ...]  # button labels (Telegram) or numbered choices (others)
    tappable: bool  # the choices are buttons one taps


def rendered(reply: Reply, content: Content) -> Iterator[Shown]:
    """``reply`` message by message, as each channel renders it."""
    for message in fit(reply):  # Telegram: one chat message per part, buttons on the last
        labels = tuple(b.label for row in message.buttons for b in row)
        yield Shown(TELEGRAM.name, message.text.plain_text, labels, True)
    parts, choices = wechat_render(reply, content.ui.wechat)
    body = "\n".join(parts)
    wechat_labels = tuple(b.label for b in choices)
    for index, message in enumerate(reply.messages):
        block = message.text.plain_text.strip()
        assert block in body, "WeChat shows every message's text as written"
        last = index == len(reply.messages) - 1
        yield Shown(WECHAT.name, block, wechat_labels if last else (), False)
    text, console_choices = console_render(reply)
    console_labels = tuple(b.label for b in console_choices)
    for index, message in enumerate(reply.messages):
        block = message.text.plain_text.strip()
        assert block in text, "the console prints every message's text as written"
        last = index == len(reply.messages) - 1
        yield Shown(CONSOLE.name, block, console_labels if last else (), False)


def screen_rows(text: str) -> int:
    """Rows ``text`` takes on a phone: each line wrapped at ROW_WIDTH full-width characters."""
    rows = 0
    for line in text.strip().split("\n"):
        width = sum(1 if unicodedata.east_asian_width(c) in "WF" else 0.5 for c in line)
        rows += max(1, -int(-width // ROW_WIDTH))
    return rows


def screen_problems(text: str) -> list[str]:
    """Why ``text`` does not fit one phone screen (empty when it does)."""
    visible = text.strip()
    problems = []
    if len(visible) > SCREEN_CHARS:
        problems.append(f"{len(visible)} characters (at most {SCREEN_CHARS})")
    if screen_rows(visible) > SCREEN_ROWS:
        problems.append(f"{screen_rows(visible)} rows (at most {SCREEN_ROWS})")
    return problems


def _bare(label: str) -> str:
    """A label without its leading emoji, as a text would quote it."""
    return label.split(" ", 1)[-1] if " " in label else label


def pointer_problems(shown: Shown) -> list[str]:
    """Buttons the text points at that this channel does not show under this message."""
    problems = []
    if GENERIC_POINTER.search(shown.text) and not (shown.tappable and shown.choices):
        found = GENERIC_POINTER.search(shown.text)
        assert found is not None
        problems.append(f"points at buttons ({found.group(0)!r}) but none can be tapped here")
    labels = {_bare(label) for label in shown.choices} | set(shown.choices)
    for name in NAMED_POINTER.findall(shown.text):
        if name not in labels:
            problems.append(f"names button {name!r}, not shown here")
    return problems


def message_problems(shown: Shown) -> list[str]:
    """Everything wrong with one shown message."""
    return screen_problems(shown.text) + bracket_problems(shown.text) + pointer_problems(shown)


@pytest.fixture(scope="module")
def content() -> Content:
    return ContentStore.open(CONTENT_DIR, CHANNELS).current


@pytest.fixture(scope="module")
def guide() -> Guide:
    return Guide(ContentStore.open(CONTENT_DIR, CHANNELS))


# -- the checks can fail -----------------------------------------------------------------


def test_the_checks_catch_what_the_issue_found() -> None:
    old_steps_line = "• 山西省人事考试中心（山西人事考试网）（具体网址以官方最新公布为准）"
    assert bracket_problems(old_steps_line)
    assert bracket_problems("如（山西省人事考试中心（山西人事考试网））")
    assert not bracket_problems("《建设工程计量与计价实务（安装工程）》、12月8日（周二）")
    old_prepare = "💡 准考证号找不到了？点下方“忘记准考证号”。"
    on_wechat = Shown(WECHAT.name, old_prepare, ("🎫 忘记准考证号",), False)
    assert pointer_problems(on_wechat)  # WeChat has no button to tap
    after_question = Shown(TELEGRAM.name, old_prepare, ("🔗 官方网站", "🏠 返回主菜单"), True)
    assert pointer_problems(after_question)  # the buttons were other guesses
    present = Shown(TELEGRAM.name, old_prepare, ("🎫 忘记准考证号", "🏠 返回主菜单"), True)
    assert not pointer_problems(present)
    assert pointer_problems(Shown(CONSOLE.name, "👇 点下方按钮查看详情。", ("a",), False))
    assert not pointer_problems(Shown(WECHAT.name, "发送 /lost_ticket 查看办法。", (), False))
    assert screen_problems("成" * (SCREEN_CHARS + 1))
    assert screen_problems("\n".join("第几步" for _ in range(SCREEN_ROWS + 1)))
    assert screen_rows("一" * ROW_WIDTH + "\n\n" + "一" * (ROW_WIDTH + 1)) == 4
    assert not screen_problems("\n".join("一" * ROW_WIDTH for _ in range(SCREEN_ROWS // 2)))


def test_check_content_refuses_brackets_a_placeholder_doubles(content_copy: Path) -> None:
    settings = content_copy / "settings.yaml"
    text = settings.read_text(encoding="utf-8")
    settings.write_text(
        text.replace("exam_center_name: 山西省人事考试中心", "exam_center_name: 中心（网）"),
        "utf-8",
    )
    with pytest.raises(ContentError) as caught:
        load_content(content_copy, CHANNELS)
    problems = [str(p) for p in caught.value.problems]
    assert any(
        p.startswith("guide.yaml:") and "no_result" in p and "brackets inside brackets" in p
        for p in problems
    ), problems


# -- every topic, every channel ------------------------------------------------------------


def test_every_topic_fits_one_screen_per_message_on_every_channel(
    content: Content, guide: Guide
) -> None:
    problems = []
    for topic_id in content.topics:
        command = guide.topic(topic_id)  # by command or menu: related topics below
        question = guide.topic(topic_id, others=[])  # typed question: only the menu is sure
        assert command is not None and question is not None
        for way, reply in (("command", command), ("question", question)):
            for shown in rendered(reply, content):
                problems += [
                    f"/{topic_id} ({way}) on {shown.channel}: {p}" for p in message_problems(shown)
                ]
    assert not problems, "\n".join(problems)


def test_steps_is_two_messages_steps_1_2_then_3_4_with_the_score_sheet(
    content: Content,
) -> None:
    first, second = (m.plain_text for m in content.topics["steps"].messages)
    assert "1. 访问官方网站" in first and "2. 找到“成绩查询”入口" in first
    assert "3. " not in first
    assert "3. 选择考试项目并登录" in second and "4. 查看并核实成绩" in second
    assert "成绩单" in second and "截图" in second
    # The guide's subject list is an example ("如"), not a complete list.
    assert "如《建设工程造价管理基础知识》" in second


def test_centre_and_its_website_are_named_apart_as_the_guide_does(content: Content) -> None:
    centre = str(content.settings.values["exam_center_name"])
    assert "（" not in centre and "(" not in centre
    steps = "\n".join(m.plain_text for m in content.topics["steps"].messages)
    assert "山西人事考试网（具体网址以官方最新公布为准）" in steps
    links = content.topics["links"].messages[0].plain_text
    assert "山西省人事考试中心" in links and "山西人事考试网" in links


def test_rule_topics_end_with_the_one_line_not_official_note(content: Content) -> None:
    note = str(content.settings.values["official_note"])
    assert "\n" not in note and "非官方" in note and "官方通知为准" in note
    for topic_id in RULE_TOPICS:
        last = content.topics[topic_id].messages[-1].plain_text.strip()
        assert last.endswith(note), topic_id


def test_pass_line_hedges_once(content: Content) -> None:
    text = content.topics["pass_line"].messages[0].plain_text
    note = str(content.settings.values["official_note"])
    body = text.replace(note, "")
    assert "60%" in body
    assert body.count("具体") == 1 and "为准" not in body, body


def _quoted_removed(text: str) -> str:
    """``text`` without “quoted” words (options of the query system) and 《titles》."""
    return re.sub(r"“[^”]*”|《[^》]*》", "", text)


def _all_texts(content: Content) -> dict[str, str]:
    """Every text a user can see: topics, descriptions, buttons, fixed texts (filled)."""
    texts: dict[str, str] = {}
    for topic in content.topics.values():
        texts[f"{topic.id}.button"] = topic.button
        texts[f"{topic.id}.description"] = topic.description
        for index, message in enumerate(topic.messages):
            texts[f"{topic.id}[{index}]"] = message.plain_text
    ui = content.ui
    for section in ("texts", "reminders", "audience", "wechat", "dates", "commands", "buttons"):
        for key, value in getattr(ui, section).model_dump().items():
            texts[f"ui.{section}.{key}"] = markup(value).plain_text
    return texts


def test_one_name_for_the_exam(content: Content) -> None:
    full = "二级安装工程造价工程师考试"
    assert full in markup(content.ui.texts.welcome).plain_text
    assert full in content.topics["authority"].messages[0].plain_text
    other_forms = ("二级造价工程师", "（安装工程）")
    wrong = {
        where: form
        for where, text in _all_texts(content).items()
        for form in other_forms
        if form in _quoted_removed(text)
    }
    assert not wrong, wrong


def test_no_deadline_the_guide_does_not_give(content: Content) -> None:
    texts = _all_texts(content)
    for where, text in texts.items():
        if where.endswith(".description") or where.startswith("ui.commands."):
            assert "期限" not in text, where
    assert "期限" not in texts["ui.texts.welcome"]
    # Picking up the certificate has a notice, not a deadline (the guide gives none).
    certificate = content.ui.reminders.kind_certificate
    assert "截止" not in certificate and "期限" not in certificate
    for where, text in texts.items():
        for claim in ("领证截止", "领取截止", "领证期限", "领取期限", "证书领取截止"):
            assert claim not in text, (where, claim)


def test_fixed_texts_point_at_no_button(content: Content) -> None:
    for where, text in _all_texts(content).items():
        assert not GENERIC_POINTER.search(text), where
        assert not NAMED_POINTER.search(text), where


def test_wechat_texts_name_neither_telegram_nor_the_calendar_format(content: Content) -> None:
    shown_on_wechat = {
        where: text
        for where, text in _all_texts(content).items()
        if not where.startswith("ui.commands.")  # /help lists command names as they are
    }
    for where, text in shown_on_wechat.items():
        lowered = text.lower()
        assert "telegram" not in lowered, where
        assert not re.search(r"(?<![a-z])\.?ics(?![a-z])", lowered), where
    assert "日历文件" in content.ui.wechat.reminders_unavailable
    assert "日历文件" in content.ui.wechat.push_note


# -- /release on every channel --------------------------------------------------------------

START = datetime(2026, 11, 24, 2, 30, tzinfo=UTC)  # 10:30 in Shanghai


class NoSender:
    async def send(self, chat_id: int, reply: Reply, priority: Priority = Priority.REPLY) -> Result:
        return Result(Outcome.SENT)


@pytest.fixture
async def talk(content_copy: Path) -> AsyncIterator[Conversation]:
    settings = Settings(content_dir=content_copy, db=content_copy.parent / "bot.db")
    store = ContentStore.open(content_copy, CHANNELS)
    senders = {channel.name: NoSender() for channel in CHANNELS}
    app = await assemble(settings, store, senders, clock=lambda: START)
    try:
        yield app.conversation
    finally:
        await app.close()


@pytest.mark.parametrize("channel", [c.name for c in CHANNELS])
async def test_release_shows_both_ends_and_which_date_the_reminder_uses(
    talk: Conversation, channel: str
) -> None:
    who = Who(channel, 7, 7)
    reply = await talk.text("/release 2026-12-01", who)
    shown = [s for s in rendered(reply, talk.content) if s.channel == channel]
    text = "\n".join(s.text for s in shown)
    assert "2026年12月8日" in text and "2026年12月22日" in text  # 5 and 15 working days
    assert "官方通知为准" in text and "别直接放弃" in text
    for message in shown:
        assert not message_problems(message), message_problems(message)
    (offer,) = [label for label in shown[-1].choices if "提醒" in label]
    assert "最早" in offer and "2026年12月8日" in offer
    # The offer keeps its word: the reminder it starts is due on the earliest day.
    (action,) = [b.action for row in reply.last_buttons for b in row if b.label == offer]
    asked = await talk.action(action, who)
    assert "12月8日（周二）17:00" in asked.messages[0].text.plain_text


async def test_release_with_the_official_working_days_shows_that_one_date(
    content_copy: Path,
) -> None:
    settings_file = content_copy / "settings.yaml"
    text = settings_file.read_text(encoding="utf-8")
    settings_file.write_text(
        text.replace("review_deadline_workdays: null", "review_deadline_workdays: 10"), "utf-8"
    )
    settings = Settings(content_dir=content_copy, db=content_copy.parent / "bot.db")
    store = ContentStore.open(content_copy, CHANNELS)
    app = await assemble(settings, store, {"console": NoSender()}, clock=lambda: START)
    try:
        reply = await app.conversation.text("/release 2026-12-01", Who("console", 1, 1))
    finally:
        await app.close()
    text = "\n".join(m.text.plain_text for m in reply.messages)
    assert "官方通知的 10 个工作日" in text and "2026年12月15日" in text
    labels = [b.label for row in reply.last_buttons for b in row]
    assert any("2026年12月15日" in label for label in labels)


async def test_reminder_list_offers_the_calendar_file(talk: Conversation) -> None:
    who = Who("wechat", 8, 8)
    await talk.command("remind", who, "audit 2026-12-10 17:00")
    listing = await talk.command("reminders", who)
    assert listing is not None
    label = talk.content.ui.reminders.export
    (export,) = [b for row in listing.last_buttons for b in row if b.label == label]
    calendar = await talk.action(export.action, who)
    document = calendar.messages[0].document
    assert document is not None and b"BEGIN:VCALENDAR" in document.data
