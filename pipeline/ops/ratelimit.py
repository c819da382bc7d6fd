"""A thread-safe rate limiter: calls are spaced so that at most ``rate`` start per second."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimiter:
    """Reserve a start time under a lock, sleep outside it (fair, no busy waiting).

    ``burst`` calls may start back to back after an idle spell; ``rate=None`` means no limit.
    """

    def __init__(
        self,
        rate: float | None,
        *,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("rate must be positive")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self._interval = 0.0 if rate is None else 1.0 / rate
        self._slack = (burst - 1) * self._interval
        self._clock, self._sleep = clock, sleep
        self._next = float("-inf")
        self._lock = threading.Lock()

    def acquire(self, n: int = 1) -> None:
        if self._interval == 0.0:
            return
        with self._lock:
            now = self._clock()
            start = max(self._next, now - self._slack)
            self._next = start + n * self._interval
        if start > now:
            self._sleep(start - now)
