"""Every bound on concurrency in one place: token buckets that keep us under AWS quotas
instead of provoking throttles, bounded fan-out, and all-or-first-error task groups."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable, Iterable

from pipeline.errors import PermanentError


class _Gcra:
    """A token bucket written as GCRA: ``rate`` calls a second, bursts of up to ``burst``.
    Pure: ``reserve`` takes slots and says how long to wait for them."""

    def __init__(self, rate: float, burst: float) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.rate = rate
        self._interval = 1.0 / rate
        self._slack = (burst - 1) * self._interval
        self._tat = float("-inf")  # theoretical arrival time of the next call

    def reserve(self, now: float, n: int = 1) -> float:
        tat = max(self._tat, now)
        self._tat = tat + n * self._interval
        return max(tat - now - self._slack, 0.0)


class RateLimiter(_Gcra):
    """For the event loop: each ``acquire`` reserves the next free slot and sleeps until it,
    so waiters are served in arrival order without a lock (the loop is single-threaded)."""

    def __init__(self, rate: float, burst: float | None = None) -> None:
        super().__init__(rate, max(1.0, burst if burst is not None else rate))

    async def acquire(self) -> None:
        wait = self.reserve(time.monotonic())
        if wait > 0:
            await asyncio.sleep(wait)


class BlockingRateLimiter:
    """For threads (the CLI's boto3 calls): the slot is reserved under a lock and slept for
    outside it. ``rate=None`` means no limit."""

    def __init__(
        self,
        rate: float | None,
        *,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._bucket = None if rate is None else _Gcra(rate, burst)
        if rate is None and burst < 1:
            raise ValueError("burst must be at least 1")
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()

    def acquire(self, n: int = 1) -> None:
        if self._bucket is None:
            return
        with self._lock:
            wait = self._bucket.reserve(self._clock(), n)
        if wait > 0:
            self._sleep(wait)


async def run_all(coros: Iterable[Awaitable[None]]) -> None:
    """Run concurrently; on failure cancel the rest and raise the first error itself
    (a permanent one if any: it decides the message's fate)."""
    try:
        async with asyncio.TaskGroup() as group:
            for coro in coros:
                group.create_task(coro)  # type: ignore[arg-type]
    except BaseExceptionGroup as eg:
        errors: list[BaseException] = list(eg.exceptions)
        permanent: list[BaseException] = [e for e in errors if isinstance(e, PermanentError)]
        raise (permanent or errors)[0] from None


async def acquire_before(slots: asyncio.Semaphore, deadline: float | None) -> bool:
    """Take a slot, unless ``deadline`` (loop time) passes first; False if it did."""
    loop = asyncio.get_running_loop()
    if deadline is None:
        await slots.acquire()
        return True
    try:
        await asyncio.wait_for(slots.acquire(), timeout=max(deadline - loop.time(), 0))
    except TimeoutError:
        return False
    if loop.time() >= deadline:
        slots.release()
        return False
    return True
