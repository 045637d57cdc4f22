"""The deployment files agree with each other and with the settings the bot reads.

compose.yaml, deploy/nginx.conf and deploy/env.example are not run here (no Docker engine);
these checks catch the drift that would break them: a setting renamed in the code but not in
the example, a port or path that nginx and compose disagree on, a password written into
compose.yaml.
"""

from __future__ import annotations

import functools
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from bot.calendar.links import FEED_DIR
from bot.channels.wechat.config import WeChatSettings
from bot.config import Settings
from tests.conftest import ROOT

COMPOSE = ROOT / "compose.yaml"
NGINX = ROOT / "deploy" / "nginx.conf"
ENV_EXAMPLE = ROOT / "deploy" / "env.example"

# ${NAME}, ${NAME:?message}, ${NAME-default}, ... (Compose's interpolation)
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}")
SETTING_NAME = re.compile(r"\b(?:BOT|WECHAT)_[A-Z0-9_]+\b")
SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|AES_KEY")


@functools.cache
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def services() -> dict[str, dict[str, Any]]:
    return compose()["services"]


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's ``environment``, in either of Compose's two forms."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def command(service: dict[str, Any]) -> str:
    cmd = service.get("command", "")
    return " ".join(cmd) if isinstance(cmd, list) else str(cmd)


def expanded(value: str, values: dict[str, str] | None = None) -> str:
    """``value`` with each ${...} replaced (by ``values[NAME]``, else a placeholder)."""
    return INTERPOLATION.sub(lambda m: (values or {}).get(m.group(1), "placeholder"), value)


def is_required_interpolation(value: str) -> bool:
    """The whole value is ${NAME}, ${NAME?msg} or ${NAME:?msg}: no literal default."""
    match = INTERPOLATION.fullmatch(value)
    return match is not None and match.group(2) in (None, "?", ":?")


def bot_replicas() -> dict[str, dict[str, Any]]:
    """The services that run the Telegram bot."""
    return {n: s for n, s in services().items() if command(s) == "python -m bot run"}


def service_running(cmd: str) -> tuple[str, dict[str, Any]]:
    found = [(n, s) for n, s in services().items() if command(s) == cmd]
    assert len(found) == 1, f"one service should run {cmd!r}"
    return found[0]


def postgres_service() -> tuple[str, dict[str, Any]]:
    found = [(n, s) for n, s in services().items() if str(s.get("image")).startswith("postgres:")]
    assert len(found) == 1, "one PostgreSQL service"
    return found[0]


@functools.cache
def env_example() -> tuple[dict[str, str], dict[str, str]]:
    """deploy/env.example as (set, commented out): NAME -> value."""
    active: dict[str, str] = {}
    optional: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines():
        commented = line.startswith("#")
        match = re.fullmatch(r"#?\s*([A-Z][A-Z0-9_]*)=(.*)", line.strip())
        if match:
            (optional if commented else active)[match.group(1)] = match.group(2)
        else:
            assert not line.strip() or commented, f"env.example: not NAME=VALUE: {line!r}"
    return active, optional


def setting_names() -> set[str]:
    """Every environment variable the bot reads: prefix + field name in upper case."""
    names = set()
    for cls in (Settings, WeChatSettings):
        prefix = cls.model_config.get("env_prefix", "")
        names |= {prefix + field.upper() for field in cls.model_fields}
    return names


def webhook_url() -> str:
    """BOT_WEBHOOK_URL as the replicas get it (compose's value, or the example's)."""
    given = {environment(s).get("BOT_WEBHOOK_URL") for s in bot_replicas().values()}
    assert len(given) == 1, "every replica must get the same BOT_WEBHOOK_URL"
    value = given.pop()
    if value is None or is_required_interpolation(value):
        value = env_example()[0].get("BOT_WEBHOOK_URL", "")
    return value


@functools.cache
def nginx() -> str:
    """nginx.conf without comments."""
    return re.sub(r"#[^\n]*", "", NGINX.read_text(encoding="utf-8"))


def upstream_of(server: str) -> str:
    """The upstream block that lists ``server`` (host:port)."""
    for name, body in re.findall(r"upstream\s+(\w+)\s*\{([^}]*)\}", nginx()):
        if re.search(rf"\bserver\s+{re.escape(server)}[\s;]", body):
            return name
    raise AssertionError(f"no upstream in nginx.conf lists server {server}")


def location_body(path: str) -> str:
    for _, where, body in re.findall(r"location\s+(=\s*|\^~\s*)?(\S+)\s*\{([^}]*)\}", nginx()):
        if where == path:
            return body
    raise AssertionError(f"nginx.conf has no location {path}")


def test_postgres_has_a_healthcheck_and_a_named_volume() -> None:
    _, pg = postgres_service()
    assert pg["image"].startswith("postgres:16")
    assert "pg_isready" in " ".join(map(str, pg["healthcheck"]["test"]))
    sources = {str(v).split(":", 1)[0] for v in pg.get("volumes", [])}
    assert sources & set(compose().get("volumes") or {}), "PostgreSQL data in a named volume"
    assert any(str(v).endswith(":/var/lib/postgresql/data") for v in pg["volumes"])
    assert is_required_interpolation(environment(pg)["POSTGRES_PASSWORD"])


