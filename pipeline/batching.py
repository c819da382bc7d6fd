"""Pack log events into PutLogEvents batches inside every AWS limit (pure).

Events are kept in the order given (the order the API returned the findings), so the packing is
the minimum number of *contiguous* batches; greedy filling is optimal for that, because every
limit (bytes, count, time span) only gets easier on a shorter run of events.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pipeline import limits


@dataclass(frozen=True, slots=True)
class LogEvent:
    timestamp: int  # milliseconds since the epoch
    message: str
    size: int  # UTF-8 bytes of message

    @property
    def cost(self) -> int:
        return self.size + limits.PUT_LOG_EVENTS_EVENT_OVERHEAD


@dataclass(frozen=True, slots=True)
class Limits:
    max_bytes: int = limits.PUT_LOG_EVENTS_MAX_BYTES
    max_events: int = limits.PUT_LOG_EVENTS_MAX_EVENTS
    max_span_ms: int = limits.PUT_LOG_EVENTS_MAX_SPAN_MS


AWS_LIMITS = Limits()


def pack(events: Iterable[LogEvent], lim: Limits = AWS_LIMITS) -> Iterator[list[LogEvent]]:
    """Yield legal batches covering ``events`` in order.

    Raises ValueError for input no batch can hold: an event larger than a whole batch, or
    timestamps that go backwards (PutLogEvents needs them chronological).
    """
    batch: list[LogEvent] = []
    size = 0
    first_ts = last_ts = 0
    for event in events:
        cost = event.cost
        if cost > lim.max_bytes:
            raise ValueError(f"log event of {event.size} bytes cannot fit any batch")
        if batch and event.timestamp < last_ts:
            raise ValueError("log events must be in chronological order")
        if batch and (
            size + cost > lim.max_bytes
            or len(batch) >= lim.max_events
            or event.timestamp - first_ts > lim.max_span_ms
        ):
            yield batch
            batch, size = [], 0
        if not batch:
            first_ts = event.timestamp
        batch.append(event)
        size += cost
        last_ts = event.timestamp
    if batch:
        yield batch


def minimum_batches(events: list[LogEvent], lim: Limits = AWS_LIMITS) -> int:
    """A lower bound on the batches any packing needs (bytes and count alone)."""
    if not events:
        return 0
    total = sum(e.cost for e in events)
    return max(-(-total // lim.max_bytes), -(-len(events) // lim.max_events))


def batch_is_legal(batch: list[LogEvent], lim: Limits = AWS_LIMITS) -> bool:
    return (
        0 < len(batch) <= lim.max_events
        and sum(e.cost for e in batch) <= lim.max_bytes
        and all(a.timestamp <= b.timestamp for a, b in zip(batch, batch[1:], strict=False))
        and batch[-1].timestamp - batch[0].timestamp <= lim.max_span_ms
    )
