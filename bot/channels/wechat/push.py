"""Reminders and broadcasts to WeChat users as customer-service messages (客服消息).

WeChat delivers these only within 48 hours of the user's last message to the account; later
ones are refused (errcode 45015). Outside the window a reminder uses the one-time
subscription message the user confirmed for it, if any; a broadcast never does (the grant
is the user's permission for their reminder), it fails for that user, once and for all.
Otherwise nothing is attempted: the send is counted as failed with that reason, and the user
was told when setting the reminder.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from bot.channels.wechat.config import WeChatSettings
from bot.channels.wechat.render import render
from bot.channels.wechat.token import AccessToken
from bot.content.ui_models import WeChatTexts
from bot.core.reply import Reply
from bot.delivery import Outcome, Priority, Result
from bot.storage import AccessTokenRepo, WeChatUserRepo

log = logging.getLogger(__name__)

WINDOW = timedelta(hours=48)
TOKEN_ERRORS = {40001, 40014, 42001}  # invalid or expired access_token: fetch a new one
GONE_ERRORS = {40003, 43004, 43019}  # not a follower any more, or blocked
LIMIT_ERRORS = {45009, 45047}  # API or per-user message limit
WINDOW_ERROR = 45015
# Worth another try later: network trouble, WeChat's answer unreadable or no token to be had,
# the shared token's row locked by another process for too long.
TRANSIENT = (aiohttp.ClientError, TimeoutError, RuntimeError, sqlite3.OperationalError)


class CustomerServiceSender:
    """:class:`bot.delivery.Sender` for WeChat customer-service messages."""

    def __init__(
        self,
        settings: WeChatSettings,
        users: WeChatUserRepo,
        texts: Callable[[], WeChatTexts],
        clock: Callable[[], datetime],
        tokens: AccessTokenRepo | None = None,
    ) -> None:
        self.settings = settings
        self.users = users
        self.texts = texts
        self.clock = clock
        self._session: aiohttp.ClientSession | None = None
        self.token = AccessToken(settings, tokens or AccessTokenRepo(users.db), self._http, clock)

    async def close(self) -> None:
        """Close the HTTP client."""
        if self._session is not None:
            await self._session.close()

    async def _http(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        return self._session

    async def send(self, chat_id: int, reply: Reply, priority: Priority = Priority.REPLY) -> Result:
        """Send the reply's text if the user wrote within the last 48 hours.

        Later than that only a reminder (``Priority.REMINDER``) may use the user's confirmed
        subscription message; anything else fails for good (not retried).
        """
        if any(message.copy_of is not None for message in reply.messages):
            return Result(Outcome.FAILED, reason="a copied Telegram message cannot go to WeChat")
        recipient = await self.users.recipient(chat_id)
        if recipient is None:
            return Result(Outcome.BLOCKED, reason="unknown WeChat user")
        openid, last_message = recipient
        parts, _ = render(reply, self.texts(), choices=False)
        if last_message is None or self.clock() - last_message > WINDOW:
            if priority is not Priority.REMINDER:  # the grant stays for the user's reminder
                return Result(Outcome.FAILED, reason="outside WeChat's 48-hour window")
            plain = reply.messages[0].text.plain_text.strip() if reply.messages else ""
            return await self._subscription_message(openid, plain)
        body = {"touser": openid, "msgtype": "text", "text": {"content": parts[0]}}
        try:
            code = await self._post("message/custom/send", body)
        except TRANSIENT as exc:
            return Result(Outcome.RETRY, retry_after=30.0, reason=type(exc).__name__)
        if code == 0:
            return Result(Outcome.SENT)
        if code in GONE_ERRORS:
            return Result(Outcome.BLOCKED, reason=f"errcode {code}")
        if code in LIMIT_ERRORS:
            return Result(Outcome.RETRY, retry_after=60.0, reason=f"errcode {code}")
        if code == WINDOW_ERROR:
            return Result(Outcome.FAILED, reason="outside WeChat's 48-hour window")
        return Result(Outcome.FAILED, reason=f"errcode {code}")

    async def _post(self, path: str, body: dict[str, Any]) -> int:
        """POST with the shared access token; when WeChat says the token is invalid or
        expired, a new one is had (at most once) and the call made once more."""
        token = await self.token.get()
        code = await self._call(path, body, token)
        if code in TOKEN_ERRORS:
            log.info("WeChat refused the access token (errcode %d); renewing it", code)
            code = await self._call(path, body, await self.token.renew(token))
        return code

    async def _call(self, path: str, body: dict[str, Any], token: str) -> int:
        session = await self._http()
        url = self.settings.api_base_url + path
        async with session.post(url, params={"access_token": token}, json=body) as response:
            try:
                data = await response.json(content_type=None)
            except ValueError as exc:
                raise RuntimeError("WeChat answer is not JSON") from exc
        if not isinstance(data, dict):
            raise RuntimeError("WeChat answer is not a JSON object")
        return int(data.get("errcode", 0))

    async def _subscription_message(self, openid: str, text: str) -> Result:
        """Outside the 48 h window: one confirmed subscription message, if the user gave one."""
        template = self.settings.subscribe_template_id
        if not template or not await self.users.use_grant(openid):
            return Result(Outcome.FAILED, reason="outside WeChat's 48-hour window")
        title, _, rest = text.partition("\n")
        body = {
            "touser": openid,
            "template_id": template,
            "scene": str(self.settings.subscribe_scene),
            "title": title[:15],
            "data": {"content": {"value": (rest or title)[:200], "color": "#173177"}},
        }
        try:
            code = await self._post("message/template/subscribe", body)
        except TRANSIENT as exc:
            await self.users.give_back(openid)
            return Result(Outcome.RETRY, retry_after=30.0, reason=type(exc).__name__)
        if code == 0:
            return Result(Outcome.SENT)
        if code in GONE_ERRORS:
            return Result(Outcome.BLOCKED, reason=f"errcode {code}")
        return Result(Outcome.FAILED, reason=f"subscription message errcode {code}")
