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
ADMIN_COMMANDS = ("reload", "unanswered", "stats", "broadcast", "broadcast_at", "broadcasts")
BUILTIN_COMMANDS = frozenset(PUBLIC_BUILTINS + ADMIN_COMMANDS)
