"""Local stand-in for the Telegram Bot API, for tests, load tests and benchmarks.

The module has one transport-independent core and two transports on top of it:

* :class:`FakeBotAPI` holds all state: the bot identity, the queue of incoming updates, the
  messages the bot has sent, and the list of every call the bot made (:attr:`FakeBotAPI.calls`).
  Tests push updates with :meth:`FakeBotAPI.push_command`, :meth:`FakeBotAPI.push_text`,
  :meth:`FakeBotAPI.push_callback` or :meth:`FakeBotAPI.push_update`, then assert on the
  recorded calls with :meth:`FakeBotAPI.sent_texts`, :meth:`FakeBotAPI.calls_of`,
  :meth:`FakeBotAPI.wait_for` and :meth:`FakeBotAPI.wait_calls`.
* :class:`StandinServer` serves a :class:`FakeBotAPI` over HTTP on ``127.0.0.1`` (free port),
  so a bot running in another process can use it via ``BOT_API_BASE_URL=server.base_url``.
* :class:`FakeRequest` is a ``telegram.request.BaseRequest`` that calls a :class:`FakeBotAPI`
  in-process without sockets, for fast unit tests of handlers::

      api = FakeBotAPI()
      app = (
          Application.builder()
          .token("123456:TEST")
          .request(FakeRequest(api))
          .get_updates_request(FakeRequest(api))
          .build()
      )

Simulation knobs for load work: ``latency`` (seconds added before answering every request
except ``getUpdates``; requests overlap), :meth:`FakeBotAPI.fail_chat` (make requests into one
chat fail, e.g. 403 "bot was blocked by the user"), and ``flood_limits``: Telegram's limits on
messages (sendMessage, sendDocument, copyMessage, ... but not edits or chat actions), answered
like the real API with HTTP 429 ``Too Many Requests: retry after N`` and
``parameters.retry_after`` (whole seconds, at least 1) when a message would exceed

* 30 messages within one second overall,
* 1 message per second into one chat (private or group): a message into a chat that got one
  less than 1.0 s earlier is refused, or
* 20 messages within one minute into one group (negative chat id).

A refused message does not count against any limit. Every answer is recorded with its status,
so ``sum(c.status == 429 for c in api.calls)`` counts the 429s;
:attr:`FakeBotAPI.flood_hits` counts the flood-limit refusals by limit (``"overall"``,
``"chat"``, ``"group"``).

Realistic checks the real API also makes (so bugs show up here, not in production): empty or
over-long texts, invalid HTML with ``parse_mode="HTML"``, callback data over 64 bytes, invalid
command names in ``setMyCommands``, "message is not modified" on identical edits, descriptions
over 512 (short: 120) characters, and inline answers: one per query (a second one, or one to
an unknown query, is refused), at most 50 results with unique ids and valid message texts.
Inline queries are pushed with :meth:`FakeBotAPI.push_inline_query` (only when
``bot_info["supports_inline_queries"]`` is on, as BotFather's /setinline does); answers are in
:attr:`FakeBotAPI.inline_answers`, descriptions in :attr:`FakeBotAPI.descriptions`.

The knobs are plain attributes (``api.latency = 0.5``) and may change mid-test. Not covered:
MarkdownV2 validation, entities in returned messages, file downloads, answering a webhook
request with a method call in its body, webhook certificates and IP ranges.

Webhooks work like Telegram's: after ``setWebhook`` (``url``, ``secret_token``,
``max_connections``, ``allowed_updates``, ``drop_pending_updates``) ``getUpdates`` answers 409 and
every pushed update is POSTed as JSON to the URL, with the header
``X-Telegram-Bot-Api-Secret-Token`` when a secret was set. At most ``max_connections`` requests
are in flight; the updates of one chat go out one at a time and in order (the next one only
after the previous one got a 2xx answer), different chats concurrently. A non-2xx answer, a
broken connection or a timeout (``webhook_timeout``, 60 s) is retried with exponential back-off
(``webhook_retry_initial`` 0.2 s doubling up to ``webhook_retry_max`` 5 s) until it succeeds;
``getWebhookInfo`` then shows ``last_error_date``/``last_error_message``.
:attr:`FakeBotAPI.webhook_stats` counts attempts, successes and failures,
:attr:`FakeBotAPI.webhook_attempts` lists every attempt, :attr:`FakeBotAPI.pushed_at` and
:attr:`FakeBotAPI.acked_at` time each update (acknowledged: a 2xx webhook answer, or in polling
mode a getUpdates offset past it), and :meth:`FakeBotAPI.wait_delivered` waits until nothing is
pending. ``deleteWebhook`` switches back to polling; updates not yet acknowledged stay pending
for getUpdates. Delivery runs as tasks in the event loop that called ``setWebhook``;
:meth:`StandinServer.stop` ends it, and a test that sets a webhook on a bare :class:`FakeBotAPI`
(through :class:`FakeRequest`) must ``await api.stop_delivery()`` at the end.

python-telegram-bot 22 emits a ``PTBDeprecationWarning`` whenever it builds a ``RetryAfter``
unless ``PTB_TIMEDELTA=1`` is set; with ``filterwarnings = error`` a test that provokes a 429
must set that variable (``monkeypatch.setenv("PTB_TIMEDELTA", "1")``).

All methods must be called from the event loop that runs the transports; nothing here is
thread-safe.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import copy
import gc
import inspect
import json
import math
import re
import time
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Self
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from telegram.error import TimedOut
from telegram.request import BaseRequest, RequestData

__all__ = [
    "BOT_ID",
    "BOT_INFO",
    "BOT_USERNAME",
    "WEBHOOK_SECRET_HEADER",
    "BotAPIError",
    "Call",
    "FakeBotAPI",
    "FakeRequest",
    "StandinServer",
    "UploadedFile",
    "WebhookAttempt",
    "WebhookConfig",
    "decode_params",
    "html_to_plain",
    "make_user",
]

BOT_ID = 424242
BOT_USERNAME = "exam_test_bot"
BOT_INFO: dict[str, Any] = {
    "id": BOT_ID,
    "is_bot": True,
    "first_name": "ExamBot",
    "username": BOT_USERNAME,
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}

USER_FIRST_NAME = "考生"
USER_LANGUAGE = "zh-hans"
GROUP_TITLE = "考生交流群"

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
MAX_DESCRIPTION_LENGTH = 512
MAX_SHORT_DESCRIPTION_LENGTH = 120
MAX_INLINE_RESULTS = 50
MAX_INLINE_RESULT_ID_BYTES = 64
FLOOD_MAX_PER_SECOND = 30
FLOOD_MAX_PER_GROUP_MINUTE = 20
FLOOD_MIN_CHAT_INTERVAL = 1.0
"""Seconds that must pass between two messages into the same chat."""

# Methods that deliver a message and therefore count against the flood limits.
_MESSAGE_METHODS_EXTRA = frozenset({"copyMessage", "copyMessages", "forwardMessage"})
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_CHAT_ID_RE = re.compile(r"^-?\d+$")

WEBHOOK_SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WEBHOOK_DEFAULT_MAX_CONNECTIONS = 40
WEBHOOK_MAX_CONNECTIONS = 100
_SECRET_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
_TERMINATED_BY_SET_WEBHOOK = "Conflict: terminated by setWebhook request"
# Update types Telegram leaves out unless allowed_updates names them.
_NOT_DELIVERED_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

Handler = Callable[[dict[str, Any]], Any]
"""A method implementation: takes decoded params, returns the ``result`` (or an awaitable of
it), or raises :class:`BotAPIError`."""


# --------------------------------------------------------------------------- data types


@dataclass
class Call:
    """One request the bot made to the stand-in.

    ``params`` are decoded with :func:`decode_params`; uploaded files are
    :class:`UploadedFile`. ``at`` is the monotonic time at which the stand-in processed the
    request (after the simulated latency; for ``getUpdates``: when the request arrived).
    ``status`` is the HTTP status of the answer (0 while a long poll is still pending) and
    ``response`` the ``result`` on success or the whole error body on failure.
    """

    method: str
    params: dict[str, Any]
    at: float
    token: str | None = None
    status: int = 0
    response: Any = None

    @property
    def ok(self) -> bool:
        """Whether the stand-in answered this call successfully."""
        return self.status == 200

    @property
    def chat_id(self) -> int | str | None:
        """The ``chat_id`` param as an int (or the raw string for ``@username`` targets)."""
        return _parse_chat_id(self.params.get("chat_id"))

    @property
    def retry_after(self) -> int | None:
        """``parameters.retry_after`` of a 429 answer (flood limit), else None."""
        if self.status != 429 or not isinstance(self.response, dict):
            return None
        value = (self.response.get("parameters") or {}).get("retry_after")
        return None if value is None else int(value)


@dataclass(frozen=True)
class UploadedFile:
    """A file uploaded with multipart/form-data (e.g. the ``document`` of sendDocument)."""

    filename: str | None
    content_type: str | None
    data: bytes = field(repr=False)

    @property
    def size(self) -> int:
        """Size of the uploaded content in bytes."""
        return len(self.data)


class BotAPIError(Exception):
    """Raised by a method implementation to produce a Bot API error response."""

    def __init__(
        self, error_code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def to_body(self) -> dict[str, Any]:
        """The JSON body Telegram answers with for this error."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


