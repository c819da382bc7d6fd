"""The template deployed into the local AWS, then used as deployed.

moto deploys what it supports (it skips AWS::SQS::QueuePolicy and AWS::CloudWatch::Alarm with a
warning, checked statically elsewhere) and cannot run Lambda code: the function's zip is a
placeholder, and the real handler runs in-process, configured from the stack's outputs and the
deployed function's environment. moto's event source mapping would swallow every message sent
to the queue, so it is read, then disabled, and ``pipeline.queue_runner.drive`` plays its part.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from iac_model import TEMPLATE, template

import lambdas.findings_logger as function
from localaws import LocalAws
from localaws.findings import basic_findings, enhanced_findings
from localaws.registry import create_repository, finding_event, push_image, scan_event
from pipeline import deadletter, layout
from pipeline.queue_runner import drive

# moto warns (from its server thread, in this process) for each resource type it skips: the
# queue policies and the alarms (test_stack_is_created_with_its_settings lists them).
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse:UserWarning")

STACK = "findings-logger"
CODE_BUCKET, CODE_KEY = "deploy-artifacts", "ecr-findings-logger-arm64.zip"


@dataclass
class Stack:
    outputs: dict[str, str]
    event_source_mapping: dict[str, Any]
    environment: dict[str, str]
    resources: dict[str, str]  # logical id -> type


def placeholder_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("lambdas/findings_logger.py", "def handler(event, context):\n    pass\n")
    return buffer.getvalue()


@pytest.fixture
def stack(
    aws: LocalAws, aws_client: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Stack]:
    s3 = aws_client("s3")
    s3.create_bucket(Bucket=CODE_BUCKET)
    s3.put_object(Bucket=CODE_BUCKET, Key=CODE_KEY, Body=placeholder_zip())
    cloudformation = aws_client("cloudformation")
    cloudformation.create_stack(
        StackName=STACK,
        TemplateBody=TEMPLATE.read_text(),
        Parameters=[
            {"ParameterKey": "CodeS3Bucket", "ParameterValue": CODE_BUCKET},
            {"ParameterKey": "CodeS3Key", "ParameterValue": CODE_KEY},
        ],
        Capabilities=["CAPABILITY_IAM"],
    )
    cloudformation.get_waiter("stack_create_complete").wait(
        StackName=STACK, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    (described,) = cloudformation.describe_stacks(StackName=STACK)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]}
    summaries = cloudformation.list_stack_resources(StackName=STACK)["StackResourceSummaries"]

    lambda_ = aws_client("lambda")
    mapping = lambda_.get_event_source_mapping(UUID=outputs["EventSourceMappingId"])
    # Paused the way an operator would; moto keeps consuming through a deleted one.
    lambda_.update_event_source_mapping(UUID=outputs["EventSourceMappingId"], Enabled=False)
    configuration = lambda_.get_function_configuration(FunctionName=outputs["FunctionName"])
    environment = {k: str(v) for k, v in configuration["Environment"]["Variables"].items()}
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    function.reset()
    yield Stack(
        outputs,
        mapping,
        environment,
        {r["LogicalResourceId"]: r["ResourceType"] for r in summaries},
    )
    function.reset()
    assert aws.violations == [], "a request broke a CloudWatch Logs limit"


def put_scan_event(events_client: Any, event: dict[str, Any]) -> None:
    """Send ``event`` to the default bus as the scanning service would."""
    entry = {
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Detail": json.dumps(event["detail"]),
        "Resources": event.get("resources", []),
        # The scan's own time: without it the bus stamps the put time, and the stream
        # names (which embed the event time) could differ by a second from ours.
        "Time": event["time"],
    }
    answer = events_client.put_events(Entries=[entry])
    assert answer["FailedEntryCount"] == 0, answer


def visible_messages(sqs: Any, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def test_stack_is_created_with_its_settings(stack: Stack, aws_client: Callable[..., Any]) -> None:
    supported = {
        logical_id
        for logical_id, resource in template()["Resources"].items()
        if "Condition" not in resource
        and resource["Type"] not in ("AWS::SQS::QueuePolicy", "AWS::CloudWatch::Alarm")
    }
    assert supported <= set(stack.resources)

    mapping = stack.event_source_mapping
    assert mapping["EventSourceArn"] == stack.outputs["QueueArn"]
    assert mapping["FunctionArn"] == stack.outputs["FunctionArn"]
    assert (mapping["BatchSize"], mapping["MaximumBatchingWindowInSeconds"]) == (10, 5)
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 2}

    sqs = aws_client("sqs")
    queue = sqs.get_queue_attributes(QueueUrl=stack.outputs["QueueUrl"], AttributeNames=["All"])
    attributes = queue["Attributes"]
    assert attributes["VisibilityTimeout"] == str(6 * 300 + 60)
    assert attributes["SqsManagedSseEnabled"] == "true"
    assert json.loads(attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": stack.outputs["DeadLetterQueueArn"],
        "maxReceiveCount": 5,
    }
    dlq = sqs.get_queue_attributes(
        QueueUrl=stack.outputs["DeadLetterQueueUrl"], AttributeNames=["All"]
    )["Attributes"]
    assert dlq["MessageRetentionPeriod"] == str(14 * 24 * 3600)

    assert stack.environment["DEAD_LETTER_QUEUE_URL"] == stack.outputs["DeadLetterQueueUrl"]
    assert stack.environment["MAX_RECEIVE_COUNT"] == "5"
    assert stack.environment["FINDINGS_LOG_GROUP_PREFIX"] == layout_prefix(stack)
    assert "LOG_KMS_KEY_ARN" not in stack.environment

    events = aws_client("events")
    (target,) = events.list_targets_by_rule(Rule=stack.outputs["RuleArn"].split("/")[-1])["Targets"]
    assert target["Arn"] == stack.outputs["QueueArn"]
    assert target["DeadLetterConfig"] == {"Arn": stack.outputs["DeadLetterQueueArn"]}
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}


def layout_prefix(stack: Stack) -> str:
    return stack.outputs["FindingsLogGroupPrefix"]


@pytest.mark.parametrize("kind", ["basic", "enhanced"])
def test_a_scan_event_on_the_rule_is_logged_by_the_handler(
    stack: Stack, aws: LocalAws, aws_client: Callable[..., Any], kind: str
) -> None:
    ecr, sqs, logs = aws_client("ecr"), aws_client("sqs"), aws_client("logs")
    repository = "team/payments"
    create_repository(ecr, repository)
    digest = push_image(ecr, repository, "1.4.2")
    findings = (
        basic_findings(25, seed=3)
        if kind == "basic"
        else enhanced_findings(25, seed=3, repository=repository, digest=digest, tags=["1.4.2"])
    )
    aws.seed_scan(repository, digest, findings, kind=kind)  # type: ignore[arg-type]
    # Minutes in the past, so a stream named after the put time instead would not match.
    scanned_at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=7)
    event = scan_event(
        kind=kind,  # type: ignore[arg-type]
        repository=repository,
        digest=digest,
        tags=["1.4.2"],
        time=scanned_at,
    )

    put_scan_event(aws_client("events"), event)
    queue_url = stack.outputs["QueueUrl"]
    assert visible_messages(sqs, queue_url) == 1, "the rule did not deliver to the stack's queue"

    stats = drive(queue_url, handler=function.handler, sqs=sqs)

    assert (stats.received, stats.deleted, stats.failed) == (1, 1, 0)
    group = layout_prefix(stack) + repository
    (described,) = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    # The stack's LOG_RETENTION_DAYS reached the handler.
    assert described["retentionInDays"] == int(stack.environment["LOG_RETENTION_DAYS"])
    streams = [
        s["logStreamName"] for s in logs.describe_log_streams(logGroupName=group)["logStreams"]
    ]
    summary_stream = layout.stream_name("SUMMARY", "1.4.2", digest, event["time"])
    assert summary_stream in streams
    logged = 0
    for stream in streams:
        if stream != summary_stream:
            logged += len(logs.get_log_events(logGroupName=group, logStreamName=stream)["events"])
    assert logged == len(findings)
    assert visible_messages(sqs, stack.outputs["DeadLetterQueueUrl"]) == 0


def test_a_malformed_scan_event_ends_in_the_stacks_dlq_with_its_reason(
    stack: Stack, aws_client: Callable[..., Any]
) -> None:
    sqs = aws_client("sqs")
    event = scan_event(repository="team/payments", digest="sha256:" + "ab" * 32, tags=["1.4.2"])
    event["detail"]["image-digest"] = "not-a-digest"
    put_scan_event(aws_client("events"), event)

    stats = drive(stack.outputs["QueueUrl"], handler=function.handler, sqs=sqs)

    # Forwarded with its reason, then acknowledged: no retries for what can never succeed.
    assert (stats.received, stats.deleted, stats.failed) == (1, 1, 0)
    (message,) = sqs.receive_message(
        QueueUrl=stack.outputs["DeadLetterQueueUrl"],
        MaxNumberOfMessages=10,
        MessageAttributeNames=["All"],
    )["Messages"]
    letter = deadletter.from_attributes(message["MessageAttributes"])
    assert letter is not None
    assert letter.code == "invalid_event"
    assert "image-digest" in letter.message
    assert not letter.retryable
    assert json.loads(message["Body"])["detail"]["image-digest"] == "not-a-digest"
    assert visible_messages(sqs, stack.outputs["QueueUrl"]) == 0


def test_events_the_rule_must_not_take_stay_out_of_the_queue(
    stack: Stack, aws_client: Callable[..., Any]
) -> None:
    events, sqs = aws_client("events"), aws_client("sqs")
    failed_scan = scan_event(repository="team/payments", digest="sha256:" + "cd" * 32)
    failed_scan["detail"]["scan-status"] = "FAILED"
    instance_scan = scan_event(kind="enhanced", repository="x", digest="sha256:" + "ef" * 32)
    # Inspector's EC2 scans come under the same detail-type, without a repository.
    instance_scan["detail"] = {"scan-status": "INITIAL_SCAN_COMPLETE", "instance-id": "i-0abc"}
    for event in (failed_scan, instance_scan):
        put_scan_event(events, event)
    assert visible_messages(sqs, stack.outputs["QueueUrl"]) == 0
    put_scan_event(events, scan_event(repository="team/payments", digest="sha256:" + "cd" * 32))
    assert visible_messages(sqs, stack.outputs["QueueUrl"]) == 1


def test_a_finding_event_on_the_rule_is_logged_by_the_handler(
    stack: Stack, aws_client: Callable[..., Any]
) -> None:
    sqs, logs, events = aws_client("sqs"), aws_client("logs"), aws_client("events")
    moment = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=7)
    digest = "sha256:" + "ab" * 32
    image = finding_event(repository="team/payments", digest=digest, tags=["1.4.2"], time=moment)
    # EC2 and Lambda findings share the detail-type: the rule leaves them out.
    for kind in ("AWS_EC2_INSTANCE", "AWS_LAMBDA_FUNCTION"):
        put_scan_event(events, finding_event(repository="x", digest=digest, resource_type=kind))
    assert visible_messages(sqs, stack.outputs["QueueUrl"]) == 0

    put_scan_event(events, image)
    assert visible_messages(sqs, stack.outputs["QueueUrl"]) == 1

    stats = drive(stack.outputs["QueueUrl"], handler=function.handler, sqs=sqs)

    assert (stats.received, stats.deleted, stats.failed) == (1, 1, 0)
    group = layout_prefix(stack) + "team/payments"
    stream = layout.finding_events_stream(int(moment.timestamp() * 1000))
    (logged,) = logs.get_log_events(logGroupName=group, logStreamName=stream)["events"]
    message = json.loads(logged["message"])
    assert message["findingArn"] == image["detail"]["findingArn"]
    assert message["imageContext"]["imageDigest"] == digest
    assert visible_messages(sqs, stack.outputs["DeadLetterQueueUrl"]) == 0
