"""Client-side rate limiting: stay under AWS quotas instead of provoking throttles."""

from __future__ import annotations

import asyncio
import time


class RateLimiter:
    """A token bucket written as GCRA: ``rate`` calls a second, bursts of up to ``burst``.

    Each ``acquire`` reserves the next free slot and sleeps until it, so waiters are served
    in arrival order without a lock (the event loop is single-threaded).
    """

    def __init__(self, rate: float, burst: float | None = None) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = rate
        self._interval = 1.0 / rate
        self._burst = max(1.0, burst if burst is not None else rate)
        self._tat = 0.0  # theoretical arrival time of the next call

    def reserve(self, now: float) -> float:
        """Take a slot; return how long to wait for it (pure, for testing)."""
        tat = max(self._tat, now)
        wait = tat - now - (self._burst - 1) * self._interval
        self._tat = tat + self._interval
        return max(wait, 0.0)

    async def acquire(self) -> None:
        wait = self.reserve(time.monotonic())
        if wait > 0:
            await asyncio.sleep(wait)
