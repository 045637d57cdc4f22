"""Hostile input for every channel (issue 11): a seeded case generator and three drivers.

Shared by ``tests/test_fuzz.py`` (a few thousand cases in CI) and ``bench/fuzz.py`` (10,000
by default). Everything is reproducible from ``(seed, channel, index)``: each case draws from
its own ``random.Random`` seeded with that triple, so ``bench/fuzz.py --seed S --only
wechat:123`` runs exactly the case a failure names (after the same set-up).

What a case contains:

* random Unicode: emoji (ZWJ sequences, flags, keycaps), bidi marks (U+200F, U+202E, ...),
  control and zero-width characters (U+200B, U+FEFF, ...), every kind of digit Python's
  ``str.isdigit`` accepts (ASCII, full-width, ``①``, ``²``, Arabic-Indic ``٣``, Devanagari
  ``३``, ...) and Chinese numerals, markup look-alikes, texts up to 5,000 characters;
* every command the bot knows (``bot/commands.py``, the topic ids of ``content/guide.yaml``,
  the command names of ``content/ui.yaml``) with random arguments: dates in every digit
  class, junk, numbers of 400 to 5,000 digits, negatives, nothing;
* random and forged button data: every action prefix the features register with wrong,
  malformed or other users' ids, admin broadcast actions (``b:...``) from non-admins,
  taps on another member's /remind step or an admin's preview in a group, over-long data;
* WeChat: text, events (CLICK with random keys, subscribe, unsubscribe, SCAN, ...), other
  message types, safe-mode (AES) bodies, malformed XML, missing and huge fields, requests
  with a bad or stale signature posing as another follower, the subscription redirect
  called without proof.

The drivers run cases through the real channels: Telegram as a ``python -m bot run``
process against :class:`tests.standin.StandinServer`, WeChat through the callback's aiohttp
application in-process (correctly signed), the console through its session's line handler
in-process. Each checks: no unhandled exception, every reply within the channel's limits,
nothing a victim owns changed by someone else's action, and the bot still answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import logging
import random
import re
import shutil
import sqlite3
import string
import tempfile
import time
import traceback
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import yaml

ROOT = Path(__file__).resolve().parent.parent
CONTENT_DIR = ROOT / "content"

CHANNEL_NAMES = ("telegram", "wechat", "console")

# --------------------------------------------------------------------------- identities

TG_VICTIM_ADMIN = 900  # creates the broadcast drafts others try to confirm
TG_ADMIN_BASE = 910_000  # admin cases write from TG_ADMIN_BASE + index: their own chat
TG_ADMIN_SLOTS = 3000  # so many admin ids are configured (BOT_ADMIN_IDS)
TG_VICTIM = 777_001  # owns a reminder and a subscription
TG_ATTACKER_BASE = 5_000_000  # each case writes from its own user: no chat gap, no flood guard
TG_FORGER_BASE = 6_000_000
TG_GROUP_BASE = -1_001_000_000_000  # each group case in its own supergroup
TG_TARGET_GROUP_BASE = -1_002_000_000_000  # groups holding the victim's and the admin's messages
TG_PROBE = 8_888_001  # asks /start at the end
TG_TARGET_GROUPS = 6  # groups with a victim /remind step and groups with an admin preview

WX_TOKEN = "fuzz-wechat-token"
WX_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
WX_APP_ID = "wx00fuzz00fuzz00f"
WX_TEMPLATE = "tmpl-fuzz-0001"
WX_VICTIM = "oVictim-fuzz-000000000000001"  # 28 characters, like a real openid
WX_PROBE = "oProbe-fuzz-0000000000000001"
CONSOLE_VICTIM = TG_VICTIM  # a Telegram user whose rows share the console's database

# --------------------------------------------------------------------------- alphabets

DIGITS: dict[str, str] = {
    "ascii": "0123456789",
    "fullwidth": "０１２３４５６７８９",
    "superscript": "⁰¹²³⁴⁵⁶⁷⁸⁹",
    "subscript": "₀₁₂₃₄₅₆₇₈₉",
    "circled": "⓪①②③④⑤⑥⑦⑧⑨",
    "arabic_indic": "٠١٢٣٤٥٦٧٨٩",
    "persian": "۰۱۲۳۴۵۶۷۸۹",
    "devanagari": "०१२३४५६७८९",
    "bengali": "০১২৩৪৫৬৭৮৯",
    "thai": "๐๑๒๓๔๕๖๗๘๙",
    "math_bold": "𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗",
    "chinese": "〇一二三四五六七八九",
}
"""Ten digits per class, index = value. All but ``chinese`` are ``str.isdigit``."""
DIGIT_EXTRAS = "⑩⑪⑫⑳⑴⑵⒈⒉㈠㊀㋀㋋㏠㏾㍘㍰ⅠⅡⅫ¼½十百千万亿两零壹贰叁拾廿卅"
EMOJI = (
    "😭",
    "👍🏽",
    "👨‍👩‍👧‍👦",
    "🇨🇳",
    "❤️‍🔥",
    "🧑🏻‍💻",
    "✅",
    "⏰",
    "🔍",
    "1️⃣",
    "#️⃣",
    "🏳️‍🌈",
    "🫠",
    "📮",
)
BIDI = "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u061c"
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff\u180e\u00ad"
CONTROLS = "".join(map(chr, range(32))) + "\x7f\x85\u2028\u2029"
SPACES = " \t\u3000\u00a0\u2003\u205f\u1680"
COMBINING = "\u0301\u0336\u0489\u20e3\ufe0f\ufe0e\u0e49"
WORDS = (
    "成绩",
    "查询",
    "准考证号",
    "忘记了",
    "怎么办",
    "复核",
    "资格审核",
    "证书",
    "合格线",
    "官网",
    "打不开",
    "準考證號忘記了怎麼辦",
    "提醒我",
    "订阅",
    "菜单",
    "继续",
    "二级造价工程师",
    "阳泉",
    "山西",
    "chengji",
    "zhunkaozheng",
    "hello",
    "привет",
    "مرحبا",
    "שלום",
    "नमस्ते",
    "สวัสดี",
    "𠀀𠀁",
    "𝕏𝕐",
)
MARKUP = (
    "<b>",
    "</b>",
    "<i>x</i>",
    '<a href="javascript:alert(1)">',
    "</a>",
    "<blockquote>",
    "<pre>",
    "&lt;",
    "&amp;",
    "&",
    "<",
    ">",
    "&#0;",
    "&#x110000;",
    "{name}",
    "{link}",
    "{{",
    "}}",
    "<script>",
    "<tg-spoiler>",
    "**",
    "__",
    "`",
    "```",
    "[x](http://a)",
    "%s",
    "%(n)s",
    "\\",
    "'",
    '"',
    "'; DROP TABLE reminders; --",
    "]]>",
    "<![CDATA[",
    "</Content>",
    "<xml>",
    "@exam_test_bot",
    "/start",
)
ISO_DATES = ("2026-12-10", "2027-01-31", "2026-02-29", "2028-02-29", "0001-01-01", "9999-12-31")
KINDS = ("review", "audit", "certificate", "custom")
KIND_WORDS = ("复核", "审核", "资格审核", "证书")
LEADS = ("1d", "2h", "b", "0")
AUDIENCES = ("all", "private", "groups", "channels", "wechat")
BROADCAST_VERBS = ("a", "c", "x", "s")
WX_EVENTS = (
    "subscribe",
    "unsubscribe",
    "CLICK",
    "click",
    "SCAN",
    "VIEW",
    "LOCATION",
    "TEMPLATESENDJOBFINISH",
    "subscribe_msg_popup_event",
    "MASSSENDJOBFINISH",
    "",
    "nonsense",
)
WX_TYPES = ("image", "voice", "video", "shortvideo", "location", "link", "file", "miniprogrampage")


# --------------------------------------------------------------------------- vocabulary


@dataclass(frozen=True)
class Vocabulary:
    """What the bot answers, read from its code and content (so new commands are fuzzed)."""

    commands: tuple[str, ...]
    admin_commands: tuple[str, ...]
    topics: tuple[str, ...]
    menu_words: tuple[str, ...]
    continue_word: str
    apology: str


def vocabulary(content_dir: Path = CONTENT_DIR) -> Vocabulary:
    """Command names from ``bot/commands.py`` and ``content/ui.yaml``, topic ids from
    ``content/guide.yaml``, WeChat's words and the error apology from ``content/ui.yaml``."""
    from bot.commands import ADMIN_COMMANDS, BUILTIN_COMMANDS

    guide = yaml.safe_load((content_dir / "guide.yaml").read_text(encoding="utf-8"))
    ui = yaml.safe_load((content_dir / "ui.yaml").read_text(encoding="utf-8"))
    topics = tuple(guide["topics"])
    names = set(BUILTIN_COMMANDS) | set(ui.get("commands") or {})
    admin = set(ADMIN_COMMANDS) | set(ui.get("admin_commands") or {})
    wechat = ui.get("wechat") or {}
    return Vocabulary(
        commands=tuple(sorted(names | admin | set(topics))),
        admin_commands=tuple(sorted(admin)),
        topics=topics,
        menu_words=tuple(str(wechat.get("menu_words", "菜单")).split()),
        continue_word=str(wechat.get("continue_word", "继续")).strip(),
        apology=str((ui.get("texts") or {}).get("error", "")).strip(),
    )


# --------------------------------------------------------------------------- cases


@dataclass(frozen=True)
class Step:
    """One input. What ``data`` is depends on ``kind``.

    Telegram: ``command`` (the message text, starting with "/"), ``text``, ``callback`` (the
    callback data), ``other`` (a message without text; ``data`` names its kind).
    WeChat: ``post`` (the XML body; ``raw`` when it is not UTF-8), ``subscribed`` (the query
    string of the subscription redirect), ``verify`` (the echostr of a URL verification).
    Console: ``line``.
    """

    kind: str
    data: str = ""
    raw: bytes | None = None
    chat: str = "private"  # telegram: private | group | victim_group | admin_group
    addressed: bool = False  # telegram group text: mentions the bot
    target: str = "fresh"  # telegram callback: fresh | last | victim_message | admin_preview
    user: str = "self"  # telegram: self | admin
    auth: str = "ok"  # wechat: ok | bad | missing | stale | future
    aes: str = "no"  # wechat: no | ok | garbage
    openid: str = ""  # wechat: the FromUserName the body claims (for the recipient check)

    def brief(self, width: int = 160) -> str:
        """A short, escaped rendering for reports."""
        parts = [self.kind]
        if self.kind in ("post",) and self.auth != "ok":
            parts.append(f"auth={self.auth}")
        if self.aes != "no":
            parts.append(f"aes={self.aes}")
        if self.chat != "private":
            parts.append(f"chat={self.chat}")
        if self.target != "fresh" and self.kind == "callback":
            parts.append(f"on={self.target}")
        if self.user != "self":
            parts.append(f"user={self.user}")
        payload: str | bytes = self.data if self.raw is None else self.raw[:300]
        if self.kind == "post" and self.raw is None:
            payload = wx_brief(self.data)
        text = repr(payload)
        if len(text) > width:
            text = text[: width - 20] + f"…(+{len(text) - width + 20} chars)"
        return " ".join(parts) + " " + text


