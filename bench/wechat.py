"""WeChat callback benchmark: replies per second and latency under concurrent load.

The question this answers: "how many passive replies per second does ``python -m bot wechat``
give, and how far is its latency from WeChat's 5 s passive-reply deadline (after which
WeChat gives up and retries), compared with HTTP + XML alone?"

For each mode (``plain``: signed XML; ``aes``: safe mode, bodies encrypted and replies
decrypted with wechatpy's ``WeChatCrypto``) the script, in a temporary directory:

1. Starts a server process on 127.0.0.1 (only 127.0.0.1 is ever contacted) and waits until a
   GET without signature answers 403. Two servers per mode, one after the other:

   * ``bot``: ``python -m bot wechat`` with a fresh database (``BOT_DB``) and the WeChat
     settings in ``WECHAT_*``;
   * ``baseline``: this script with ``--serve-baseline``, a trivial aiohttp handler that
     checks the signature, (in safe mode) decrypts, parses the XML and answers a fixed
     wechatpy ``TextReply`` (encrypted in safe mode): the cost of HTTP + XML (+ crypto)
     alone, so the difference is what the bot adds.

2. Builds the requests up front (signing and encrypting is not timed): a seeded mix of
   free-text questions from ``tests/data/questions_holdout.yaml`` (field ``q``), menu numbers
   ("1" to "7"), CLICK events keyed by topic id (authority, steps, audit, ...) and subscribe
   events, from 500 distinct openids; every text message has its own MsgId and every event
   its own CreateTime, so the bot's retry dedup never short-circuits one.
3. Warms up with ``--warmup`` requests, then fires ``--requests`` with ``--concurrency`` in
   flight from one aiohttp client session (keep-alive), recording each request's latency
   from send to the last byte of the answer. Replies are checked after the clock stops: a
   non-200 answer, a transport error, a reply whose parsed (decrypted) content is empty, or
   one addressed to another openid is an error.
4. Stops the server with SIGTERM (SIGKILL after 10 s).

    .venv/bin/python bench/wechat.py                     # both modes, 5000 requests, 50 in flight
    .venv/bin/python bench/wechat.py --requests 300 --mode plain

The client (this process) shares the machine with the server, so the figures are a lower
bound for a server with the CPU to itself; the table shows both processes' CPU use.

Exit status: 0 when every run finished with no error, 1 otherwise. ``--timeout`` bounds the
whole run (plus at most 10 s to stop the server that is running when it expires).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import math
import os
import random
import re
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import yaml
from aiohttp import web
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature
from yarl import URL

SCRIPT = Path(__file__).resolve()
ROOT = SCRIPT.parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import fmt, machine_info  # noqa: E402
from tests.botproc import bot_env  # noqa: E402

TOKEN = "wechat-bench-token"
AES_KEY = "benchmarkbenchmarkbenchmarkbenchmark0123456"  # 43 characters
APP_ID = "wx0123456789abcdef"
ACCOUNT = "gh_bench"
PATH = "/wechat"
QUESTIONS = ROOT / "tests" / "data" / "questions_holdout.yaml"
GUIDE = ROOT / "content" / "guide.yaml"
BASELINE_TEXT = "收到。这是基准测试的固定回复：只验证签名、解析 XML 并回一条文本消息。"
DEADLINE = 5.0  # WeChat's passive-reply deadline; it retries when no answer came in time
OPENIDS = 500
# Drawn shares; a "number" is sent by a user whose last message was a subscribe (so it picks
# from the welcome menu, as a real user would) and becomes a subscribe when there is none.
MIX = (("question", 0.55), ("number", 0.12), ("click", 0.15), ("subscribe", 0.18))
FIRST_MSG_ID = 24_000_000_000_000_000
FIRST_EVENT_TIME = 1_760_000_000
STARTUP_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
REQUEST_TIMEOUT = 60.0  # far past the deadline: a slow answer is measured, not dropped
SEED = 2026
MODES = ("plain", "aes")


def sign(*parts: str) -> str:
    """WeChat's signature: sha1 of the sorted parts."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process so far (Linux ``/proc``), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


# --- the load ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    """One signed (and maybe encrypted) callback request, ready to send."""

    kind: str
    openid: str
    url: URL
    body: bytes


