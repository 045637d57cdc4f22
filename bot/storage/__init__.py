"""SQLite storage (aiosqlite, WAL): schema migrations and one repository per table group.

All SQL of the bot lives in this package, always with bound parameters.
"""

from bot.storage.broadcasts import AUDIENCES, Broadcast, BroadcastRepo, Counts
from bot.storage.chats import AudienceStats, ChatRepo, ChatRow
from bot.storage.db import Database
from bot.storage.reminders import DueAlert, Reminder, ReminderRepo
from bot.storage.unanswered import UnansweredQuestion, UnansweredRepo

__all__ = [
    "AUDIENCES",
    "AudienceStats",
    "Broadcast",
    "BroadcastRepo",
    "ChatRepo",
    "ChatRow",
    "Counts",
    "Database",
    "DueAlert",
    "Reminder",
    "ReminderRepo",
    "UnansweredQuestion",
    "UnansweredRepo",
]
