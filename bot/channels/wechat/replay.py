"""Signed WeChat requests are good once, and only for a few minutes.

WeChat signs each callback request with ``sha1(sorted(token, timestamp, nonce))``. The
signature does not cover the body (outside safe mode), so a request seen once, in a log or
on the wire, could otherwise be replayed forever with any body. Here:

- the signature is compared in constant time;
- ``timestamp`` must be a number within :data:`WINDOW` seconds of now, either side;
- each ``(timestamp, nonce)`` is remembered until its timestamp leaves the window (so the
  memory holds at most a window's worth of genuine traffic, and :data:`CAPACITY` entries).

WeChat retries a message it got no answer to within 5 s, up to three times; it documents
deduplicating those retries by MsgId (events: FromUserName + CreateTime), which the adapter
does, but not whether a retry is signed again with a new nonce. Both are served: a retry
with a new nonce is a new request; one with the same ``(timestamp, nonce)`` is accepted only
with a byte-identical body and at most :data:`RETRIES` times, and then gets the first
answer from the adapter's MsgId cache, changing nothing. A repeated nonce with another body
is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

log = logging.getLogger(__name__)

WINDOW = 300  # seconds between WeChat's timestamp and now, either direction
RETRIES = 3  # WeChat retries an unanswered message at most three times
CAPACITY = 100_000  # remembered nonces; more than a window of a very busy day
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


@dataclass
class _Seen:
    digest: bytes
    expires: float
    repeats: int = 0


def signature(token: str, timestamp: str, nonce: str) -> str:
    """WeChat's callback signature."""
    return hashlib.sha1("".join(sorted((token, timestamp, nonce))).encode()).hexdigest()


class ReplayGuard:
    """Checks signature, timestamp and nonce of callback requests; ``clock`` gives Unix time."""

    def __init__(
        self,
        token: str,
        clock: Callable[[], float] = time.time,
        *,
        window: int = WINDOW,
        capacity: int = CAPACITY,
    ) -> None:
        self._token = token
        self.clock = clock
        self.window = window
        self.capacity = capacity
        self.seen: OrderedDict[tuple[str, str], _Seen] = OrderedDict()

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

    def first_use(self, timestamp: str, nonce: str, body: bytes) -> Verdict:
        """Remember ``(timestamp, nonce)``; a repeat is allowed only as an identical retry."""
        now = self.clock()
        self._expire(now)
        key = (timestamp, nonce)
        digest = hashlib.sha256(body).digest()
        seen = self.seen.get(key)
        if seen is None:
            self.seen[key] = _Seen(digest, int(timestamp) + self.window)
            return Verdict.OK
        if seen.repeats >= RETRIES or not hmac.compare_digest(seen.digest, digest):
            return Verdict.REPLAYED
        seen.repeats += 1
        return Verdict.OK

    def _expire(self, now: float) -> None:
        """Forget nonces whose timestamp has left the window (they are refused as stale)."""
        while self.seen:
            key, oldest = next(iter(self.seen.items()))
            if oldest.expires >= now:
                break
            del self.seen[key]
        if len(self.seen) >= self.capacity:
            for key in [k for k, s in self.seen.items() if s.expires < now]:
                del self.seen[key]
        if len(self.seen) >= self.capacity:
            log.warning("WeChat nonce memory full (%d): forgetting the oldest", self.capacity)
        while len(self.seen) >= self.capacity:
            self.seen.popitem(last=False)
