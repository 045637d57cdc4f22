"""Permanent QR codes with a scene (永久带参数二维码): WeChat's deep links.

``python -m bot wechat-qr steps`` asks WeChat for a permanent code whose scene is ``steps``
(``qrcode/create``, ``QR_LIMIT_STR_SCENE``) and prints the address of its image. A follower
who scans it gets the steps (a ``SCAN`` event, or ``subscribe`` with ``qrscene_steps`` for a
new follower; see adapter.py). The access token is the account's shared one (token.py), so
running processes keep theirs. Neither the token nor the secret is printed or logged.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

import aiohttp

from bot.channels.wechat.config import WeChatSettings
from bot.channels.wechat.push import TOKEN_ERRORS
from bot.channels.wechat.token import AccessToken
from bot.storage import AccessTokenRepo, Database

IMAGE_URL = "https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket="
MAX_SCENE = 64  # characters of a string scene (scene_str)
TIMEOUT = 10.0


class QrError(RuntimeError):
    """WeChat gave no ticket; the message says why (its errcode), never a secret."""


async def permanent_qr(
    settings: WeChatSettings, db: Database, scene: str, clock: Callable[[], datetime]
) -> str:
    """The image address of a permanent QR code whose scan opens ``scene``."""
    if not 1 <= len(scene) <= MAX_SCENE:
        raise QrError(f"a scene is 1-{MAX_SCENE} characters")
    body = {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": scene}}}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as session:

        async def http() -> aiohttp.ClientSession:
            return session

        tokens = AccessToken(settings, AccessTokenRepo(db), http, clock)
        token = await tokens.get()
        data = await _create(session, settings, token, body)
        if data.get("errcode") in TOKEN_ERRORS:  # refused: another process may hold a newer one
            data = await _create(session, settings, await tokens.renew(token), body)
    ticket = data.get("ticket")
    if not isinstance(ticket, str) or not ticket:
        raise QrError(f"WeChat refused the QR code: errcode {data.get('errcode')}")
    return IMAGE_URL + quote(ticket, safe="")


async def _create(
    session: aiohttp.ClientSession, settings: WeChatSettings, token: str, body: dict[str, Any]
) -> dict[str, Any]:
    url = settings.api_base_url + "qrcode/create"
    async with session.post(url, params={"access_token": token}, json=body) as response:
        try:
            data = await response.json(content_type=None)
        except ValueError as exc:
            raise QrError(f"WeChat's answer is not JSON (HTTP {response.status})") from exc
    if not isinstance(data, dict):
        raise QrError("WeChat's answer is not a JSON object")
    return data
