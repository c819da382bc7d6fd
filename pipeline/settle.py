"""Settle each SQS message: done, retry later, or dead (to the DLQ with its reason).

The decision is pure (``decide``); ``settle`` performs the DLQ sends and builds the Lambda
partial batch response. A message whose DLQ send fails is reported as a batch item failure,
so it stays on the source queue: nothing is acknowledged unless it is logged or dead-lettered.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from pipeline import deadletter
from pipeline.aws.sqs import Outgoing, send_batch
from pipeline.errors import PipelineError
from pipeline.events import ImageScan

Status = Literal["done", "duplicate", "retry", "dead"]


@dataclass(slots=True)
class Outcome:
    message_id: str
    body: str
    receive_count: int
    status: Status = "done"
    error: PipelineError | None = None
    scan: ImageScan | None = None
    findings: int = 0
    duration_ms: float = 0.0
    completed: bool = False  # processing ran to its end (successfully or not)
    notes: list[str] = field(default_factory=list)


def decide(error: PipelineError | None, receive_count: int, max_receive_count: int) -> Status:
    """Permanent errors die now; retryable ones die on the queue's last attempt."""
    if error is None:
        return "done"
    if not error.retryable or receive_count >= max_receive_count:
        return "dead"
    return "retry"


def dead_letter(outcome: Outcome, now: datetime | None = None) -> Outgoing:
    assert outcome.error is not None
    when = (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    letter = deadletter.DeadLetter(
        code=outcome.error.code,
        message=outcome.error.message,
        retryable=outcome.error.retryable,
        receive_count=outcome.receive_count,
        source_message_id=outcome.message_id,
        failed_at=when,
        repository=outcome.scan.repository if outcome.scan else None,
        image_digest=outcome.scan.digest if outcome.scan else None,
    )
    return Outgoing(outcome.message_id, outcome.body, deadletter.to_attributes(letter))


async def settle(
    outcomes: Sequence[Outcome], sqs_client: Any, dlq_url: str | None
) -> dict[str, list[dict[str, str]]]:
    """Send the dead to the DLQ; return the Lambda partial batch response."""
    dead = [o for o in outcomes if o.status == "dead"]
    unsent: dict[str, str] = {}
    if dead and dlq_url:
        unsent = await send_batch(sqs_client, dlq_url, [dead_letter(o) for o in dead])
    elif dead:
        unsent = {o.message_id: "DEAD_LETTER_QUEUE_URL is not set" for o in dead}
    for outcome in dead:
        if outcome.message_id in unsent:
            # Left on the source queue: its redrive policy still catches it eventually.
            outcome.notes.append(f"not dead-lettered: {unsent[outcome.message_id]}")
    failures = [
        {"itemIdentifier": o.message_id}
        for o in outcomes
        if o.status == "retry" or o.message_id in unsent
    ]
    return {"batchItemFailures": failures}
