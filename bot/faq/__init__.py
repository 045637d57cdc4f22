"""Free-text questions: normalise Chinese text, match it to a guide topic, explain the match."""

from bot.faq.matcher import Hit, Match, Matcher
from bot.faq.normalize import normalize, syllables

__all__ = ["Hit", "Match", "Matcher", "normalize", "syllables"]
