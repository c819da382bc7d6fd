"""Every bound on concurrency in one place: token buckets that keep us under AWS quotas
instead of provoking throttles, bounded fan-out, and all-or-first-error task groups."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Iterable

from pipeline.errors import PermanentError


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