class Load:
    """Builds the message mix; MsgIds and event CreateTimes never repeat within one Load."""

    def __init__(self, base_url: str, aes: bool, gap: int, seed: int = SEED) -> None:
        self.base_url, self.aes, self.gap = base_url, aes, gap
        self.rng = random.Random(seed)
        self.crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
        items = yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))
        self.questions = [str(item["q"]) for item in items if item.get("q")]
        guide = yaml.safe_load(GUIDE.read_text(encoding="utf-8"))
        self.topics = list(guide["topics"])
        self.menu_size = sum(len(row) for row in guide["menu"])  # the welcome menu's entries
        alphabet = string.ascii_letters + string.digits + "-_"
        self.openids = [
            "o" + "".join(self.rng.choice(alphabet) for _ in range(27)) for _ in range(OPENIDS)
        ]
        self.next_msg_id = FIRST_MSG_ID
        self.next_event_time = FIRST_EVENT_TIME
        self.built = 0
        # openid -> position of its subscribe, for users whose last message was that subscribe
        self.at_menu: dict[str, int] = {}

    def _text(self, openid: str, content: str) -> str:
        self.next_msg_id += 1
        return (
            f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
            f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content><![CDATA[{content}]]></Content><MsgId>{self.next_msg_id}</MsgId></xml>"
        )

    def _event(self, openid: str, event: str, key: str = "") -> str:
        self.next_event_time += 1
        return (
            f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
            f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
            f"<CreateTime>{self.next_event_time}</CreateTime><MsgType><![CDATA[event]]>"
            f"</MsgType><Event><![CDATA[{event}]]></Event>"
            f"<EventKey><![CDATA[{key}]]></EventKey></xml>"
        )

    def _pick(self) -> tuple[str, str]:
        """The next message's kind and sender."""
        kinds, weights = zip(*MIX, strict=True)
        kind = self.rng.choices(kinds, weights)[0]
        if kind == "number":
            # The user who subscribed longest ago, if that was ``gap`` requests back or more
            # (so its welcome menu has been answered before the number goes out).
            oldest = next(iter(self.at_menu.items()), None)
            if oldest is not None and self.built - oldest[1] >= self.gap:
                return kind, oldest[0]
            kind = "subscribe"
        return kind, self.rng.choice(self.openids)

    def one(self) -> Request:
        kind, openid = self._pick()
        self.at_menu.pop(openid, None)
        if kind == "subscribe":
            self.at_menu[openid] = self.built
        self.built += 1
        if kind == "question":
            xml = self._text(openid, self.rng.choice(self.questions))
        elif kind == "number":
            xml = self._text(openid, str(self.rng.randint(1, self.menu_size)))
        elif kind == "click":
            xml = self._event(openid, "CLICK", self.rng.choice(self.topics))
        else:
            xml = self._event(openid, "subscribe")
        timestamp = str(int(time.time()))
        nonce = str(self.rng.randrange(10**9, 10**10))
        params = {"signature": sign(TOKEN, timestamp, nonce), "timestamp": timestamp}
        params["nonce"] = nonce
        params["openid"] = openid  # WeChat adds it too; the bot ignores it
        if self.aes:
            encrypted = self.crypto.encrypt_message(xml, nonce, timestamp)
            found = re.search(r"<MsgSignature><!\[CDATA\[(.*?)\]\]>", encrypted)
            assert found is not None
            params.update(encrypt_type="aes", msg_signature=found.group(1))
            body = encrypted.encode()
        else:
            body = xml.encode()
        url = URL(f"{self.base_url}?{urlencode(params)}", encoded=True)
        return Request(kind, openid, url, body)

    def batch(self, n: int) -> list[Request]:
        return [self.one() for _ in range(n)]


