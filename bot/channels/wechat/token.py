"""WeChat's access token, one for every process of the account.

WeChat allows one valid token per app id: fetching a new one retires the previous one (after
a grace of a few minutes). The Telegram process (broadcasts to WeChat followers) and the
WeChat process (reminders) therefore share the token through the database
(:class:`bot.storage.AccessTokenRepo`): each reads the stored token while it is valid for at
least :data:`MIN_VALID` more; otherwise the first to notice fetches a new one under the
database's write lock and the others, waiting for that lock, read what it stored.

Neither the token nor the app secret is ever logged or put in an exception message.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import aiohttp

from bot.channels.wechat.config import WeChatSettings
from bot.storage import AccessTokenRepo
from bot.storage.wechat import StoredToken

log = logging.getLogger(__name__)

MIN_VALID = timedelta(minutes=5)  # a stored token closer than this to its expiry is renewed
# The fetch runs while the database's write lock is held; other processes wait for that lock
# up to SQLite's busy_timeout (5 s), so the fetch must give up sooner.
FETCH_TIMEOUT = 4.0
DEFAULT_EXPIRES_IN = 7200  # seconds, when WeChat's answer does not say


class TokenError(RuntimeError):
    """No token could be had (WeChat refused, or its answer was unreadable)."""


class AccessToken:
    """The account's current access token: ``await get()``; ``await renew(t)`` when refused."""

    def __init__(
        self,
        settings: WeChatSettings,
        repo: AccessTokenRepo,
        http: Callable[[], Awaitable[aiohttp.ClientSession]],
        clock: Callable[[], datetime],
    ) -> None:
        self.settings = settings
        self.repo = repo
        self.http = http
        self.clock = clock
        self.fetches = 0  # tokens fetched from WeChat by this holder (for tests and logs)

    async def get(self) -> str:
        """A token valid for at least MIN_VALID more: the stored one, or a fresh one."""
        stored = await self.repo.read(self.settings.app_id)
        if stored is not None and self._valid(stored):
            return stored[0]
        return await self.repo.refresh(self.settings.app_id, self._valid, self._fetch)

    async def renew(self, rejected: str) -> str:
        """WeChat refused ``rejected`` (40001/40014/42001): a new token.

        When another process has already stored a different valid token, that one is used
        and nothing is fetched.
        """

        def usable(stored: StoredToken) -> bool:
            return stored[0] != rejected and self._valid(stored)

        return await self.repo.refresh(self.settings.app_id, usable, self._fetch)

    def _valid(self, stored: StoredToken) -> bool:
        return stored[1] - self.clock() >= MIN_VALID

    async def _fetch(self) -> StoredToken:
        secret = self.settings.app_secret.get_secret_value() if self.settings.app_secret else ""
        params = {"grant_type": "client_credential", "appid": self.settings.app_id}
        params["secret"] = secret
        session = await self.http()
        url = self.settings.api_base_url + "token"
        timeout = aiohttp.ClientTimeout(total=FETCH_TIMEOUT)
        try:
            async with session.get(url, params=params, timeout=timeout) as response:
                data: dict[str, Any] = await response.json(content_type=None)
        except ValueError as exc:  # not JSON
            raise TokenError("WeChat token answer is not JSON") from exc
        token = data.get("access_token") if isinstance(data, dict) else None
        if not token:
            code = data.get("errcode") if isinstance(data, dict) else None
            raise TokenError(f"WeChat token request failed: errcode {code}")
        try:
            expires_in = max(0, int(data.get("expires_in", DEFAULT_EXPIRES_IN)))
        except (TypeError, ValueError):
            expires_in = DEFAULT_EXPIRES_IN
        self.fetches += 1
        log.info("WeChat access token fetched (valid %d s)", expires_in)
        return str(token), self.clock() + timedelta(seconds=expires_in)
