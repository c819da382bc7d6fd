"""The queue runner: an SQS poller that feeds a handler, as the Lambda event source mapping does.

``drive`` polls a queue, hands batches to the handler as real-shaped SQS events, deletes what the
handler acknowledged and leaves its ``batchItemFailures`` on the queue (for ``make demo`` and
tests). ``main`` is the same poller as a long-running process, for running the consumer outside
Lambda (a container, a VM): with the function's environment (``DEAD_LETTER_QUEUE_URL``,
``MAX_RECEIVE_COUNT``, …) and botocore's usual AWS settings. SIGTERM or SIGINT stops it after the
batch in hand, so nothing is cut off; a message that is never acknowledged reappears after the
queue's visibility timeout.

The handler is always passed in: the entry point that wires the findings handler in is
``lambdas.queue_consumer`` (the ``ecr-findings-consumer`` command).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import FrameType
from typing import Any

import boto3
import orjson
from botocore.exceptions import BotoCoreError, ClientError, NoRegionError

from pipeline.config import load_settings
from pipeline.errors import ConfigError
from pipeline.lambda_context import LocalContext

Handler = Callable[[Mapping[str, Any], Any], Mapping[str, Any]]
QUEUE_ENV = "ECR_FINDINGS_QUEUE_URL"
MAX_WAIT_SECONDS = 20  # SQS long polling allows at most 20 s
NO_REGION = "no AWS region: set AWS_REGION or AWS_DEFAULT_REGION (or a profile's region)"


@dataclass(slots=True)
class DriveStats:
    batches: int = 0
    received: int = 0
    deleted: int = 0
    failed: int = 0


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
    handler: Handler,
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ecr-findings-consumer",
        description="Consume scan events from the source queue with the findings handler, "
        "until stopped (SIGTERM/SIGINT) or, with --once, until the queue is empty.",
        epilog="Example: ECR_FINDINGS_QUEUE_URL=https://sqs.eu-west-1.amazonaws.com/"
        "111122223333/ecr-findings-logger DEAD_LETTER_QUEUE_URL=... ecr-findings-consumer",
    )
    parser.add_argument(
        "--queue-url",
        default=os.environ.get(QUEUE_ENV),
        help=f"the source queue (default: ${QUEUE_ENV})",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=10,
        help="messages handed to one handler call, 1-10,000 (default 10)",
    )
    parser.add_argument(
        "--wait-seconds",
        type=int,
        default=MAX_WAIT_SECONDS,
        help=f"long-poll wait when the queue is empty, 0-{MAX_WAIT_SECONDS} (default 20)",
    )
    parser.add_argument(
        "--timeout-seconds",
        type=int,
        default=900,
        help="time budget of one handler call, as a function timeout (default 900)",
    )
    parser.add_argument(
        "--retry-delay-seconds",
        type=int,
        default=30,
        help="how long a failed message stays hidden before it is retried (default 30)",
    )
    parser.add_argument(
        "--once", action="store_true", help="exit as soon as a poll finds the queue empty"
    )
    return parser


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.queue_url:
        parser.error(f"--queue-url is required (or set {QUEUE_ENV})")
    if not 1 <= args.batch_size <= 10_000:
        parser.error("--batch-size must be between 1 and 10000")
    if not 0 <= args.wait_seconds <= MAX_WAIT_SECONDS:
        parser.error(f"--wait-seconds must be between 0 and {MAX_WAIT_SECONDS}")
    if args.timeout_seconds < 1:
        parser.error("--timeout-seconds must be at least 1")
    if not 0 <= args.retry_delay_seconds <= 43_200:
        parser.error("--retry-delay-seconds must be between 0 and 43200 (SQS's maximum)")
    return args


def main(argv: list[str] | None = None, *, handler: Handler) -> int:
    """``ecr-findings-consumer``: poll until stopped, or until the queue is empty (``--once``)."""
    args = _arguments(argv)
    stopping: list[int] = []

    def stop_after_this_batch(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, stop_after_this_batch)
    # A batch here lives at most --timeout-seconds, as an invocation lives its function's
    # timeout: an older claim on an image is a dead consumer's.
    os.environ.setdefault("CLAIM_TIMEOUT_SECONDS", str(args.timeout_seconds))
    try:
        load_settings()  # a bad setting fails now, not at the first message
        stats = drive(
            args.queue_url,
            handler=handler,
            batch_size=args.batch_size,
            idle_polls=1 if args.once else None,
            wait_time_seconds=args.wait_seconds,
            retry_delay_seconds=args.retry_delay_seconds,
            timeout_ms=args.timeout_seconds * 1000,
            stop=lambda: bool(stopping),
        )
    except NoRegionError:
        print(f"ecr-findings-consumer: error: {NO_REGION}", file=sys.stderr)
        return 1
    except (ConfigError, ClientError, BotoCoreError) as exc:
        print(f"ecr-findings-consumer: {exc}", file=sys.stderr)
        return 1
    summary = {
        "consumer": "stopped" if stopping else "queue empty",
        "batches": stats.batches,
        "received": stats.received,
        "acknowledged": stats.deleted,
        "failed": stats.failed,
    }
    print(orjson.dumps(summary).decode(), flush=True)
    return 0
