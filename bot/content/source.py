"""Read one YAML file into plain data plus a map from data path to source line.

PyYAML drops line numbers once it builds Python objects, so the file is composed into a
node tree first; the tree gives every key and item its line, and the same tree is then
constructed into data. Duplicate keys, which PyYAML would silently overwrite, are errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PathKey = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a content file, printed as ``file:line: reason``."""

    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


@dataclass
class SourceFile:
    """A parsed YAML file: its data and where each path of it came from."""

    name: str
    data: Any
    lines: dict[PathKey, int] = field(default_factory=dict)

    def line_of(self, path: PathKey) -> int:
        """Line of the deepest known prefix of ``path`` (1 when nothing matches)."""
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return 1

    def problem(self, path: PathKey, reason: str) -> Problem:
        """A problem located at ``path`` of this file."""
        return Problem(self.name, self.line_of(path), reason)


def format_path(path: PathKey) -> str:
    """``("topics", "steps", "messages", 0)`` -> ``topics.steps.messages[0]``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _walk(node: yaml.Node, path: PathKey, src: SourceFile, problems: list[Problem]) -> None:
    src.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                problems.append(Problem(src.name, line, f"duplicate key {key!r}"))
            seen.add(key)
            src.lines[(*path, key)] = line
            _walk(value_node, (*path, key), src, problems)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), src, problems)


def read_yaml(path: Path, display_name: str) -> tuple[SourceFile | None, list[Problem]]:
    """Parse ``path``; return the source (None when unusable) and the problems found."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, [Problem(display_name, 1, "file is missing")]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(display_name, 1, f"cannot read file: {exc}")]
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        reason = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        return None, [Problem(display_name, line, f"invalid YAML: {reason}")]
    except yaml.YAMLError as exc:
        return None, [Problem(display_name, 1, f"invalid YAML: {exc}")]
    src = SourceFile(display_name, data)
    problems: list[Problem] = []
    if node is not None:
        _walk(node, (), src, problems)
    if not isinstance(data, dict):
        problems.append(Problem(display_name, 1, "top level must be a mapping of keys"))
        return None, problems
    return src, problems