@dataclass(frozen=True)
class Case:
    """A short sequence of inputs from one user (or forged in another's name)."""

    channel: str
    seed: int
    index: int
    label: str
    steps: tuple[Step, ...]
    forged: bool = False

    @property
    def key(self) -> str:
        """``wechat:123`` or ``wechat:f12`` (forged), as ``--only`` takes it."""
        return f"{self.channel}:{'f' if self.forged else ''}{self.index}"

    @property
    def reproduce(self) -> str:
        """The command line that runs this case alone."""
        return f".venv/bin/python bench/fuzz.py --seed {self.seed} --only {self.key}"

    def describe(self, width: int = 160) -> str:
        """Key, label and steps, one line each step."""
        lines = [f"{self.key} [{self.label}] seed={self.seed}"]
        lines += [f"    {n}. {step.brief(width)}" for n, step in enumerate(self.steps, 1)]
        return "\n".join(lines)


@dataclass(frozen=True)
class Targets:
    """Rows and messages that belong to the victim (known after the set-up)."""

    reminder_ids: tuple[int, ...] = (1,)
    broadcast_ids: tuple[int, ...] = (1,)
    victim_messages: tuple[tuple[int, int], ...] = ()  # (group chat, message id)
    admin_previews: tuple[tuple[int, int], ...] = ()


def case_rng(seed: int, channel: str, index: int, forged: bool) -> random.Random:
    """The case's own generator: the same triple gives the same case on any machine."""
    return random.Random(f"{seed}:{channel}:{'f' if forged else 'g'}:{index}")


def render_number(rng: random.Random, value: int, digit_class: str | None = None) -> str:
    """``value`` written in one digit class (or mixed, one class per digit)."""
    if digit_class is None:
        digit_class = rng.choice([*DIGITS, "ascii", "ascii", "mixed"])
    sign = "-" if value < 0 else ""
    text = str(abs(value)) if abs(value).bit_length() < 4000 else "9" * 1300
    if digit_class == "mixed":
        return sign + "".join(DIGITS[rng.choice(list(DIGITS))][int(d)] for d in text)
    if digit_class == "circled" and 0 < abs(value) <= 20:
        return sign + "①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳"[abs(value) - 1]
    digits = DIGITS.get(digit_class, DIGITS["ascii"])
    return sign + "".join(digits[int(d)] for d in text)


def huge_number(rng: random.Random) -> str:
    """Numbers Python's int() chokes on or that overflow everything else."""
    return rng.choice(
        [
            str(10**400),
            "9" * rng.choice((19, 20, 64, 401, 4300, 4301, 5000)),
            "-" + "9" * 401,
            "1" + "0" * 4400,
            str(2**63),
            str(-(2**63) - 1),
            "1e400",
            "0x1f",
            "1_000",
            "0" * 50 + "1",
            "NaN",
            "inf",
        ]
    )


