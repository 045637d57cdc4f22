"""Load and validate content/*.yaml into typed, immutable objects (the only content I/O)."""

from bot.content.loader import Content, ContentError, Topic, load_content
from bot.content.placeholders import REQUIRED_TOPICS
from bot.content.source import Problem
from bot.content.store import ContentStore, build_matcher

__all__ = [
    "REQUIRED_TOPICS",
    "Content",
    "ContentError",
    "ContentStore",
    "Problem",
    "Topic",
    "build_matcher",
    "load_content",
]
