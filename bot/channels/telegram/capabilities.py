"""What Telegram allows (Bot API limits), declared without importing the Telegram library."""

from bot.core.channel import Capabilities, utf16_units

TELEGRAM = Capabilities(
    name="telegram",
    text_limit=4096,  # sendMessage text, counted in UTF-16 code units after entity parsing
    measure=utf16_units,
    unit="UTF-16 code units",
    choices="buttons",
    action_limit=64,  # callback_data is 1-64 bytes
    files=True,
    edits=True,
    copies=True,
)
