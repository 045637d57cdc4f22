"""One-time subscription messages (一次性订阅消息): the user's link, and WeChat's redirect back.

The link to WeChat's confirmation page carries ``reserved``, which WeChat passes back
unchanged on the redirect, adding the openid of the user who confirmed. ``reserved`` is an
HMAC-SHA256 of that user's openid, the scene and the template id under a server-side key, so
the redirect only grants a message to the user the link was made for: a hand-made
``/subscribed?action=confirm&openid=X`` (or someone else's link) is refused.

The key needs no setting of its own: it is derived from WECHAT_APP_SECRET (or, without one,
WECHAT_TOKEN), which only the operator and WeChat know. Changing that secret invalidates
links already handed out; the user asks for a new one with /remind.

WeChat allows ``reserved`` up to 128 bytes of ``[a-zA-Z0-9]``: the full HMAC in hex (64
characters) fits, so nothing is truncated.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from urllib.parse import urlencode

from bot.channels.wechat.config import WeChatSettings

# The openid of the WeChat user being answered right now (set by the adapter for the
# duration of one message), so that a note built deep inside the conversation can carry a
# link made for that user.
CURRENT_OPENID: ContextVar[str | None] = ContextVar("wechat_openid", default=None)

OPENID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # WeChat openids are 28 such characters
RESERVED = re.compile(r"[0-9a-f]{64}")
SCENE = re.compile(r"[0-9]{1,5}")  # ASCII only: \d would also take "①" and full-width digits
MAX_TEMPLATE_ID = 128
MAX_SCENE = 10_000


def subscribe_key(settings: WeChatSettings) -> bytes:
    """The HMAC key for ``reserved``: derived from the app secret, else the token."""
    secret = settings.app_secret or settings.token
    value = secret.get_secret_value() if secret is not None else ""
    if not value:
        raise ValueError("WECHAT_APP_SECRET or WECHAT_TOKEN is required for subscriptions")
    return hashlib.sha256(b"wechat-subscribe-reserved\0" + value.encode()).digest()


def reserved_for(key: bytes, openid: str, scene: int, template_id: str) -> str:
    """The ``reserved`` value of one user's link (64 hex characters)."""
    message = f"{openid}\n{scene}\n{template_id}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def subscribe_link(settings: WeChatSettings, openid: str | None) -> str | None:
    """WeChat's page where ``openid`` confirms one subscription message (or None)."""
    s = settings
    if not (s.subscribe_template_id and s.subscribe_redirect_url and s.app_id):
        return None
    if openid is None or not OPENID.fullmatch(openid):
        return None
    reserved = reserved_for(subscribe_key(s), openid, s.subscribe_scene, s.subscribe_template_id)
    query = urlencode(
        {
            "action": "get_confirm",
            "appid": s.app_id,
            "scene": s.subscribe_scene,
            "template_id": s.subscribe_template_id,
            "redirect_url": s.subscribe_redirect_url,
            "reserved": reserved,
        }
    )
    return f"https://mp.weixin.qq.com/mp/subscribemsg?{query}#wechat_redirect"


@dataclass(frozen=True)
class Redirect:
    """What WeChat's redirect says: ``openid`` set only for a confirmation to be granted."""

    outcome: str  # "confirmed", "cancelled" or "refused"
    openid: str = ""
    why: str = ""  # for the log, when refused (never the values themselves)


def read_redirect(query: Mapping[str, str], settings: WeChatSettings) -> Redirect:
    """Check the redirect's fields (lengths and shapes first, then the HMAC)."""
    action = query.get("action", "")
    if action == "cancel":
        return Redirect("cancelled")
    if action != "confirm":
        return Redirect("refused", why="unknown action")
    openid = query.get("openid", "")
    template_id = query.get("template_id", "")
    scene_text = query.get("scene", "")
    reserved = query.get("reserved", "")
    if not OPENID.fullmatch(openid):
        return Redirect("refused", why="openid missing or malformed")
    if len(template_id) > MAX_TEMPLATE_ID or template_id != settings.subscribe_template_id:
        return Redirect("refused", why="unknown template")
    if not SCENE.fullmatch(scene_text) or int(scene_text) > MAX_SCENE:
        return Redirect("refused", why="scene malformed")
    if int(scene_text) != settings.subscribe_scene:  # messages are sent with this scene
        return Redirect("refused", why="unknown scene")
    if not RESERVED.fullmatch(reserved):
        return Redirect("refused", why="state missing or malformed")
    expected = reserved_for(subscribe_key(settings), openid, int(scene_text), template_id)
    if not hmac.compare_digest(expected.encode(), reserved.encode()):
        return Redirect("refused", why="state does not match")
    return Redirect("confirmed", openid=openid)