def test_replicas_run_the_bot_on_postgres_in_webhook_mode() -> None:
    replicas = bot_replicas()
    count = sum(int((s.get("deploy") or {}).get("replicas", 1)) for s in replicas.values())
    assert count >= 2, "at least two replicas of `python -m bot run`"
    pg_name, pg = postgres_service()
    pg_env = environment(pg)
    for name, service in replicas.items():
        env = environment(service)
        db = urlsplit(expanded(env["BOT_DB"]))
        assert db.scheme == "postgresql", name
        assert (db.hostname, db.port) == (pg_name, 5432), name
        assert db.username == pg_env["POSTGRES_USER"], name
        assert db.path == "/" + pg_env["POSTGRES_DB"], name
        assert service["depends_on"][pg_name]["condition"] == "service_healthy", name
        env_files = service.get("env_file")
        assert ".env" in ([env_files] if isinstance(env_files, str) else env_files), name
    url = urlsplit(webhook_url())
    assert url.scheme == "https" and url.hostname and url.path not in ("", "/")


def test_compose_holds_no_secrets() -> None:
    for name, service in services().items():
        for key, value in environment(service).items():
            if SECRET_NAME.search(key):
                assert is_required_interpolation(value), f"{name}: {key} must come from .env"

    def strings(node: Any) -> list[str]:
        if isinstance(node, dict):
            return [s for v in node.values() for s in strings(v)]
        if isinstance(node, list):
            return [s for v in node for s in strings(v)]
        return [node] if isinstance(node, str) else []

    for value in strings(compose()):
        for match in INTERPOLATION.finditer(value):
            if SECRET_NAME.search(match.group(1)):
                assert match.group(2) in (None, "?", ":?"), f"a default for a secret: {value}"
        # A password in a URL may only be a required ${...} (marked first: it may hold spaces).
        marked = INTERPOLATION.sub(
            lambda m: "<from-env>" if m.group(2) in (None, "?", ":?") else m.group(0), value
        )
        for url in re.findall(r"\b[a-z][a-z0-9+.-]*://\S+", marked):
            password = re.match(r"[^/@]*?:([^/@]*)@", url.split("://", 1)[1])
            if password:
                assert password.group(1) == "<from-env>", f"a password in {value}"


def test_env_example_names_only_settings_the_bot_reads() -> None:
    text = ENV_EXAMPLE.read_text(encoding="utf-8")
    unknown = set(SETTING_NAME.findall(text)) - setting_names()
    assert not unknown, f"deploy/env.example names settings the bot does not have: {unknown}"
    for service in services().values():
        unknown = set(SETTING_NAME.findall(" ".join(environment(service)))) - setting_names()
        assert not unknown, f"compose.yaml sets settings the bot does not have: {unknown}"


def test_env_example_has_every_required_variable_and_no_secret() -> None:
    active, _ = env_example()
    required = {
        m.group(1)
        for m in INTERPOLATION.finditer(COMPOSE.read_text(encoding="utf-8"))
        if m.group(2) in ("?", ":?")
    }
    assert required <= set(active), f"not set in env.example: {required - set(active)}"
    for name, value in active.items():
        if SECRET_NAME.search(name):
            assert value == "", f"env.example gives {name} a value"


@pytest.mark.parametrize("service_command", ["python -m bot run", "python -m bot wechat"])
def test_example_values_are_valid_settings(
    monkeypatch: pytest.MonkeyPatch, service_command: str
) -> None:
    """env.example, optional lines uncommented, plus what compose sets: the bot accepts them."""
    active, optional = env_example()
    _, service = service_running(service_command)
    given = {**optional, **active, "POSTGRES_PASSWORD": "0123abcd"}
    env = {**given, **{k: expanded(v, given) for k, v in environment(service).items()}}
    for name in setting_names():
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings, wechat = Settings(), WeChatSettings()
    assert str(settings.db).startswith("postgresql://")
    if service_command == "python -m bot run":
        assert settings.webhook_url == webhook_url()
        assert settings.webhook_port > 0
    else:
        assert wechat.port > 0


def test_nginx_routes_the_paths_and_ports_compose_serves() -> None:
    nginx_service = next(s for s in services().values() if "nginx" in str(s.get("image")))
    assert str(nginx_service["image"]).startswith("nginx:1.27")
    assert any(str(p).endswith(":443") for p in nginx_service["ports"])
    mounts = dict(str(v).split(":")[:2] for v in nginx_service["volumes"])
    assert mounts["./deploy/nginx.conf"] == "/etc/nginx/nginx.conf"
    certs = mounts["./deploy/certs"]
    for directive in ("ssl_certificate", "ssl_certificate_key"):
        path = re.search(rf"\b{directive}\s+(\S+);", nginx())
        assert path and path.group(1).startswith(certs + "/"), directive

    routes = {urlsplit(webhook_url()).path: ("python -m bot run", "BOT_WEBHOOK_PORT")}
    routes[WeChatSettings.model_fields["path"].default] = ("python -m bot wechat", "WECHAT_PORT")
    routes[FEED_DIR] = ("python -m bot run", "BOT_CALENDAR_PORT")  # the links of /ics
    for path, (cmd, port_setting) in routes.items():
        name, service = service_running(cmd)
        upstream = upstream_of(f"{name}:{environment(service)[port_setting]}")
        assert re.search(rf"\bproxy_pass\s+http://{upstream}\s*;", location_body(path)), path

    next_upstream = re.findall(r"\bproxy_next_upstream\s+([^;]*);", nginx())
    assert next_upstream and all(
        {"error", "timeout", "http_502"} <= set(conditions.split()) for conditions in next_upstream
    )
