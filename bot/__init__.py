"""Exam score helper bot: Shanxi second-class cost engineer score query guide and follow-up."""
