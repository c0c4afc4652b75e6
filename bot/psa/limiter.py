"""A thread-safe client-side limiter that keeps our request rate under the API's burst limit."""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator

#: share of the API's advertised burst limit we allow ourselves
DEFAULT_MARGIN = 0.95


class RateLimiter:
    """At most ``limit`` requests in any ``window`` seconds *as the server counts them*.

    The server counts a request when it arrives, somewhere between our send and its answer, and
    network delays differ (a new TLS connection takes longer than a kept-alive one). So a request
    holds its slot from :meth:`acquire` until ``window`` seconds after :meth:`release`: whatever
    the delays, two requests sharing a slot never reach the server within one window. The cost
    is one latency per window (about 5 % at 50 ms), hence the modest margin.
    """

    def __init__(
        self,
        burst_limit: float,
        *,
        margin: float = DEFAULT_MARGIN,
        window: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not 0 < margin <= 1:
            raise ValueError("margin must be in (0, 1]")
        self._margin = margin
        self._window = window
        self._clock = clock
        self._sleep = sleep
        self._cond = threading.Condition()
        self._in_flight = 0
        self._done: deque[float] = deque()  # completion times, oldest first
        self._burst_limit = burst_limit
        self._limit = self._apply_margin(burst_limit)

    @property
    def limit(self) -> int:
        """Requests we allow ourselves per window (the burst limit minus the margin)."""
        with self._cond:
            return self._limit

    @property
    def burst_limit(self) -> float:
        """The API's burst limit as last configured or observed."""
        with self._cond:
            return self._burst_limit

    def set_burst_limit(self, burst_limit: float) -> None:
        """Adapt to the burst limit the API advertises (``X-RateLimit-Limit-2``)."""
        if burst_limit <= 0:
            return
        with self._cond:
            self._burst_limit = burst_limit
            self._limit = self._apply_margin(burst_limit)
            self._cond.notify_all()

    def acquire(self) -> float:
        """Block until one more request may start; return the seconds waited."""
        started = self._clock()
        while True:
            with self._cond:
                now = self._clock()
                horizon = now - self._window
                while self._done and self._done[0] <= horizon:
                    self._done.popleft()
                used = self._in_flight + len(self._done)
                if used < self._limit:
                    self._in_flight += 1
                    return now - started
                expiring = used - self._limit  # this completed slot must leave the window
                if expiring >= len(self._done):
                    # every blocking slot is still in flight: wait for a release
                    self._cond.wait(timeout=self._window)
                    continue
                delay = max(self._done[expiring] - horizon, 0.001)
            self._sleep(delay)

    def release(self) -> None:
        """The request that acquired a slot got its answer (or failed)."""
        with self._cond:
            self._in_flight = max(0, self._in_flight - 1)
            self._done.append(self._clock())
            self._cond.notify_all()

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold a slot for the duration of one request."""
        self.acquire()
        try:
            yield
        finally:
            self.release()

    def _apply_margin(self, burst_limit: float) -> int:
        return max(1, math.floor(burst_limit * self._margin))