def reply_problem(body: bytes, request: Request, crypto: WeChatCrypto | None) -> str | None:
    """Why a 200 answer is not a usable passive reply, or None when it is."""
    try:
        text = body.decode("utf-8")
        if crypto is not None:
            parts = [
                re.search(pattern, text)
                for pattern in (
                    r"<MsgSignature><!\[CDATA\[(.*?)\]\]>",
                    r"<TimeStamp>(\d+)</TimeStamp>",
                    r"<Nonce><!\[CDATA\[(.*?)\]\]>",
                )
            ]
            if not all(parts):
                return "not an encrypted reply"
            signature, timestamp, nonce = (p.group(1) for p in parts if p)
            text = crypto.decrypt_message(text, signature, timestamp, nonce)
        message = parse_message(text)
    except Exception as exc:
        return f"unparseable reply ({type(exc).__name__})"
    if not str(getattr(message, "content", "") or "").strip():
        return "empty content"
    if str(message.target) != request.openid:
        return "addressed to another openid"
    return None


@dataclass
class Sample:
    status: int  # 0: transport error or timeout
    seconds: float
    body: bytes


async def fire(
    session: aiohttp.ClientSession, requests: list[Request], concurrency: int
) -> list[Sample]:
    """Send every request with ``concurrency`` in flight; one Sample per request, in order."""
    samples: list[Sample | None] = [None] * len(requests)
    queue = iter(enumerate(requests))
    headers = {"Content-Type": "text/xml"}

    async def worker() -> None:
        for index, request in queue:
            started = time.perf_counter()
            try:
                async with session.post(request.url, data=request.body, headers=headers) as resp:
                    body = await resp.read()
                    status = resp.status
            except (aiohttp.ClientError, TimeoutError) as exc:
                status, body = 0, f"{type(exc).__name__}: {exc}".encode()
            samples[index] = Sample(status, time.perf_counter() - started, body)

    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(requests)))))
    return [s for s in samples if s is not None]


# --- servers -------------------------------------------------------------------------------


class Server:
    """A callback server process on 127.0.0.1: started, ready (403 to an unsigned GET), stopped."""

    def __init__(self, argv: Sequence[str], env: dict[str, str], log_path: Path, url: str):
        self.argv, self.env, self.log_path, self.url = tuple(argv), env, log_path, url
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self, session: aiohttp.ClientSession) -> None:
        with self.log_path.open("wb") as log:
            self.proc = await asyncio.create_subprocess_exec(
                *self.argv,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.returncode is not None:
                raise RuntimeError(f"exited with code {self.proc.returncode}\n{self.log_tail()}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.get(self.url, timeout=aiohttp.ClientTimeout(total=2)) as r:
                    if r.status == 403:
                        return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"not ready after {STARTUP_TIMEOUT:.0f}s\n{self.log_tail()}")

    async def stop(self) -> int | None:
        """SIGTERM (SIGKILL after the stop timeout); the exit code."""
        if self.proc is None:
            return None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(STOP_TIMEOUT):
                    await self.proc.wait()
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        return self.proc.returncode

    def log_tail(self, lines: int = 15) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        return "\n".join("    | " + line for line in text[-lines:]) or "    | (no output)"


def baseline_app(token: str, crypto: WeChatCrypto | None) -> web.Application:
    """Signature check, (decrypt,) parse, fixed TextReply (, encrypt): HTTP + XML alone."""

    async def verify(request: web.Request) -> web.Response:
        q = request.query
        try:
            check_signature(
                token, q.get("signature", ""), q.get("timestamp", ""), q.get("nonce", "")
            )
        except InvalidSignatureException:
            return web.Response(status=403, text="invalid signature")
        return web.Response(text=q.get("echostr", ""))

    async def receive(request: web.Request) -> web.Response:
        q = request.query
        try:
            check_signature(
                token, q.get("signature", ""), q.get("timestamp", ""), q.get("nonce", "")
            )
        except InvalidSignatureException:
            return web.Response(status=403, text="invalid signature")
        body = await request.read()
        aes = q.get("encrypt_type") == "aes" and crypto is not None
        try:
            if aes:
                assert crypto is not None
                xml = crypto.decrypt_message(
                    body, q.get("msg_signature", ""), q.get("timestamp", ""), q.get("nonce", "")
                )
            else:
                xml = body.decode("utf-8")
            message = parse_message(xml)
        except Exception:
            return web.Response(status=400, text="malformed message")
        reply = TextReply(content=BASELINE_TEXT, message=message).render()
        if aes:
            assert crypto is not None
            reply = crypto.encrypt_message(reply, q.get("nonce", ""), q.get("timestamp", ""))
        return web.Response(text=reply, content_type="application/xml")

    app = web.Application(client_max_size=64 * 1024)
    app.router.add_get(PATH, verify)
    app.router.add_post(PATH, receive)
    return app


def serve_baseline() -> int:
    """The baseline server process: settings from the same WECHAT_* variables as the bot."""
    token = os.environ["WECHAT_TOKEN"]
    aes_key = os.environ.get("WECHAT_AES_KEY")
    crypto = WeChatCrypto(token, aes_key, os.environ.get("WECHAT_APP_ID", "")) if aes_key else None
    web.run_app(
        baseline_app(token, crypto),
        host=os.environ.get("WECHAT_HOST", "127.0.0.1"),
        port=int(os.environ["WECHAT_PORT"]),
        access_log=None,
        print=None,
    )
    return 0


# --- one run -------------------------------------------------------------------------------


@dataclass
class Result:
    """Outcome of one server in one mode."""

    mode: str
    server: str
    requests: int
    concurrency: int
    seconds: float | None = None
    latencies: list[float] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    problems: dict[str, int] = field(default_factory=dict)
    examples: list[str] = field(default_factory=list)
    server_cpu: float | None = None
    client_cpu: float | None = None
    exit_code: int | None = None
    error: str | None = None

    @property
    def label(self) -> str:
        return f"{self.mode} · {self.server}"

    @property
    def errors(self) -> int:
        return sum(self.problems.values())

    @property
    def ok(self) -> bool:
        return self.seconds is not None and self.errors == 0 and self.error is None

    @property
    def rate(self) -> float | None:
        return self.requests / self.seconds if self.seconds else None

    @property
    def late(self) -> int:
        return sum(1 for s in self.latencies if s > DEADLINE)

    def pct(self, q: float) -> float | None:
        return percentile(self.latencies, q)


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile in milliseconds (q=50: median, q=100: max)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1] * 1000


