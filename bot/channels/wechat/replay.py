"""Signed WeChat requests are good once, and only for a few minutes.

WeChat signs each callback request with ``sha1(sorted(token, timestamp, nonce))``. The
signature does not cover the body (outside safe mode), so a request seen once, in a log or
on the wire, could otherwise be replayed forever with any body. Here:

- the signature is compared in constant time;
- ``timestamp`` must be a number within :data:`WINDOW` seconds of now, either side;
- each ``(timestamp, nonce)`` is remembered until its timestamp leaves the window (older
  ones are refused as stale anyway).

The nonces are remembered in the database (``shared_state``, scope ``wechat_nonce``, key
``timestamp:nonce``, value the body's sha256 and how often it was repeated), not in this
process: several replicas may serve the callback, and a replay reaching another replica
must be refused just the same. Rows expire when their timestamp leaves the window, so the
table holds at most a window's worth of genuine traffic.

WeChat retries a message it got no answer to within 5 s, up to three times; it documents
deduplicating those retries by MsgId (events: FromUserName + CreateTime), which the adapter
does, but not whether a retry is signed again with a new nonce. Both are served: a retry
with a new nonce is a new request; one with the same ``(timestamp, nonce)`` is accepted only
with a byte-identical body and at most :data:`RETRIES` times, and then gets the first
answer from the adapter's shared MsgId record, changing nothing. A repeated nonce with
another body is refused. (The first use is claimed atomically, so which body a nonce
belongs to is exact across replicas; the count of identical repeats is read and written
back, so repeats arriving at the very same moment may each be let through: they carry the
first body and get the first answer.)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from enum import Enum

from bot.storage.state import SharedState

log = logging.getLogger(__name__)

WINDOW = 300  # seconds between WeChat's timestamp and now, either direction
RETRIES = 3  # WeChat retries an unanswered message at most three times
NONCES = "wechat_nonce"  # shared_state scope of the nonces seen, keyed "timestamp:nonce"
MAX_NONCE = 64  # WeChat's nonces are about ten digits


class Verdict(Enum):
    """What to do with a request; refusals say why (for the log) and with which status."""

    OK = "ok"
    MALFORMED = "signed, but the timestamp or nonce is malformed"
    FORGED = "wrong signature"
    STALE = f"timestamp more than {WINDOW} s from now"
    REPLAYED = "nonce used before with another body, or too often"

    @property
    def status(self) -> int:
        """The HTTP status of a refusal (400 malformed, 403 otherwise)."""
        return {Verdict.OK: 200, Verdict.MALFORMED: 400}.get(self, 403)


def utc_clock(clock: Callable[[], float]) -> Callable[[], datetime]:
    """A Unix-time clock as the aware UTC datetimes :class:`SharedState` reads (so a test's
    fake clock moves both)."""
    return lambda: datetime.fromtimestamp(clock(), UTC)


def signature(token: str, timestamp: str, nonce: str) -> str:
    """WeChat's callback signature."""
    return hashlib.sha1("".join(sorted((token, timestamp, nonce))).encode()).hexdigest()


class ReplayGuard:
    """Checks signature, timestamp and nonce of callback requests; ``clock`` gives Unix time.

    Nonces are kept in ``state``, which should read the same clock
    (``SharedState(db, utc_clock(clock))``).
    """

    def __init__(
        self,
        token: str,
        state: SharedState,
        clock: Callable[[], float] = time.time,
        *,
        window: int = WINDOW,
    ) -> None:
        self._token = token
        self.state = state
        self.clock = clock
        self.window = window

    def signed(self, signature_: str, timestamp: str, nonce: str) -> Verdict:
        """Signature and timestamp (nothing is remembered yet: the body is not read)."""
        expected = signature(self._token, timestamp, nonce)
        if not hmac.compare_digest(expected.encode(), signature_.encode("utf-8", "replace")):
            return Verdict.FORGED
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            return Verdict.MALFORMED
        if len(nonce) > MAX_NONCE:
            return Verdict.MALFORMED
        if abs(self.clock() - int(timestamp)) > self.window:
            return Verdict.STALE
        return Verdict.OK

    async def first_use(self, timestamp: str, nonce: str, body: bytes) -> Verdict:
        """Remember ``(timestamp, nonce)``; a repeat is allowed only as an identical retry.

        Call after :meth:`signed` said OK (the timestamp is then a number in the window).
        """
        key = f"{timestamp}:{nonce}"
        digest = hashlib.sha256(body).hexdigest()
        # Kept until the timestamp leaves the window (+1 s: expiry is stored in seconds).
        ttl = int(timestamp) + self.window + 1 - self.clock()
        first = json.dumps({"digest": digest, "repeats": 0})
        if await self.state.claim(NONCES, key, first, ttl):
            return Verdict.OK
        stored = await self.state.get(NONCES, key)
        if stored is None:  # expired between the two calls: the timestamp is stale by now
            return Verdict.REPLAYED
        seen = json.loads(stored)
        repeats = int(seen.get("repeats", RETRIES))
        if repeats >= RETRIES or not hmac.compare_digest(
            str(seen.get("digest", "")).encode(), digest.encode()
        ):
            return Verdict.REPLAYED
        repeated = json.dumps({"digest": digest, "repeats": repeats + 1})
        await self.state.put(NONCES, key, repeated, ttl)
        return Verdict.OK
