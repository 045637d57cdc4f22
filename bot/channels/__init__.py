"""Channel adapters: each turns one platform's updates into core calls and renders replies.

``CHANNELS`` lists every channel's capabilities (content is checked against all of them);
a new channel adds its folder here and one entry to this tuple.
"""

from bot.channels.console.capabilities import CONSOLE
from bot.channels.telegram.capabilities import TELEGRAM
from bot.channels.wechat.capabilities import WECHAT

CHANNELS = (TELEGRAM, WECHAT, CONSOLE)

__all__ = ["CHANNELS", "CONSOLE", "TELEGRAM", "WECHAT"]
