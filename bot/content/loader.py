"""Load content/*.yaml into one immutable :class:`Content`, or report every problem found.

Problems are collected, not raised one at a time, so ``check-content`` can list them all as
``file:line: reason``. Nothing outside this package reads content files.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from bot.commands import BUILTIN_COMMANDS
from bot.content.models import FaqFile, GuideFile, HolidaysFile, SettingsFile, UiFile
from bot.content.source import PathKey, Problem, SourceFile, format_path, read_yaml
from bot.faq.normalize import normalize
from bot.reminders.workdays import YearArrangement, arrangement
from bot.replies import topic_action
from bot.textfmt import TELEGRAM_TEXT_LIMIT, check_html, utf16_len, visible_text

GUIDE_FILE = "guide.yaml"
UI_FILE = "ui.yaml"
SETTINGS_FILE = "settings.yaml"
FAQ_FILE = "faq.yaml"
HOLIDAYS_FILE = "holidays.yaml"
MIN_KEYWORD_CHARS = 2  # after normalisation; one character overlaps with everything

# Topic ids other tools rely on (DESIGN.md): every one must exist in guide.yaml.
REQUIRED_TOPICS = (
    "authority",
    "prepare",
    "steps",
    "links",
    "problems",
    "site_slow",
    "lost_ticket",
    "no_result",
    "after",
    "review",
    "pass_line",
    "audit",
    "certificate",
    "tracking",
)
# Filled when a reminder text is used (ui.yaml, section reminders).
REMINDER_PLACEHOLDERS = frozenset(
    {
        "what",
        "due",
        "alerts",
        "limit",
        "n",
        "at",
        "left",
        "release",
        "deadline",
        "workdays",
        "years",
        "reason",
    }
)
# Filled when a subscription or statistics text is used (ui.yaml, section audience).
AUDIENCE_PLACEHOLDERS = frozenset({"users", "subscribers", "groups", "channels", "questions"})
BROADCAST_PLACEHOLDERS = frozenset(
    {
        "id",
        "n",
        "audience",
        "at",
        "sent",
        "failed",
        "blocked",
        "left",
        "rate",
        "eta",
        "text",
        "status",
        "reason",
    }
)
# Runtime placeholders allowed in the other ui.yaml sections, one set per section.
SECTION_PLACEHOLDERS = {
    "reminders": REMINDER_PLACEHOLDERS,
    "audience": AUDIENCE_PLACEHOLDERS,
    "broadcast": BROADCAST_PLACEHOLDERS,
    "wechat": frozenset({"link"}),
}
# Placeholders filled when the text is used, not from settings.yaml.
RUNTIME_PLACEHOLDERS = {
    "reload_ok": {"topics"},
    "reload_failed": {"errors"},
    "console_bad_choice": {"max"},
}
TOPIC_ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")  # Telegram's rule for command names
PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")
CALLBACK_DATA_LIMIT = 64
MAX_TOPICS = 100 - len(BUILTIN_COMMANDS)  # setMyCommands takes at most 100 commands


class ContentError(Exception):
    """Content failed validation; ``problems`` says where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s) in content")
        self.problems = problems


@dataclass(frozen=True)
class Topic:
    """A guide topic ready to show: placeholders filled."""

    id: str
    button: str
    description: str
    messages: tuple[str, ...]
    related: tuple[str, ...]
    keywords: Mapping[str, float]


@dataclass(frozen=True)
class Content:
    """Everything user-facing, validated. Replaced as a whole on /reload, never mutated."""

    topics: Mapping[str, Topic]
    menu: tuple[tuple[str, ...], ...]
    ui: UiFile
    settings: SettingsFile
    faq: FaqFile
    holidays: Mapping[int, YearArrangement]


M = TypeVar("M", bound=BaseModel)


def _validate(model: type[M], src: SourceFile, problems: list[Problem]) -> M | None:
    try:
        return model.model_validate(src.data)
    except ValidationError as exc:
        for err in exc.errors():
            loc: PathKey = tuple(err["loc"])
            where = format_path(loc) or "top level"
            problems.append(src.problem(loc, f"{where}: {err['msg']}"))
        return None


def _placeholder_values(settings: SettingsFile) -> dict[str, str]:
    values = {key: str(value) for key, value in settings.values.items()}
    values["review_min_workdays"] = str(settings.review_window_workdays.min)
    values["review_max_workdays"] = str(settings.review_window_workdays.max)
    return values