class TextGen:
    """Random text over the alphabets above."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def piece(self) -> str:
        """One short run of characters of one family."""
        rng = self.rng
        family = rng.choices(
            (
                "word",
                "emoji",
                "bidi",
                "zero",
                "control",
                "space",
                "combining",
                "digits",
                "digit_extra",
                "markup",
                "ascii",
                "unicode",
            ),
            weights=(20, 8, 4, 4, 3, 4, 2, 10, 4, 6, 10, 3),
        )[0]
        if family == "word":
            return rng.choice(WORDS)
        if family == "emoji":
            return rng.choice(EMOJI)
        if family == "bidi":
            return rng.choice(BIDI)
        if family == "zero":
            return rng.choice(ZERO_WIDTH)
        if family == "control":
            return rng.choice(CONTROLS)
        if family == "space":
            return rng.choice(SPACES)
        if family == "combining":
            return rng.choice(COMBINING)
        if family == "digits":
            return render_number(
                rng, rng.choice((1, 2, 3, 7, 10, 12, 31, 99, 2026, rng.randrange(10**6)))
            )
        if family == "digit_extra":
            return rng.choice(DIGIT_EXTRAS)
        if family == "markup":
            return rng.choice(MARKUP)
        if family == "ascii":
            return "".join(rng.choices(string.printable, k=rng.randint(1, 8)))
        # any code point outside the surrogates
        code = rng.randrange(0x20, 0x10FFFF)
        return chr(code) if not 0xD800 <= code <= 0xDFFF else "\ufffd"

    def text(self, length: int | None = None) -> str:
        """About ``length`` characters (random when None: mostly short, up to 5,000)."""
        rng = self.rng
        if length is None:
            length = rng.choices(
                (
                    rng.randint(0, 12),
                    rng.randint(12, 80),
                    rng.randint(80, 600),
                    rng.randint(600, 5000),
                ),
                weights=(45, 30, 15, 10),
            )[0]
        parts: list[str] = []
        size = 0
        while size < length:
            piece = self.piece()
            if length > 400 and rng.random() < 0.3:  # long texts: repeat to get there quickly
                piece *= rng.randint(5, 60)
            parts.append(piece)
            size += len(piece)
        return "".join(parts)[:length]

    def number(self) -> str:
        """A number as someone might type (or forge) it."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.15:
            return huge_number(rng)
        if roll < 0.25:
            return rng.choice(
                ("", " ", "-1", "0", "+1", "1.5", "１", "①", "²", "٣", "३", "三", "1\u200b")
            )
        return render_number(
            rng, rng.choice((0, 1, 2, 3, 5, 7, 9, 12, 20, 42, rng.randrange(10**9)))
        )

    def when(self) -> str:
        """A date/time expression: plausible forms in any digit class, or nonsense."""
        rng = self.rng

        def n(value: int) -> str:
            return (
                render_number(rng, value)
                if rng.random() < 0.6
                else render_number(rng, value, "ascii")
            )

        y = rng.choice((2026, 2027, 2028, 2030, 1999, 0, 9999, 10000))
        m = rng.choice((1, 2, 6, 12, 13, 0))
        d = rng.choice((1, 10, 29, 30, 31, 32, 0))
        h = rng.choice((0, 3, 9, 12, 17, 23, 24, 99))
        mm = rng.choice((0, 5, 30, 59, 60))
        cn_week = rng.choice("一二三四五六日天七")
        forms = (
            f"{n(y)}-{n(m)}-{n(d)}",
            f"{n(y)}/{n(m)}/{n(d)}",
            f"{n(y)}.{n(m)}.{n(d)}",
            f"{n(y)}年{n(m)}月{n(d)}日",
            f"{n(m)}月{n(d)}日",
            f"{n(m)}月{n(d)}号",
            f"{n(m)}/{n(d)}",
            f"{n(d)}号",
            f"下个月{n(d)}号",
            "明天",
            "后天",
            "大后天",
            "今晚",
            f"{n(rng.choice((1, 3, 30, 400)))}天后",
            f"{n(rng.choice((1, 2, 520)))}周后",
            f"{n(rng.choice((1, 2, 100)))}小时后",
            f"{n(rng.choice((1, 30, 90)))}分钟后",
            f"{n(rng.choice((1, 5, 59)))}秒后",
            f"下周{cn_week}",
            f"星期{cn_week}",
            f"{n(h)}点",
            f"{n(h)}:{n(mm)}",
            f"上午{n(h)}点",
            f"下午{n(h)}点半",
            f"晚上{n(h)}点{n(mm)}分",
            f"明天下午{n(h)}点",
            f"明早{n(h)}点一刻",
            f"{rng.choice('十十一十二')}月{rng.choice(['十', '二十五', '三十一', '两'])}日",
            f"{huge_number(rng)}天后",
            f"{huge_number(rng)}年{n(m)}月{n(d)}日",
            f"{huge_number(rng)}-{n(m)}-{n(d)}",
            rng.choice(ISO_DATES),
            self.text(rng.randint(0, 30)),
        )
        when = rng.choice(forms)
        if rng.random() < 0.3:
            when += rng.choice((" ", "", "\u3000")) + rng.choice(
                (f"{n(h)}:{n(mm)}", f"下午{n(h)}点", f"晚上{n(h)}点", "上午9点")
            )
        return when

    def openid(self, index: int) -> str:
        """A follower's openid: mostly well-formed, sometimes hostile."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.85:
            return f"oFuzz-{index:08d}-{rng.randrange(16**12):012x}"[:28]
        return rng.choice(
            (
                "",
                " ",
                "o" * 5000,
                self.text(rng.randint(1, 60)),
                "oUser&<x>",
                WX_VICTIM + "\u200b",
                WX_VICTIM.upper(),
            )
        )


# --------------------------------------------------------------------------- generator


class CaseGenerator:
    """Makes the case ``(channel, index)`` of a run with ``seed``; targets name the victim's
    rows that forged cases aim at."""

    def __init__(self, seed: int, vocab: Vocabulary, targets: Targets | None = None) -> None:
        self.seed = seed
        self.vocab = vocab
        self.targets = targets or Targets()

    def case(self, channel: str, index: int, *, forged: bool = False) -> Case:
        """The reproducible case ``index`` of ``channel`` (generic or forged)."""
        rng = case_rng(self.seed, channel, index, forged)
        make = {
            ("telegram", False): self._telegram,
            ("telegram", True): self._telegram_forged,
            ("wechat", False): self._wechat,
            ("wechat", True): self._wechat_forged,
            ("console", False): self._console,
            ("console", True): self._console_forged,
        }[(channel, forged)]
        label, steps = make(rng, index)
        return Case(channel, self.seed, index, label, tuple(steps), forged)

    def cases(self, channel: str, count: int, *, forged: bool = False) -> list[Case]:
        """Cases ``0 .. count-1``."""
        return [self.case(channel, i, forged=forged) for i in range(count)]

    # -- shared pieces -------------------------------------------------------------------

    def command_line(self, rng: random.Random, *, slash: bool = True) -> str:
        """A command the bot knows (or a mangled one) with random arguments."""
        gen = TextGen(rng)
        roll = rng.random()
        if roll < 0.8:
            name = rng.choice(self.vocab.commands)
        elif roll < 0.9:
            name = rng.choice(self.vocab.commands)
            name = rng.choice(
                (
                    name.upper(),
                    name + "_",
                    name + rng.choice(DIGIT_EXTRAS),
                    "\u200b" + name,
                    name * 3,
                )
            )
        else:
            name = rng.choice(
                ("开始", "ｓｔａｒｔ", "", "x" * 40, gen.text(rng.randint(1, 10)), "①")
            )
        args = self.arguments(rng, name)
        line = ("/" if slash else "") + name
        if args or rng.random() < 0.1:
            line += rng.choice((" ", "  ", "\u3000", "\n", "\t")) + args
        return line

    def arguments(self, rng: random.Random, name: str) -> str:
        """Arguments that mean something to ``/name``, or junk."""
        gen = TextGen(rng)
        roll = rng.random()
        if roll < 0.15:
            return ""
        if roll < 0.3:
            return gen.text()
        if roll < 0.4:
            return gen.number()
        if name == "remind":
            kind = rng.choice((*KINDS, *KIND_WORDS, "", gen.text(3)))
            what = gen.text(rng.choice((0, 5, 20, 101, 400)))
            return " ".join(p for p in (kind, gen.when(), what) if p)
        if name in ("release", "broadcast_at"):
            return gen.when() + (
                "" if name == "release" else " " + gen.text(rng.choice((5, 200, 3600)))
            )
        if name == "broadcast":
            return gen.text(rng.choice((1, 50, 3499, 3501, 5000)))
        if name in ("ics", "reminders", "start", "menu", "help", "subscribe", "unsubscribe"):
            return rng.choice((gen.number(), gen.text(5), "@exam_test_bot", "all"))
        return gen.text(rng.randint(0, 40))

    def callback_data(self, rng: random.Random, ids: Sequence[int] = ()) -> str:
        """Button data: every registered prefix, with ids drawn from ``ids`` (forged) or
        made up (large, malformed, other digit classes), or pure junk."""
        gen = TextGen(rng)

        def an_id() -> str:
            if ids and rng.random() < 0.85:
                return self.id_form(rng, rng.choice(ids))
            return rng.choice(
                (
                    str(rng.randrange(10**5, 10**9)),
                    huge_number(rng),
                    render_number(rng, rng.randrange(10**5, 10**7)),
                    gen.number(),
                    gen.text(rng.randint(0, 6)),
                )
            )

        templates: tuple[Callable[[], str], ...] = (
            lambda: "m",
            lambda: f"t:{rng.choice(self.vocab.topics)}",
            lambda: f"t:{rng.choice((gen.text(8), '', rng.choice(self.vocab.commands)))}",
            lambda: "r:go",
            lambda: "r:x",
            lambda: f"r:k:{rng.choice((*KINDS, gen.text(4), ''))}",
            lambda: f"r:l:{rng.choice((*LEADS, gen.text(3), ''))}",
            lambda: "r:rel",
            lambda: f"r:rel:{rng.choice((*ISO_DATES, gen.when(), gen.text(6), ''))}",
            lambda: "r:list",
            lambda: f"r:del:{an_id()}",
            lambda: f"r:snz:{an_id()}",
            lambda: f"s:{rng.choice(('on', 'no', 'off', '', gen.text(4)))}",
            lambda: ":".join(
                (
                    "b",
                    rng.choice(BROADCAST_VERBS),
                    an_id(),
                    rng.choice((*AUDIENCES, "", gen.text(3))),
                )
            ),
            lambda: f"b:{rng.choice(BROADCAST_VERBS)}:{an_id()}",
            lambda: f"b:{gen.text(2)}:{an_id()}",
            lambda: rng.choice(("r:", "b:", "t:", "s:", "r:del:", "b:c:", "b:c::", ":", "")),
            lambda: gen.text(rng.randint(1, 64)),
            lambda: rng.choice(("r:del:", "b:c:", "t:")) + "9" * rng.randint(60, 400),
        )
        data = rng.choice(templates)()
        if rng.random() < 0.05:  # over-long: Telegram caps at 64 bytes, a forger need not
            data += gen.text(rng.randint(64, 300))
        return data

    @staticmethod
    def id_form(rng: random.Random, value: int) -> str:
        """``value`` as typed or forged: plain, zero-padded, full-width, other digit classes."""
        return rng.choice(
            (
                str(value),
                str(value),
                "0" * rng.randint(1, 5) + str(value),
                render_number(rng, value, "fullwidth"),
                render_number(rng, value, "arabic_indic"),
                render_number(rng, value, "devanagari"),
                render_number(rng, value, "circled"),
                render_number(rng, value, "superscript"),
                f" {value}",
                f"{value} ",
                f"+{value}",
                f"{value}\u200b",
                f"{value}:all",
                f"{value}.0",
            )
        )

    # -- Telegram -----------------------------------------------------------------------

    def _telegram(self, rng: random.Random, index: int) -> tuple[str, list[Step]]:
        gen = TextGen(rng)
        kind = rng.choices(
            ("command", "text", "callback", "flow", "group", "other", "admin"),
            weights=(30, 20, 22, 12, 8, 4, 4),
        )[0]
        if kind == "command":
            return "command", [Step("command", self.command_line(rng))]
        if kind == "text":
            return "text", [Step("text", gen.text() or ".")]
        if kind == "callback":
            return "callback", [Step("callback", self.callback_data(rng))]
        if kind == "group":
            if rng.random() < 0.5:
                line = self.command_line(rng)
                suffix = rng.choice(("", "@exam_test_bot", "@other_bot", "@EXAM_TEST_BOT"))
                name, sep, rest = line.partition(" ")
                return "group command", [Step("command", name + suffix + sep + rest, chat="group")]
            if rng.random() < 0.5:
                return "group callback", [Step("callback", self.callback_data(rng), chat="group")]
            return "group text", [
                Step("text", gen.text() or ".", chat="group", addressed=rng.random() < 0.6)
            ]
        if kind == "other":
            return "other", [
                Step("other", rng.choice(("sticker", "photo", "location", "dice", "empty")))
            ]
        if kind == "admin":
            name = rng.choice(self.vocab.admin_commands)
            steps = [Step("command", f"/{name} {self.arguments(rng, name)}".rstrip(), user="admin")]
            if rng.random() < 0.5:
                steps.append(Step("callback", self.callback_data(rng), user="admin", target="last"))
            return "admin", steps
        return "flow", self._flow(rng, callbacks=True)

    def _flow(self, rng: random.Random, *, callbacks: bool) -> list[Step]:
        """A multi-step conversation: /remind, /release, /reminders, /start and their buttons
        (Telegram), or the numbers WeChat and the console type instead."""
        gen = TextGen(rng)

        def tap(data: str, choices: int = 4) -> Step:
            if callbacks:
                return Step("callback", data, target="last")
            return Step("text", rng.choice((str(rng.randint(1, choices)), gen.number())))

        pick = rng.choice(("remind", "remind_release", "release", "reminders", "start", "numbers"))
        if pick == "remind":
            return [
                Step("command", "/remind"),
                tap(f"r:k:{rng.choice(KINDS)}"),
                Step("text", gen.when() if rng.random() < 0.8 else gen.text()),
                tap(f"r:l:{rng.choice(LEADS)}"),
            ]
        if pick == "remind_release":
            return [
                Step("command", "/remind"),
                tap("r:k:review"),
                tap("r:rel"),
                Step("text", gen.when()),
                tap(f"r:l:{rng.choice(LEADS)}"),
            ]
        if pick == "release":
            return [
                Step("command", f"/release {gen.when()}"),
                tap(f"r:rel:{rng.choice((*ISO_DATES, gen.text(5)))}", 2),
                tap(f"r:l:{rng.choice(LEADS)}"),
            ]
        if pick == "reminders":
            return [
                Step("command", f"/remind {gen.when()} {gen.text(rng.randint(0, 120))}".rstrip()),
                Step("command", "/reminders"),
                tap(rng.choice(("r:del:1", "r:snz:1", "r:list")), 3),
                Step("command", "/ics"),
            ]
        if pick == "start":
            return [Step("command", "/start"), tap(rng.choice(("s:on", "s:no", "t:steps")), 8)]
        return [Step("text", gen.number()) for _ in range(rng.randint(1, 4))]

    def _telegram_forged(self, rng: random.Random, index: int) -> tuple[str, list[Step]]:
        t = self.targets
        kind = rng.choices(
            ("reminder", "broadcast", "group_step", "group_preview", "admin_command"),
            weights=(30, 30, 15, 15, 10),
        )[0]
        if kind == "reminder":
            verb = rng.choice(("del", "snz"))
            return "forged reminder", [
                Step("callback", f"r:{verb}:{self.id_form(rng, rng.choice(t.reminder_ids))}")
            ]
        if kind == "broadcast":
            return "forged broadcast", [Step("callback", self._broadcast_action(rng))]
        if kind == "group_step":
            data = rng.choice(
                ("r:k:review", "r:k:custom", "r:x", "r:go", "r:rel", "r:l:1d", "m", "t:steps")
            )
            return "tap on another member's /remind", [
                Step("callback", data, chat="victim_group", target="victim_message")
            ]
        if kind == "group_preview":
            return "tap on the admin's preview", [
                Step(
                    "callback",
                    self._broadcast_action(rng),
                    chat="admin_group",
                    target="admin_preview",
                )
            ]
        name = rng.choice(self.vocab.admin_commands)
        return "admin command from a non-admin", [
            Step("command", f"/{name} {self.arguments(rng, name)}".rstrip())
        ]

    def _broadcast_action(self, rng: random.Random) -> str:
        bid = self.id_form(rng, rng.choice(self.targets.broadcast_ids))
        verb = rng.choice(BROADCAST_VERBS)
        if verb in ("a", "c"):
            return f"b:{verb}:{bid}:{rng.choice(AUDIENCES)}"
        return f"b:{verb}:{bid}"

    # -- WeChat -------------------------------------------------------------------------

    def _wechat(self, rng: random.Random, index: int) -> tuple[str, list[Step]]:
        gen = TextGen(rng)
        openid = gen.openid(index)
        kind = rng.choices(
            ("text", "command", "number", "event", "type", "flow", "malformed", "verify"),
            weights=(25, 20, 8, 18, 4, 10, 13, 2),
        )[0]

        def post(xml: str, **kw: Any) -> Step:
            aes = "ok" if rng.random() < 0.1 else "no"
            return Step("post", xml, openid=openid, aes=kw.pop("aes", aes), **kw)

        if kind == "text":
            return "text", [post(wx_text(rng, openid, xml_safe(gen.text())))]
        if kind == "command":
            line = self.command_line(rng, slash=rng.random() < 0.5)
            return "command", [post(wx_text(rng, openid, xml_safe(line)))]
        if kind == "number":
            words = (*self.vocab.menu_words, self.vocab.continue_word)
            first = rng.choice(words)
            steps = [post(wx_text(rng, openid, first))]
            steps += [
                post(wx_text(rng, openid, xml_safe(gen.number()))) for _ in range(rng.randint(1, 3))
            ]
            return "numbers", steps
        if kind == "event":
            return "event", [post(wx_event(rng, openid, self._event_key(rng)))]
        if kind == "type":
            return "other type", [post(wx_other(rng, openid))]
        if kind == "flow":
            steps = [
                post(wx_text(rng, openid, xml_safe(s.data)))
                for s in self._flow(rng, callbacks=False)
            ]
            return "flow", steps
        if kind == "verify":
            return "verify", [
                Step("verify", gen.text(rng.randint(0, 40)), auth=rng.choice(("ok", "bad")))
            ]
        raw = wx_malformed(rng, openid)
        return "malformed", [
            Step(
                "post",
                raw.decode("utf-8", "replace"),
                raw=raw,
                aes=rng.choice(("no", "no", "garbage")),
            )
        ]

    def _event_key(self, rng: random.Random) -> str:
        gen = TextGen(rng)
        return rng.choice(
            (
                rng.choice(self.vocab.topics),
                rng.choice(self.vocab.commands),
                rng.choice(self.vocab.admin_commands),
                "",
                "qrscene_" + gen.number(),
                gen.text(rng.randint(0, 30)),
                "x" * rng.choice((100, 5000)),
            )
        )

    def _wechat_forged(self, rng: random.Random, index: int) -> tuple[str, list[Step]]:
        gen = TextGen(rng)
        auth = rng.choice(("stale", "stale", "future", "bad", "missing"))
        victim = WX_VICTIM
        what = rng.choice(("unsubscribe", "text_unsub", "delete", "remind", "subscribed", "admin"))
        if what == "subscribed":
            query = {
                "action": "confirm",
                "template_id": WX_TEMPLATE,
                "openid": rng.choice((victim, victim, gen.openid(index), "o" * 5000)),
                "scene": "1000",
                "reserved": "reminder",
            }
            return "subscription redirect without proof", [Step("subscribed", urlencode(query))]
        if what == "admin":
            # a follower (own openid, valid signature) pressing admin commands
            openid = gen.openid(index)
            name = rng.choice(self.vocab.admin_commands)
            xml = (
                wx_event(rng, openid, name, event="CLICK")
                if rng.random() < 0.5
                else wx_text(rng, openid, xml_safe(f"/{name} {self.arguments(rng, name)}".rstrip()))
            )
            return "admin command from a follower", [Step("post", xml, openid=openid)]
        label = f"{auth}-signed request posing as the victim"
        if what == "unsubscribe":
            xml = wx_event(rng, victim, "", event="unsubscribe", clean=True)
            return label + ": unsubscribe", [Step("post", xml, auth=auth, openid=victim)]
        if what == "text_unsub":
            return label + ": /unsubscribe", [
                Step(
                    "post",
                    wx_text(rng, victim, "/unsubscribe", clean=True),
                    auth=auth,
                    openid=victim,
                )
            ]
        if what == "remind":
            body = wx_text(rng, victim, "/remind 明天下午3点 伪造的提醒", clean=True)
            return label + ": /remind", [Step("post", body, auth=auth, openid=victim)]
        return label + ": /reminders then 1", [
            Step("post", wx_text(rng, victim, "/reminders", clean=True), auth=auth, openid=victim),
            Step("post", wx_text(rng, victim, "1", clean=True), auth=auth, openid=victim),
        ]

    # -- console ------------------------------------------------------------------------

    def _console(self, rng: random.Random, index: int) -> tuple[str, list[Step]]:
        gen = TextGen(rng)
        kind = rng.choices(
            ("command", "text", "number", "flow", "blank"), weights=(35, 30, 15, 15, 5)
        )[0]
        if kind == "command":
            return "command", [Step("line", self.command_line(rng))]
        if kind == "text":
            return "text", [Step("line", gen.text())]
        if kind == "number":
            return "number", [Step("line", gen.number()) for _ in range(rng.randint(1, 3))]
        if kind == "blank":
            return "blank", [
                Step("line", rng.choice(("", " ", "\t", "\u3000", "\u200b", "\ufeff")))
            ]
        return "flow", [Step("line", s.data) for s in self._flow(rng, callbacks=False)]

    def _console_forged(self, rng: random.Random, index: int) -> tuple[str, list[Step]]:
        # The console user is an admin of its own terminal, but other channels' users and
        # admins share the database: nothing typed here may touch their rows.
        lines = rng.choice(
            (
                ["/reminders", "1"],
                ["/reminders", "2"],
                ["/reminders", str(rng.randint(1, 9))],
                ["/ics"],
                ["/unsubscribe"],
                ["/broadcasts"],
                ["/stats"],
                [f"/release {TextGen(rng).when()}", "1", "1"],
            )
        )
        return "console next to other users' rows", [Step("line", line) for line in lines]


# --------------------------------------------------------------------------- WeChat XML


_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """Characters XML 1.0 can carry (WeChat never sends others); the rest dropped."""
    return _XML_INVALID.sub("", text)


def cdata(text: str) -> str:
    """A CDATA section holding ``text`` exactly (``]]>`` split across two sections)."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _msg_id(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.9:
        return str(rng.randrange(10**18, 2**63))
    return rng.choice(("", "0", "-1", "abc", "1" * 40, "1.5", "１２３", "①"))


