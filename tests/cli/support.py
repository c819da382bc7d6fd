"""Helpers for the CLI tests: queues, dead letters, seeded images."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from localaws import LocalAws, registry
from pipeline import deadletter

MAX_RECEIVE_COUNT = 5


@dataclass(frozen=True)
class Queues:
    url: str
    arn: str
    dlq_url: str
    dlq_arn: str


def scan_body(repository: str, digest_seed: str, tag: str | None = "v1") -> str:
    digest = registry.manifest_digest(digest_seed)
    event = registry.scan_event(repository=repository, digest=digest, tags=[tag] if tag else [])
    return json.dumps(event)


def send_dead(
    sqs: Any,
    dlq_url: str,
    *,
    code: str | None,
    repository: str | None = None,
    body: str | None = None,
    retryable: bool = False,
    failed_ago: timedelta = timedelta(minutes=5),
    receive_count: int = 1,
) -> str:
    """Put a message in the DLQ as the handler forwards it (``code`` None: with no attributes,
    as the queue's own redrive moves it). Returns the body."""
    body = body or scan_body(repository or "none", f"{code}-{repository}-{failed_ago}")
    request: dict[str, Any] = {"QueueUrl": dlq_url, "MessageBody": body}
    if code is not None:
        letter = deadletter.DeadLetter(
            code=code,
            message=f"{code} happened",
            retryable=retryable,
            receive_count=receive_count,
            source_message_id="source-id",
            failed_at=(datetime.now(UTC) - failed_ago).strftime("%Y-%m-%dT%H:%M:%SZ"),
            repository=repository,
            image_digest=None,
        )
        request["MessageAttributes"] = deadletter.to_attributes(letter)
    sqs.send_message(**request)
    return body


def send_undelivered(sqs: Any, dlq_url: str, *, code: str, repository: str) -> str:
    """Put a scan event in the DLQ as EventBridge does when it cannot deliver it to its target:
    the event itself, with EventBridge's attributes. Returns the body."""
    body = scan_body(repository, f"undelivered-{code}-{repository}")
    attributes = {
        "ERROR_CODE": code,
        "ERROR_MESSAGE": f"EventBridge: {code}",
        "RULE_ARN": "arn:aws:events:us-east-1:123456789012:rule/ecr-findings-forwarder",
        "TARGET_ARN": "arn:aws:events:us-east-1:210987654321:event-bus/default",
    }
    sqs.send_message(
        QueueUrl=dlq_url,
        MessageBody=body,
        MessageAttributes={
            name: {"DataType": "String", "StringValue": value} for name, value in attributes.items()
        },
    )
    return body


def drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Consume every message of a queue (for assertions)."""
    messages: list[dict[str, Any]] = []
    while True:
        page = sqs.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            VisibilityTimeout=60,
        ).get("Messages", [])
        if not page:
            return messages
        messages += page
        sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(page)
            ],
        )


def depth(sqs: Any, url: str) -> tuple[int, int]:
    """(visible, in flight)."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return (
        int(attributes["ApproximateNumberOfMessages"]),
        int(attributes["ApproximateNumberOfMessagesNotVisible"]),
    )


@dataclass(frozen=True)
class SeededImage:
    repository: str
    tag: str | None
    kind: str = "basic"
    findings: int = 5
    cves: Sequence[str] = ()
    digest: str = field(default="", compare=False)


def seed_images(
    aws: LocalAws, ecr: Any, images: Sequence[SeededImage], **scan: Any
) -> list[SeededImage]:
    """Push and scan each image (findings from the harness generators); return with digests."""
    done = []
    for n, image in enumerate(images):
        digest = registry.push_scanned_image(
            aws,
            ecr,
            image.repository,
            image.tag,
            image.findings,
            kind=image.kind,  # type: ignore[arg-type]
            content=f"{image.repository}:{image.tag}:{n}",
            seed=n,
            include_cves=image.cves,
            **scan,
        ).digest
        done.append(
            SeededImage(image.repository, image.tag, image.kind, image.findings, image.cves, digest)
        )
    return done


def enqueue_scan_events(
    sqs: Any, queue_url: str, images: Sequence[SeededImage], account: str = registry.DEFAULT_ACCOUNT
) -> None:
    for image in images:
        event = registry.scan_event(
            kind=image.kind,  # type: ignore[arg-type]
            repository=image.repository,
            digest=image.digest,
            tags=[image.tag] if image.tag else [],
            account=account,
        )
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(event))


MEMBER_ACCOUNT = "210987654321"


def member_credentials(sts: Any) -> dict[str, str]:
    """Keyword arguments for a boto3 client acting in the member account."""
    return registry.account_credentials(sts, MEMBER_ACCOUNT)
