"""Choose a log event timestamp CloudWatch will accept (pure)."""

from __future__ import annotations

from pipeline import limits

DAY_MS = 24 * 60 * 60 * 1000
# Keep clear of the edges: the event may sit in a queue for a while before it is written.
_SAFETY_MS = 60 * 60 * 1000


def log_timestamp(
    event_ms: int, now_ms: int, retention_days: int | None = None, fallback_ms: int | None = None
) -> int:
    """The scan event's time when CloudWatch accepts it, else ``fallback_ms`` when it accepts
    that (the message's SQS sent time: the same on every delivery, so a redelivery's event gets
    the first attempt's timestamp and is found by its read-back), else now.

    CloudWatch drops events more than 2 h in the future, more than 14 days old, or older than
    the group's retention. A backfilled or long-retried scan keeps its real scan time in the
    message (``imageContext.scanTime``) and is stamped with the time it is written instead.
    """
    max_age = limits.MAX_AGE_MS
    if retention_days is not None:
        max_age = min(max_age, retention_days * DAY_MS)

    def accepted(ms: int) -> bool:
        return now_ms - max_age + _SAFETY_MS <= ms <= now_ms + limits.MAX_FUTURE_MS - _SAFETY_MS

    if accepted(event_ms):
        return event_ms
    if fallback_ms is not None and accepted(fallback_ms):
        return fallback_ms
    return now_ms