def _create_time(rng: random.Random) -> str:
    if rng.random() < 0.92:
        return str(int(time.time()) - rng.randint(0, 30))
    return rng.choice(("", "abc", "-1", "0", "9" * 30, "１７６０"))


def wx_xml(
    openid: str,
    msg_type: str,
    fields: Iterable[tuple[str, str]],
    rng: random.Random,
    *,
    clean: bool = False,
) -> str:
    """A message as WeChat posts it (fields in WeChat's order)."""
    created = str(int(time.time()) - rng.randint(0, 30)) if clean else _create_time(rng)
    body = [
        f"<ToUserName>{cdata('gh_fuzz')}</ToUserName>",
        f"<FromUserName>{cdata(openid)}</FromUserName>",
        f"<CreateTime>{created}</CreateTime>",
        f"<MsgType>{cdata(msg_type)}</MsgType>",
    ]
    body += [f"<{name}>{value}</{name}>" for name, value in fields]
    return "<xml>" + "".join(body) + "</xml>"


def wx_text(rng: random.Random, openid: str, content: str, *, clean: bool = False) -> str:
    """A text message with its own MsgId (mostly; always with ``clean``)."""
    msg_id = str(rng.randrange(10**18, 2**63)) if clean else _msg_id(rng)
    return wx_xml(
        openid, "text", [("Content", cdata(content)), ("MsgId", msg_id)], rng, clean=clean
    )


def wx_event(
    rng: random.Random, openid: str, key: str, event: str | None = None, *, clean: bool = False
) -> str:
    """An event; CLICK and SCAN carry ``key``."""
    event = rng.choice(WX_EVENTS) if event is None else event
    fields = [("Event", cdata(event)), ("EventKey", cdata(xml_safe(key)))]
    if event.upper() == "SCAN" or key.startswith("qrscene_"):
        fields.append(("Ticket", cdata("gQH47joAAAAAAAAAASxodHRwOi8v")))
    if event == "LOCATION":
        fields += [
            ("Latitude", "23.137466"),
            ("Longitude", "113.352425"),
            ("Precision", "119.385040"),
        ]
    return wx_xml(openid, "event", fields, rng, clean=clean)


def wx_other(rng: random.Random, openid: str) -> str:
    """A message of a type the bot does not read (image, voice, location, ...)."""
    msg_type = rng.choice(WX_TYPES)
    fields = [
        ("PicUrl", cdata("http://mmbiz.qpic.cn/x.jpg")),
        ("MediaId", cdata("media_id_" + str(rng.randrange(10**6)))),
        ("Format", cdata("amr")),
        ("Recognition", cdata(xml_safe(TextGen(rng).text(rng.randint(0, 40))))),
        ("Location_X", "23.134521"),
        ("Location_Y", rng.choice(("113.358803", "abc", ""))),
        ("Scale", "20"),
        ("Label", cdata("位置")),
        ("Title", cdata("标题")),
        ("Url", cdata("http://example.invalid/")),
        ("MsgId", _msg_id(rng)),
    ]
    return wx_xml(openid, msg_type, rng.sample(fields, rng.randint(1, len(fields))), rng)


