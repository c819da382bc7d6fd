"""A local stand-in for the Lambda SQS event source mapping.

Polls a queue, hands batches to the handler as real-shaped SQS events, deletes what the handler
acknowledged and leaves its ``batchItemFailures`` on the queue — for ``make demo``, tests and
running the consumer outside Lambda (e.g. in a container).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import boto3

Handler = Callable[[Mapping[str, Any], Any], Mapping[str, Any]]


@dataclass(slots=True)
class DriveStats:
    batches: int = 0
    received: int = 0
    deleted: int = 0
    failed: int = 0


class LocalContext:
    """What the handler reads from a Lambda context."""

    def __init__(self, timeout_ms: int) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self.function_name = "findings-logger-local"
        self._deadline = time.monotonic() + timeout_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self._deadline - time.monotonic()) * 1000), 0)


def to_lambda_record(message: Mapping[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """An SQS ReceiveMessage entry → the record shape Lambda delivers."""
    attributes = message.get("Attributes") or {}
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": {
            "ApproximateReceiveCount": attributes.get("ApproximateReceiveCount", "1"),
            "SentTimestamp": attributes.get("SentTimestamp", ""),
            "SenderId": attributes.get("SenderId", ""),
            "ApproximateFirstReceiveTimestamp": attributes.get(
                "ApproximateFirstReceiveTimestamp", ""
            ),
        },
        "messageAttributes": {
            name: {
                "stringValue": value.get("StringValue"),
                "binaryValue": value.get("BinaryValue"),
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": value.get("DataType", "String"),
            }
            for name, value in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def drive(
    queue_url: str,
    *,
    handler: Handler | None = None,
    batch_size: int = 10,
    max_batches: int | None = None,
    idle_polls: int | None = 1,
    wait_time_seconds: int = 0,
    retry_delay_seconds: int = 0,
    timeout_ms: int = 60_000,
    sqs: Any = None,
    stop: Callable[[], bool] = lambda: False,
) -> DriveStats:
    """Drain ``queue_url`` through ``handler`` until ``idle_polls`` polls in a row find nothing
    (``None``: keep polling), or ``stop()`` says so between batches.

    Failed messages become visible again after ``retry_delay_seconds``, so their retries (and
    the queue's redrive to its DLQ after maxReceiveCount) happen as they would in AWS.
    """
    if handler is None:
        from lambdas.findings_logger import handler as default_handler

        handler = default_handler
    client = sqs or boto3.client("sqs")
    arn = client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    region = arn.split(":")[3]
    stats, idle = DriveStats(), 0
    while (
        not stop()
        and (idle_polls is None or idle < idle_polls)
        and (max_batches is None or stats.batches < max_batches)
    ):
        messages = _receive(client, queue_url, batch_size, wait_time_seconds)
        if not messages:
            idle += 1
            continue
        idle = 0
        stats.batches += 1
        stats.received += len(messages)
        records = [to_lambda_record(m, arn, region) for m in messages]
        response = handler({"Records": records}, LocalContext(timeout_ms))
        failed = {f["itemIdentifier"] for f in response.get("batchItemFailures") or ()}
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                for i, m in enumerate(done[start : start + 10])
            ]
            answer = client.delete_message_batch(QueueUrl=queue_url, Entries=entries)
            stats.deleted += len(answer.get("Successful") or ())
        for message in messages:
            if message["MessageId"] in failed:
                stats.failed += 1
                client.change_message_visibility(
                    QueueUrl=queue_url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=retry_delay_seconds,
                )
    return stats


def _receive(client: Any, queue_url: str, batch_size: int, wait: int) -> list[dict[str, Any]]:
    """Up to ``batch_size`` messages (SQS returns at most 10 a call, so poll until full)."""
    messages: list[dict[str, Any]] = []
    while len(messages) < batch_size:
        page = client.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=min(10, batch_size - len(messages)),
            WaitTimeSeconds=wait if not messages else 0,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not page:
            break
        messages.extend(page)
    return messages