@dataclass
class _Failure:
    error_code: int
    description: str
    retry_after: int | None
    remaining: int | None


@dataclass(frozen=True)
class WebhookConfig:
    """The webhook set with ``setWebhook`` (:attr:`FakeBotAPI.webhook`)."""

    url: str
    secret_token: str | None = None
    max_connections: int = WEBHOOK_DEFAULT_MAX_CONNECTIONS
    allowed_updates: tuple[str, ...] | None = None
    """None or empty: every update type except chat_member and message reactions."""

    def allows(self, update_type: str) -> bool:
        """Whether updates of ``update_type`` (e.g. ``"message"``) are delivered."""
        if self.allowed_updates:
            return update_type in self.allowed_updates
        return update_type not in _NOT_DELIVERED_BY_DEFAULT


@dataclass
class WebhookAttempt:
    """One POST of an update to the webhook (:attr:`FakeBotAPI.webhook_attempts`).

    ``started`` and ``finished`` are on the API's clock; ``status`` is the HTTP status of the
    answer, 0 when there was none (refused or broken connection, timeout); ``error`` is the
    ``last_error_message`` the attempt set, None on success.
    """

    update_id: int
    chat_id: int | None
    started: float
    finished: float
    status: int
    error: str | None

    @property
    def ok(self) -> bool:
        """Whether the webhook acknowledged the update (any 2xx answer)."""
        return 200 <= self.status < 300


@dataclass
class _Lane:
    """Updates of one chat waiting for the webhook, oldest first, and the task sending them."""

    queue: collections.deque[dict[str, Any]]
    task: asyncio.Task[None] | None = None


# --------------------------------------------------------------------------- helpers


def decode_params(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Decode request params: strings holding a JSON object/array become dict/list.

    Everything else (plain strings such as ``"42"`` or ``"hello"``, numbers from JSON bodies,
    uploaded files) is kept as it is.
    """
    decoded: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, str) and value[:1] in ("{", "["):
            try:
                parsed = json.loads(value)
            except ValueError:
                parsed = None
            if isinstance(parsed, dict | list):
                value = parsed
        decoded[key] = value
    return decoded


def make_user(
    user_id: int, *, first_name: str = USER_FIRST_NAME, language_code: str = USER_LANGUAGE
) -> dict[str, Any]:
    """A realistic (non-bot) Telegram ``User`` dict."""
    return {
        "id": user_id,
        "is_bot": False,
        "first_name": first_name,
        "language_code": language_code,
    }


def _parse_chat_id(value: Any) -> int | str | None:
    if value is None or isinstance(value, int):
        return value
    text = str(value).strip()
    return int(text) if _CHAT_ID_RE.match(text) else text


def _as_int(value: Any, default: int | None = None) -> int | None:
    if value is None or value == "":
        return default
    return int(value)


def _truthy(value: Any) -> bool:
    return value in (True, 1, "true", "True", "1")


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _update_type(update: Mapping[str, Any]) -> str:
    """The kind of an update (``"message"``, ``"callback_query"``, ...): its payload's key."""
    return next((key for key in update if key != "update_id"), "")


def _update_chat(update: Mapping[str, Any]) -> int | None:
    """The chat an update belongs to (the user for chat-less updates), None if neither."""
    for key, payload in update.items():
        if key == "update_id" or not isinstance(payload, dict):
            continue
        message = payload.get("message")
        chat = payload.get("chat") or (message.get("chat") if isinstance(message, dict) else None)
        if isinstance(chat, dict) and isinstance(chat.get("id"), int):
            return int(chat["id"])
        user = payload.get("from") or payload.get("user")
        if isinstance(user, dict) and isinstance(user.get("id"), int):
            return int(user["id"])
    return None


def _connection_error(exc: BaseException) -> str:
    """A ``last_error_message`` for a delivery that got no HTTP answer."""
    if isinstance(exc, aiohttp.ClientConnectorError) and isinstance(
        exc.os_error, ConnectionRefusedError
    ):
        return "Connection refused"
    if isinstance(exc, aiohttp.ServerDisconnectedError | ConnectionResetError):
        return "Connection reset by peer"
    return f"Connection error: {type(exc).__name__}: {exc}"


_ALLOWED_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "code",
        "pre",
        "blockquote",
    }
)
_HTML_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_TOKEN_RE = re.compile(
    r"<(?P<close>/?)(?P<name>[A-Za-z][A-Za-z0-9-]*)?(?P<rest>[^<>]*)(?P<end>>)?"
    r"|&(?P<entity>#\d+|#x[0-9A-Fa-f]+|[A-Za-z]+);"
)