def wx_malformed(rng: random.Random, openid: str) -> bytes:
    """A body WeChat would never send: broken, hostile or huge XML."""
    gen = TextGen(rng)
    good = wx_text(rng, openid, xml_safe(gen.text(20)))
    pick = rng.randrange(20)
    if pick == 0:
        return b""
    if pick == 1:
        return good[: rng.randrange(1, len(good))].encode()
    if pick == 2:
        return gen.text(rng.randint(1, 200)).encode("utf-8", "surrogatepass")
    if pick == 3:
        return b"\xff\xfe\x00<xml>" + bytes(rng.randrange(256) for _ in range(rng.randint(1, 300)))
    if pick == 4:
        return good.encode("utf-16")
    if pick == 5:
        return ('<?xml version="1.0" encoding="GBK"?>' + good).encode("gbk", "replace")
    if pick == 6:
        depth = rng.choice((100, 1000, 5000))
        return ("<xml>" + "<a>" * depth + "</a>" * depth + "</xml>").encode()
    if pick == 7:  # entity expansion
        ents = '<!ENTITY a0 "xxxxxxxxxx">' + "".join(
            f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 6)
        )
        return (f"<!DOCTYPE xml [{ents}]>" + good.replace(cdata(openid), "&a5;", 1)).encode()
    if pick == 8:  # external entity
        return (
            '<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
            + wx_xml(openid, "text", [("Content", "&xxe;"), ("MsgId", "1")], rng)
        ).encode()
    if pick == 9:  # no MsgType / no FromUserName / no Content
        drop = rng.choice(("MsgType", "FromUserName", "Content", "CreateTime", "ToUserName"))
        return re.sub(rf"<{drop}>.*?</{drop}>", "", good, flags=re.S).encode()
    if pick == 10:  # two of everything
        return good.replace("</xml>", good[5:-6] + "</xml>").encode()
    if pick == 11:  # huge field, near and over the 64 KiB cap
        size = rng.choice((2000, 30_000, 65_000, 70_000))
        return wx_text(rng, openid, "测" * (size // 3)).encode()
    if pick == 12:  # huge openid
        return wx_text(rng, "o" * rng.choice((100, 5000, 60_000)), "菜单").encode()
    if pick == 13:  # attributes, namespaces, comments, processing instructions
        return good.replace("<Content>", '<Content xmlns="urn:x" a="b"><!-- c --><?pi x?>').encode()
    if pick == 14:  # JSON
        return b'{"ToUserName":"gh","FromUserName":"o","MsgType":"text","Content":"1"}'
    if pick == 15:  # an empty element where a value is expected
        return re.sub(r"<MsgType>.*?</MsgType>", "<MsgType/>", good).encode()
    if pick == 16:  # control characters where XML allows none
        return good.replace("</Content>", "\x00\x01\x1b</Content>").encode()
    if pick == 17:  # nested element inside a field
        return good.replace("<Content>", "<Content><Content>x</Content>").encode()
    if pick == 18:
        return b"<xml>" + b"<MsgType>text</MsgType>" * rng.randint(1, 5) + b"</xml>"
    return ("\ufeff" + good).encode()


_WX_FIELD = re.compile(r"<(\w+)>(?:<!\[CDATA\[)?(.*?)(?:\]\]>)?</\1>", re.S)


def wx_brief(xml: str) -> str:
    """The fields of a WeChat body that tell cases apart (everything but the envelope)."""
    inner = re.sub(r"^\s*(?:<\?xml[^>]*>)?\s*<xml>|</xml>\s*$", "", xml)
    fields = dict(_WX_FIELD.findall(inner))
    if not fields:
        return xml
    openid = fields.get("FromUserName", "")
    parts = [f"from={openid[:40]}" + ("…" if len(openid) > 40 else "")]
    for name in ("MsgType", "Event", "EventKey", "Content", "MsgId", "CreateTime"):
        if name in fields:
            value = fields[name].replace("]]]]><![CDATA[>", "]]>")
            parts.append(f"{name}={value[:400]}")
    return " ".join(parts)


def signature(token: str, *parts: str) -> str:
    """WeChat's signature: SHA-1 of the sorted parts."""
    return hashlib.sha1("".join(sorted((token, *parts))).encode()).hexdigest()


# --------------------------------------------------------------------------- results


@dataclass
class Failure:
    """One problem a case exposed."""

    kind: str
    channel: str
    case: Case | None
    detail: str
    where: str = ""  # innermost frame in bot/: "bot/x.py:12 in f"
    group: str = ""  # what failures of one cause share, when there is no frame

    def describe(self) -> str:
        """The case, how to rerun it, what went wrong and where."""
        head = f"[{self.kind}] {self.channel}"
        if self.where:
            head += f" at {self.where}"
        lines = [head]
        if self.case is not None:
            lines.append(self.case.describe())
            lines.append(f"    rerun: {self.case.reproduce}")
        lines += ["    " + line for line in self.detail.strip().splitlines()]
        return "\n".join(lines)


@dataclass
class ChannelReport:
    """What one channel's run did and found."""

    channel: str
    cases: int = 0
    forged: int = 0
    steps: int = 0
    seconds: float = 0.0
    failures: list[Failure] = field(default_factory=list)

    def fail(
        self, kind: str, case: Case | None, detail: str, where: str = "", group: str = ""
    ) -> None:
        """Record a failure."""
        self.failures.append(Failure(kind, self.channel, case, detail, where, group))


def bot_frame(tb: traceback.StackSummary | list[traceback.FrameSummary]) -> str:
    """``bot/path.py:line in function`` of the innermost frame inside the bot's package."""
    for frame in reversed(tb):
        path = Path(frame.filename)
        with contextlib.suppress(ValueError):
            rel = path.resolve().relative_to(ROOT)
            if rel.parts and rel.parts[0] == "bot":
                return f"{rel}:{frame.lineno} in {frame.name}"
    return ""


def exception_summary(exc: BaseException) -> tuple[str, str]:
    """``(where, excerpt)``: the innermost bot frame and the last lines of the traceback."""
    summary = traceback.extract_tb(exc.__traceback__)
    lines = traceback.format_exception(exc)
    excerpt = "".join(lines[-6:]).rstrip()
    return bot_frame(summary), excerpt


_TB_FRAME = re.compile(r'File "([^"]+)", line (\d+), in (\S+)')


def tracebacks_in_log(log: str) -> list[tuple[str, str]]:
    """``(where, excerpt)`` for each traceback a process printed."""
    found: list[tuple[str, str]] = []
    lines = log.splitlines()
    index = 0
    while index < len(lines):
        if not lines[index].startswith("Traceback (most recent call last)"):
            index += 1
            continue
        start = index
        index += 1
        while index < len(lines) and (
            lines[index].startswith((" ", "\t")) or not lines[index].strip()
        ):
            index += 1
        end = min(index + 1, len(lines))  # the exception line
        block = lines[start:end]
        frames = [
            traceback.FrameSummary(m.group(1), int(m.group(2)), m.group(3))
            for m in map(_TB_FRAME.search, block)
            if m
        ]
        context = lines[max(0, start - 1) : start]
        found.append((bot_frame(frames), "\n".join(context + block[-5:])))
    return found


class LogCapture(logging.Handler):
    """Collects log records that carry an exception (aiohttp's, the adapter's, the bot's)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep records with exception info raised through the bot's own code."""
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and bot_frame(traceback.extract_tb(exc.__traceback__)):
            self.records.append(record)

    def take(self) -> list[tuple[str, str]]:
        """``(where, excerpt)`` of the exceptions logged since the last call."""
        out = []
        for record in self.records:
            assert record.exc_info is not None and record.exc_info[1] is not None
            where, excerpt = exception_summary(record.exc_info[1])
            out.append((where, f"logged by {record.name}: {record.getMessage()}\n{excerpt}"))
        self.records.clear()
        return out


@contextlib.contextmanager
def capture_logs() -> Iterator[LogCapture]:
    """Attach a :class:`LogCapture` to the root logger for the duration of the block."""
    handler = LogCapture()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


# --------------------------------------------------------------------------- snapshots


@dataclass(frozen=True)
class Victim:
    """Whose rows a snapshot covers."""

    channel: str
    user_ids: tuple[int, ...]
    admin_ids: tuple[int, ...] = ()
    openids: tuple[str, ...] = ()


def _columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def snapshot(db_path: Path, victim: Victim) -> dict[str, list[tuple[Any, ...]]]:
    """The victim's reminders, alerts, chat row (subscription), broadcasts and deliveries,
    WeChat user row: every column, so new columns are covered too."""
    state: dict[str, list[tuple[Any, ...]]] = {}
    users = ",".join(str(u) for u in victim.user_ids) or "NULL"
    admins = ",".join(str(a) for a in victim.admin_ids) or "NULL"
    with contextlib.closing(
        sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    ) as conn:
        tables = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }

        def rows(name: str, sql: str, params: Sequence[Any] = ()) -> None:
            if name in tables:
                state[name] = sorted(conn.execute(sql, params).fetchall(), key=repr)

        channel = " AND channel = ?" if "channel" in _columns(conn, "reminders") else ""
        args = (victim.channel,) if channel else ()
        rows("reminders", f"SELECT * FROM reminders WHERE user_id IN ({users}){channel}", args)
        rows(
            "alerts",
            "SELECT * FROM alerts WHERE reminder_id IN "
            f"(SELECT id FROM reminders WHERE user_id IN ({users}){channel})",
            args,
        )
        chat_channel = " AND channel = ?" if "channel" in _columns(conn, "chats") else ""
        rows(
            "chats",
            f"SELECT * FROM chats WHERE chat_id IN ({users}){chat_channel}",
            (victim.channel,) if chat_channel else (),
        )
        rows("broadcasts", f"SELECT * FROM broadcasts WHERE admin_id IN ({admins})")
        rows(
            "deliveries",
            f"SELECT * FROM deliveries WHERE broadcast_id IN "
            f"(SELECT id FROM broadcasts WHERE admin_id IN ({admins}))",
        )
        if victim.openids and "wechat_users" in tables:
            marks = ",".join("?" * len(victim.openids))
            rows(
                "wechat_users",
                f"SELECT * FROM wechat_users WHERE openid IN ({marks})",
                victim.openids,
            )
    return state


def diff(before: dict[str, list[tuple[Any, ...]]], after: dict[str, list[tuple[Any, ...]]]) -> str:
    """Rows that appeared or disappeared, per table; empty when nothing changed."""
    out: list[str] = []
    for table in sorted(set(before) | set(after)):
        old, new = set(before.get(table, [])), set(after.get(table, []))
        for row in sorted(old - new, key=repr):
            out.append(f"{table}: - {row!r}"[:400])
        for row in sorted(new - old, key=repr):
            out.append(f"{table}: + {row!r}"[:400])
    return "\n".join(out)


@contextlib.contextmanager
def scratch(fallback: Path, *, keep: bool = False) -> Iterator[Path]:
    """A work folder in memory (/dev/shm) when there is one: every reply commits with
    ``synchronous=FULL``, and thousands of fsyncs would measure the disk, not the bot."""
    shm = Path("/dev/shm")
    if not shm.is_dir():
        fallback.mkdir(parents=True, exist_ok=True)
        yield fallback
        return
    path = Path(tempfile.mkdtemp(prefix="bot-fuzz-", dir=shm))
    try:
        yield path
    finally:
        if not keep:
            shutil.rmtree(path, ignore_errors=True)


def copy_content(workdir: Path) -> Path:
    """A private copy of the content folder (an admin's /reload reads it)."""
    target = workdir / "content"
    if not target.exists():
        shutil.copytree(CONTENT_DIR, target)
    return target


def utf16_units(text: str) -> int:
    """Length as Telegram counts it."""
    return len(text.encode("utf-16-le")) // 2


# --------------------------------------------------------------------------- Telegram


@dataclass
class _ChatLog:
    responses: int = 0
    event: asyncio.Event = field(default_factory=asyncio.Event)
    last_bot_message: int | None = None


class TelegramDriver:
    """Runs cases against ``python -m bot run`` and the stand-in; checks every call."""

    EDITS = ("editMessageText", "editMessageReplyMarkup", "editMessageCaption", "deleteMessage")

    def __init__(self, workdir: Path, vocab: Vocabulary, report: ChannelReport) -> None:
        self.workdir = workdir
        self.vocab = vocab
        self.report = report
        self.chats: dict[int, _ChatLog] = defaultdict(_ChatLog)
        self.owner: dict[int, Case | None] = {}  # chat id -> the case writing there
        self.queries: dict[str, int] = {}  # callback query id -> chat id
        self.query_case: dict[str, Case] = {}
        self.forged_taps: list[tuple[Case, int, int, int]] = []  # case, chat, msg, calls before
        self._scanned = 0
        self._next_message_id = 10**6
        self.api: Any = None
        self.bot: Any = None
        self.targets = Targets()
        self.known = {name.lower() for name in vocab.commands}
        self.admin: int | None = None  # the one admin id to use (the in-process replay's)

    # -- plumbing -------------------------------------------------------------------------

    def _scan(self) -> None:
        calls = self.api.calls
        while self._scanned < len(calls):
            call = calls[self._scanned]
            self._scanned += 1
            if call.method == "getUpdates":
                continue
            chat = call.chat_id if isinstance(call.chat_id, int) else None
            if call.method == "answerCallbackQuery":
                chat = self.queries.get(str(call.params.get("callback_query_id")))
            if chat is None:
                continue
            log = self.chats[chat]
            log.responses += 1
            if call.ok and isinstance(call.response, dict) and "message_id" in call.response:
                log.last_bot_message = int(call.response["message_id"])
            log.event.set()

    async def _scanner(self) -> None:
        while True:
            self._scan()
            await asyncio.sleep(0.02)

    async def _await_response(self, chat: int, before: int, wait: float) -> bool:
        log = self.chats[chat]
        deadline = time.monotonic() + wait
        while log.responses <= before:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            log.event.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await log.event.wait()
        return True

    async def quiesce(self, quiet: float = 1.6, limit: float = 120.0) -> None:
        """Wait until the bot fetched every update and sent nothing for ``quiet`` seconds."""
        deadline = time.monotonic() + limit
        seen, since = -1, time.monotonic()
        while time.monotonic() < deadline:
            count = len(self.api.calls)
            if count != seen or self.api.updates or self.api.in_flight:
                seen, since = count, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return
            await asyncio.sleep(0.05)

    def _chat_of(self, case: Case, step: Step, index: int) -> tuple[int, int, str]:
        """(user, chat, chat type) a step is sent from."""
        base = TG_FORGER_BASE if case.forged else TG_ATTACKER_BASE
        user = base + case.index
        if step.user == "admin":
            user = self.admin or TG_ADMIN_BASE + case.index % TG_ADMIN_SLOTS
        if step.chat == "group":
            return user, TG_GROUP_BASE - case.index, "supergroup"
        if step.chat == "victim_group":
            chat, _ = self.targets.victim_messages[case.index % len(self.targets.victim_messages)]
            return user, chat, "supergroup"
        if step.chat == "admin_group":
            chat, _ = self.targets.admin_previews[case.index % len(self.targets.admin_previews)]
            return user, chat, "supergroup"
        return user, user, "private"

    def push(self, case: Case | None, step: Step, user: int, chat: int, chat_type: str) -> None:
        """Queue the update for one step."""
        api = self.api
        group = chat_type != "private"
        if step.kind == "command":
            api.push_command(step.data, user, chat_id=chat if group else None, chat_type=chat_type)
        elif step.kind == "text":
            text = step.data
            if group and step.addressed:
                text = "@exam_test_bot " + text
            api.push_text(text, user, chat_id=chat if group else None, chat_type=chat_type)
            if group and step.addressed:
                api.updates[-1]["message"]["entities"] = [
                    {"type": "mention", "offset": 0, "length": 14}
                ]
        elif step.kind == "callback":
            message_id = self._message_for(case, step, chat)
            update = api.push_callback(step.data, user, message_id, chat_id=chat)
            query_id = update["callback_query"]["id"]
            self.queries[query_id] = chat
            if case is not None:
                self.query_case[query_id] = case
        else:
            self._next_message_id += 1
            message: dict[str, Any] = {
                "message_id": self._next_message_id,
                "from": {"id": user, "is_bot": False, "first_name": "考生"},
                "chat": api.chat(chat, chat_type),
                "date": int(time.time()),
            }
            kinds: dict[str, dict[str, Any]] = {
                "sticker": {
                    "sticker": {
                        "file_id": "CAAD",
                        "file_unique_id": "AQAD",
                        "width": 512,
                        "height": 512,
                        "is_animated": False,
                        "is_video": False,
                        "type": "regular",
                    }
                },
                "photo": {
                    "photo": [
                        {"file_id": "AgAD", "file_unique_id": "AQAE", "width": 90, "height": 90}
                    ]
                },
                "location": {"location": {"latitude": 37.85, "longitude": 113.57}},
                "dice": {"dice": {"emoji": "🎲", "value": 6}},
                "empty": {"text": ""},
            }
            extra = kinds[step.data]
            api.push_update({"message": {**message, **extra}})

    def _message_for(self, case: Case | None, step: Step, chat: int) -> int:
        if step.target == "victim_message":
            return dict(self.targets.victim_messages)[chat]
        if step.target == "admin_preview":
            return dict(self.targets.admin_previews)[chat]
        if step.target == "last":
            last = self.chats[chat].last_bot_message
            if last is not None:
                return last
        self._next_message_id += 1
        return self._next_message_id

    async def run_case(self, case: Case, wait: float) -> None:
        """Send the steps one after another, each after the previous one was answered."""
        for step in case.steps:
            user, chat, chat_type = self._chat_of(case, step, case.index)
            self.owner.setdefault(chat, case)
            before = self.chats[chat].responses
            if step.target in ("victim_message", "admin_preview"):
                message_id = self._message_for(case, step, chat)
                edits = self._edits_of(chat, message_id)
                self.forged_taps.append((case, chat, message_id, edits))
            self.push(case, step, user, chat, chat_type)
            self.report.steps += 1
            await self._await_response(chat, before, wait if self.answered(step) else 0.3)

    def answered(self, step: Step) -> bool:
        """Whether the bot answers this step at all: in groups it ignores chatter, commands
        for other bots and unknown commands not addressed to it."""
        if step.chat == "private" or step.kind in ("callback", "other"):
            return True
        if step.kind == "text":
            return step.addressed
        command = step.data.split(maxsplit=1)[0] if step.data.split() else step.data
        name, _, bot = command[1:].partition("@")
        if bot:
            return bot.lower() == "exam_test_bot"
        return name.lower() in self.known

    def _edits_of(self, chat: int, message_id: int) -> int:
        return sum(
            1
            for c in self.api.calls
            if c.method in self.EDITS
            and c.chat_id == chat
            and str(c.params.get("message_id")) == str(message_id)
        )

    # -- the run --------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[TelegramDriver]:
        """The stand-in and the bot process, stopped at the end."""
        from tests.botproc import BotProcess
        from tests.standin import StandinServer, make_user

        content = copy_content(self.workdir)
        async with StandinServer() as server:
            self.api = server.api

            def chat_member(params: dict[str, Any]) -> dict[str, Any]:
                return {"status": "member", "user": make_user(int(params.get("user_id", 1)))}

            self.api.set_handler("getChatMember", chat_member)
            env = {
                "BOT_ADMIN_IDS": ",".join(
                    map(
                        str,
                        (TG_VICTIM_ADMIN, *range(TG_ADMIN_BASE, TG_ADMIN_BASE + TG_ADMIN_SLOTS)),
                    )
                ),
                "BOT_CONTENT_DIR": str(content),
            }
            self.bot = BotProcess(self.api, server.base_url, self.workdir, env=env, name="fuzz-bot")
            await self.bot.start()
            scanner = asyncio.create_task(self._scanner())
            try:
                yield self
            finally:
                scanner.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await scanner
                await self.bot.stop()

    async def setup(self) -> Targets:
        """The victim's reminder and subscription, the admin's drafts (in private and in
        groups), the victim's /remind steps in groups: all through the real flow."""
        api = self.api
        year = date.today().year + 1
        steps = [
            (TG_VICTIM, TG_VICTIM, "private", f"/remind {year}-03-01 09:00 交学历证明"),
            (TG_VICTIM_ADMIN, TG_VICTIM_ADMIN, "private", "/broadcast 考试通知（草稿）"),
        ]
        for n in range(TG_TARGET_GROUPS):
            steps.append((TG_VICTIM, TG_TARGET_GROUP_BASE - n, "supergroup", "/remind"))
            steps.append(
                (TG_VICTIM_ADMIN, TG_TARGET_GROUP_BASE - 100 - n, "supergroup", f"/broadcast 群{n}")
            )
        waits = []
        for user, chat, chat_type, text in steps:
            before = self.chats[chat].responses
            self.owner[chat] = None
            api.push_command(text, user, chat_id=None if chat > 0 else chat, chat_type=chat_type)
            waits.append(self._await_response(chat, before, 60))
        await asyncio.gather(*waits)
        before = self.chats[TG_VICTIM].responses
        api.push_command("/subscribe", TG_VICTIM)
        await self._await_response(TG_VICTIM, before, 60)
        await self.quiesce()
        victim_messages: list[tuple[int, int]] = []
        admin_previews: list[tuple[int, int]] = []
        for n in range(TG_TARGET_GROUPS):
            for chat, into in (
                (TG_TARGET_GROUP_BASE - n, victim_messages),
                (TG_TARGET_GROUP_BASE - 100 - n, admin_previews),
            ):
                message = self.chats[chat].last_bot_message
                if message is None:
                    raise RuntimeError(f"set-up: nothing sent to {chat}: {api.describe_calls()}")
                into.append((chat, message))
        db = self.workdir / "bot.db"
        with contextlib.closing(sqlite3.connect(db)) as conn:
            reminders = [
                r[0]
                for r in conn.execute("SELECT id FROM reminders WHERE user_id = ?", (TG_VICTIM,))
            ]
            broadcasts = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM broadcasts WHERE admin_id = ?", (TG_VICTIM_ADMIN,)
                )
            ]
        if not reminders or not broadcasts:
            raise RuntimeError(
                f"set-up failed: reminders={reminders} broadcasts={broadcasts}\n"
                + self.bot.log_tail()
            )
        self.targets = Targets(
            tuple(reminders), tuple(broadcasts), tuple(victim_messages), tuple(admin_previews)
        )
        return self.targets

    def victim(self) -> Victim:
        """The Telegram victim and the admin whose drafts others try to confirm."""
        return Victim("telegram", (TG_VICTIM,), (TG_VICTIM_ADMIN,))

    async def run(
        self, cases: Sequence[Case], forged: Sequence[Case], *, concurrency: int = 400
    ) -> None:
        """Generic cases (all at once, bounded), then the forged ones; check everything."""
        report = self.report
        victim = self.victim()
        db = self.workdir / "bot.db"
        baseline = snapshot(db, victim)
        gate = asyncio.Semaphore(concurrency)

        async def one(case: Case) -> None:
            async with gate:
                await self.run_case(case, wait=30)

        await asyncio.gather(*(one(c) for c in cases))
        await self.quiesce()
        after_generic = snapshot(db, victim)
        changed = diff(baseline, after_generic)
        if changed:
            report.fail(
                "forged_state_change",
                None,
                "the victim's rows changed during the generic cases (no case named them):\n"
                + changed,
            )
        await asyncio.gather(*(one(c) for c in forged))
        await self.quiesce(quiet=3.5)  # group edits keep a 3.1 s gap
        after = snapshot(db, victim)
        changed = diff(after_generic, after)
        if changed:
            suspects = [c for c in forged if _touches(c, changed)]
            detail = "victim rows changed by forged actions:\n" + changed
            if not suspects:
                report.fail("forged_state_change", None, detail)
            for case in suspects:
                report.fail("forged_state_change", case, detail)
        for case, chat, message_id, before in self.forged_taps:
            calls = [
                c
                for c in self.api.calls
                if c.method in self.EDITS
                and c.chat_id == chat
                and str(c.params.get("message_id")) == str(message_id)
            ]
            if len(calls) > before:
                new = calls[before]
                victims = dict(self.targets.victim_messages)
                owner = "victim /remind step" if chat in victims else "admin broadcast preview"
                report.fail(
                    "forged_edit",
                    case,
                    f"a non-owner's tap replaced message {message_id} in group {chat} "
                    f"(owner: {owner}): "
                    f"{new.method} text={str(new.params.get('text', ''))[:160]!r}",
                )

    async def probe(self) -> None:
        """A fresh user's /start is still answered."""
        before = self.chats[TG_PROBE].responses
        self.owner[TG_PROBE] = None
        self.api.push_command("/start", TG_PROBE)
        if not await self._await_response(TG_PROBE, before, 60):
            self.report.fail(
                "no_answer",
                None,
                "a fresh /start got no answer within 60 s\n" + self.bot.log_tail(),
            )

    def check_calls(self) -> None:
        """Every request the bot made: within Telegram's limits and accepted."""
        from tests.standin import BotAPIError, html_to_plain

        report = self.report
        seen: Counter[tuple[str, str]] = Counter()
        for call in self.api.calls:
            if call.method == "getUpdates":
                continue
            chat = call.chat_id if isinstance(call.chat_id, int) else None
            query = str(call.params.get("callback_query_id", ""))
            case = self.query_case.get(query) if call.method == "answerCallbackQuery" else None
            if case is None and chat is not None:
                case = self.owner.get(chat)
            problems: list[tuple[str, str]] = []
            if call.method in ("sendMessage", "editMessageText"):
                text = str(call.params.get("text", ""))
                try:
                    plain = html_to_plain(text) if call.params.get("parse_mode") == "HTML" else text
                except BotAPIError as exc:
                    problems.append(("bad_markup", f"{exc.description}: {text[:200]!r}"))
                    plain = text
                if utf16_units(plain) > 4096:
                    problems.append(
                        (
                            "too_long",
                            f"{call.method} text of {utf16_units(plain)} UTF-16 units (limit 4096)",
                        )
                    )
                if not plain.strip():
                    problems.append(("empty_text", f"{call.method} with empty text"))
            if call.method == "sendDocument":
                caption = str(call.params.get("caption") or "")
                with contextlib.suppress(BotAPIError):
                    caption = html_to_plain(caption)
                if utf16_units(caption) > 1024:
                    problems.append(
                        ("too_long", f"caption of {utf16_units(caption)} units (limit 1024)")
                    )
            if call.method == "answerCallbackQuery":
                text = str(call.params.get("text") or "")
                if utf16_units(text) > 200:
                    problems.append(
                        ("too_long", f"callback answer of {utf16_units(text)} units (limit 200)")
                    )
            markup = call.params.get("reply_markup")
            if isinstance(markup, dict):
                for row in markup.get("inline_keyboard", []):
                    for button in row:
                        data = button.get("callback_data")
                        if data is not None and not 1 <= len(str(data).encode()) <= 64:
                            problems.append(
                                (
                                    "callback_data",
                                    f"button {button.get('text')!r}: "
                                    f"data of {len(str(data).encode())} bytes",
                                )
                            )
            if call.status not in (0, 200):
                description = (
                    str((call.response or {}).get("description", ""))
                    if isinstance(call.response, dict)
                    else ""
                )
                benign = call.method.startswith("editMessage") and "not modified" in description
                if not benign:
                    problems.append(
                        ("api_error", f"{call.method} answered {call.status}: {description}")
                    )
            if (
                call.method == "sendMessage"
                and self.vocab.apology
                and self.vocab.apology[:12] in str(call.params.get("text", ""))
            ):
                problems.append(
                    ("exception", "the bot sent its error apology (an exception in a handler)")
                )
            for kind, detail in problems:
                key = (kind, case.key if case else f"chat {chat}")
                seen[key] += 1
                if seen[key] == 1:
                    group = "" if kind == "exception" else re.sub(r"\d+", "N", detail)[:70]
                    report.fail(kind, case, detail, group=group)

    def check_log(self) -> None:
        """Tracebacks the process printed, grouped by where they were raised."""
        log = self.bot.log()
        groups: dict[tuple[str, str], list[str]] = defaultdict(list)
        for where, excerpt in tracebacks_in_log(log):
            last = excerpt.strip().splitlines()[-1] if excerpt.strip() else ""
            groups[(where, last)].append(excerpt)
        for (where, _), excerpts in groups.items():
            self.report.fail(
                "traceback",
                None,
                f"{len(excerpts)} traceback(s) in the bot's log, e.g.\n{excerpts[0]}",
                where,
            )


