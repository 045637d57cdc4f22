"""A /remind in progress, and its stored form (kept in the shared database between messages)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.reminders.service import KINDS

Step = Literal["text", "when", "release", "lead"]


@dataclass
class Draft:
    """A /remind in progress."""

    kind: str
    started: datetime
    step: Step = "when"
    text: str = ""
    due: datetime | None = None

    def dump(self) -> dict[str, str | None]:
        """The stored form (JSON-able)."""
        return {
            "kind": self.kind,
            "started": self.started.isoformat(),
            "step": self.step,
            "text": self.text,
            "due": self.due.isoformat() if self.due is not None else None,
        }

    @classmethod
    def load(cls, data: object) -> Draft | None:
        """A draft from its stored form; None for anything else (an old or damaged row)."""
        if not isinstance(data, dict):
            return None
        try:
            step = data["step"]
            if step not in ("text", "when", "release", "lead") or data["kind"] not in KINDS:
                return None
            due = data.get("due")
            return cls(
                kind=str(data["kind"]),
                started=datetime.fromisoformat(data["started"]),
                step=step,
                text=str(data.get("text") or ""),
                due=datetime.fromisoformat(due) if due else None,
            )
        except (KeyError, TypeError, ValueError):
            return None