def score(result: Result, requests: list[Request], samples: list[Sample], aes: bool) -> None:
    """Latencies and problems of the measured requests, into ``result``."""
    crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID) if aes else None
    for request, sample in zip(requests, samples, strict=True):
        result.latencies.append(sample.seconds)
        result.by_kind.setdefault(request.kind, []).append(sample.seconds)
        if sample.status == 0:
            problem = "transport error"
        elif sample.status != 200:
            problem = f"HTTP {sample.status}"
        else:
            problem = reply_problem(sample.body, request, crypto)
        if problem is not None:
            result.problems[problem] = result.problems.get(problem, 0) + 1
            if len(result.examples) < 3:
                detail = sample.body[:200].decode("utf-8", errors="replace")
                result.examples.append(f"{request.kind}: {problem}: {detail!r}")


async def run_one(
    mode: str, server: str, args: argparse.Namespace, workdir: Path, session: aiohttp.ClientSession
) -> Result:
    """Start one server, warm it up, measure, stop it; never raises for server failures."""
    result = Result(mode, server, args.requests, args.concurrency)
    port = free_port()
    url = f"http://127.0.0.1:{port}{PATH}"
    rundir = workdir / f"{mode}-{server}"
    rundir.mkdir()
    env = bot_env(
        "http://127.0.0.1:9/bot",
        rundir,
        {
            "WECHAT_TOKEN": TOKEN,
            "WECHAT_APP_ID": APP_ID,
            "WECHAT_HOST": "127.0.0.1",
            "WECHAT_PORT": str(port),
        },
    )
    env.pop("BOT_TOKEN")
    if mode == "aes":
        env["WECHAT_AES_KEY"] = AES_KEY
    argv = (
        (sys.executable, "-m", "bot", "wechat")
        if server == "bot"
        else (sys.executable, str(SCRIPT), "--serve-baseline")
    )
    proc = Server(argv, env, rundir / "server.log", url)
    load = Load(url, aes=mode == "aes", gap=2 * args.concurrency)
    warmup, measured = load.batch(args.warmup), load.batch(args.requests)
    try:
        try:
            await proc.start(session)
        except RuntimeError as exc:
            result.error = f"server did not start: {exc}"
            return result
        assert proc.proc is not None
        warm = await fire(session, warmup, args.concurrency)
        bad_warmup = sum(1 for s in warm if s.status != 200)
        cpu_before, client_before = cpu_seconds(proc.proc.pid), time.process_time()
        started = time.perf_counter()
        samples = await fire(session, measured, args.concurrency)
        elapsed = time.perf_counter() - started
        cpu_after, client_after = cpu_seconds(proc.proc.pid), time.process_time()
        result.seconds = elapsed
        if cpu_before is not None and cpu_after is not None:
            result.server_cpu = (cpu_after - cpu_before) / elapsed
        result.client_cpu = (client_after - client_before) / elapsed
        score(result, measured, samples, aes=mode == "aes")
        if bad_warmup:
            result.error = f"{bad_warmup}/{len(warm)} warm-up requests failed"
        return result
    finally:
        result.exit_code = await proc.stop()
        if result.exit_code not in (0, None):
            message = f"server exited with code {result.exit_code} on SIGTERM"
            result.error = f"{result.error}; {message}" if result.error else message
        if result.error is not None or result.errors:
            tail = f"last lines of {proc.log_path}:\n{proc.log_tail()}"
            result.error = f"{result.error or 'errors'}\n  {tail}"


