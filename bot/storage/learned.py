"""What admins taught the matcher, and which "did you mean" suggestions users tapped.

Learned examples are keyed by the normalised question the matcher looks up (one topic per
question: teaching it again replaces the answer). ``topic`` is a topic or feature id, or
:data:`OUT_OF_SCOPE`. Teaching from /unanswered marks the unanswered row handled in the
same transaction, so two admins tapping at once teach it once (the second finds it done).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.storage.db import Database, in_list
from bot.storage.unanswered import MAX_STORED_CHARS

OUT_OF_SCOPE = "out_of_scope"  # the same key content/examples.yaml uses


@dataclass(frozen=True)
class LearnedExample:
    """One question an admin filed under a topic (or out of scope)."""

    id: int
    question: str  # as the user typed it
    normalized: str
    topic: str
    channel: str  # who taught it: channel and user id
    user_id: int
    taught_at: datetime


@dataclass(frozen=True)
class Vote:
    """How often users picked ``topic`` among the suggestions for one question."""

    topic: str
    count: int
    last_at: datetime


class LearnedRepo:
    """Learned examples: written by one-tap teaching, read whenever the matcher is built."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def teach(
        self,
        question: str,
        normalized: str,
        topic: str,
        *,
        channel: str,
        user_id: int,
        now: datetime,
        unanswered_id: int | None = None,
    ) -> bool:
        """File ``question`` under ``topic`` (replacing an earlier answer to it).

        With ``unanswered_id``, that unanswered row is marked handled in the same
        transaction; False (and nothing stored) when it is missing or already handled.
        """
        async with self.db.transaction(immediate=True) as tx:
            if unanswered_id is not None:
                handled = await tx.execute(
                    "UPDATE unanswered SET handled_at = ? WHERE id = ? AND handled_at IS NULL",
                    (now.isoformat(), unanswered_id),
                )
                if handled != 1:
                    return False
            await tx.execute(
                """
                INSERT INTO learned_examples
                    (question, normalized, topic, channel, user_id, taught_at)
                VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (normalized) DO UPDATE SET
                    question = excluded.question, topic = excluded.topic,
                    channel = excluded.channel, user_id = excluded.user_id,
                    taught_at = excluded.taught_at
                """,
                (
                    question[:MAX_STORED_CHARS],
                    normalized[:MAX_STORED_CHARS],
                    topic,
                    channel,
                    user_id,
                    now.isoformat(),
                ),
            )
        return True

    async def all(self) -> list[LearnedExample]:
        """Every learned example, in the order they were first taught."""
        rows = await self.db.fetchall(
            """
            SELECT id, question, normalized, topic, channel, user_id, taught_at
            FROM learned_examples ORDER BY id
            """
        )
        return [
            LearnedExample(
                int(r[0]), r[1], r[2], r[3], r[4], int(r[5]), datetime.fromisoformat(r[6])
            )
            for r in rows
        ]


class VoteRepo:
    """Counts users' taps on "did you mean" suggestions, per question and topic."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def vote(self, normalized: str, topic: str, now: datetime) -> None:
        """One more user picked ``topic`` for ``normalized``."""
        async with self.db.transaction() as tx:
            await tx.execute(
                """
                INSERT INTO suggestion_votes (normalized, topic, count, last_at)
                VALUES (?, ?, 1, ?)
                ON CONFLICT (normalized, topic) DO UPDATE SET
                    count = suggestion_votes.count + 1, last_at = excluded.last_at
                """,
                (normalized[:MAX_STORED_CHARS], topic, now.isoformat()),
            )

    async def for_questions(self, normalized: Sequence[str]) -> dict[str, list[Vote]]:
        """Question -> its votes, most picked first (questions without votes are absent)."""
        if not normalized:
            return {}
        marks, values = in_list(normalized)
        rows = await self.db.fetchall(
            f"""
            SELECT normalized, topic, count, last_at FROM suggestion_votes
            WHERE normalized IN ({marks}) ORDER BY count DESC, last_at DESC, topic
            """,
            values,
        )
        found: dict[str, list[Vote]] = {}
        for question, topic, count, last_at in rows:
            found.setdefault(question, []).append(
                Vote(topic, int(count), datetime.fromisoformat(last_at))
            )
        return found
