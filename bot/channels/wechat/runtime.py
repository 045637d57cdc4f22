"""The WeChat runtime: settings, the bot assembled with WeChat's sender, the callback served.

Also what other processes need from WeChat: the custom menu, and the customer-service
sender through which the Telegram process delivers broadcasts to WeChat followers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from bot.app import assemble, utc_now
from bot.calendar.server import CalendarRoutes
from bot.channels.wechat.adapter import WeChatAdapter
from bot.channels.wechat.capabilities import WECHAT
from bot.channels.wechat.config import WeChatSettings
from bot.channels.wechat.http import CallbackServer
from bot.channels.wechat.push import CustomerServiceSender
from bot.channels.wechat.subscribe import CURRENT_OPENID, subscribe_link
from bot.config import Settings
from bot.content import ContentStore
from bot.core.reply import Reply
from bot.core.text import Text, fill, markup
from bot.delivery import Outcome, Priority, Result, Sender
from bot.storage import AccessTokenRepo, Database, WeChatUserRepo


class NoPush:
    """The Sender for a WeChat account without push rights: nothing can be delivered.

    Reminders can still be set and added to the phone's calendar (/ics: a subscription link
    with BOT_PUBLIC_URL, else a calendar text block);
    alerts that come due are counted as failed with this reason.
    """

    async def send(self, chat_id: int, reply: Reply, priority: Priority = Priority.REPLY) -> Result:
        """Not deliverable on this account."""
        return Result(Outcome.FAILED, reason="WeChat push is not available")


def reminder_note(settings: WeChatSettings, store: ContentStore) -> Callable[[], Text | None]:
    """The note shown when /remind starts: how (or whether) reminders reach a WeChat user."""
    push = settings.push != "none"

    def note() -> Text:
        texts = store.current.ui.wechat
        text = markup(texts.push_note if push else texts.reminders_unavailable).strip()
        # The link is made for the user being answered (its state is an HMAC of the openid).
        link = subscribe_link(settings, CURRENT_OPENID.get()) if push else None
        if link is not None:
            text = Text.join("\n", [text, fill(texts.subscribe_note, link=link)])
        return text

    return note


def menu_json(store: ContentStore) -> dict[str, Any]:
    """The account's custom menu: CLICK buttons keyed by topic id, from the main menu.

    WeChat allows three top-level buttons with up to five entries each; the main menu's
    topics are split in order into as many groups as ui.yaml's wechat.menu_names names.
    """
    content = store.current
    names = content.ui.wechat.menu_names.split()[:3]
    topics = [topic for row in content.menu for topic in row]
    size = max(1, -(-len(topics) // max(1, len(names))))
    buttons: list[dict[str, Any]] = []
    for index, name in enumerate(names):
        group = topics[index * size : (index + 1) * size][:5]
        entries = [
            {"type": "click", "name": _plain(content.topics[t].button), "key": t} for t in group
        ]
        if len(entries) == 1:
            buttons.append(entries[0])
        elif entries:
            buttons.append({"name": name, "sub_button": entries})
    return {"button": buttons}


def _plain(label: str) -> str:
    """A button label without its leading emoji (menus show text only)."""
    return label.split(" ", 1)[-1] if " " in label else label


def push_sender(
    settings: WeChatSettings,
    db: Database,
    store: ContentStore,
    clock: Callable[[], datetime] = utc_now,
) -> CustomerServiceSender:
    """The customer-service sender (needs WECHAT_PUSH, WECHAT_APP_ID and WECHAT_APP_SECRET).

    Its access token is the one stored in ``db``, shared with every other process.
    """
    return CustomerServiceSender(
        settings, WeChatUserRepo(db), lambda: store.current.ui.wechat, clock, AccessTokenRepo(db)
    )


def other_channel(
    db: Database, store: ContentStore
) -> dict[str, tuple[Sender, Callable[[], Awaitable[None]]]]:
    """For the Telegram process: WeChat's sender when push is configured, so broadcasts and
    reminders reach WeChat followers too; otherwise nothing."""
    try:
        settings = WeChatSettings()
    except ValueError:
        return {}
    if settings.push == "none" or not (settings.app_id and settings.app_secret):
        return {}
    sender = push_sender(settings, db, store)
    return {WECHAT.name: (sender, sender.close)}


async def serve(settings: Settings, wechat: WeChatSettings, store: ContentStore) -> None:
    """Assemble the bot with WeChat's sender and serve the callback until cancelled."""
    db = await Database.open(settings.db)
    users = WeChatUserRepo(db)
    pusher = push_sender(wechat, db, store) if wechat.push != "none" else None
    app = await assemble(
        settings,
        store,
        {WECHAT.name: pusher or NoPush()},
        broadcasts=False,  # broadcasts run where admins work (the Telegram process)
        reminder_notes={WECHAT.name: reminder_note(wechat, store)},
        db=db,
    )
    workers = asyncio.create_task(app.run_workers(), name="wechat-workers")
    try:
        calendar = CalendarRoutes(app.calendar) if app.calendar is not None else None
        adapter = WeChatAdapter(app, users)
        await CallbackServer(wechat, adapter, users, store, calendar=calendar).serve()
    finally:
        await app.stop_workers(workers)
        if pusher is not None:
            await pusher.close()
        await app.close()
