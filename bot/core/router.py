"""Where features register what they answer: commands, button actions, typed input.

The conversation asks the router who handles an input; no channel adapter and no other
feature needs to know a feature's command names or action prefixes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.core.reply import Reply


async def _not_chat_admin() -> bool:
    return False


@dataclass(frozen=True)
class Who:
    """Who is talking and where: what every answer may depend on."""

    channel: str  # the channel adapter's name: "telegram", "wechat", "console"
    user_id: int
    chat_id: int
    is_admin: bool = False  # a bot admin (BOT_ADMIN_IDS)
    chat_type: str = "private"  # private, group, supergroup, channel
    chat_title: str = ""  # group title, or the user's name in private chats
    message_id: int | None = None  # the bot message whose button was tapped
    # Asks the channel whether the user administers this group (only when a feature needs it).
    is_chat_admin: Callable[[], Awaitable[bool]] = _not_chat_admin


@dataclass(frozen=True)
class Request:
    """One command: who sent it, its arguments, the message it replied to (chat, message)."""

    who: Who
    args: str = ""
    replied: tuple[int, int] | None = None


CommandHandler = Callable[[Request], Awaitable[Reply]]
ActionHandler = Callable[[Who, str], Awaitable[Reply]]
TextHandler = Callable[[Who, str], Awaitable[Reply]]
# Called with the user; returns a handler when the feature waits for the user's next words.
TextInput = Callable[[Who], Awaitable[TextHandler | None]]
# Adds to the reply of a command (the audience adds the subscription state to /start).
Extension = Callable[[Request, Reply], Awaitable[Reply]]
# Looks up a command that is not registered by name (guide topics, reloaded with content).
DynamicCommands = Callable[[str], CommandHandler | None]
# A feature's answer when free text matched one of its topic ids (see DESIGN.md).
TopicAnswer = Callable[[Who], Reply]
# What a deep link's payload opens (``/start <payload>``: t.me/<bot>?start=<payload>, or a
# WeChat QR code's scene); None when the payload names nothing of the feature's.
StartLinks = Callable[[str], CommandHandler | None]


@dataclass(frozen=True)
class Route:
    """A registered handler and who may use it."""

    handler: Callable[..., Awaitable[Reply]]
    admin: bool = False


@dataclass
class Router:
    """Commands, actions and typed input, as features registered them."""

    commands: dict[str, Route] = field(default_factory=dict)
    actions: dict[str, Route] = field(default_factory=dict)
    dynamic: list[DynamicCommands] = field(default_factory=list)
    text_inputs: list[TextInput] = field(default_factory=list)
    extensions: dict[str, list[Extension]] = field(default_factory=dict)
    topic_answers: dict[str, TopicAnswer] = field(default_factory=dict)
    start_links: list[StartLinks] = field(default_factory=list)
    questions: TextHandler | None = None

    def command(self, name: str, handler: CommandHandler, *, admin: bool = False) -> None:
        """``/name`` is answered by ``handler``; ``admin``: bot admins only."""
        if name in self.commands:
            raise ValueError(f"command /{name} is registered twice")
        self.commands[name] = Route(handler, admin)

    def action(self, prefix: str, handler: ActionHandler, *, admin: bool = False) -> None:
        """Button actions equal to ``prefix``, or starting with it when it ends with ':'."""
        if prefix in self.actions:
            raise ValueError(f"action {prefix!r} is registered twice")
        self.actions[prefix] = Route(handler, admin)

    def commands_from(self, lookup: DynamicCommands) -> None:
        """Commands whose names are not known in advance (one per guide topic)."""
        self.dynamic.append(lookup)

    def text_input(self, waiting: TextInput) -> None:
        """A feature that may be waiting for the user's next typed words."""
        self.text_inputs.append(waiting)

    def extend(self, name: str, extension: Extension) -> None:
        """Add to the reply of ``/name`` (registered by another feature)."""
        self.extensions.setdefault(name, []).append(extension)

    def topic_answer(self, topic_id: str, answer: TopicAnswer) -> None:
        """Free text that matched ``topic_id`` is answered by this feature."""
        self.topic_answers[topic_id] = answer

    def start_link(self, lookup: StartLinks) -> None:
        """Payloads of ``/start <payload>`` that open something (deep links, QR scenes)."""
        self.start_links.append(lookup)

    def find_start_link(self, payload: str) -> CommandHandler | None:
        """What ``/start <payload>`` opens; None for a payload nobody knows (the welcome)."""
        for lookup in self.start_links:
            handler = lookup(payload)
            if handler is not None:
                return handler
        return None

    def free_text(self, handler: TextHandler) -> None:
        """Typed words that are no command and answer nothing pending (questions)."""
        self.questions = handler

    def find_command(self, name: str) -> Route | None:
        """The route of ``/name``, registered or dynamic."""
        route = self.commands.get(name)
        if route is not None:
            return route
        for lookup in self.dynamic:
            handler = lookup(name)
            if handler is not None:
                return Route(handler)
        return None

    def find_action(self, action: str) -> Route | None:
        """The route of a button action."""
        route = self.actions.get(action)
        if route is not None:
            return route
        for prefix, candidate in self.actions.items():
            if prefix.endswith(":") and action.startswith(prefix):
                return candidate
        return None

    async def waiting_for(self, who: Who) -> TextHandler | None:
        """The handler of the user's next typed words, if a feature waits for them."""
        for waiting in self.text_inputs:
            handler = await waiting(who)
            if handler is not None:
                return handler
        return None