# --- report --------------------------------------------------------------------------------


def report(results: list[Result], args: argparse.Namespace) -> str:
    """The plain table, the bot-versus-baseline lines, markdown rows and the machine line."""
    width = max([len(r.label) for r in results] + [4])
    head = (
        f"{'mode':<{width}}  {'requests':>8}  {'conc.':>5}  {'replies/s':>9}  {'median ms':>9}  "
        f"{'p99 ms':>8}  {'max ms':>8}  {'>5 s':>5}  {'errors':>6}  {'server CPU':>10}  "
        f"{'client CPU':>10}"
    )
    lines = [head]
    for r in results:
        server_cpu = None if r.server_cpu is None else r.server_cpu * 100
        client_cpu = None if r.client_cpu is None else r.client_cpu * 100
        lines.append(
            f"{r.label:<{width}}  {r.requests:>8}  {r.concurrency:>5}  {fmt(r.rate, '9.1f'):>9}  "
            f"{fmt(r.pct(50), '9.1f'):>9}  {fmt(r.pct(99), '8.1f'):>8}  "
            f"{fmt(r.pct(100), '8.1f'):>8}  {r.late:>5}  {r.errors:>6}  "
            f"{fmt(server_cpu, '9.0f'):>9}%  {fmt(client_cpu, '9.0f'):>9}%"
        )
    lines += [
        f">5 s: replies slower than WeChat's {DEADLINE:.0f} s passive-reply deadline; CPU: share "
        "of one core used by the server process and by this load generator while measuring.",
    ]
    for mode in dict.fromkeys(r.mode for r in results):
        bot = next((r for r in results if r.mode == mode and r.server == "bot"), None)
        base = next((r for r in results if r.mode == mode and r.server == "baseline"), None)
        if not (bot and base and bot.rate and base.rate):
            continue
        lines.append(
            f"{mode}: the bot adds {fmt(_diff(bot.pct(50), base.pct(50)), '.1f')} ms at the "
            f"median and {fmt(_diff(bot.pct(99), base.pct(99)), '.1f')} ms at p99, and answers "
            f"{bot.rate / base.rate * 100:.0f}% of the baseline's replies per second; p99 is "
            f"{fmt(bot.pct(99), '.0f')} ms of the {DEADLINE * 1000:.0f} ms deadline."
        )
    kinds = [k for k, _ in MIX]
    bots = [r for r in results if r.server == "bot" and r.latencies]
    if bots:
        lines += ["", "bot latency by message kind (median / p99 / max ms, count):"]
        for r in bots:
            cells = []
            for kind in kinds:
                values = r.by_kind.get(kind, [])
                cells.append(
                    f"{kind} {fmt(percentile(values, 50), '.1f')} / "
                    f"{fmt(percentile(values, 99), '.1f')} / "
                    f"{fmt(percentile(values, 100), '.1f')} ({len(values)})"
                )
            lines.append(f"  {r.mode}: " + "; ".join(cells))
    counts = next((r.by_kind for r in results if r.by_kind), {})
    mix = ", ".join(f"{len(counts.get(kind, []))} {kind}" for kind in kinds)
    lines += [
        "",
        f"Markdown ({args.requests} requests after {args.warmup} warm-up, {args.concurrency} in "
        f"flight, one keep-alive aiohttp client on 127.0.0.1: {mix}; {OPENIDS} openids; "
        "baseline = signature check + XML (+ AES) + fixed wechatpy TextReply):",
        "",
        "| mode | requests | concurrency | replies/s | median ms | p99 ms | max ms | errors |",
        "|---|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        lines.append(
            f"| {r.label} | {r.requests} | {r.concurrency} | {fmt(r.rate, '.1f')} | "
            f"{fmt(r.pct(50), '.1f')} | {fmt(r.pct(99), '.1f')} | {fmt(r.pct(100), '.1f')} | "
            f"{r.errors} |"
        )
    versions = f"aiohttp {aiohttp.__version__}"
    with contextlib.suppress(Exception):
        import wechatpy

        versions += f", wechatpy {wechatpy.__version__}"
    lines += ["", f"Machine: {machine_info()}; {versions}"]
    return "\n".join(lines)


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


