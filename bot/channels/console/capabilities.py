"""What the terminal can show."""

from bot.core.channel import Capabilities

CONSOLE = Capabilities(
    name="console",
    text_limit=100_000,  # a terminal scrolls; only absurd content is refused
    measure=len,
    unit="characters",
    choices="numbers",
    files=True,  # written to a file next to the database, its path printed
    announcements=False,  # the person at the terminal is not an audience
)
