"""Tests of the client-side rate limiter, on a fake clock (no real waiting)."""

from __future__ import annotations

import threading

import pytest

from bot.psa.limiter import RateLimiter


class FakeTime:
    """A clock that only moves when someone sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_margin_applies_to_the_advertised_limit() -> None:
    """100/s advertised gives 95 slots; adapting to 20 gives 19; never below 1."""
    limiter = RateLimiter(100)
    assert limiter.limit == 95
    limiter.set_burst_limit(20)
    assert (limiter.limit, limiter.burst_limit) == (19, 20)
    limiter.set_burst_limit(1)
    assert limiter.limit == 1
    limiter.set_burst_limit(0)  # nonsense header: ignored
    assert limiter.limit == 1
    with pytest.raises(ValueError):
        RateLimiter(10, margin=0)


def test_full_window_waits_until_the_oldest_answer_is_a_window_old() -> None:
    """With 3 slots used, the 4th request waits one window after the first answer."""
    fake = FakeTime()
    limiter = RateLimiter(3, margin=1.0, clock=fake.clock, sleep=fake.sleep)
    for _ in range(3):
        with limiter.slot():
            fake.now += 0.1  # latency: the answer comes 0.1 s after the send
    # answers at 100.1, 100.2, 100.3: the first leaves the window at 101.1
    assert fake.now == pytest.approx(100.3)
    waited = limiter.acquire()
    assert waited == pytest.approx(0.8)
    assert fake.sleeps == [pytest.approx(0.8)]
    limiter.release()


def test_requests_in_flight_hold_their_slot() -> None:
    """A request still waiting for its answer blocks others until it is released."""
    limiter = RateLimiter(1, margin=1.0, window=0.05)
    limiter.acquire()
    got_slot = threading.Event()

    def second() -> None:
        limiter.acquire()
        got_slot.set()
        limiter.release()

    thread = threading.Thread(target=second)
    thread.start()
    assert not got_slot.wait(0.2)  # far longer than the window: only the release frees it
    limiter.release()
    thread.join(5)
    assert got_slot.is_set()
