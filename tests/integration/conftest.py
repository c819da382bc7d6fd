"""Fixtures for driving the real handler against the local AWS."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest

import lambdas.findings_logger as function
from localaws import LocalAws, landed
from localaws.registry import push_scanned_image, scan_event
from pipeline import layout
from pipeline.lambda_context import LocalContext

PREFIX = "/aws/ecr/image-scan-findings/"


@dataclass
class Image:
    repository: str
    digest: str
    tags: tuple[str, ...]
    body: str
    time: str

    @property
    def group(self) -> str:
        return PREFIX + self.repository

    def stream(self, kind: str) -> str:
        return layout.stream_name(kind, layout.first_tag(self.tags), self.digest, self.time)


@dataclass
class Pipeline:
    aws: LocalAws
    ecr: Any
    logs: Any
    sqs: Any
    dlq_url: str
    capsys: pytest.CaptureFixture[str]
    lines: list[dict[str, Any]] = field(default_factory=list)
    # SQS's SentTimestamp per message id: the same on every delivery of a message.
    sent: dict[str, str] = field(default_factory=dict)

    def image(
        self,
        repository: str,
        tag: str | None,
        findings: Sequence[dict[str, Any]],
        *,
        kind: str = "basic",
        status: str = "COMPLETE",
        severity_counts: dict[str, int] | None = None,
        event_time: str = "2026-11-29T06:00:00Z",
        include_account: bool = True,
        content: str | None = None,
    ) -> Image:
        pushed = push_scanned_image(
            self.aws,
            self.ecr,
            repository,
            tag,
            findings,
            kind=kind,  # type: ignore[arg-type]
            content=content,
            status=status,
            severity_counts=severity_counts,
        )
        digest, tags = pushed.digest, pushed.tags
        event = scan_event(
            kind=kind,  # type: ignore[arg-type]
            repository=repository,
            digest=digest,
            tags=tags,
            time=event_time,
            include_account=include_account,
            severity_counts=severity_counts,
        )
        return Image(repository, digest, tags, json.dumps(event), event_time)

    def invoke(
        self, records: Sequence[dict[str, Any] | str | Image], context: LocalContext | None = None
    ) -> dict[str, Any]:
        event = {"Records": [self.record(r) if not isinstance(r, dict) else r for r in records]}
        response = function.handler(event, context)
        out = self.capsys.readouterr().out
        self.lines = [orjson.loads(line) for line in out.splitlines() if line.startswith("{")]
        return response

    def record(
        self, body: str | Image, *, message_id: str | None = None, receive_count: int = 1
    ) -> dict[str, Any]:
        text = body.body if isinstance(body, Image) else body
        message_id = message_id or str(uuid.uuid4())
        sent = self.sent.setdefault(message_id, str(int(time.time() * 1000)))
        return {
            "messageId": message_id,
            "receiptHandle": "handle-" + str(uuid.uuid4()),
            "body": text,
            "attributes": {"ApproximateReceiveCount": str(receive_count), "SentTimestamp": sent},
            "messageAttributes": {},
            "eventSource": "aws:sqs",
        }

    def outcomes(self) -> dict[str, dict[str, Any]]:
        return {line["messageId"]: line for line in self.lines if "messageId" in line}

    def streams(self, group: str) -> list[str]:
        return landed.stream_names(self.logs, group)

    def messages(self, group: str, stream: str) -> list[str]:
        return landed.messages(self.logs, group, stream)

    def image_messages(self, image: Image) -> dict[str, list[dict[str, Any]]]:
        """Every stream of an image → its decoded events."""
        return {
            name: [orjson.loads(m) for m in self.messages(image.group, name)]
            for name in self.streams(image.group)
            if image.digest.split(":")[1] in name
        }

    def dead_letters(self) -> list[dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for _ in range(5):
            page = self.sqs.receive_message(
                QueueUrl=self.dlq_url,
                MaxNumberOfMessages=10,
                MessageAttributeNames=["All"],
                VisibilityTimeout=30,
            ).get("Messages", [])
            if not page:
                break
            for m in page:
                found[m["MessageId"]] = m
        return list(found.values())


@pytest.fixture
def pipeline(
    aws: LocalAws,
    aws_client: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[Pipeline]:
    sqs = aws_client("sqs")
    dlq_url = sqs.create_queue(QueueName="findings-dlq")["QueueUrl"]
    monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", dlq_url)
    monkeypatch.setenv("MAX_RECEIVE_COUNT", "3")
    # The local AWS answers at once; keep throttle back-off short so fault tests are quick.
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "3")
    function.reset()
    yield Pipeline(aws, aws_client("ecr"), aws_client("logs"), sqs, dlq_url, capsys)
    function.reset()
    assert aws.violations == [], "a request broke a CloudWatch Logs limit"


def emf(pipeline: Pipeline, metric: str) -> dict[str, int]:
    """Metric → value by its dimension's value ("" for none), from the invocation's EMF
    documents."""
    out: dict[str, int] = {}
    for line in pipeline.lines:
        if "_aws" in line and metric in line:
            [dims] = line["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
            out[line[dims[0]] if dims else ""] = line[metric]
    return out
