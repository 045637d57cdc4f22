"""Storage: SQLite (aiosqlite, WAL; the default) or PostgreSQL (asyncpg, for several replicas);
schema migrations and one repository per table group.

All SQL of the bot lives in this package, always with bound parameters. Chats and users are
keyed by (channel, id); a channel is a plain name: "telegram", "wechat", "console".
"""

# Importing the engines registers them with Database.open (bot.storage.db.ENGINES).
from bot.storage import postgres as _postgres  # noqa: F401
from bot.storage import sqlite as _sqlite  # noqa: F401
from bot.storage.broadcasts import AUDIENCES, Broadcast, BroadcastRepo, Counts
from bot.storage.chats import CHAT_TYPES, AudienceStats, ChatRepo, ChatRow
from bot.storage.db import Database
from bot.storage.learned import LearnedExample, LearnedRepo, Vote, VoteRepo
from bot.storage.reminders import DueAlert, Reminder, ReminderRepo
from bot.storage.unanswered import UnansweredQuestion, UnansweredRepo
from bot.storage.wechat import AccessTokenRepo, WeChatUserRepo

__all__ = [
    "AUDIENCES",
    "CHAT_TYPES",
    "AccessTokenRepo",
    "AudienceStats",
    "Broadcast",
    "BroadcastRepo",
    "ChatRepo",
    "ChatRow",
    "Counts",
    "Database",
    "DueAlert",
    "LearnedExample",
    "LearnedRepo",
    "Reminder",
    "ReminderRepo",
    "UnansweredQuestion",
    "UnansweredRepo",
    "Vote",
    "VoteRepo",
    "WeChatUserRepo",
]
