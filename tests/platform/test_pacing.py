"""Pacer and backoff with an injected clock: exact, and no real sleeping."""

import random

import pytest

from importer.platform.api import RateSignals
from importer.platform.pacing import Backoff, Pacer


class FakeTime:
    def __init__(self):
        self.now = 1000.0
        self.slept = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(round(seconds, 6))
        self.now += seconds

    def work(self, seconds):
        """A request that takes this long."""
        self.now += seconds


def pacer(limit=20, window=2.0, margin=0.0):
    t = FakeTime()
    return Pacer(limit, window, clock=t.clock, sleep=t.sleep, margin=margin), t


def test_starts_are_evenly_spaced():
    p, t = pacer()
    starts = []
    for _ in range(5):
        p.wait_turn()
        starts.append(t.now)
        t.work(0.01)
    assert [round(b - a, 6) for a, b in zip(starts, starts[1:], strict=False)] == [0.1] * 4


def test_slow_replies_add_no_sleep():
    p, t = pacer()
    for _ in range(5):
        p.wait_turn()
        t.work(0.3)  # longer than the 0.1 s interval
    assert t.slept == []


def test_margin_keeps_under_the_limit():
    p, _ = pacer(limit=100, window=60, margin=0.01)
    assert p.interval == pytest.approx(0.606)
    assert p.rate_per_minute == 100


def test_spreads_what_the_server_has_left_until_its_reset():
    p, t = pacer(limit=20, window=2.0)  # told 20 per 2 s ...
    p.wait_turn()
    t.work(0.01)
    p.learn(RateSignals(limit=12, remaining=11, reset_in=1.99))  # ... the server allows 12
    p.wait_turn()
    assert t.slept == [pytest.approx(2.0 / 12 - 0.01, abs=1e-6)]


def test_a_generous_server_adds_no_wait_to_slow_replies():
    p, t = pacer(limit=1000, window=60.0)
    for _ in range(3):
        p.wait_turn()
        t.work(0.2)
        p.learn(RateSignals(limit=1000, remaining=900, reset_in=59.8))
    assert t.slept == []


def test_remaining_zero_holds_until_reset():
    p, t = pacer()
    p.wait_turn()
    t.work(0.05)
    p.learn(RateSignals(limit=20, remaining=0, reset_in=0.75))
    p.wait_turn()
    assert t.slept == [pytest.approx(0.75)]


def test_hold_for_retry_after():
    p, t = pacer()
    p.wait_turn()
    p.hold(3.0)
    p.wait_turn()
    assert t.slept == [3.0]


def test_backoff_doubles_with_jitter_and_a_cap():
    b = Backoff(base=1.0, cap=8.0, rng=random.Random(1))
    for attempt, ceiling in [(1, 1), (2, 2), (3, 4), (4, 8), (5, 8), (9, 8)]:
        delays = [b.delay(attempt) for _ in range(200)]
        assert ceiling / 2 <= min(delays) and max(delays) <= ceiling
        assert len(set(delays)) > 100  # jittered


def test_backoff_honours_the_server_wait():
    b = Backoff(base=1.0, cap=8.0, rng=random.Random(1))
    delays = [b.delay(1, server_wait=32) for _ in range(100)]
    assert all(32 <= d <= 33.01 for d in delays)
    assert all(2 <= b.delay(6, server_wait=2) <= 2.21 for _ in range(100))


def test_a_429_without_headers_slows_the_pace_for_good():
    p, _ = pacer(limit=20, window=2.0)
    p.throttled(RateSignals(retry_after=1))
    p.throttled(RateSignals(retry_after=1))
    assert p.interval == pytest.approx(2.0 / (20 * 0.8 * 0.8))
    p.throttled(RateSignals(remaining=0, reset_in=0.5))  # with headers, the budget rule already paces
    assert p.interval == pytest.approx(2.0 / (20 * 0.8 * 0.8))
