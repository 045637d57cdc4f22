"""The bot's own command names (besides one command per guide topic), in /help order.

The content loader keeps topic ids off these names; the conversation answers them.
"""

PUBLIC_BUILTINS = (
    "start",
    "help",
    "menu",
    "remind",
    "reminders",
    "release",
    "ics",
    "subscribe",
    "unsubscribe",
    "news",
)
ADMIN_COMMANDS = (
    "reload",
    "unanswered",
    "stats",
    "broadcast",
    "broadcast_at",
    "broadcasts",
    "link",
)
BUILTIN_COMMANDS = frozenset(PUBLIC_BUILTINS + ADMIN_COMMANDS)
# Deep-link payloads (t.me/<bot>?start=<payload>, WeChat QR scenes) that open a feature;
# every topic id opens its topic too (bot/sharing.py).
START_LINKS = ("remind", "remind_review", "remind_audit", "remind_certificate", "subscribe")
