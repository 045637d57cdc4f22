"""Inline mode: ``@bot 复核`` in any chat, the bot a member or not, offers matching topics as
cards to send there.

Each card is a topic: its title and description in the list, its text (within Telegram's
4096 and cut at a line break when longer) as the message sent, and a button that opens the
bot on that topic (a deep link). Topics come from the free-text matcher
(:meth:`bot.sharing.Sharing.matching`). Answers are the same for everyone, so Telegram may
cache them (``cache_time``, ``is_personal=False``) and the bot keeps the last ones built
(until content or the matcher changes). A user typing faster than :data:`LIMIT` queries in
:data:`WINDOW` seconds gets no answers for a short pause; every answer waits for the shared
send budget like any other call (limiter.py).
"""

from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Sequence

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode
from telegram.ext import InlineQueryHandler
from telegram.helpers import create_deep_linked_url

from bot.channels.telegram.capabilities import TELEGRAM
from bot.channels.telegram.context import BotContext
from bot.content import Content
from bot.core.channel import split_to_fit
from bot.core.flood import FloodGuard, Verdict
from bot.core.text import Text, markup, to_html
from bot.sharing import LinkMaker

CACHE_TIME = 300  # seconds Telegram may keep an answer for everyone asking the same
MAX_RESULTS = 8
LIMIT, WINDOW, PAUSE = 15, 10.0, 10.0  # queries per user before a pause (typing is bursty)
CACHED = 256  # answers kept, by query text


def telegram_link(username: str) -> LinkMaker:
    """How the Telegram channel links to a payload: ``https://t.me/<bot>?start=<payload>``."""

    def make(payload: str) -> str:
        return create_deep_linked_url(username, payload)

    return make


def article(content: Content, topic_id: str, link: str) -> InlineQueryResultArticle:
    """One topic as a card: the whole topic as its message, a button opening the bot on it."""
    topic = content.topics[topic_id]
    texts = content.ui.share
    body = Text.join("\n\n", [message.strip() for message in topic.messages])
    cut = markup(texts.inline_cut).strip()
    room = TELEGRAM.text_limit - TELEGRAM.measure(cut.plain_text) - 1
    parts = split_to_fit(body, TELEGRAM.text_limit, TELEGRAM.measure)
    if len(parts) > 1:
        body = Text.join("\n", [split_to_fit(body, room, TELEGRAM.measure)[0], cut])
    button = InlineKeyboardButton(texts.open_button, url=link)
    return InlineQueryResultArticle(
        id=topic_id,
        title=topic.button,
        description=topic.description,
        input_message_content=InputTextMessageContent(
            to_html(body),
            parse_mode=ParseMode.HTML,
            link_preview_options=LinkPreviewOptions(is_disabled=True),
        ),
        reply_markup=InlineKeyboardMarkup([[button]]),
    )


class InlineAnswers:
    """Answers inline queries: per-user pacing, and the last answers kept by query."""

    def __init__(self, guard: FloodGuard | None = None) -> None:
        self.guard = guard or FloodGuard(limit=LIMIT, window=WINDOW, pause=PAUSE)
        self._cache: OrderedDict[str, Sequence[InlineQueryResultArticle]] = OrderedDict()
        self._built_from: tuple[object, object] | None = None  # (content, matcher) cached for

    async def answer(self, update: Update, context: BotContext) -> None:
        """Answer ``@bot <words>`` with the matching topics (none for a user going too fast)."""
        query = update.inline_query
        if query is None or context.bot.username is None:
            return
        if self.guard.check(("inline", query.from_user.id)) is not Verdict.ANSWER:
            return  # no answer: Telegram shows nothing and the budget is spared
        results = self.results(context, query.query, context.bot.username)
        await query.answer(results, cache_time=CACHE_TIME, is_personal=False)

    def results(
        self, context: BotContext, text: str, username: str
    ) -> Sequence[InlineQueryResultArticle]:
        """The cards for ``text``, built once per query text while content stays the same."""
        store = context.app.store
        source = (store.current, store.matcher)
        if self._built_from is None or not all(map(operator.is_, source, self._built_from)):
            self._cache.clear()  # a /reload or a lesson: the cards may differ now
            self._built_from = source
        key = " ".join(text.split())
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        link = telegram_link(username)
        topics = context.app.sharing.matching(key, MAX_RESULTS)
        built = [article(store.current, topic, link(topic)) for topic in topics]
        self._cache[key] = built
        if len(self._cache) > CACHED:
            self._cache.popitem(last=False)
        return built


def inline_handler() -> InlineQueryHandler[BotContext, None]:
    """A handler for inline queries with its own pacing and answers kept (one per bot)."""
    return InlineQueryHandler(InlineAnswers().answer)