def _touches(case: Case, changed: str) -> bool:
    """Whether a forged case aimed at a row the diff shows changed."""
    tables = {line.split(":", 1)[0] for line in changed.splitlines()}
    data = " ".join(step.data for step in case.steps)
    if tables & {"reminders", "alerts"} and data.startswith("r:"):
        return True
    if tables & {"broadcasts", "deliveries"} and ("b:" in data or "broadcast" in data):
        return True
    return bool(tables & {"chats", "wechat_users"})


async def replay_telegram(case: Case, workdir: Path) -> list[tuple[str, str]]:
    """Run one case through the real Telegram Application in-process (no pacing waits
    between chats) and return the exceptions its error handler logged: pairs a case with
    the traceback the bot process printed for it."""
    from tests.standin import make_user
    from tests.telegram_harness import ADMIN as HARNESS_ADMIN
    from tests.telegram_harness import harness

    content = copy_content(workdir)
    driver = TelegramDriver(workdir, vocabulary(content), ChannelReport("telegram"))
    driver.admin = HARNESS_ADMIN
    with capture_logs() as logs:
        async with harness(content) as h:
            driver.api = h.api
            h.api.set_handler(
                "getChatMember",
                lambda p: {"status": "member", "user": make_user(int(p.get("user_id", 1)))},
            )
            for step in case.steps:
                user, chat, chat_type = driver._chat_of(case, step, case.index)
                if step.chat in ("victim_group", "admin_group"):
                    continue
                driver._scan()
                driver.push(case, step, user, chat, chat_type)
                update = h.api.updates.pop()
                await h.feed(update)
                driver._scan()
        return logs.take()


