"""CloudWatch Logs rules, as pure checks on request parameters: names, PutLogEvents limits, and
the timestamps it drops and reports in ``rejectedLogEventsInfo`` (moto enforces none of them).

A problem is a sentence saying why AWS refuses the request (``InvalidParameterException``);
every front end refuses with that sentence and records it as a violation.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pipeline import limits

_GROUP_NAME = re.compile(limits.LOG_GROUP_NAME_PATTERN)
DAY_MS = 24 * 60 * 60 * 1000


def group_name_problem(name: object) -> str | None:
    if not isinstance(name, str) or not name:
        return "log group name is missing"
    if len(name) > limits.LOG_GROUP_NAME_MAX:
        return f"log group name is {len(name)} characters, over {limits.LOG_GROUP_NAME_MAX}"
    if not _GROUP_NAME.fullmatch(name):
        return f"log group name {name!r} must match {limits.LOG_GROUP_NAME_PATTERN}"
    return None


def stream_name_problem(name: object) -> str | None:
    if not isinstance(name, str) or not name:
        return "log stream name is missing"
    if len(name) > limits.LOG_STREAM_NAME_MAX:
        return f"log stream name is {len(name)} characters, over {limits.LOG_STREAM_NAME_MAX}"
    bad = [c for c in limits.LOG_STREAM_FORBIDDEN if c in name]
    if bad:
        return f"log stream name {name!r} contains {' and '.join(map(repr, bad))}"
    return None


def batch_bytes(events: Sequence[Any]) -> int:
    """PutLogEvents' batch size: UTF-8 message bytes plus a fixed overhead per event."""
    return sum(
        len(str(e.get("message", "")).encode()) + limits.PUT_LOG_EVENTS_EVENT_OVERHEAD
        for e in events
    )


def batch_problem(events: object) -> str | None:
    """Why AWS would refuse this PutLogEvents batch as a whole, or None."""
    if not isinstance(events, list) or not events:
        return "a PutLogEvents batch must hold at least one log event"
    if not all(isinstance(e, dict) and isinstance(e.get("timestamp"), int) for e in events):
        return "every log event needs an integer timestamp"
    if not all(isinstance(e.get("message"), str) and e["message"] for e in events):
        return "every log event needs a message of at least one character"
    if len(events) > limits.PUT_LOG_EVENTS_MAX_EVENTS:
        return f"{len(events)} log events, over {limits.PUT_LOG_EVENTS_MAX_EVENTS} per batch"
    size = batch_bytes(events)
    if size > limits.PUT_LOG_EVENTS_MAX_BYTES:
        return f"batch of {size} bytes, over {limits.PUT_LOG_EVENTS_MAX_BYTES}"
    stamps = [e["timestamp"] for e in events]
    for i in range(1, len(stamps)):
        if stamps[i] < stamps[i - 1]:
            return (
                "Log events in a single PutLogEvents request must be in chronological order "
                f"(event {i} is older than event {i - 1})"
            )
    if stamps[-1] - stamps[0] > limits.PUT_LOG_EVENTS_MAX_SPAN_MS:
        return (
            "The batch of log events in a single PutLogEvents request cannot span more than "
            "24 hours"
        )
    return None


@dataclass(frozen=True, slots=True)
class AgeSplit:
    """Events CloudWatch keeps, and where the dropped ones are, as ``rejectedLogEventsInfo``.

    Indices follow the API: ``tooNewLogEventStartIndex`` is the first too-new event (inclusive);
    ``tooOldLogEventEndIndex`` and ``expiredLogEventEndIndex`` end the too-old and expired runs
    (exclusive).
    """

    kept: list[dict[str, Any]]
    rejected_info: dict[str, int] = field(default_factory=dict)


def split_by_age(
    events: Sequence[dict[str, Any]], now_ms: int, retention_days: int | None = None
) -> AgeSplit:
    """Drop events too new, too old or past retention. ``events`` are already chronological."""
    oldest = now_ms - limits.MAX_AGE_MS
    newest = now_ms + limits.MAX_FUTURE_MS
    expired_before = now_ms - retention_days * DAY_MS if retention_days else None
    kept: list[dict[str, Any]] = []
    info: dict[str, int] = {}
    for index, event in enumerate(events):
        stamp = event["timestamp"]
        if stamp < oldest:
            info["tooOldLogEventEndIndex"] = index + 1
        elif expired_before is not None and stamp < expired_before:
            info["expiredLogEventEndIndex"] = index + 1
        elif stamp > newest:
            info.setdefault("tooNewLogEventStartIndex", index)
        else:
            kept.append(event)
    return AgeSplit(kept, info)
