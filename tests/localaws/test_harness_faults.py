"""Fault injection and call records of the local AWS."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from localaws import LocalAws
from localaws.findings import basic_findings
from localaws.registry import create_repository, push_image

NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def _status(exc: pytest.ExceptionInfo[ClientError]) -> int:
    return int(exc.value.response["ResponseMetadata"]["HTTPStatusCode"])


def test_throttle_then_success(aws: LocalAws, aws_client: Callable[..., Any]) -> None:
    logs = aws_client("logs", config=NO_RETRIES)
    aws.inject_fault("DescribeLogGroups")

    with pytest.raises(ClientError) as exc:
        logs.describe_log_groups()
    assert (_code(exc), _status(exc)) == ("ThrottlingException", 400)
    assert exc.value.response["Error"]["Message"] == "Rate exceeded"

    assert logs.describe_log_groups()["logGroups"] == []
    assert aws.calls["DescribeLogGroups"] == 2
    assert aws.pending_faults() == []


def test_botocore_retries_through_a_throttle(aws: LocalAws, aws_client: Callable[..., Any]) -> None:
    logs = aws_client("logs", config=Config(retries={"mode": "standard", "total_max_attempts": 3}))
    aws.inject_fault("CreateLogGroup", times=2)

    answer = logs.create_log_group(logGroupName="/retried")

    assert answer["ResponseMetadata"]["RetryAttempts"] == 2
    assert aws.calls["CreateLogGroup"] == 3
    assert [g["logGroupName"] for g in logs.describe_log_groups()["logGroups"]] == ["/retried"]


def test_service_unavailable_on_findings(aws: LocalAws, aws_client: Callable[..., Any]) -> None:
    ecr = aws_client("ecr", config=NO_RETRIES)
    create_repository(ecr, "app")
    digest = push_image(ecr, "app", "v1")
    aws.seed_scan("app", digest, basic_findings(3, seed=1))
    aws.inject_fault(
        "DescribeImageScanFindings",
        code="ServiceUnavailableException",
        status=503,
        message="Service unavailable",
    )

    with pytest.raises(ClientError) as exc:
        ecr.describe_image_scan_findings(repositoryName="app", imageId={"imageDigest": digest})
    assert (_code(exc), _status(exc)) == ("ServiceUnavailableException", 503)

    page = ecr.describe_image_scan_findings(repositoryName="app", imageId={"imageDigest": digest})
    assert len(page["imageScanFindings"]["findings"]) == 3


def test_after_skips_calls_before_failing(aws: LocalAws, aws_client: Callable[..., Any]) -> None:
    sqs = aws_client("sqs", config=NO_RETRIES)
    url = sqs.create_queue(QueueName="work")["QueueUrl"]
    aws.inject_fault("SendMessage", code="RequestThrottled", after=2)

    outcomes = []
    for i in range(4):
        try:
            sqs.send_message(QueueUrl=url, MessageBody=str(i))
            outcomes.append("ok")
        except ClientError as exc:
            outcomes.append(exc.response["Error"]["Code"])

    assert outcomes == ["ok", "ok", "RequestThrottled", "ok"]
    assert aws.calls["SendMessage"] == 4
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert sorted(m["Body"] for m in received) == ["0", "1", "3"]


def test_faults_reach_query_protocol_clients(aws: LocalAws, aws_client: Callable[..., Any]) -> None:
    sts = aws_client("sts", config=NO_RETRIES)
    aws.inject_fault("GetCallerIdentity", code="Throttling", message="Rate <exceeded>")

    with pytest.raises(ClientError) as exc:
        sts.get_caller_identity()
    assert (_code(exc), _status(exc)) == ("Throttling", 400)
    assert exc.value.response["Error"]["Message"] == "Rate <exceeded>"
    assert sts.get_caller_identity()["Account"] == "123456789012"


def test_clear_faults_and_reset(aws: LocalAws, aws_client: Callable[..., Any]) -> None:
    logs = aws_client("logs", config=NO_RETRIES)
    aws.inject_fault("DescribeLogGroups", times=5)
    aws.clear_faults()
    logs.describe_log_groups()
    logs.create_log_group(logGroupName="/gone")
    aws.inject_fault("DescribeLogGroups")

    aws.reset()

    assert aws.calls == {} and aws.put_log_events_requests == [] and aws.violations == []
    assert aws.pending_faults() == []
    assert logs.describe_log_groups()["logGroups"] == []


def test_invalid_faults_are_refused(aws: LocalAws) -> None:
    with pytest.raises(ValueError):
        aws.inject_fault("PutLogEvents", times=0)
    with pytest.raises(ValueError):
        aws.inject_fault("PutLogEvents", status=200)
    with pytest.raises(ValueError):
        aws.inject_fault("PutLogEvents", delay_s=-1)


def test_a_held_call_hangs_until_released_then_fails_unapplied(
    aws: LocalAws, aws_client: Callable[..., Any]
) -> None:
    logs = aws_client("logs", config=Config(retries={"total_max_attempts": 1}, read_timeout=120))
    aws.inject_fault("CreateLogGroup", code="ServiceUnavailableException", status=503, delay_s=60)
    outcome: list[str] = []

    def create() -> None:
        try:
            logs.create_log_group(logGroupName="/held")
            outcome.append("created")
        except ClientError as exc:
            outcome.append(exc.response["Error"]["Code"])

    caller = threading.Thread(target=create)
    caller.start()
    give_up = time.monotonic() + 30
    while aws.calls.get("CreateLogGroup", 0) == 0 and time.monotonic() < give_up:
        time.sleep(0.01)
    assert aws.calls.get("CreateLogGroup") == 1, "the call never reached the local AWS"
    assert caller.is_alive()  # held: 60 s is far beyond this point

    aws.clear_faults()
    caller.join(timeout=30)

    assert not caller.is_alive() and outcome == ["ServiceUnavailableException"]
    assert logs.describe_log_groups()["logGroups"] == []


def test_calls_count_every_operation(aws: LocalAws, aws_client: Callable[..., Any]) -> None:
    logs, sqs = aws_client("logs"), aws_client("sqs")
    logs.create_log_group(logGroupName="/g")
    for name in ("a", "b"):
        logs.create_log_stream(logGroupName="/g", logStreamName=name)
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x")

    assert aws.calls == {
        "CreateLogGroup": 1,
        "CreateLogStream": 2,
        "CreateQueue": 1,
        "SendMessage": 1,
    }
