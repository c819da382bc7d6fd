"""Settle each SQS message: done, retry later, or dead (to the DLQ with its reason).

The decision is pure (``decide``); ``settle`` performs the DLQ sends and builds the Lambda
partial batch response. A message whose DLQ send fails is reported as a batch item failure,
so it stays on the source queue: nothing is acknowledged unless it is logged or dead-lettered.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pipeline import deadletter, limits
from pipeline.aws.sqs import Outgoing, send_batch
from pipeline.errors import PipelineError
from pipeline.outcome import Outcome, Status


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
        repository=outcome.subject.repository if outcome.subject else None,
        image_digest=outcome.subject.digest if outcome.subject else None,
    )
    # The body is never altered: the reason shrinks to fit beside it in one SQS message.
    room = limits.SQS_MAX_MESSAGE_BYTES - len(outcome.body.encode())
    attributes = deadletter.to_attributes(letter, max_bytes=room)
    if deadletter.ERROR_CODE not in attributes:
        outcome.dead_letter_without_reason = True
        outcome.notes.append(
            f"dead-lettered without its reason ({outcome.error.code}): the body leaves no room "
            "for it within the SQS message size limit"
        )
    elif len(attributes) < len(deadletter.to_attributes(letter)):
        outcome.notes.append("dead-lettered with a shortened reason: the body is near the limit")
    return Outgoing(outcome.message_id, outcome.body, attributes)


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
    failures = []
    for outcome in outcomes:
        if outcome.status == "retry" or outcome.message_id in unsent:
            if outcome.message_id:
                failures.append({"itemIdentifier": outcome.message_id})
            else:
                # An empty itemIdentifier would fail the whole batch; SQS always sends ids.
                outcome.notes.append("cannot be kept on the queue: the record has no messageId")
    return {"batchItemFailures": failures}