def html_to_plain(text: str) -> str:
    """Validate Bot API HTML markup the way Telegram does and return the plain text.

    Raises :class:`BotAPIError` (400 "can't parse entities") for unsupported or unbalanced
    tags and for a bare ``<``. Like Telegram, an ``&`` that does not start a known entity is
    kept as a literal character.
    """
    out: list[str] = []
    stack: list[str] = []
    pos = 0

    def fail(reason: str) -> BotAPIError:
        return BotAPIError(400, f"Bad Request: can't parse entities: {reason}")

    for match in _HTML_TOKEN_RE.finditer(text):
        out.append(text[pos : match.start()])
        pos = match.end()
        offset = len(text[: match.start()].encode())
        entity = match.group("entity")
        if entity is not None:
            if entity.startswith("#x"):
                out.append(chr(int(entity[2:], 16)))
            elif entity.startswith("#"):
                out.append(chr(int(entity[1:])))
            else:
                out.append(_HTML_ENTITIES.get(entity.lower(), match.group(0)))
            continue
        name = (match.group("name") or "").lower()
        if not name:
            raise fail(f"Empty tag name at byte offset {offset}")
        if match.group("end") is None:
            raise fail(f"Unclosed start tag at byte offset {offset}")
        if match.group("close"):
            if not stack:
                raise fail(f"Unexpected end tag at byte offset {offset}")
            if stack[-1] != name:
                raise fail(
                    f'Unmatched end tag at byte offset {offset}, expected "</{stack[-1]}>", '
                    f'found "</{name}>"'
                )
            stack.pop()
        else:
            if name not in _ALLOWED_HTML_TAGS:
                raise fail(f'Unsupported start tag "{name}" at byte offset {offset}')
            stack.append(name)
    out.append(text[pos:])
    if stack:
        raise fail(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(out)


def _render(text: Any, parse_mode: Any, *, limit: int, what: str, required: bool) -> str | None:
    """Validate a text/caption param; return the text as the client would see it."""
    if text is None or text == "":
        if required:
            raise BotAPIError(400, f"Bad Request: {what} is empty")
        return None
    text = str(text)
    plain = html_to_plain(text) if str(parse_mode).upper() == "HTML" else text
    if required and not plain.strip():
        raise BotAPIError(400, f"Bad Request: {what} is empty")
    if _utf16_len(plain) > limit:
        too_long = (
            "message is too long" if what == "message text" else "message caption is too long"
        )
        raise BotAPIError(400, f"Bad Request: {too_long}")
    return plain


def _inline_markup(markup: Any) -> dict[str, Any] | None:
    """Validate a reply_markup param; return it if Telegram would echo it in the Message.

    Only inline keyboards are part of a Message; reply keyboards are accepted but not echoed.
    """
    if not isinstance(markup, dict) or "inline_keyboard" not in markup:
        return None
    for row in markup["inline_keyboard"]:
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA_BYTES:
                raise BotAPIError(400, "Bad Request: BUTTON_DATA_INVALID")
    return markup


# --------------------------------------------------------------------------- core


class FakeBotAPI:
    """Transport-independent state and behaviour of the stand-in Bot API.

    Args:
        latency: seconds to wait before answering each request except ``getUpdates``
            (``asyncio.sleep``, so concurrent requests overlap).
        flood_limits: answer 429 with ``parameters.retry_after`` when the bot sends more than
            30 messages within one second overall, a message into a chat that got one less
            than a second earlier, or more than 20 within one minute into a single group chat
            (negative chat id).
        clock: monotonic clock used for ``Call.at``, the flood windows and the update timings
            (injectable for tests).
        webhook_timeout: seconds a webhook POST may take before it counts as failed.
        webhook_retry_initial: seconds before the first retry of a failed webhook delivery;
            the wait doubles with every further failure of the same update ...
        webhook_retry_max: ... up to this many seconds.
    """

    def __init__(
        self,
        *,
        latency: float = 0.0,
        flood_limits: bool = False,
        clock: Callable[[], float] = time.monotonic,
        webhook_timeout: float = 60.0,
        webhook_retry_initial: float = 0.2,
        webhook_retry_max: float = 5.0,
    ) -> None:
        self.latency = latency
        self.flood_limits = flood_limits
        self.clock = clock
        self.webhook_timeout = webhook_timeout
        self.webhook_retry_initial = webhook_retry_initial
        self.webhook_retry_max = webhook_retry_max
        self.webhook: WebhookConfig | None = None
        """The webhook set with setWebhook; None in polling mode."""
        self.webhook_stats: dict[str, int] = dict.fromkeys(
            (
                "attempts",
                "successes",
                "failures",
                "http_errors",
                "connection_errors",
                "timeouts",
                "filtered",
                "max_in_flight",
            ),
            0,
        )
        """Webhook deliveries: ``attempts`` = ``successes`` + ``failures`` (split into
        ``http_errors``, ``connection_errors`` and ``timeouts``); ``filtered``: updates dropped
        by ``allowed_updates``; ``max_in_flight``: most POSTs in flight at once."""
        self.webhook_attempts: list[WebhookAttempt] = []
        """Every webhook POST, in the order they finished."""
        self.webhook_in_flight = 0
        """Webhook POSTs currently in flight."""
        self.webhook_last_error: tuple[int, str] | None = None
        """``(unix_time, message)`` of the latest failed delivery (getWebhookInfo shows it)."""
        self.webhook_crashes: list[BaseException] = []
        """Unexpected exceptions that ended a delivery task (a bug here; should stay empty)."""
        self.pushed_at: dict[int, float] = {}
        """When each update was first pushed, by update_id (API clock)."""
        self.acked_at: dict[int, float] = {}
        """When each update was acknowledged, by update_id: a 2xx webhook answer, or in polling
        mode the first getUpdates whose offset confirmed it."""
        self.bot_info: dict[str, Any] = dict(BOT_INFO)
        self.calls: list[Call] = []
        self.updates: list[dict[str, Any]] = []
        """Updates not yet confirmed by a getUpdates offset (oldest first)."""
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        """Known messages by (chat_id, message_id): sent by the bot or pushed as updates."""
        self.chats: dict[int, dict[str, Any]] = {}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        """Bot commands by (JSON of scope, language_code)."""
        self.descriptions: dict[tuple[str, str], str] = {}
        """Set with setMyDescription / setMyShortDescription, by (kind, language_code);
        kind is ``"description"`` or ``"short_description"``."""
        self.inline_queries: dict[str, dict[str, Any]] = {}
        """Inline queries pushed with :meth:`push_inline_query`, by id."""
        self.inline_answers: dict[str, dict[str, Any]] = {}
        """The answer (answerInlineQuery params) of each inline query, by its id."""
        self.in_flight = 0
        """Requests (other than getUpdates) currently being answered."""
        self.max_in_flight = 0
        """Highest value ``in_flight`` reached: how concurrently the bot talks to the API."""
        self.pollers_released = False

        self._next_update_id = 1
        self._next_callback_id = 1
        self._next_file_id = 1
        self._last_message_id: dict[int, int] = collections.defaultdict(int)
        self._failures: dict[int | str, _Failure] = {}
        self._send_times: collections.deque[float] = collections.deque()
        self._answered_queries: set[str] = set()
        self._group_send_times: dict[int, collections.deque[float]] = {}
        self._chat_last_send: dict[int | str, float] = {}
        self.flood_hits: collections.Counter[str] = collections.Counter()
        """Messages refused by ``flood_limits``, by limit: ``"overall"``, ``"chat"``,
        ``"group"``."""
        self._update_waiters: set[asyncio.Future[None]] = set()
        self._call_waiters: set[asyncio.Future[None]] = set()
        self._ack_waiters: set[asyncio.Future[None]] = set()
        self._lanes: dict[Hashable, _Lane] = {}
        self._delivering = False
        self._webhook_slots: asyncio.Semaphore | None = None
        self._webhook_http: aiohttp.ClientSession | None = None
        self._handlers: dict[str, tuple[str, Handler]] = {}
        for name, handler in {
            "getMe": lambda p: self.bot_info,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "copyMessage": self._copy_message,
            "sendDocument": self._send_document,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "answerCallbackQuery": self._answer_callback_query,
            "sendChatAction": lambda p: True,
            "setMyDescription": lambda p: self._set_description(p, "description"),
            "setMyShortDescription": lambda p: self._set_description(p, "short_description"),
            "getMyDescription": lambda p: self._get_description(p, "description"),
            "getMyShortDescription": lambda p: self._get_description(p, "short_description"),
            "answerInlineQuery": self._answer_inline_query,
            "setChatMenuButton": lambda p: True,
            "close": lambda p: True,
            "logOut": lambda p: True,
        }.items():
            self.set_handler(name, handler)

    def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        """Telegram takes one answer per callback query; a second one is refused."""
        query_id = str(params.get("callback_query_id", ""))
        if query_id in self._answered_queries:
            raise BotAPIError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        self._answered_queries.add(query_id)
        return True

    # ------------------------------------------------------------------ dispatch

    def set_handler(self, method: str, handler: Handler) -> None:
        """Answer ``method`` (case-insensitive, like Telegram) with ``handler``.

        Use this to add methods the stand-in does not know yet or to override one in a test.
        """
        self._handlers[method.lower()] = (method, handler)

    async def handle(
        self, method: str, params: Mapping[str, Any], *, token: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        """Answer one Bot API request; return ``(http_status, json_body)``.

        This is the single entry point both transports use. Unknown methods get 404.
        """
        entry = self._handlers.get(method.lower())
        name = entry[0] if entry else method
        decoded = decode_params(params)
        long_poll = name == "getUpdates"
        if not long_poll:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        arrived = self.clock()  # flood limits count requests when they arrive, as a server does
        try:
            if not long_poll and self.latency > 0:
                await asyncio.sleep(self.latency)
            call = Call(method=name, params=decoded, at=self.clock(), token=token)
            self.calls.append(call)
            if long_poll:
                self._notify_calls()
            try:
                if entry is None:
                    raise BotAPIError(404, "Not Found: method not found")
                self._check_failures(decoded)
                self._check_flood(name, decoded, arrived)
                result = entry[1](decoded)
                if inspect.isawaitable(result):
                    result = await result
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                # Malformed params (e.g. a non-numeric message_id): Telegram answers 400 too.
                error = BotAPIError(400, f"Bad Request: invalid parameters: {exc!r}")
                call.status, body = error.error_code, error.to_body()
                call.response = body
            except BotAPIError as exc:
                call.status, body = exc.error_code, exc.to_body()
                call.response = body
            else:
                result = copy.deepcopy(result)
                call.status, body = 200, {"ok": True, "result": result}
                call.response = result
            self._notify_calls()
            return call.status, body
        finally:
            if not long_poll:
                self.in_flight -= 1

    # ------------------------------------------------------------------ failure injection

    def fail_chat(
        self,
        chat_id: int | str,
        error_code: int = 403,
        description: str = "Forbidden: bot was blocked by the user",
        *,
        times: int | None = None,
        retry_after: int | None = None,
    ) -> None:
        """Make every request whose ``chat_id`` is ``chat_id`` fail with this error.

        ``times`` limits the failure to the next N such requests (None: until
        :meth:`unfail_chat`). ``retry_after`` adds ``parameters.retry_after`` (for 429s).
        Typical: ``fail_chat(5, 400, "Bad Request: chat not found")``.
        """
        key = _parse_chat_id(chat_id)
        if key is None:
            raise ValueError("chat_id is required")
        self._failures[key] = _Failure(error_code, description, retry_after, times)

    def unfail_chat(self, chat_id: int | str) -> None:
        """Undo :meth:`fail_chat` for ``chat_id``."""
        key = _parse_chat_id(chat_id)
        if key is not None:
            self._failures.pop(key, None)

    def _check_failures(self, params: dict[str, Any]) -> None:
        key = _parse_chat_id(params.get("chat_id"))
        if key is None or key not in self._failures:
            return
        failure = self._failures[key]
        if failure.remaining is not None:
            failure.remaining -= 1
            if failure.remaining <= 0:
                del self._failures[key]
        parameters = {"retry_after": failure.retry_after} if failure.retry_after else None
        raise BotAPIError(failure.error_code, failure.description, parameters)

    # ------------------------------------------------------------------ flood limits

    @staticmethod
    def is_message_method(method: str) -> bool:
        """Whether ``method`` delivers a message (counts against the flood limits)."""
        return (
            method.startswith("send") and method != "sendChatAction"
        ) or method in _MESSAGE_METHODS_EXTRA

    def _check_flood(self, method: str, params: dict[str, Any], arrived: float) -> None:
        """429 when the message that arrived at ``arrived`` breaks a flood limit.

        Counted at arrival, before the simulated round trip: a real server limits requests
        as they come in, and the stand-in's own timers firing late (on a busy machine) must
        not bunch arrivals that were spaced when they were sent.
        """
        if not self.flood_limits or not self.is_message_method(method):
            return
        now = arrived
        overall = self._send_times
        while overall and overall[0] <= now - 1.0:
            overall.popleft()
        if len(overall) >= FLOOD_MAX_PER_SECOND:
            raise self._flood_error("overall", overall[0] + 1.0 - now)
        chat_id = _parse_chat_id(params.get("chat_id"))
        if chat_id is not None:
            last = self._chat_last_send.get(chat_id)
            if last is not None and now - last < FLOOD_MIN_CHAT_INTERVAL:
                raise self._flood_error("chat", last + FLOOD_MIN_CHAT_INTERVAL - now)
        if isinstance(chat_id, int) and chat_id < 0:
            group = self._group_send_times.setdefault(chat_id, collections.deque())
            while group and group[0] <= now - 60.0:
                group.popleft()
            if len(group) >= FLOOD_MAX_PER_GROUP_MINUTE:
                raise self._flood_error("group", group[0] + 60.0 - now)
            group.append(now)
        if chat_id is not None:
            self._chat_last_send[chat_id] = now
        overall.append(now)

    def _flood_error(self, limit: str, wait: float) -> BotAPIError:
        self.flood_hits[limit] += 1
        retry_after = max(1, math.ceil(wait))
        return BotAPIError(
            429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
        )

    # ------------------------------------------------------------------ assertions helpers

    def calls_of(self, method: str) -> list[Call]:
        """All recorded calls of ``method`` (case-insensitive), oldest first."""
        wanted = method.lower()
        return [c for c in self.calls if c.method.lower() == wanted]

    def sent_texts(
        self, chat_id: int | str | None = None, *, include_failed: bool = False
    ) -> list[str]:
        """Texts of sendMessage calls (optionally only into ``chat_id``), oldest first.

        Only successfully answered calls count unless ``include_failed`` is true. The texts are
        the raw ``text`` params (markup included).
        """
        target = _parse_chat_id(chat_id)
        return [
            str(c.params.get("text"))
            for c in self.calls
            if c.method == "sendMessage"
            and (target is None or c.chat_id == target)
            and (include_failed or c.ok)
        ]

    def clear_calls(self) -> None:
        """Forget the recorded calls (state such as messages and updates is kept)."""
        self.calls.clear()

    async def wait_for(
        self,
        predicate: Callable[[list[Call]], bool],
        timeout: float = 10.0,  # noqa: ASYNC109 - part of the helper's contract
    ) -> list[Call]:
        """Wait until ``predicate(self.calls)`` is true; return ``self.calls``.

        The predicate is re-evaluated whenever a call is recorded or answered and whenever a
        webhook delivery attempt ends. Raises ``TimeoutError`` listing the recorded methods if
        it does not hold within ``timeout``.
        """
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                while not predicate(self.calls):
                    waiter: asyncio.Future[None] = loop.create_future()
                    self._call_waiters.add(waiter)
                    try:
                        await waiter
                    finally:
                        self._call_waiters.discard(waiter)
        except TimeoutError:
            raise TimeoutError(
                f"condition not met within {timeout}s; {self.describe_calls()}"
            ) from None
        return self.calls

    async def wait_calls(
        self,
        method: str,
        count: int = 1,
        timeout: float = 10.0,  # noqa: ASYNC109 - part of the helper's contract
    ) -> list[Call]:
        """Wait until at least ``count`` calls of ``method`` were recorded; return all of them.

        Calls are recorded once answered, except ``getUpdates`` (recorded when it arrives).
        """
        wanted = method.lower()

        def enough(calls: list[Call]) -> bool:
            return sum(1 for c in calls if c.method.lower() == wanted) >= count

        try:
            await self.wait_for(enough, timeout)
        except TimeoutError as exc:
            raise TimeoutError(f"expected {count} × {method}: {exc}") from None
        return self.calls_of(method)

    def describe_calls(self, last: int = 8) -> str:
        """Human-readable summary of the recorded calls, for failure messages."""
        if not self.calls:
            return "no calls recorded"
        counts = collections.Counter(c.method for c in self.calls)
        summary = ", ".join(f"{m}×{n}" for m, n in counts.items())
        tail = "; ".join(f"{c.method}[{c.status}]({_brief(c.params)})" for c in self.calls[-last:])
        return f"recorded {len(self.calls)} calls: {summary}. Last: {tail}"

    def _notify_calls(self) -> None:
        for waiter in self._call_waiters:
            if not waiter.done():
                waiter.set_result(None)

    # ------------------------------------------------------------------ updates

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by the bot (copy)."""
        return list(self.updates)

    def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue a raw update for getUpdates or the webhook; ``update_id`` is assigned if missing.

        Returns the queued update (with its ``update_id``). While a webhook is set the update
        is handed to the delivery tasks at once (so call this from the event loop).
        """
        update = copy.deepcopy(update)
        if "update_id" in update:
            self._next_update_id = max(self._next_update_id, int(update["update_id"]) + 1)
        else:
            update = {"update_id": self._next_update_id, **update}
            self._next_update_id += 1
        self.pushed_at.setdefault(update["update_id"], self.clock())
        self.updates.append(update)
        if self._delivering:
            self._enqueue(update)
        self._wake_pollers()
        return update

    def push_text(
        self,
        text: str,
        user_id: int,
        chat_id: int | None = None,
        chat_type: str = "private",
    ) -> dict[str, Any]:
        """Queue a plain text message from user ``user_id``; return the update."""
        message = self._user_message(text, user_id, chat_id, chat_type)
        return self.push_update({"message": message})

    def push_command(
        self,
        text: str,
        user_id: int,
        chat_id: int | None = None,
        chat_type: str = "private",
        username_suffix: bool | str = False,
    ) -> dict[str, Any]:
        """Queue a command message such as ``"/start"`` or ``"/steps 2024"``; return the update.

        The message has a ``bot_command`` entity at offset 0 covering the command (including
        ``@botname``). ``username_suffix=True`` appends ``@exam_test_bot`` to the command (as
        clients do in groups); a string appends ``@<that string>`` (a command for another bot).
        """
        if not text.startswith("/"):
            raise ValueError(f"a command must start with '/': {text!r}")
        command = text.split(maxsplit=1)[0]
        rest = text[len(command) :]
        if username_suffix:
            suffix = BOT_USERNAME if username_suffix is True else str(username_suffix)
            command = f"{command}@{suffix.lstrip('@')}"
        message = self._user_message(command + rest, user_id, chat_id, chat_type)
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": _utf16_len(command)}]
        return self.push_update({"message": message})

    def push_callback(
        self,
        data: str,
        user_id: int,
        message_id: int,
        chat_id: int | None = None,
        message_text: str = "menu",
    ) -> dict[str, Any]:
        """Queue a button press (callback_query) on bot message ``message_id``; return the update.

        If the stand-in knows that message (the bot sent it here), the callback carries its
        current text and keyboard and ``message_text`` is ignored; otherwise a bot message with
        ``message_text`` is made up and remembered, so later edits of it behave realistically.
        """
        chat_id = user_id if chat_id is None else chat_id
        chat = self.chat(chat_id)
        message = self.messages.get((chat_id, message_id))
        if message is None:
            message = {
                "message_id": message_id,
                "from": self.bot_user,
                "chat": chat,
                "date": int(time.time()),
                "text": message_text,
            }
            self.messages[(chat_id, message_id)] = message
            self._last_message_id[chat_id] = max(self._last_message_id[chat_id], message_id)
        query = {
            "id": str(self._next_callback_id),
            "from": make_user(user_id),
            "message": message,
            "chat_instance": str(abs(chat_id) * 7919 + 17),
            "data": data,
        }
        self._next_callback_id += 1
        return self.push_update({"callback_query": query})

    def push_inline_query(
        self, query: str, user_id: int, chat_type: str = "supergroup"
    ) -> dict[str, Any]:
        """Queue an inline query (``@bot <query>`` typed in a chat of ``chat_type``, which the
        bot need not be in); return the update. Like Telegram, only for a bot whose inline
        mode is on (``bot_info["supports_inline_queries"]``, BotFather's /setinline)."""
        if not self.bot_info.get("supports_inline_queries"):
            raise ValueError("inline mode is off: set bot_info['supports_inline_queries']")
        inline = {
            "id": str(self._next_callback_id),
            "from": make_user(user_id),
            "query": query,
            "offset": "",
            "chat_type": chat_type,
        }
        self._next_callback_id += 1
        self.inline_queries[inline["id"]] = inline
        return self.push_update({"inline_query": inline})

    def release_pollers(self) -> None:
        """Make pending and future getUpdates calls return at once (used on shutdown)."""
        self.pollers_released = True
        self._wake_pollers()

    def _wake_pollers(self) -> None:
        for waiter in self._update_waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _acknowledge(self, updates: Iterable[dict[str, Any]]) -> None:
        """Record updates as acknowledged (first time only) and wake :meth:`wait_delivered`."""
        now = self.clock()
        for update in updates:
            self.acked_at.setdefault(update["update_id"], now)
        self._notify_acks()

    def _notify_acks(self) -> None:
        for waiter in self._ack_waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait_delivered(
        self,
        update_ids: Iterable[int] | None = None,
        timeout: float = 10.0,  # noqa: ASYNC109 - part of the helper's contract
    ) -> None:
        """Wait until none of ``update_ids`` is pending any more (default: until none at all is).

        An update stops being pending when it is acknowledged (webhook 2xx, or confirmed by a
        getUpdates offset) or dropped (``drop_pending_updates``, ``allowed_updates``). Raises
        ``TimeoutError`` with the webhook stats if that does not happen within ``timeout``,
        and ``RuntimeError`` if a delivery task crashed.
        """
        wanted = None if update_ids is None else set(update_ids)

        def done() -> bool:
            if self.webhook_crashes:
                raise RuntimeError("webhook delivery crashed") from self.webhook_crashes[0]
            if wanted is None:
                return not self.updates
            return not any(u["update_id"] in wanted for u in self.updates)

        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                while not done():
                    waiter: asyncio.Future[None] = loop.create_future()
                    self._ack_waiters.add(waiter)
                    try:
                        await waiter
                    finally:
                        self._ack_waiters.discard(waiter)
        except TimeoutError:
            pending = [u["update_id"] for u in self.updates]
            raise TimeoutError(
                f"updates still pending after {timeout}s: {pending[:20]}"
                f"{' ...' if len(pending) > 20 else ''}; webhook={self.webhook}, "
                f"stats={self.webhook_stats}, last error={self.webhook_last_error}"
            ) from None

    def ack_delays(self) -> dict[int, float]:
        """Seconds from push to acknowledgement, by update_id, for acknowledged updates."""
        return {
            update_id: acked - self.pushed_at[update_id]
            for update_id, acked in self.acked_at.items()
            if update_id in self.pushed_at
        }

    # ------------------------------------------------------------------ chats & messages

    @property
    def bot_user(self) -> dict[str, Any]:
        """The bot as a ``User`` dict (the ``from`` of its messages)."""
        return {key: self.bot_info[key] for key in ("id", "is_bot", "first_name", "username")}

    def chat(
        self, chat_id: int, chat_type: str | None = None, title: str | None = None
    ) -> dict[str, Any]:
        """The ``Chat`` dict for ``chat_id``, registering or updating it.

        Unknown chats default to private for positive ids and supergroup for negative ids.
        """
        known = self.chats.get(chat_id)
        if (
            known is not None
            and chat_type in (None, known["type"])
            and title in (None, known.get("title"))
        ):
            return known
        chat_type = (
            chat_type or (known or {}).get("type") or ("private" if chat_id > 0 else "supergroup")
        )
        if chat_type == "private":
            if chat_id < 0:
                raise ValueError(
                    f"private chats have positive ids, got {chat_id}; "
                    "pass chat_type='group' or 'supergroup' for a group"
                )
            chat = {"id": chat_id, "type": "private", "first_name": USER_FIRST_NAME}
        else:
            if chat_id > 0:
                raise ValueError(f"{chat_type} chats have negative ids, got {chat_id}")
            chat = {"id": chat_id, "type": chat_type, "title": title or GROUP_TITLE}
        self.chats[chat_id] = chat
        return chat

    def _new_message_id(self, chat_id: int) -> int:
        self._last_message_id[chat_id] += 1
        return self._last_message_id[chat_id]

    def _user_message(
        self, text: str, user_id: int, chat_id: int | None, chat_type: str
    ) -> dict[str, Any]:
        if chat_id is None:
            if chat_type != "private":
                raise ValueError(f"pass a negative chat_id for a {chat_type} chat")
            chat_id = user_id
        chat = self.chat(chat_id, chat_type)
        message = {
            "message_id": self._new_message_id(chat_id),
            "from": make_user(user_id),
            "chat": chat,
            "date": int(time.time()),
            "text": text,
        }
        self.messages[(chat_id, message["message_id"])] = message
        return message

    def _target_chat(self, params: dict[str, Any], key: str = "chat_id") -> dict[str, Any]:
        chat_id = _parse_chat_id(params.get(key))
        if not isinstance(chat_id, int) or chat_id == 0:
            raise BotAPIError(400, "Bad Request: chat not found")
        return self.chat(chat_id)

    def _bot_message(self, chat: dict[str, Any], **content: Any) -> dict[str, Any]:
        message = {
            "message_id": self._new_message_id(chat["id"]),
            "from": self.bot_user,
            "chat": chat,
            "date": int(time.time()),
            **{key: value for key, value in content.items() if value is not None},
        }
        self.messages[(chat["id"], message["message_id"])] = message
        return message

    # ------------------------------------------------------------------ methods

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        if self.webhook is not None:
            raise BotAPIError(409, _WEBHOOK_ACTIVE)
        offset = _as_int(params.get("offset"), 0) or 0
        limit = min(max(_as_int(params.get("limit"), 100) or 100, 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if self.webhook is not None:  # setWebhook arrived during the long poll
                raise BotAPIError(409, _TERMINATED_BY_SET_WEBHOOK)
            if offset > 0:
                confirmed = [u for u in self.updates if u["update_id"] < offset]
                if confirmed:
                    self.updates = [u for u in self.updates if u["update_id"] >= offset]
                    self._acknowledge(confirmed)
            elif offset < 0:
                self.updates = self.updates[offset:]
                self._notify_acks()
            remaining = deadline - loop.time()
            if self.updates or remaining <= 0 or self.pollers_released:
                return self.updates[:limit]
            waiter: asyncio.Future[None] = loop.create_future()
            self._update_waiters.add(waiter)
            try:
                async with asyncio.timeout(remaining):
                    await waiter
            except TimeoutError:
                pass
            finally:
                self._update_waiters.discard(waiter)

    async def _set_webhook(self, params: dict[str, Any]) -> bool:
        url = str(params.get("url") or "").strip()
        if not url:  # Telegram: an empty URL removes the webhook
            return await self._delete_webhook(params)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BotAPIError(400, "Bad Request: bad webhook: An HTTPS URL must be provided")
        secret = params.get("secret_token")
        secret = None if secret is None or secret == "" else str(secret)
        if secret is not None and not _SECRET_TOKEN_RE.match(secret):
            raise BotAPIError(400, "Bad Request: secret token contains unallowed characters")
        max_connections = _as_int(params.get("max_connections"), WEBHOOK_DEFAULT_MAX_CONNECTIONS)
        assert max_connections is not None
        if not 1 <= max_connections <= WEBHOOK_MAX_CONNECTIONS:
            raise BotAPIError(
                400, f"Bad Request: max_connections must be between 1 and {WEBHOOK_MAX_CONNECTIONS}"
            )
        old = self.webhook
        allowed = params.get("allowed_updates")
        if allowed is None:  # not specified: Telegram keeps the previous setting
            allowed_updates = old.allowed_updates if old is not None else None
        elif isinstance(allowed, list):
            allowed_updates = tuple(str(kind) for kind in allowed)
        else:
            raise BotAPIError(400, "Bad Request: can't parse allowed updates")
        if _truthy(params.get("drop_pending_updates")):
            await self._stop_lanes()
            self._drop_pending()
        self.webhook = WebhookConfig(url, secret, max_connections, allowed_updates)
        if old is None or old.url != url:
            self.webhook_last_error = None
        if old is None or old.max_connections != max_connections or self._webhook_slots is None:
            # Posts already in flight finish under the old limit.
            self._webhook_slots = asyncio.Semaphore(max_connections)
        self._wake_pollers()  # a pending long poll ends with 409
        if not self._delivering or (old is not None and old.allowed_updates != allowed_updates):
            await self._stop_lanes()
            self._delivering = True
            for update in list(self.updates):
                self._enqueue(update)
        return True

    async def _delete_webhook(self, params: dict[str, Any]) -> bool:
        self.webhook = None
        self.webhook_last_error = None
        await self._stop_lanes()
        if _truthy(params.get("drop_pending_updates")):
            self._drop_pending()
        return True

    def _drop_pending(self) -> None:
        self.updates.clear()
        self._notify_acks()

    def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": self.webhook.url if self.webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.updates),
        }
        if self.webhook is not None:
            info["max_connections"] = self.webhook.max_connections
            if self.webhook.allowed_updates is not None:
                info["allowed_updates"] = list(self.webhook.allowed_updates)
            host = urlsplit(self.webhook.url).hostname or ""
            if re.fullmatch(r"[\d.]+", host):
                info["ip_address"] = host
        if self.webhook_last_error is not None:
            info["last_error_date"], info["last_error_message"] = self.webhook_last_error
        return info

    # ------------------------------------------------------------------ webhook delivery

    def _enqueue(self, update: dict[str, Any]) -> None:
        """Hand a pending update to the lane of its chat (starting the lane's task)."""
        assert self.webhook is not None
        if not self.webhook.allows(_update_type(update)):
            self.webhook_stats["filtered"] += 1
            self._remove_pending(update)
            self._notify_acks()
            return
        chat_id = _update_chat(update)
        key: Hashable = chat_id if chat_id is not None else ("update", update["update_id"])
        lane = self._lanes.get(key)
        if lane is not None:
            lane.queue.append(update)
            return
        lane = _Lane(collections.deque([update]))
        self._lanes[key] = lane
        lane.task = asyncio.get_running_loop().create_task(
            self._run_lane(key, lane, chat_id), name=f"standin-webhook-{key}"
        )
        lane.task.add_done_callback(self._lane_finished)

    def _lane_finished(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self.webhook_crashes.append(task.exception())  # type: ignore[arg-type]
            self._notify_acks()

    def _remove_pending(self, update: dict[str, Any]) -> None:
        for index, pending in enumerate(self.updates):
            if pending is update:
                del self.updates[index]
                return

    async def _run_lane(self, key: Hashable, lane: _Lane, chat_id: int | None) -> None:
        """Deliver one chat's updates in order, each until the webhook acknowledges it."""
        while lane.queue:
            update = lane.queue[0]
            body = json.dumps(update, ensure_ascii=False).encode()
            delay = self.webhook_retry_initial
            while not await self._post_update(update["update_id"], chat_id, body):
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.webhook_retry_max)
            lane.queue.popleft()
            self._remove_pending(update)
            self._acknowledge([update])
        if self._lanes.get(key) is lane:
            del self._lanes[key]

    async def _post_update(self, update_id: int, chat_id: int | None, body: bytes) -> bool:
        """POST one update to the webhook once; return whether it was acknowledged (2xx)."""
        config, slots = self.webhook, self._webhook_slots
        assert config is not None and slots is not None  # lanes stop when the webhook goes
        if self._webhook_http is None:
            self._webhook_http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        http = self._webhook_http
        headers = {"Content-Type": "application/json"}
        if config.secret_token is not None:
            headers[WEBHOOK_SECRET_HEADER] = config.secret_token
        async with slots:
            stats = self.webhook_stats
            self.webhook_in_flight += 1
            stats["attempts"] += 1
            stats["max_in_flight"] = max(stats["max_in_flight"], self.webhook_in_flight)
            started = self.clock()
            status, error = 0, None
            try:
                async with http.post(
                    config.url,
                    data=body,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=self.webhook_timeout),
                    allow_redirects=False,
                ) as response:
                    await response.read()
                    status = response.status
                if not 200 <= status < 300:
                    stats["http_errors"] += 1
                    error = f"Wrong response from the webhook: {status} {response.reason}"
            except TimeoutError:
                stats["timeouts"] += 1
                error = "Read timeout expired"
            except (aiohttp.ClientError, OSError) as exc:
                stats["connection_errors"] += 1
                error = _connection_error(exc)
            finally:
                self.webhook_in_flight -= 1
        self.webhook_attempts.append(
            WebhookAttempt(update_id, chat_id, started, self.clock(), status, error)
        )
        self._notify_calls()  # predicates of wait_for may look at the webhook too
        if error is not None:
            stats["failures"] += 1
            self.webhook_last_error = (int(time.time()), error)
            return False
        stats["successes"] += 1
        return True

    async def _stop_lanes(self) -> None:
        """Cancel the delivery tasks; their updates stay pending."""
        self._delivering = False
        lanes = list(self._lanes.values())
        self._lanes.clear()
        tasks = [lane.task for lane in lanes if lane.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def stop_delivery(self) -> None:
        """Stop webhook delivery and close its HTTP session (:meth:`StandinServer.stop` does).

        The webhook stays set and undelivered updates stay pending; a later ``setWebhook``
        resumes delivery.
        """
        await self._stop_lanes()
        if self._webhook_http is not None:
            await self._webhook_http.close()
            self._webhook_http = None

    @staticmethod
    def _text_and_markup(params: dict[str, Any]) -> tuple[str | None, dict[str, Any] | None]:
        """Validated message text (as shown) and inline keyboard of a send or edit."""
        text = _render(
            params.get("text"),
            params.get("parse_mode"),
            limit=MAX_TEXT_LENGTH,
            what="message text",
            required=True,
        )
        return text, _inline_markup(params.get("reply_markup"))

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._target_chat(params)
        text, markup = self._text_and_markup(params)
        return self._bot_message(chat, text=text, reply_markup=markup)

    def _editable_message(self, params: dict[str, Any]) -> dict[str, Any] | None:
        """The stored message an edit targets (made up if unknown); None for inline messages."""
        if params.get("inline_message_id"):
            return None
        chat = self._target_chat(params)
        message_id = _as_int(params.get("message_id"))
        if message_id is None:
            raise BotAPIError(400, "Bad Request: message identifier is not specified")
        message = self.messages.get((chat["id"], message_id))
        if message is None:
            message = {
                "message_id": message_id,
                "from": self.bot_user,
                "chat": chat,
                "date": int(time.time()),
            }
            self.messages[(chat["id"], message_id)] = message
        elif message["from"]["id"] != self.bot_info["id"]:
            raise BotAPIError(400, "Bad Request: message can't be edited")
        return message

    def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        text, markup = self._text_and_markup(params)
        message = self._editable_message(params)
        if message is None:
            return True
        if message.get("text") == text and message.get("reply_markup") == markup:
            raise BotAPIError(400, _NOT_MODIFIED)
        message["text"] = text
        self._set_markup(message, markup)
        message["edit_date"] = int(time.time())
        return message

    def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        markup = _inline_markup(params.get("reply_markup"))
        message = self._editable_message(params)
        if message is None:
            return True
        if message.get("reply_markup") == markup:
            raise BotAPIError(400, _NOT_MODIFIED)
        self._set_markup(message, markup)
        message["edit_date"] = int(time.time())
        return message

    @staticmethod
    def _set_markup(message: dict[str, Any], markup: dict[str, Any] | None) -> None:
        if markup is None:
            message.pop("reply_markup", None)
        else:
            message["reply_markup"] = markup

    def _delete_message(self, params: dict[str, Any]) -> bool:
        chat = self._target_chat(params)
        self.messages.pop((chat["id"], _as_int(params.get("message_id")) or 0), None)
        return True

    def _copy_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._target_chat(params)
        source_chat = _parse_chat_id(params.get("from_chat_id"))
        source_id = _as_int(params.get("message_id"))
        source = (
            self.messages.get((source_chat, source_id))
            if isinstance(source_chat, int) and source_id is not None
            else None
        )
        content = {}
        if source is not None:
            content = {k: v for k, v in source.items() if k in ("text", "document", "caption")}
        copied = self._bot_message(chat, **content)
        return {"message_id": copied["message_id"]}

    def _send_document(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._target_chat(params)
        document = params.get("document")
        if document is None or document == "":
            raise BotAPIError(400, "Bad Request: there is no document in the request")
        caption = _render(
            params.get("caption"),
            params.get("parse_mode"),
            limit=MAX_CAPTION_LENGTH,
            what="message caption",
            required=False,
        )
        file_id = f"BQACAgUAAxkDAAI{self._next_file_id:08d}"
        self._next_file_id += 1
        if isinstance(document, UploadedFile):
            doc = {
                "file_id": file_id,
                "file_unique_id": f"AgAD{self._next_file_id:06d}",
                "file_name": document.filename,
                "mime_type": document.content_type,
                "file_size": document.size,
            }
        else:  # a file_id or URL of an existing file
            doc = {"file_id": str(document), "file_unique_id": f"AgAD{self._next_file_id:06d}"}
        doc = {k: v for k, v in doc.items() if v is not None}
        markup = _inline_markup(params.get("reply_markup"))
        return self._bot_message(chat, document=doc, caption=caption, reply_markup=markup)

    @staticmethod
    def _scope_key(params: dict[str, Any]) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    def _set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise BotAPIError(400, "Bad Request: commands must be an array")
        for command in commands:
            if not _COMMAND_RE.match(str(command.get("command", ""))):
                raise BotAPIError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise BotAPIError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[self._scope_key(params)] = commands
        return True

    def _set_description(self, params: dict[str, Any], kind: str) -> bool:
        """setMyDescription (0-512 characters) / setMyShortDescription (0-120); "" removes."""
        text = str(params.get(kind) or "")
        limit = MAX_DESCRIPTION_LENGTH if kind == "description" else MAX_SHORT_DESCRIPTION_LENGTH
        if _utf16_len(text) > limit:
            raise BotAPIError(400, f"Bad Request: {kind} is too long")
        key = (kind, str(params.get("language_code") or ""))
        if text:
            self.descriptions[key] = text
        else:
            self.descriptions.pop(key, None)
        return True

    def _get_description(self, params: dict[str, Any], kind: str) -> dict[str, str]:
        key = (kind, str(params.get("language_code") or ""))
        return {kind: self.descriptions.get(key, "")}

    def _answer_inline_query(self, params: dict[str, Any]) -> bool:
        """One answer per inline query, at most 50 results, each one valid as Telegram checks."""
        query_id = str(params.get("inline_query_id", ""))
        if query_id not in self.inline_queries or query_id in self.inline_answers:
            raise BotAPIError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        results = params.get("results")
        if not isinstance(results, list) or len(results) > MAX_INLINE_RESULTS:
            raise BotAPIError(400, "Bad Request: RESULTS_TOO_MUCH")
        seen: set[str] = set()
        for result in results:
            result_id = str(result.get("id", ""))
            if not 1 <= len(result_id.encode()) <= MAX_INLINE_RESULT_ID_BYTES:
                raise BotAPIError(400, "Bad Request: RESULT_ID_INVALID")
            if result_id in seen:
                raise BotAPIError(400, "Bad Request: RESULT_ID_DUPLICATE")
            seen.add(result_id)
            if result.get("type") == "article":
                content = result.get("input_message_content") or {}
                if not result.get("title") or "message_text" not in content:
                    raise BotAPIError(400, "Bad Request: RESULT_TYPE_INVALID")
                _render(
                    content.get("message_text"),
                    content.get("parse_mode"),
                    limit=MAX_TEXT_LENGTH,
                    what="message text",
                    required=True,
                )
            _inline_markup(result.get("reply_markup"))
        self.inline_answers[query_id] = params
        return True

    def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self.commands.get(self._scope_key(params), [])

    def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        self.commands.pop(self._scope_key(params), None)
        return True


def _brief(params: dict[str, Any], width: int = 60) -> str:
    text = ", ".join(f"{k}={v!r}" for k, v in params.items())
    return text if len(text) <= width else text[: width - 1] + "…"


# --------------------------------------------------------------------------- HTTP transport


class StandinServer:
    """Serve a :class:`FakeBotAPI` over HTTP on 127.0.0.1 (a free port).

    Routes ``GET``/``POST`` ``/bot{token}/{method}``; any token is accepted and recorded in
    ``Call.token``. Bodies may be form-urlencoded, multipart (files become
    :class:`UploadedFile`) or JSON; query-string params are merged in.

    Usage::

        async with StandinServer(latency=0.05) as server:
            env = {"BOT_TOKEN": "123456:TEST", "BOT_API_BASE_URL": server.base_url}
            server.api.push_command("/start", user_id=1)

    Args:
        api: the state to serve; a new ``FakeBotAPI(**api_options)`` if omitted.
        host: interface to bind (keep the default: only loopback).
        port: 0 picks a free port.
        deliver_after_disconnect: answer a request whose client went away instead of
            cancelling it. At Telegram a request that left the machine arrives anyway, so a
            message a killed bot had in flight is delivered: the worst case for duplicates.
        api_options: forwarded to :class:`FakeBotAPI` (``latency``, ``flood_limits``, ...).

    While it serves, the process's objects are moved out of the garbage collector's reach every
    few seconds (``gc.freeze``): the recorded calls pile up, and a full collection over them
    stops the event loop for over 100 ms (measured: 159 ms after 200 s of a broadcast). The
    requests that arrived meanwhile would then be counted as arriving together, and the flood
    window would refuse messages the bot had spaced correctly. Telegram does not stop counting
    while its heap grows; the stand-in should not either.
    """

    def __init__(
        self,
        api: FakeBotAPI | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        deliver_after_disconnect: bool = False,
        **api_options: Any,
    ) -> None:
        if api is not None and api_options:
            raise TypeError("pass either an api or options for a new one, not both")
        self.api = api if api is not None else FakeBotAPI(**api_options)
        self.host = host
        self.port = port
        self.deliver_after_disconnect = deliver_after_disconnect
        self._runner: web.AppRunner | None = None
        self._freezer: asyncio.Task[None] | None = None

    @property
    def base_url(self) -> str:
        """Bot API base URL (token gets appended), e.g. for ``BOT_API_BASE_URL``."""
        return f"http://{self.host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        """Base URL for file downloads (not served; for completeness of bot configs)."""
        return f"http://{self.host}:{self.port}/file/bot"

    async def start(self) -> None:
        """Bind and start serving."""
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(
            app,
            access_log=None,
            handler_cancellation=not self.deliver_after_disconnect,
            shutdown_timeout=1.0,
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self._freezer = asyncio.create_task(self._freeze_garbage())

    @staticmethod
    async def _freeze_garbage(every: float = 5.0) -> None:
        """Keep full collections short: what survived so far is not scanned again."""
        try:
            while True:
                gc.freeze()
                await asyncio.sleep(every)
        finally:
            gc.unfreeze()

    async def stop(self) -> None:
        """Stop webhook delivery, release long polls and stop serving."""
        if self._freezer is not None:
            self._freezer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._freezer
            self._freezer = None
        await self.api.stop_delivery()
        self.api.release_pollers()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _handle(self, request: web.Request) -> web.Response:
        params: dict[str, Any] = dict(request.query)
        if request.body_exists:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    return web.json_response(
                        BotAPIError(400, "Bad Request: can't parse JSON").to_body(), status=400
                    )
                if isinstance(body, dict):
                    params.update(body)
            else:
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        params[key] = UploadedFile(
                            value.filename, value.content_type, value.file.read()
                        )
                    else:
                        params[key] = value
        status, body = await self.api.handle(
            request.match_info["method"], params, token=request.match_info["token"]
        )
        return web.json_response(body, status=status)


# --------------------------------------------------------------------------- in-process transport


class FakeRequest(BaseRequest):
    """A ``telegram.request.BaseRequest`` answering from a :class:`FakeBotAPI` in-process.

    No sockets are involved. Use one instance for ``.request()`` and another for
    ``.get_updates_request()``. ``read_timeout`` is enforced (raising ``telegram.error.TimedOut``)
    so a large simulated latency behaves like a slow network.
    """

    def __init__(self, api: FakeBotAPI, *, read_timeout: float | None = 5.0) -> None:
        self.api = api
        self._read_timeout = read_timeout
        self._closed = False

    @property
    def read_timeout(self) -> float | None:
        """Default read timeout in seconds (long polls add their own ``timeout``)."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Nothing to set up; re-opens after :meth:`shutdown`."""
        self._closed = False

    async def shutdown(self) -> None:
        """Mark closed; later requests raise ``RuntimeError`` like a closed HTTPXRequest."""
        self._closed = True

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Answer the request from the FakeBotAPI; return ``(status, json_bytes)``."""
        if self._closed:
            raise RuntimeError("This FakeRequest is not initialized!")
        segments = urlsplit(url).path.rstrip("/").split("/")
        api_method = segments[-1]
        token = segments[-2].removeprefix("bot") if len(segments) >= 2 else None
        params: dict[str, Any] = {}
        if request_data is not None:
            params.update(request_data.json_parameters)
            if request_data.contains_files:
                for name, (filename, content, mimetype) in request_data.multipart_data.items():
                    data = content if isinstance(content, bytes) else content.read()
                    params[name] = UploadedFile(filename, mimetype, data)
        timeout = self._read_timeout if read_timeout is BaseRequest.DEFAULT_NONE else read_timeout
        try:
            async with asyncio.timeout(timeout):
                status, body = await self.api.handle(api_method, params, token=token)
        except TimeoutError:
            raise TimedOut(f"Stand-in did not answer {api_method} within {timeout}s") from None
        return status, json.dumps(body).encode()
