"""Finding queues: by URL or name, their ARNs, and the sources that feed a dead-letter queue."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from botocore.exceptions import ClientError

from pipeline import limits
from pipeline.aws.errors import error_code
from pipeline.aws.sqs import Outgoing, chunks
from pipeline.concurrency import BlockingRateLimiter
from pipeline.ops.errors import OpsError, describe_aws_error

_MISSING = {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}


def resolve_queue_url(sqs: Any, queue: str) -> str:
    """A queue URL from a URL or a name; raise OpsError when the queue does not exist."""
    try:
        if queue.startswith(("https://", "http://")):
            sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
            return queue
        return str(sqs.get_queue_url(QueueName=queue)["QueueUrl"])
    except ClientError as exc:
        if error_code(exc) in _MISSING:
            raise OpsError(f"queue {queue} does not exist") from None
        raise


def queue_attributes(sqs: Any, url: str) -> dict[str, str]:
    try:
        response = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
    except ClientError as exc:
        if error_code(exc) in _MISSING:
            raise OpsError(f"queue {url} does not exist") from None
        raise
    return {str(k): str(v) for k, v in response.get("Attributes", {}).items()}


def queue_arn(sqs: Any, url: str) -> str:
    return queue_attributes(sqs, url)["QueueArn"]


def dead_letter_sources(sqs: Any, dlq_url: str) -> list[str]:
    """URLs of the queues whose RedrivePolicy names this dead-letter queue."""
    urls: list[str] = []
    for page in sqs.get_paginator("list_dead_letter_source_queues").paginate(QueueUrl=dlq_url):
        urls.extend(str(u) for u in page.get("queueUrls", []))
    return urls


def redrive_target(sqs: Any, dlq_url: str, explicit: str | None) -> str:
    """The queue to send dead messages back to: ``explicit``, else the DLQ's only source."""
    if explicit:
        return resolve_queue_url(sqs, explicit)
    sources = dead_letter_sources(sqs, dlq_url)
    if len(sources) == 1:
        return sources[0]
    if not sources:
        raise OpsError(
            f"no queue has {dlq_url} as its dead-letter queue (RedrivePolicy); pass --to URL"
        )
    raise OpsError(
        f"{len(sources)} queues use {dlq_url} as their dead-letter queue; pick one with --to "
        f"({', '.join(sources)})"
    )


class SendIncomplete(OpsError):
    """The queue refused a message (or a call): how many were sent before it."""

    def __init__(self, sent: int, reason: str) -> None:
        super().__init__(f"the queue refused a message after {sent} were sent: {reason}")
        self.sent = sent


def send_bodies(
    sqs: Any,
    queue_url: str,
    bodies: Sequence[str],
    *,
    rate: float | None = 10.0,
    on_sent: Callable[[int], None] | None = None,
) -> int:
    """Send the bodies in order (SendMessageBatch: 10 entries and 1 MiB a call, at most
    ``rate`` messages a second); return how many were sent. A refused entry or call raises
    SendIncomplete, after what was sent so far has been counted."""
    for body in bodies:
        if len(body.encode()) > limits.SQS_MAX_MESSAGE_BYTES:
            raise OpsError(f"an event is {len(body.encode())} bytes, over SQS's 1 MiB limit")
    limiter = BlockingRateLimiter(rate)
    sent = 0
    for chunk in chunks([Outgoing(str(i), body, {}) for i, body in enumerate(bodies)]):
        limiter.acquire(len(chunk))
        try:
            response = sqs.send_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(k), "MessageBody": m.body} for k, m in enumerate(chunk)],
            )
        except ClientError as exc:
            raise SendIncomplete(sent, describe_aws_error(exc)) from None
        done = len(response.get("Successful", []))
        sent += done
        if on_sent and done:
            on_sent(done)
        failed = response.get("Failed", [])
        if failed:
            raise SendIncomplete(sent, f"{failed[0].get('Code')}: {failed[0].get('Message')}")
    return sent
