"""Pacing under the rate limit, and backoff when the server pushes back.

`Pacer` spaces request *starts* evenly at the configured rate: a reply that takes longer
than the interval adds no sleep on top, and no burst is sent that the server's window
would have to absorb. It learns from every reply: `X-RateLimit-Remaining` requests are
left until `X-RateLimit-Reset`, so the next start is at least that time divided by
remaining + 1 after the last one. That spreads what the server still allows evenly, and
settles at the server's own rate when it is lower than the configured one (the header's
`X-RateLimit-Limit` alone cannot: it does not say over which window). A 429's wait holds
the next request as told.

Time is injected (`clock`, `sleep`) so that tests of pacing and backoff run instantly.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # importing api brings in httpx, which `importer validate` never needs
    from .api import RateSignals

DEFAULT_RATE_PER_MINUTE = 100
# Aim a little under the limit: the server counts arrivals, and arrivals jitter.
SAFETY_MARGIN = 0.01
# A 429 from a server that sends no X-RateLimit headers says only "slower": each one
# takes this much off the pace, so the importer settles instead of collecting 429s.
SLOW_DOWN = 0.8


class Pacer:
    def __init__(self, limit: int, window: float = 60.0, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], object] = time.sleep, margin: float = SAFETY_MARGIN):
        if limit < 1 or window <= 0:
            raise ValueError("the rate limit must be at least 1 request per positive window")
        self.limit, self.window, self.margin = limit, window, margin
        self.clock, self.sleep = clock, sleep
        self._last_start = float("-inf")
        self._next_start = float("-inf")
        self._hold_until = float("-inf")
        self._hold_reason = "a backoff"
        self._learned = False
        self.server_limit: int | None = None  # X-RateLimit-Limit, as last seen
        self.longest_reset = 0.0  # the longest X-RateLimit-Reset seen: about the server's window

    @property
    def interval(self) -> float:
        return self.window / self.limit * (1 + self.margin)

    @property
    def rate_per_minute(self) -> float:
        return self.limit * 60.0 / self.window

    def next_wait(self) -> tuple[float, str]:
        """How long until the next request may start, and why."""
        now = self.clock()
        if self._hold_until > self._next_start:
            return max(self._hold_until - now, 0.0), self._hold_reason
        return max(self._next_start - now, 0.0), "the server's rate limit" if self._learned else "the rate limit"

    def wait_turn(self) -> float:
        """Sleep until the next request may start; return how long that was."""
        wait = max(self._next_start, self._hold_until) - self.clock()
        if wait > 0:
            self.sleep(wait)
        self._last_start = self.clock()
        self._next_start = self._last_start + self.interval
        self._learned = False
        return max(wait, 0.0)

    def hold(self, seconds: float, why: str = "a backoff") -> None:
        """No request before `seconds` from now (a server's Retry-After, a backoff)."""
        if self.clock() + seconds > self._hold_until:
            self._hold_until, self._hold_reason = self.clock() + seconds, why

    def throttled(self, signals: RateSignals) -> None:
        """A 429 came back. Without the server's budget in headers, the configured rate is
        evidently too fast for this server: slow down for the rest of the run."""
        if signals.remaining is None:
            self.limit = max(1.0, self.limit * SLOW_DOWN)

    @property
    def server_rate_per_minute(self) -> float | None:
        """What the server's own headers allow, if they say: its limit over its window."""
        if self.server_limit and self.longest_reset > 0:
            return self.server_limit * 60.0 / self.longest_reset
        return None

    def learn(self, signals: RateSignals) -> None:
        """Take in what a reply said about the limit (call it right after the reply)."""
        if signals.limit:
            self.server_limit = signals.limit
        if signals.reset_in:
            self.longest_reset = max(self.longest_reset, signals.reset_in)
        if signals.remaining is not None and signals.reset_in is not None and self._last_start > float("-inf"):
            # The server counted the request when it arrived, about when it started: spread
            # the remaining budget from there to the reset.
            until_reset = self.clock() + signals.reset_in - self._last_start
            spacing = until_reset / (max(signals.remaining, 0) + 1)
            if self._last_start + spacing > self._next_start:
                self._next_start = self._last_start + spacing
                self._learned = True


@dataclass
class Backoff:
    """Capped exponential backoff with jitter: attempt 1 waits about `base`, each further
    attempt doubles, never beyond `cap`. A wait the server asked for is honoured instead
    (with a little jitter on top, so that clients told the same second do not return together)."""

    base: float = 1.0
    cap: float = 60.0
    rng: random.Random = None

    def __post_init__(self):
        self.rng = self.rng or random.Random()

    def delay(self, attempt: int, server_wait: float | None = None) -> float:
        # A wait the server asks for is not capped here: the importer's --max-wait decides
        # whether to sit through it or stop (see `applying`).
        if server_wait is not None:
            return server_wait + self.rng.uniform(0, min(0.1 * server_wait, 1.0) + 0.01)
        ceiling = min(self.cap, self.base * 2 ** (attempt - 1))
        return self.rng.uniform(ceiling / 2, ceiling)
