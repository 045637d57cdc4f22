"""Checks across content files: topic ids and links, matching phrases, texts per channel.

Each check appends :class:`~bot.content.source.Problem` entries (``file:line: reason``) and
never raises, so ``check-content`` lists everything wrong at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from bot.commands import BUILTIN_COMMANDS, START_LINKS
from bot.content.models import FaqFile, GuideFile
from bot.content.placeholders import REQUIRED_TOPICS
from bot.content.source import PathKey, Problem, SourceFile, format_path
from bot.core.channel import Capabilities, utf16_units
from bot.core.reply import topic_action
from bot.core.text import MarkupError, Text
from bot.faq.normalize import normalize

MIN_KEYWORD_CHARS = 2  # after normalisation; one character overlaps with everything
TOPIC_ID_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")  # Telegram's rule for command names
PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")
MAX_TOPICS = 100 - len(BUILTIN_COMMANDS)  # setMyCommands takes at most 100 commands
OPEN_BRACKETS, CLOSE_BRACKETS = "（(", "）)"  # title marks 《》 are not brackets
DOUBLED_BRACKETS = ("）（", "（（", "））", ")(", "((", "))")
# Telegram's profile texts (setMyDescription, setMyShortDescription), in characters.
PROFILE_LIMITS = {"description": 512, "short_description": 120}


def check_topics(
    guide: GuideFile,
    src: SourceFile,
    problems: list[Problem],
    channels: Sequence[Capabilities],
) -> None:
    """Topic ids, related topics and the menu: valid, existing, every topic reachable."""
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
        elif topic_id in START_LINKS:
            problems.append(src.problem(path, f"topic id {topic_id!r} is a feature's deep link"))
        for channel in channels:
            limit = channel.action_limit
            if limit is not None and len(topic_action(topic_id).encode()) > limit:
                reason = f"topic id too long for {channel.name} (button data {limit} bytes)"
                problems.append(src.problem(path, reason))
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


def check_faq(
    guide: GuideFile,
    guide_src: SourceFile,
    faq: FaqFile,
    faq_src: SourceFile,
    problems: list[Problem],
) -> None:
    """Every matching phrase is long enough and unique."""
    for topic_id, topic in guide.topics.items():
        _check_phrases(list(topic.keywords), guide_src, ("topics", topic_id, "keywords"), problems)
    for key in ("in_scope", "out_of_scope"):
        _check_phrases(getattr(faq, key), faq_src, (key,), problems)
    for kind, words in faq.greetings.items():
        _check_phrases(words, faq_src, ("greetings", kind), problems)
    owner: dict[str, str] = {}
    for canonical, variants in faq.synonyms.items():
        for i, variant in enumerate(variants):
            key = normalize(variant)
            other = owner.setdefault(key, canonical)
            if not key or key == normalize(canonical) or other != canonical:
                where = f"synonyms.{canonical}[{i}]"
                why = "empty or the word itself" if other == canonical else f"also under {other}"
                problems.append(faq_src.problem(("synonyms", canonical, i), f"{where}: {why}"))


def check_text(
    text: str,
    src: SourceFile,
    path: PathKey,
    problems: list[Problem],
    channels: Sequence[Capabilities],
) -> Text | None:
    """Parse one text; report invalid markup, doubled or nested brackets (placeholders from
    settings already filled) and every channel whose message limit it breaks."""
    try:
        parsed = Text.parse(text)
    except MarkupError as exc:
        for reason in exc.reasons:
            problems.append(src.problem(path, f"{format_path(path)}: {reason}"))
        return None
    plain = parsed.plain_text
    for reason in bracket_problems(plain):
        problems.append(src.problem(path, f"{format_path(path)}: {reason}"))
    for channel in channels:
        length = channel.measure(plain)
        if length > channel.text_limit:
            problems.append(
                src.problem(
                    path,
                    f"{format_path(path)}: too long for {channel.name}: {length} {channel.unit}, "
                    f"{channel.name} allows {channel.text_limit} per message",
                )
            )
    return parsed


def bracket_problems(text: str) -> list[str]:
    """Doubled brackets ("）（"), a bracket pair inside another, or one left open on its line.

    A placeholder whose value ends in brackets, put before other brackets, reads as
    "中心（考试网）（网址…）"; the guide never nests them either.
    """
    problems = [f"doubled brackets {pair!r}" for pair in DOUBLED_BRACKETS if pair in text]
    for line in text.split("\n"):
        depth = 0
        for char in line:
            if char in OPEN_BRACKETS:
                depth += 1
                if depth == 2:
                    problems.append(f"brackets inside brackets in {line.strip()!r}")
            elif char in CLOSE_BRACKETS:
                depth -= 1
                if depth < 0:
                    problems.append(f"a closing bracket without an opening one in {line.strip()!r}")
                    depth = 0
        if depth > 0:
            problems.append(f"a bracket left open in {line.strip()!r}")
    return problems


def check_examples(
    examples: Mapping[str, list[str]],
    known: set[str],
    src: SourceFile,
    problems: list[Problem],
    markers: tuple[Sequence[str], Sequence[str]] = ((), ()),
) -> None:
    """Every key names a topic, a feature or out_of_scope; no question is under two keys; no
    topic's question contains an out-of-scope word (faq.yaml ``out_of_scope``, unless an
    ``in_scope`` word is there too): the bot would refuse the very question it learns from."""
    outside = [n for n in map(normalize, markers[0]) if n]
    inside = [n for n in map(normalize, markers[1]) if n]
    seen: dict[str, str] = {}
    for key, questions in examples.items():
        if key not in known:
            choices = ", ".join(sorted(known))
            problems.append(src.problem((key,), f"{key}: unknown topic (known: {choices})"))
            continue
        for i, question in enumerate(questions):
            norm = normalize(question)
            if not norm:
                problems.append(src.problem((key, i), f"{key}[{i}]: no words to learn from"))
                continue
            other = seen.setdefault(norm, key)
            if other != key:
                problems.append(
                    src.problem((key, i), f"{key}[{i}]: the same question is under {other}")
                )
            refused = next((m for m in outside if m in norm), None)
            if key != "out_of_scope" and refused and not any(m in norm for m in inside):
                why = f"{key}[{i}]: contains the out-of-scope word {refused!r} (faq.yaml)"
                problems.append(src.problem((key, i), why))


def check_profile(share: Mapping[str, str], src: SourceFile, problems: list[Problem]) -> None:
    """The bot's description and short description fit Telegram's limits once filled."""
    for key, limit in PROFILE_LIMITS.items():
        try:
            length = utf16_units(Text.parse(share[key]).plain_text.strip())
        except MarkupError:
            continue  # reported where the text was parsed
        if length > limit:
            reason = f"share.{key}: {length} characters; Telegram allows {limit}"
            problems.append(src.problem(("share", key), reason))
