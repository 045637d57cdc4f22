"""Names content texts may use: required topic ids and the placeholders filled at run time."""

from __future__ import annotations

# Topic ids other tools rely on (DESIGN.md): every one must exist in guide.yaml.
REQUIRED_TOPICS = (
    "authority",
    "prepare",
    "steps",
    "links",
    "problems",
    "site_slow",
    "lost_ticket",
    "no_result",
    "after",
    "review",
    "pass_line",
    "audit",
    "certificate",
    "tracking",
)
# Filled when a reminder text is used (ui.yaml, section reminders).
REMINDER_PLACEHOLDERS = frozenset(
    {
        "what",
        "due",
        "alerts",
        "limit",
        "n",
        "at",
        "left",
        "release",
        "deadline",
        "first",
        "last",
        "workdays",
        "years",
        "reason",
        "year",
        "month",
        "day",
        "weekday",
        "time",
    }
)
# Filled when a subscription or statistics text is used (ui.yaml, section audience).
AUDIENCE_PLACEHOLDERS = frozenset({"users", "subscribers", "groups", "channels", "questions"})
BROADCAST_PLACEHOLDERS = frozenset(
    {
        "id",
        "n",
        "audience",
        "at",
        "sent",
        "failed",
        "blocked",
        "left",
        "rate",
        "eta",
        "text",
        "status",
        "reason",
        "minutes",
        "seconds",
    }
)
# Runtime placeholders allowed in the other ui.yaml sections, one set per section.
SECTION_PLACEHOLDERS = {
    "reminders": REMINDER_PLACEHOLDERS,
    "calendar": frozenset({"feed", "webcal", "download", "hours", "what", "due", "command"}),
    "audience": AUDIENCE_PLACEHOLDERS,
    "broadcast": BROADCAST_PLACEHOLDERS,
    "wechat": frozenset({"link"}),
    "notices": frozenset(
        {"title", "url", "date", "matched", "page", "error", "failures", "items", "n"}
        | {"deadline", "first", "last"}
    ),
    "share": frozenset({"topic", "url", "id"}),
    "teach": frozenset({"total", "first", "last", "votes", "topic", "n", "text", "left"}),
    "dates": frozenset(
        {"year", "month", "day", "hour", "minute", "small", "clock", "period", "date", "time"}
        | {"example", "weekday", "what", "actual", "at", "years", "hint", "label"}
        | {"examples", "check_date", "month_day_order", "hour_label", "hour_label_half"}
        | {"hour_label_minutes"}
    ),
}
# Placeholders filled when the text is used, not from settings.yaml.
RUNTIME_PLACEHOLDERS = {
    "reload_ok": {"topics"},
    "reload_failed": {"errors"},
    "console_bad_choice": {"max"},
    "unanswered_item": {"count", "text", "seen"},
}
