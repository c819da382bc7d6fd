"""Finding queues: by URL or name, their ARNs, and the sources that feed a dead-letter queue."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from pipeline.aws.errors import error_code
from pipeline.ops.errors import OpsError

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
