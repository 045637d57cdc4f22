"""Load content/*.yaml into one immutable :class:`Content`, or report every problem found.

Problems are collected, not raised one at a time, so ``check-content`` can list them all as
``file:line: reason``. Every text is checked against the limits of every channel the bot
serves (passed in by the composition root). Nothing outside this package reads content files.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from bot.content.checks import (
    check_examples,
    check_faq,
    check_profile,
    check_text,
    check_topics,
)
from bot.content.holidays import holidays as read_holidays
from bot.content.models import ExamplesFile, FaqFile, GuideFile, HolidaysFile, SettingsFile
from bot.content.placeholders import RUNTIME_PLACEHOLDERS, SECTION_PLACEHOLDERS
from bot.content.source import PathKey, Problem, SourceFile, format_path, read_yaml
from bot.content.ui_models import UiFile
from bot.content.watch_models import WatchFile
from bot.core.channel import Capabilities
from bot.core.text import Text
from bot.dates import YearArrangement

GUIDE_FILE = "guide.yaml"
UI_FILE = "ui.yaml"
SETTINGS_FILE = "settings.yaml"
FAQ_FILE = "faq.yaml"
HOLIDAYS_FILE = "holidays.yaml"
EXAMPLES_FILE = "examples.yaml"  # optional: example questions the matcher learns from
WATCH_FILE = "watch.yaml"  # optional: official pages the notice watcher checks
FEATURE_IDS = ("remind", "subscribe", "unsubscribe", "news")  # the bot's own features (DESIGN.md)
OUT_OF_SCOPE_KEY = "out_of_scope"
PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")


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
    messages: tuple[Text, ...]
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
    # examples.yaml: topic or feature id (or out_of_scope) -> example questions
    examples: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # watch.yaml: the pages the notice watcher checks (None: the file is absent)
    watch: WatchFile | None = None


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
    channels: Sequence[Capabilities],
    runtime: frozenset[str] | set[str] = frozenset(),
) -> tuple[str, Text | None]:
    """Replace {name} from settings; report unknown names; leave runtime names in place.

    Returns the filled source and its parsed :class:`Text` (None when it is invalid).
    """

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
    return filled, check_text(filled, src, path, problems, channels)


def _build(
    guide: GuideFile,
    guide_src: SourceFile,
    ui: UiFile,
    ui_src: SourceFile,
    settings: SettingsFile,
    faq: FaqFile,
    problems: list[Problem],
    channels: Sequence[Capabilities],
) -> Content:
    values = _placeholder_values(settings)
    topics: dict[str, Topic] = {}

    def guide_text(text: str, path: PathKey) -> tuple[str, Text | None]:
        return _fill(text, values, guide_src, path, problems, channels)

    for topic_id, raw in guide.topics.items():
        base: PathKey = ("topics", topic_id)
        messages = [guide_text(t, (*base, "messages", i)) for i, t in enumerate(raw.messages)]
        topics[topic_id] = Topic(
            id=topic_id,
            button=guide_text(raw.button, (*base, "button"))[0],
            description=guide_text(raw.description, (*base, "description"))[0],
            messages=tuple(parsed or Text.plain(source) for source, parsed in messages),
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
                channels,
                RUNTIME_PLACEHOLDERS.get(key, set())
                if section == "texts"
                else SECTION_PLACEHOLDERS[section],
            )[0]
            for key, text in model.model_dump().items()
        }
        updates[section] = model.model_copy(update=filled)
    filled_ui = ui.model_copy(update=updates)
    check_profile(filled_ui.share.model_dump(), ui_src, problems)
    return Content(
        topics=topics,
        menu=tuple(tuple(row) for row in guide.menu),
        ui=filled_ui,
        settings=settings,
        faq=faq,
        holidays={},
    )


def _examples(
    directory: Path, topic_ids: set[str], faq: FaqFile, problems: list[Problem]
) -> dict[str, tuple[str, ...]]:
    """examples.yaml if present, checked: known ids, no question under two topics, no topic's
    question that faq.yaml's out-of-scope words would refuse."""
    if not (directory / EXAMPLES_FILE).exists():
        return {}
    src, found = read_yaml(directory / EXAMPLES_FILE, EXAMPLES_FILE)
    problems.extend(found)
    parsed = _validate(ExamplesFile, src, problems) if src else None
    if parsed is None or src is None:
        return {}
    known = topic_ids | set(FEATURE_IDS) | {OUT_OF_SCOPE_KEY}
    check_examples(parsed.root, known, src, problems, (faq.out_of_scope, faq.in_scope))
    return {topic: tuple(questions) for topic, questions in parsed.root.items()}


def _watch(directory: Path, problems: list[Problem]) -> WatchFile | None:
    """watch.yaml if present, checked: valid selectors and link patterns."""
    if not (directory / WATCH_FILE).exists():
        return None
    from bot.watch.parse import check_pattern, check_selector  # bs4 only when watching

    src, found = read_yaml(directory / WATCH_FILE, WATCH_FILE)
    problems.extend(found)
    parsed = _validate(WatchFile, src, problems) if src else None
    if parsed is None or src is None:
        return None
    for i, page in enumerate(parsed.pages):
        for key, value, check in (
            ("selector", page.selector, check_selector),
            ("link_pattern", page.link_pattern, check_pattern),
        ):
            error = check(value) if value else None
            if error:
                problems.append(src.problem(("pages", i, key), f"pages[{i}].{key}: {error}"))
    return parsed


def load_content(directory: Path, channels: Sequence[Capabilities]) -> Content:
    """Load and validate the content folder; raise :class:`ContentError` listing all problems.

    ``channels``: the channels the bot serves; every text must fit each one's messages.
    """
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
    holidays = read_holidays(holidays_raw, holidays_src, problems) if holidays_src else None
    if guide and guide_src:
        check_topics(guide, guide_src, problems, channels)
    if guide and guide_src and faq and faq_src:
        check_faq(guide, guide_src, faq, faq_src, problems)
    if guide and guide_src and ui and ui_src and settings and faq and holidays is not None:
        content = _build(guide, guide_src, ui, ui_src, settings, faq, problems, channels)
        content = replace(content, holidays=holidays)
        examples = _examples(directory, set(guide.topics), faq, problems)
        content = replace(content, examples=examples, watch=_watch(directory, problems))
        if not problems:
            return content
    problems.sort(key=lambda p: (p.file, p.line))
    raise ContentError(problems or [Problem(GUIDE_FILE, 1, "content could not be loaded")])
