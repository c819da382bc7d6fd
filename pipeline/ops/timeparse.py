"""Durations (``90s``, ``30m``, ``6h``, ``7d``) and points in time (a duration ago, or ISO 8601)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_DURATION = re.compile(r"(?P<n>\d+(?:\.\d+)?)\s*(?P<unit>s|m|h|d|w)")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """``30m`` → 30 minutes; raise ValueError with the accepted forms otherwise."""
    match = _DURATION.fullmatch(text.strip().lower())
    if not match:
        raise ValueError(f"not a duration: {text!r} (use e.g. 90s, 30m, 6h, 7d, 2w)")
    return timedelta(seconds=float(match["n"]) * _UNITS[match["unit"]])


def parse_since(text: str, *, now: datetime | None = None) -> datetime:
    """A duration ago (``7d``) or an ISO 8601 date/time (UTC when no zone is given)."""
    now = now or datetime.now(UTC)
    try:
        return now - parse_duration(text)
    except ValueError:
        pass
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"not a duration or ISO 8601 time: {text!r} (use e.g. 7d or 2024-05-01T00:00Z)"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def format_age(seconds: float) -> str:
    """A short human age: ``45s``, ``12m``, ``3h05m``, ``2d04h``."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"
