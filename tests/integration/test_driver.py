"""EventBridge → SQS → local driver → handler, as the event source mapping would run it."""

from __future__ import annotations

import json
from typing import Any

import pytest

import lambdas.findings_logger as function
from localaws.findings import basic_findings
from pipeline.queue_runner import drive

from .conftest import Pipeline

PATTERN = {
    "source": ["aws.ecr", "aws.inspector2"],
    "detail-type": ["ECR Image Scan", "Inspector2 Scan"],
}


def queue_with_rule(pipeline: Pipeline, events: Any, max_receive: int) -> str:
    dlq_arn = pipeline.sqs.get_queue_attributes(
        QueueUrl=pipeline.dlq_url, AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    queue_url = pipeline.sqs.create_queue(
        QueueName="findings",
        Attributes={
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receive)}
            )
        },
    )["QueueUrl"]
    queue_arn = pipeline.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    events.put_rule(Name="scans", EventPattern=json.dumps(PATTERN))
    events.put_targets(Rule="scans", Targets=[{"Id": "queue", "Arn": queue_arn}])
    return str(queue_url)


def test_events_flow_from_eventbridge_to_logs_and_dlq(
    pipeline: Pipeline, aws_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_RECEIVE_COUNT", "2")
    events = aws_client("events")
    queue_url = queue_with_rule(pipeline, events, max_receive=2)
    good = pipeline.image("team/app", "v1", basic_findings(25, seed=1))
    slow = pipeline.image("team/slow", "v1", [], status="IN_PROGRESS")
    for image in (good, slow):
        event = json.loads(image.body)
        entry = {
            "Source": event["source"],
            "DetailType": event["detail-type"],
            "Detail": json.dumps(event["detail"]),
            "Resources": event["resources"],
            "Time": event["time"],
        }
        assert events.put_events(Entries=[entry])["FailedEntryCount"] == 0
    pipeline.sqs.send_message(QueueUrl=queue_url, MessageBody="garbage")

    stats = drive(
        queue_url, handler=function.handler, batch_size=10, idle_polls=2, sqs=pipeline.sqs
    )

    assert stats.received == 4  # good, garbage, and slow twice (its two attempts)
    assert stats.failed == 1  # slow, first attempt
    assert len(pipeline.messages(good.group, good.stream("SUMMARY"))) == 1
    logged = sum(
        len(v) for k, v in pipeline.image_messages(good).items() if not k.startswith("SUMMARY")
    )
    assert logged == 25
    dead = {m["MessageAttributes"]["ErrorCode"]["StringValue"]: m for m in pipeline.dead_letters()}
    assert set(dead) == {"malformed_json", "scan_in_progress"}
    assert dead["scan_in_progress"]["MessageAttributes"]["ReceiveCount"]["StringValue"] == "2"
    assert (
        pipeline.sqs.get_queue_attributes(
            QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]["ApproximateNumberOfMessages"]
        == "0"
    )