# --------------------------------------------------------------------------- WeChat


class WeChatDriver:
    """Runs cases through the callback's aiohttp application in-process, signed like WeChat."""

    def __init__(self, workdir: Path, vocab: Vocabulary, report: ChannelReport) -> None:
        self.workdir = workdir
        self.vocab = vocab
        self.report = report
        self.db_path = workdir / "wechat.db"
        self.client: Any = None
        self.crypto: Any = None
        self._nonce = 0
        self.logs: LogCapture | None = None
        self.victim_id = 0  # the victim's user id (known after the set-up)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[WeChatDriver]:
        """The bot assembled as ``python -m bot wechat`` assembles it, served in-process."""
        from aiohttp.test_utils import TestClient, TestServer
        from pydantic import SecretStr
        from wechatpy.crypto import WeChatCrypto

        from bot.app import assemble
        from bot.channels import CHANNELS
        from bot.channels.wechat.adapter import WeChatAdapter
        from bot.channels.wechat.config import WeChatSettings
        from bot.channels.wechat.http import CallbackServer
        from bot.channels.wechat.runtime import NoPush, reminder_note
        from bot.config import Settings
        from bot.content import ContentStore
        from bot.storage import Database, WeChatUserRepo

        content = copy_content(self.workdir)
        settings = Settings(content_dir=content, db=self.db_path)
        wechat = WeChatSettings(
            token=SecretStr(WX_TOKEN),
            aes_key=SecretStr(WX_AES_KEY),
            app_id=WX_APP_ID,
            subscribe_template_id=WX_TEMPLATE,
            subscribe_redirect_url="https://bot.example.invalid/wechat/subscribed",
        )
        store = ContentStore.open(content, CHANNELS)
        db = await Database.open(settings.db)
        users = WeChatUserRepo(db)
        app = await assemble(
            settings,
            store,
            {"wechat": NoPush()},
            broadcasts=False,
            reminder_notes={"wechat": reminder_note(wechat, store)},
            db=db,
        )
        server = CallbackServer(wechat, WeChatAdapter(app, users), users, store)
        self.crypto = WeChatCrypto(WX_TOKEN, WX_AES_KEY, WX_APP_ID)
        # Thousands of refusals (bad signatures, stale timestamps) are expected here: keep
        # their warnings out of the output; exceptions are collected by capture_logs.
        http_log = logging.getLogger(CallbackServer.__module__)
        level = http_log.level
        http_log.setLevel(logging.ERROR)
        with contextlib.ExitStack() as restore, capture_logs() as logs:
            restore.callback(http_log.setLevel, level)
            self.logs = logs
            async with TestClient(TestServer(server.app())) as client:
                self.client = client
                try:
                    yield self
                finally:
                    await app.close()

    def query(self, auth: str) -> dict[str, str]:
        """Signature, timestamp and a fresh nonce (or a forged variant)."""
        self._nonce += 1
        now = int(time.time())
        stamp = {"stale": now - 3600 * 24 * 30, "future": now + 3600 * 24}.get(auth, now)
        timestamp, nonce = str(stamp), f"{self._nonce}{now % 100000:05d}"
        query = {
            "signature": signature(WX_TOKEN, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
        }
        if auth == "bad":
            query["signature"] = hashlib.sha1(nonce.encode()).hexdigest()
        if auth == "missing":
            query = {}
        return query

    async def step(self, case: Case | None, step: Step) -> tuple[int, str]:
        """Send one step; check the answer; return (status, reply content)."""
        client = self.client
        started = time.monotonic()
        content = ""
        if step.kind == "verify":
            params = {**self.query(step.auth), "echostr": step.data}
            async with client.get("/wechat", params=params) as response:
                status, _ = response.status, await response.read()
        elif step.kind == "subscribed":
            async with client.get("/wechat/subscribed?" + step.data) as response:
                status, _ = response.status, await response.read()
        else:
            params = self.query(step.auth)
            body: bytes = step.raw if step.raw is not None else step.data.encode()
            if step.aes != "no" and params:
                body, extra = self._encrypt(body, params, garbage=step.aes == "garbage")
                params.update(extra)
            async with client.post("/wechat", params=params, data=body) as response:
                status, text = response.status, await response.text(errors="replace")
            if status == 200 and text.strip() not in ("", "success"):
                content = self._check_reply(case, step, text, params)
        elapsed = time.monotonic() - started
        logged = self.logs.take() if self.logs else []
        for where, excerpt in logged:
            self.report.fail("exception", case, excerpt, where)
        if status >= 500 and not logged:
            self.report.fail("http_5xx", case, f"HTTP {status} for {step.brief()}")
        if elapsed > 5.0:
            self.report.fail("slow_reply", case, f"{elapsed:.1f} s (WeChat gives up after 5 s)")
        return status, content

    def _encrypt(
        self, body: bytes, params: dict[str, str], *, garbage: bool
    ) -> tuple[bytes, dict[str, str]]:
        if garbage:
            blob = hashlib.sha256(body).hexdigest() * 3
            encrypted = (
                "<xml><ToUserName><![CDATA[gh]]></ToUserName>"
                f"<Encrypt><![CDATA[{blob}]]></Encrypt></xml>"
            )
            msg_signature = signature(WX_TOKEN, params["timestamp"], params["nonce"], blob)
            return encrypted.encode(), {"encrypt_type": "aes", "msg_signature": msg_signature}
        encrypted = self.crypto.encrypt_message(
            body.decode("utf-8", "replace"), params["nonce"], params["timestamp"]
        )
        found = re.search(r"<MsgSignature><!\[CDATA\[(.*?)\]\]>", encrypted)
        assert found is not None
        return encrypted.encode(), {"encrypt_type": "aes", "msg_signature": found.group(1)}

    def _check_reply(self, case: Case | None, step: Step, text: str, params: dict[str, str]) -> str:
        from bot.channels.wechat.capabilities import WECHAT

        try:
            if step.aes == "ok":
                root = ET.fromstring(text)
                plain = self.crypto.decrypt_message(
                    text,
                    root.findtext("MsgSignature") or "",
                    root.findtext("TimeStamp") or "",
                    root.findtext("Nonce") or "",
                )
                text = plain if isinstance(plain, str) else plain.decode()
            root = ET.fromstring(text)
        except Exception as exc:  # the reply itself is not what WeChat can read
            self.report.fail(
                "bad_reply", case, f"unreadable reply ({type(exc).__name__}: {exc}): {text[:300]!r}"
            )
            return ""
        content = root.findtext("Content") or ""
        size = len(content.encode())
        if size > WECHAT.text_limit:
            limit = (
                "over WeChat's 2048" if size > 2048 else f"over the bot's own {WECHAT.text_limit}"
            )
            self.report.fail("too_long", case, f"text reply of {size} bytes ({limit})")
        to = root.findtext("ToUserName")
        # XML turns "\r\n" and "\r" into "\n" even in CDATA (XML 1.0, 2.11): the bot
        # received, and answers, the openid in that form.
        sent = step.openid.replace("\r\n", "\n").replace("\r", "\n") if step.openid else ""
        if sent and 0 < len(sent) <= 64 and sent.strip() == sent and to != sent:
            self.report.fail(
                "wrong_recipient",
                case,
                f"reply addressed to {(to or '')[:60]!r}, the request came from "
                f"{step.openid!r}: {content[:120]!r}",
                group="the answer of another follower's message (retry key without the sender?)",
            )
        return content

    async def setup(self) -> None:
        """The victim follows, subscribes and sets a reminder through the real flow."""
        rng = random.Random(0)
        for text in ("/remind", "1", f"{date.today().year + 1}年3月1日上午9点", "1"):
            xml = wx_text(rng, WX_VICTIM, text, clean=True)
            await self.step(None, Step("post", xml, openid=WX_VICTIM))
        xml = wx_event(rng, WX_VICTIM, "", event="subscribe", clean=True)
        await self.step(None, Step("post", xml, openid=WX_VICTIM))
        with contextlib.closing(sqlite3.connect(self.db_path)) as conn:
            row = conn.execute(
                "SELECT id FROM wechat_users WHERE openid = ?", (WX_VICTIM,)
            ).fetchone()
            self.victim_id = int(row[0])
            count = conn.execute(
                "SELECT count(*) FROM reminders WHERE user_id = ?", (self.victim_id,)
            ).fetchone()[0]
        if not count:
            raise RuntimeError("set-up: the WeChat victim's reminder was not stored")

    def victim(self) -> Victim:
        """The WeChat follower whose rows forged requests aim at."""
        return Victim("wechat", (self.victim_id,), (), (WX_VICTIM,))

    async def run(self, cases: Sequence[Case], forged: Sequence[Case]) -> None:
        """Generic cases in order, then forged ones with a snapshot after each."""
        victim = self.victim()
        baseline = snapshot(self.db_path, victim)
        for case in cases:
            for step in case.steps:
                self.report.steps += 1
                await self.step(case, step)
        after = snapshot(self.db_path, victim)
        changed = diff(baseline, after)
        if changed:
            self.report.fail(
                "forged_state_change", None, "victim rows changed during generic cases:\n" + changed
            )
        for case in forged:
            before = snapshot(self.db_path, victim)
            statuses = []
            for step in case.steps:
                self.report.steps += 1
                status, _ = await self.step(case, step)
                statuses.append(status)
            changed = diff(before, snapshot(self.db_path, victim))
            if changed:
                self.report.fail(
                    "forged_state_change",
                    case,
                    f"HTTP {statuses}; the victim's rows changed:\n{changed}",
                )

    async def probe(self) -> None:
        """A fresh follower typing 菜单 still gets the menu."""
        rng = random.Random(1)
        word = self.vocab.menu_words[0] if self.vocab.menu_words else "菜单"
        xml = wx_text(rng, WX_PROBE, word, clean=True)
        status, content = await self.step(None, Step("post", xml, openid=WX_PROBE))
        if status != 200 or not content.strip():
            self.report.fail(
                "no_answer",
                None,
                f"菜单 from a fresh follower: HTTP {status}, reply {content[:200]!r}",
            )


# --------------------------------------------------------------------------- console


class ConsoleDriver:
    """Runs cases through the console session's line handler, in-process."""

    def __init__(self, workdir: Path, vocab: Vocabulary, report: ChannelReport) -> None:
        self.workdir = workdir
        self.vocab = vocab
        self.report = report
        self.db_path = workdir / "console.db"
        self.out = io.StringIO()
        self.app: Any = None
        self.choices: list[Any] = []
        self.due_text = "控制台不该发出的提醒"
        self.due_at = 0.0  # when the other user's reminder comes due (monotonic)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[ConsoleDriver]:
        """The bot assembled as ``python -m bot console`` assembles it, workers running."""
        from bot.app import assemble, running
        from bot.channels import CHANNELS
        from bot.channels.console.capabilities import CONSOLE
        from bot.channels.console.session import ConsoleSender
        from bot.config import Settings
        from bot.content import ContentStore

        content = copy_content(self.workdir)
        settings = Settings(content_dir=content, db=self.db_path)
        store = ContentStore.open(content, CHANNELS)
        app = await assemble(
            settings, store, {CONSOLE.name: ConsoleSender(self.out)}, broadcasts=False
        )
        self.app = app
        async with running(app):
            yield self

    async def setup(self) -> None:
        """Another channel's user shares the database: a reminder far ahead, one due in two
        seconds, a subscription; an admin's broadcast draft. Made through the real core."""
        from bot.core.router import Who

        conversation = self.app.conversation
        victim = Who("telegram", CONSOLE_VICTIM, CONSOLE_VICTIM, chat_type="private")
        admin = Who("telegram", TG_VICTIM_ADMIN, TG_VICTIM_ADMIN, is_admin=True)
        year = date.today().year + 1
        await conversation.command("remind", victim, f"{year}-03-01 09:00 交学历证明")
        await conversation.command("remind", victim, f"2秒后 {self.due_text}")
        await conversation.command("subscribe", victim)
        await conversation.command("broadcast", admin, "考试通知（草稿）")
        self.due_at = time.monotonic() + 2.0
        with contextlib.closing(sqlite3.connect(self.db_path)) as conn:
            count = conn.execute(
                "SELECT count(*) FROM reminders WHERE user_id = ?", (CONSOLE_VICTIM,)
            ).fetchone()[0]
        if count < 2:
            raise RuntimeError("set-up: the victim's reminders were not stored")
        start = await conversation.command("start", self._who())
        if start is not None:
            self.choices = [b for row in start.last_buttons for b in row]

    @staticmethod
    def _who() -> Any:
        from bot.channels.console.session import CONSOLE_USER

        return CONSOLE_USER

    def victim(self) -> Victim:
        """The Telegram user and admin whose rows share the console's database."""
        return Victim("telegram", (CONSOLE_VICTIM,), (TG_VICTIM_ADMIN,))

    async def line(self, case: Case | None, text: str) -> None:
        """One typed line, as the session loop handles it; check the reply."""
        from bot.channels.console.capabilities import CONSOLE
        from bot.channels.console.session import answer_line, render

        try:
            reply = await answer_line(self.app.conversation, text, self.choices)
        except Exception as exc:
            where, excerpt = exception_summary(exc)
            self.report.fail("exception", case, excerpt, where)
            return
        if reply is None:
            return
        try:
            _, new_choices = render(reply)
        except Exception as exc:
            where, excerpt = exception_summary(exc)
            self.report.fail("exception", case, "render: " + excerpt, where)
            return
        if new_choices:
            self.choices = new_choices
        for message in reply.messages:
            size = CONSOLE.measure(message.text.plain_text)
            if size > CONSOLE.text_limit:
                self.report.fail(
                    "too_long",
                    case,
                    f"message of {size} {CONSOLE.unit} (limit {CONSOLE.text_limit})",
                )

    async def run(self, cases: Sequence[Case], forged: Sequence[Case]) -> None:
        """Generic cases, then forged ones with a snapshot after each; then whether the
        victim's due reminder was served here."""
        victim = self.victim()
        baseline = snapshot(self.db_path, victim)
        for case in cases:
            for step in case.steps:
                self.report.steps += 1
                await self.line(case, step.data)
        await asyncio.sleep(max(0.0, self.due_at + 1.5 - time.monotonic()))
        for case in forged:
            before = snapshot(self.db_path, victim)
            for step in case.steps:
                self.report.steps += 1
                await self.line(case, step.data)
            changed = diff(before, snapshot(self.db_path, victim))
            if changed:
                self.report.fail(
                    "forged_state_change", case, "the other user's rows changed:\n" + changed
                )
        changed = diff(baseline, snapshot(self.db_path, victim))
        if self.due_text in self.out.getvalue():
            self.report.fail(
                "served_other_user",
                None,
                "the console printed a Telegram user's due reminder (and so marked it sent)",
            )
        elif changed:
            self.report.fail(
                "forged_state_change",
                None,
                "the other user's rows changed during the run:\n" + changed,
            )

    async def probe(self) -> None:
        """/start still answers."""
        from bot.channels.console.session import answer_line

        try:
            reply = await answer_line(self.app.conversation, "/start", [])
        except Exception as exc:
            where, excerpt = exception_summary(exc)
            self.report.fail("no_answer", None, excerpt, where)
            return
        if reply is None or not reply.messages:
            self.report.fail("no_answer", None, "/start gave no reply")


# --------------------------------------------------------------------------- running


@dataclass(frozen=True)
class Plan:
    """How many cases of each kind per channel, and which single case to run (if any)."""

    seed: int
    counts: dict[str, int]  # channel -> generic cases
    forged: dict[str, int]  # channel -> forged cases
    only: tuple[str, bool, int] | None = None  # (channel, forged, index)


def parse_only(text: str) -> tuple[str, bool, int]:
    """``wechat:123`` or ``wechat:f12`` -> ("wechat", False, 123) / ("wechat", True, 12)."""
    channel, _, rest = text.partition(":")
    if channel not in CHANNEL_NAMES or not rest:
        raise ValueError(f"expected CHANNEL:INDEX or CHANNEL:fINDEX, got {text!r}")
    forged = rest.startswith("f")
    return channel, forged, int(rest.removeprefix("f"))


def _select(gen: CaseGenerator, plan: Plan, channel: str) -> tuple[list[Case], list[Case]]:
    if plan.only is not None:
        only_channel, forged, index = plan.only
        if only_channel != channel:
            return [], []
        case = gen.case(channel, index, forged=forged)
        return ([], [case]) if forged else ([case], [])
    return gen.cases(channel, plan.counts.get(channel, 0)), gen.cases(
        channel, plan.forged.get(channel, 0), forged=True
    )


async def run_channel(
    channel: str, plan: Plan, workdir: Path, *, replays: int = 3
) -> ChannelReport:
    """Set up the victim, run the planned cases through ``channel``, check, probe."""
    report = ChannelReport(channel)
    await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
    vocab = vocabulary()
    started = time.monotonic()
    if channel == "telegram":
        tg = TelegramDriver(workdir, vocab, report)
        async with tg.running():
            targets = await tg.setup()
            cases, forged = _select(CaseGenerator(plan.seed, vocab, targets), plan, channel)
            report.cases, report.forged = len(cases), len(forged)
            await tg.run(cases, forged)
            await tg.probe()
            await tg.quiesce()
        tg.check_calls()
        tg.check_log()
        if replays:
            await pair_tracebacks(report, workdir, replays)
    elif channel == "wechat":
        wx = WeChatDriver(workdir, vocab, report)
        async with wx.running():
            await wx.setup()
            cases, forged = _select(CaseGenerator(plan.seed, vocab), plan, channel)
            report.cases, report.forged = len(cases), len(forged)
            await wx.run(cases, forged)
            await wx.probe()
    elif channel == "console":
        console = ConsoleDriver(workdir, vocab, report)
        async with console.running():
            await console.setup()
            cases, forged = _select(CaseGenerator(plan.seed, vocab), plan, channel)
            report.cases, report.forged = len(cases), len(forged)
            await console.run(cases, forged)
            await console.probe()
    else:
        raise ValueError(f"unknown channel {channel!r}")
    report.seconds = time.monotonic() - started
    return report


async def run_all(
    plan: Plan, workdir: Path, channels: Sequence[str] = CHANNEL_NAMES, *, replays: int = 3
) -> list[ChannelReport]:
    """Every channel of ``channels``: Telegram (mostly waiting for its flood budget) beside
    WeChat then the console (both in this process, one after the other so that a logged
    exception belongs to the channel running); then the Telegram replays."""

    async def in_process() -> list[ChannelReport]:
        return [
            await run_channel(channel, plan, workdir / channel)
            for channel in ("wechat", "console")
            if channel in channels
        ]

    jobs: list[Any] = [in_process()]
    if "telegram" in channels:
        jobs.append(run_channel("telegram", plan, workdir / "telegram", replays=0))
    results = await asyncio.gather(*jobs)
    reports: list[ChannelReport] = [*results[1:], *results[0]]
    for report in reports:
        if report.channel == "telegram" and replays:
            await pair_tracebacks(report, workdir / "telegram", replays)
    order = {name: n for n, name in enumerate(CHANNEL_NAMES)}
    return sorted(reports, key=lambda r: order[r.channel])


async def pair_tracebacks(report: ChannelReport, workdir: Path, replays: int) -> None:
    """Replay a few cases that got the apology in-process to name the line that raised."""
    apologised = [f for f in report.failures if f.kind == "exception" and f.case is not None]
    done: set[str] = set()
    for failure in apologised[:replays]:
        assert failure.case is not None
        if failure.case.key in done:
            continue
        done.add(failure.case.key)
        replay_dir = workdir / f"replay-{len(done)}"
        replay_dir.mkdir(exist_ok=True)
        try:
            found = await replay_telegram(failure.case, replay_dir)
        except Exception as exc:  # the replay is a diagnosis aid; never fail because of it
            failure.detail += f"\n(in-process replay failed: {type(exc).__name__}: {exc})"
            continue
        if found:
            failure.where, excerpt = found[0]
            failure.detail += "\nin-process replay raised:\n" + excerpt
        else:
            failure.detail += "\n(in-process replay raised nothing: timing or state dependent)"


def summarize(reports: Sequence[ChannelReport], *, per_kind: int = 3) -> str:
    """Cases run per channel and failures grouped by kind, each with a reproducing case."""
    lines = []
    for report in reports:
        lines.append(
            f"{report.channel}: {report.cases} cases + {report.forged} forged "
            f"({report.steps} inputs) in {report.seconds:.1f} s, {len(report.failures)} failure(s)"
        )
    failures = [f for r in reports for f in r.failures]
    groups: dict[tuple[str, str, str], list[Failure]] = defaultdict(list)
    for failure in failures:
        first = failure.detail.strip().splitlines()[0][:100] if failure.detail.strip() else ""
        label = failure.case.label if failure.case is not None else ""
        signature_line = failure.where or failure.group or label or first
        groups[(failure.channel, failure.kind, signature_line)].append(failure)
    for (channel, kind, where), items in sorted(
        groups.items(), key=lambda kv: (kv[0][1], kv[0][0])
    ):
        lines.append("")
        lines.append(f"== {kind} on {channel}: {len(items)} case(s); {where}")
        for failure in items[:per_kind]:
            lines.append(failure.describe())
        if len(items) > per_kind:
            keys = ", ".join(f.case.key for f in items[per_kind : per_kind + 20] if f.case)
            lines.append(f"   … and {len(items) - per_kind} more: {keys}")
    return "\n".join(lines)
