"""What a WeChat Official Account reply allows."""

from bot.core.channel import Capabilities, utf8_bytes

WECHAT = Capabilities(
    name="wechat",
    text_limit=2000,  # a passive text reply takes about 2048 bytes; room for the "more" hint
    measure=utf8_bytes,
    unit="bytes",
    choices="numbers",  # no buttons in text replies: numbered choices the user types
    files=False,  # passive replies carry no files: a calendar file is shown as text
    bare_commands=True,  # typing "/" is awkward on a phone keyboard: "ics" works as "/ics"
)