# --- command line --------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench/wechat.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000, metavar="N", help="default 5000")
    parser.add_argument(
        "--concurrency", type=int, default=50, metavar="C", help="requests in flight (default 50)"
    )
    parser.add_argument("--mode", choices=(*MODES, "both"), default="both", help="default both")
    parser.add_argument(
        "--warmup", type=int, default=50, metavar="N", help="warm-up requests (default 50)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="S",
        help="bound for the whole run (default: derived from N)",
    )
    parser.add_argument("--serve-baseline", action="store_true", help=argparse.SUPPRESS)
    return parser


async def run(args: argparse.Namespace, plan: list[tuple[str, str]]) -> list[Result]:
    """Run the (mode, server) pairs one after the other within the global timeout."""
    # Allow 20 replies per second (far below any healthy figure) plus start-up per run.
    budget = 30.0 + (args.requests + args.warmup) / 20.0
    total = args.timeout or len(plan) * (budget + STARTUP_TIMEOUT + STOP_TIMEOUT)
    results: list[Result] = []
    connector = aiohttp.TCPConnector(limit=args.concurrency, limit_per_host=args.concurrency)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    with tempfile.TemporaryDirectory(prefix="bench-wechat-") as tmp:
        async with aiohttp.ClientSession(
            connector=connector, timeout=timeout, trust_env=False
        ) as session:
            try:
                async with asyncio.timeout(total):
                    for mode, server in plan:
                        print(f"running {mode} · {server} ...", file=sys.stderr, flush=True)
                        result = await run_one(mode, server, args, Path(tmp), session)
                        status = (
                            f"{fmt(result.rate, '.1f')} replies/s, median "
                            f"{fmt(result.pct(50), '.1f')} ms, {result.errors} errors"
                            if result.seconds
                            else "FAILED"
                        )
                        print(f"  {status}", file=sys.stderr, flush=True)
                        for problem, count in result.problems.items():
                            print(f"  {count} x {problem}", file=sys.stderr)
                        for example in result.examples:
                            print(f"  e.g. {example}", file=sys.stderr)
                        if result.error:
                            print(f"  {result.error}", file=sys.stderr, flush=True)
                        results.append(result)
            except TimeoutError:
                print(f"global timeout of {total:.0f}s reached; stopping", file=sys.stderr)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run the benchmark, print the report."""
    args = _parser().parse_args(argv)
    if args.serve_baseline:
        return serve_baseline()
    if args.requests < 1 or args.concurrency < 1 or args.warmup < 0:
        print("error: --requests and --concurrency must be >= 1, --warmup >= 0", file=sys.stderr)
        return 2
    modes = MODES if args.mode == "both" else (args.mode,)
    plan = [(mode, server) for mode in modes for server in ("bot", "baseline")]
    with contextlib.suppress(KeyboardInterrupt):
        results = asyncio.run(run(args, plan))
        if results:
            print(report(results, args))
        return 0 if len(results) == len(plan) and all(r.ok for r in results) else 1
    return 1


if __name__ == "__main__":
    sys.exit(main())
