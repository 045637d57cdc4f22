"""WeChat settings from the environment (WECHAT_*)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class WeChatSettings(BaseSettings):
    """The Official Account's server configuration (公众号 基本配置 / 服务器配置)."""

    model_config = SettingsConfigDict(env_prefix="WECHAT_", extra="ignore", frozen=True)

    token: SecretStr | None = None
    app_id: str = ""
    app_secret: SecretStr | None = None
    aes_key: SecretStr | None = None  # EncodingAESKey, 43 characters; needed for safe mode
    host: str = "0.0.0.0"
    port: int = Field(default=8080, ge=1, le=65535)
    path: str = "/wechat"
    # How reminders reach WeChat users: "none" (declined, with an explanation) or
    # "customer_service" (客服消息: only within 48 h of the user's last message; needs
    # WECHAT_APP_ID and WECHAT_APP_SECRET of an account with that permission).
    push: Literal["none", "customer_service"] = "none"
    api_base_url: str = "https://api.weixin.qq.com/cgi-bin/"
    # One-time subscription messages (一次性订阅消息, verified service accounts): reminders
    # further than 48 h after the user's last message go out this way once the user has
    # confirmed on WeChat's authorisation page. Empty template id: not used.
    subscribe_template_id: str = ""
    subscribe_scene: int = Field(default=1000, ge=0, le=10000)
    # Public URL of this server's /wechat/subscribed endpoint (WeChat redirects there). The
    # redirect is accepted only with the state made for that user: an HMAC keyed from
    # WECHAT_APP_SECRET (else WECHAT_TOKEN), no setting of its own (see subscribe.py).
    subscribe_redirect_url: str = ""

    @field_validator("aes_key")
    @classmethod
    def _aes_key_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value() and len(value.get_secret_value()) != 43:
            raise ValueError("WECHAT_AES_KEY (EncodingAESKey) must be 43 characters")
        return value or None