def _fill(
    text: str,
    values: Mapping[str, str],
    src: SourceFile,
    path: PathKey,
    problems: list[Problem],
    runtime: frozenset[str] | set[str] = frozenset(),
) -> str:
    """Replace {name} from settings; report unknown names; leave runtime names in place."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in values:
            return values[name]
        if name not in runtime:
            known = ", ".join(sorted(values)) or "none"
            problems.append(
                src.problem(
                    path, f"{format_path(path)}: unknown placeholder {{{name}}} (known: {known})"
                )
            )
        return match.group(0)

    filled = PLACEHOLDER_RE.sub(replace, text)
    for reason in check_html(filled):
        problems.append(src.problem(path, f"{format_path(path)}: {reason}"))
    length = utf16_len(visible_text(filled))
    if length > TELEGRAM_TEXT_LIMIT:
        problems.append(
            src.problem(
                path,
                f"{format_path(path)}: message is {length} characters, "
                f"Telegram allows {TELEGRAM_TEXT_LIMIT}",
            )
        )
    return filled


def _check_topics(guide: GuideFile, src: SourceFile, problems: list[Problem]) -> None:
    ids = guide.topics
    for topic_id in ids:
        path: PathKey = ("topics", topic_id)
        if not TOPIC_ID_RE.match(topic_id):
            problems.append(
                src.problem(
                    path,
                    f"topic id {topic_id!r} must be 1-32 characters "
                    "of a-z, 0-9 and _, starting with a letter",
                )
            )
        elif topic_id in BUILTIN_COMMANDS:
            problems.append(src.problem(path, f"topic id {topic_id!r} is a built-in command"))
        if len(topic_action(topic_id).encode()) > CALLBACK_DATA_LIMIT:
            problems.append(src.problem(path, "topic id too long for Telegram callback data"))
    if len(ids) > MAX_TOPICS:
        problems.append(
            src.problem(
                ("topics",),
                f"{len(ids)} topics; Telegram's command menu "
                f"holds {MAX_TOPICS} besides the built-in commands",
            )
        )
    for topic_id in REQUIRED_TOPICS:
        if topic_id not in ids:
            problems.append(src.problem(("topics",), f"required topic {topic_id!r} is missing"))
    for topic_id, topic in ids.items():
        for index, ref in enumerate(topic.related):
            path = ("topics", topic_id, "related", index)
            if ref not in ids:
                problems.append(src.problem(path, f"related topic {ref!r} does not exist"))
            elif ref == topic_id:
                problems.append(src.problem(path, f"topic {topic_id!r} lists itself as related"))
    reachable: set[str] = set()
    for row_no, row in enumerate(guide.menu):
        if not row:
            problems.append(src.problem(("menu", row_no), "menu row is empty"))
        for col, ref in enumerate(row):
            if ref not in ids:
                problems.append(
                    src.problem(("menu", row_no, col), f"menu topic {ref!r} does not exist")
                )
            reachable.add(ref)
    frontier = list(reachable)
    while frontier:
        reached = ids.get(frontier.pop())
        for ref in reached.related if reached else ():
            if ref not in reachable:
                reachable.add(ref)
                frontier.append(ref)
    for topic_id in ids:
        if topic_id not in reachable:
            reason = f"topic {topic_id!r} cannot be reached by buttons from the menu"
            problems.append(
                src.problem(("topics", topic_id), f"{reason} (add it to menu or related)")
            )


def _check_phrases(
    phrases: list[str], src: SourceFile, path: PathKey, problems: list[Problem]
) -> None:
    """Each matching phrase must keep 2+ characters after normalisation and be unique."""
    seen: dict[str, str] = {}
    for index, phrase in enumerate(phrases):
        norm = normalize(phrase)
        where = (*path, phrase) if path[-1] == "keywords" else (*path, index)
        if len(norm) < MIN_KEYWORD_CHARS:
            problems.append(
                src.problem(
                    where,
                    f"{format_path(path)}: {phrase!r} is too short "
                    "to match on (needs 2+ letters or characters)",
                )
            )
        elif norm in seen:
            problems.append(
                src.problem(
                    where,
                    f"{format_path(path)}: {phrase!r} is the same "
                    f"as {seen[norm]!r} after normalisation",
                )
            )
        else:
            seen[norm] = phrase


def _check_faq(
    guide: GuideFile,
    guide_src: SourceFile,
    faq: FaqFile,
    faq_src: SourceFile,
    problems: list[Problem],
) -> None:
    for topic_id, topic in guide.topics.items():
        _check_phrases(list(topic.keywords), guide_src, ("topics", topic_id, "keywords"), problems)
    for key in ("in_scope", "out_of_scope"):
        _check_phrases(getattr(faq, key), faq_src, (key,), problems)
    for kind, words in faq.greetings.items():
        _check_phrases(words, faq_src, ("greetings", kind), problems)


def _build(
    guide: GuideFile,
    guide_src: SourceFile,
    ui: UiFile,
    ui_src: SourceFile,
    settings: SettingsFile,
    faq: FaqFile,
    problems: list[Problem],
) -> Content:
    values = _placeholder_values(settings)
    topics: dict[str, Topic] = {}
    for topic_id, raw in guide.topics.items():
        base: PathKey = ("topics", topic_id)
        topics[topic_id] = Topic(
            id=topic_id,
            button=_fill(raw.button, values, guide_src, (*base, "button"), problems),
            description=_fill(raw.description, values, guide_src, (*base, "description"), problems),
            messages=tuple(
                _fill(text, values, guide_src, (*base, "messages", i), problems)
                for i, text in enumerate(raw.messages)
            ),
            related=tuple(raw.related),
            keywords=dict(raw.keywords),
        )
    updates: dict[str, Any] = {}
    for section in ("texts", *SECTION_PLACEHOLDERS):
        model = getattr(ui, section)
        filled = {
            key: _fill(
                text,
                values,
                ui_src,
                (section, key),
                problems,
                RUNTIME_PLACEHOLDERS.get(key, set())
                if section == "texts"
                else SECTION_PLACEHOLDERS[section],
            )
            for key, text in model.model_dump().items()
        }
        updates[section] = model.model_copy(update=filled)
    filled_ui = ui.model_copy(update=updates)
    return Content(
        topics=topics,
        menu=tuple(tuple(row) for row in guide.menu),
        ui=filled_ui,
        settings=settings,
        faq=faq,
        holidays={},
    )


def _dates(text: str, year: int) -> list[date]:
    """``2027-01-01`` or a range ``2027-02-06..2027-02-12``, all inside ``year``."""
    first, _, last = text.partition("..")
    start = date.fromisoformat(first.strip())
    end = date.fromisoformat(last.strip()) if last else start
    if start > end or start.year != year or end.year != year or (end - start).days > 31:
        raise ValueError(f"{text!r} must be a date or a short range within {year}")
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def _holidays(
    raw: HolidaysFile | None, src: SourceFile, problems: list[Problem]
) -> dict[int, YearArrangement] | None:
    if raw is None:
        return None
    years: dict[int, YearArrangement] = {}
    for year, listed in raw.years.items():
        days: dict[str, list[date]] = {"holidays": [], "workdays": []}
        for key in days:
            for index, text in enumerate(getattr(listed, key)):
                try:
                    days[key] += _dates(text, year)
                except ValueError as exc:
                    path = ("years", str(year), key, index)
                    problems.append(src.problem(path, f"{format_path(path)}: {exc}"))
        years[year] = arrangement(days["holidays"], days["workdays"])
    return years


def load_content(directory: Path) -> Content:
    """Load and validate the content folder; raise :class:`ContentError` listing all problems."""
    problems: list[Problem] = []
    sources: dict[str, SourceFile | None] = {}
    for name in (GUIDE_FILE, UI_FILE, SETTINGS_FILE, FAQ_FILE, HOLIDAYS_FILE):
        src, found = read_yaml(directory / name, name)
        sources[name] = src
        problems.extend(found)
    guide_src, ui_src, settings_src, faq_src, holidays_src = (
        sources[n] for n in (GUIDE_FILE, UI_FILE, SETTINGS_FILE, FAQ_FILE, HOLIDAYS_FILE)
    )
    guide = _validate(GuideFile, guide_src, problems) if guide_src else None
    ui = _validate(UiFile, ui_src, problems) if ui_src else None
    settings = _validate(SettingsFile, settings_src, problems) if settings_src else None
    faq = _validate(FaqFile, faq_src, problems) if faq_src else None
    holidays_raw = _validate(HolidaysFile, holidays_src, problems) if holidays_src else None
    holidays = _holidays(holidays_raw, holidays_src, problems) if holidays_src else None
    if guide and guide_src:
        _check_topics(guide, guide_src, problems)
    if guide and guide_src and faq and faq_src:
        _check_faq(guide, guide_src, faq, faq_src, problems)
    if guide and guide_src and ui and ui_src and settings and faq and holidays is not None:
        content = _build(guide, guide_src, ui, ui_src, settings, faq, problems)
        content = replace(content, holidays=holidays)
        if not problems:
            return content
    problems.sort(key=lambda p: (p.file, p.line))
    raise ContentError(problems or [Problem(GUIDE_FILE, 1, "content could not be loaded")])
