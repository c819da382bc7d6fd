"""Look into the dead-letter queue without consuming it: its depth, reasons and messages."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pipeline.ops.deadmessages import DeadMessage
from pipeline.ops.holding import Hold
from pipeline.ops.queues import queue_attributes


@dataclass(frozen=True)
class DlqStatus:
    queue_url: str
    visible: int
    in_flight: int
    delayed: int
    scanned: int
    oldest_failed_at: datetime | None
    by_reason: Counter[str] = field(default_factory=Counter)
    by_repository: Counter[str] = field(default_factory=Counter)
    retryable_by_reason: Counter[str] = field(default_factory=Counter)

    def oldest_age_seconds(self, now: datetime) -> float | None:
        if self.oldest_failed_at is None:
            return None
        return (now - self.oldest_failed_at).total_seconds()

    def as_json(self, now: datetime) -> dict[str, Any]:
        age = self.oldest_age_seconds(now)
        return {
            "queue_url": self.queue_url,
            "messages_visible": self.visible,
            "messages_in_flight": self.in_flight,
            "messages_delayed": self.delayed,
            "scanned": self.scanned,
            "oldest_failed_at": self.oldest_failed_at.isoformat()
            if self.oldest_failed_at
            else None,
            "oldest_age_seconds": None if age is None else round(age),
            "by_reason": dict(self.by_reason.most_common()),
            "by_repository": dict(self.by_repository.most_common()),
        }


NO_REPOSITORY = "(not an image event)"


def status(sqs: Any, dlq_url: str, *, max_scan: int = 1000) -> DlqStatus:
    """Depth from the queue's counters; age and reasons from reading up to ``max_scan``
    messages (then releasing them)."""
    attributes = queue_attributes(sqs, dlq_url)
    visible = int(attributes.get("ApproximateNumberOfMessages", 0))
    messages = _read(sqs, dlq_url, min(visible, max_scan)) if visible else []
    by_reason: Counter[str] = Counter(m.reason for m in messages)
    return DlqStatus(
        queue_url=dlq_url,
        visible=visible,
        in_flight=int(attributes.get("ApproximateNumberOfMessagesNotVisible", 0)),
        delayed=int(attributes.get("ApproximateNumberOfMessagesDelayed", 0)),
        scanned=len(messages),
        oldest_failed_at=min((m.failed_at for m in messages), default=None),
        by_reason=by_reason,
        by_repository=Counter(m.repository or NO_REPOSITORY for m in messages),
        retryable_by_reason=Counter(m.reason for m in messages if m.retryable),
    )


def peek(sqs: Any, dlq_url: str, count: int) -> list[DeadMessage]:
    """Up to ``count`` messages, oldest failure first; all of them stay in the queue."""
    return sorted(_read(sqs, dlq_url, count), key=lambda m: m.failed_at)


def _read(sqs: Any, dlq_url: str, count: int) -> list[DeadMessage]:
    messages: list[DeadMessage] = []
    # Long enough to read them all once (about ten a call) before the first reappears.
    with Hold(sqs, dlq_url, visibility_timeout=max(60, count // 5)) as hold:
        for batch in hold.batches(stop_after=count):
            messages.extend(batch)
    return messages


def now_utc() -> datetime:
    return datetime.now(UTC)
