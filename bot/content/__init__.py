"""Load and validate content/*.yaml into typed, immutable objects (the only content I/O)."""

from bot.content.loader import (
    REQUIRED_TOPICS,
    Content,
    ContentError,
    Topic,
    load_content,
)
from bot.content.source import Problem

__all__ = [
    "REQUIRED_TOPICS",
    "Content",
    "ContentError",
    "Problem",
    "Topic",
    "load_content",
]
