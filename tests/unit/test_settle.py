"""Settling one SQS message: done, retry later, or dead with its reason attached."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pipeline import deadletter
from pipeline.errors import PermanentError, PipelineError, RetryableError
from pipeline.events import ImageScan
from pipeline.outcome import Outcome
from pipeline.settle import dead_letter, decide

THROTTLED = RetryableError("throttled", "ecr:DescribeImageScanFindings: ThrottlingException")
GONE = PermanentError("image_not_found", "ecr:DescribeImageScanFindings: ImageNotFoundException")


@pytest.mark.parametrize(
    ("error", "receive_count", "max_receive_count", "expected"),
    [
        pytest.param(None, 1, 5, "done", id="no-error"),
        pytest.param(None, 9, 5, "done", id="no-error-late"),
        pytest.param(GONE, 1, 5, "dead", id="permanent-first-try"),
        pytest.param(THROTTLED, 1, 5, "retry", id="retryable-first-try"),
        pytest.param(THROTTLED, 4, 5, "retry", id="retryable-below-max"),
        pytest.param(THROTTLED, 5, 5, "dead", id="retryable-at-max"),
        pytest.param(THROTTLED, 7, 5, "dead", id="retryable-after-max"),
        pytest.param(THROTTLED, 1, 1, "dead", id="single-attempt-queue"),
    ],
)
def test_decide(
    error: PipelineError | None, receive_count: int, max_receive_count: int, expected: str
) -> None:
    assert decide(error, receive_count, max_receive_count) == expected


def test_a_dead_letter_keeps_the_body_and_carries_the_reason(scan: ImageScan) -> None:
    outcome = Outcome(
        message_id="059f36b4-87a3-44ab-83d2-661975830a7d",
        body='{"original": "body"}',
        receive_count=5,
        status="dead",
        error=THROTTLED,
        scan=scan,
    )
    out = dead_letter(outcome, now=datetime(2024, 5, 1, 12, 30, 5, 999, tzinfo=UTC))
    assert out.key == outcome.message_id
    assert out.body == '{"original": "body"}'
    assert out.attributes == {
        "ErrorCode": {"DataType": "String", "StringValue": "throttled"},
        "ErrorMessage": {
            "DataType": "String",
            "StringValue": "ecr:DescribeImageScanFindings: ThrottlingException",
        },
        "Retryable": {"DataType": "String", "StringValue": "true"},
        "ReceiveCount": {"DataType": "Number", "StringValue": "5"},
        "SourceMessageId": {"DataType": "String", "StringValue": outcome.message_id},
        "FailedAt": {"DataType": "String", "StringValue": "2024-05-01T12:30:05Z"},
        "Repository": {"DataType": "String", "StringValue": "my-repository-name"},
        "ImageDigest": {"DataType": "String", "StringValue": scan.digest},
    }
    assert deadletter.from_attributes(out.attributes) == deadletter.DeadLetter(
        code="throttled",
        message="ecr:DescribeImageScanFindings: ThrottlingException",
        retryable=True,
        receive_count=5,
        source_message_id=outcome.message_id,
        failed_at="2024-05-01T12:30:05Z",
        repository="my-repository-name",
        image_digest=scan.digest,
    )


def test_an_undecodable_message_dies_without_image_attributes() -> None:
    outcome = Outcome(
        message_id="m-1",
        body="not json",
        receive_count=1,
        status="dead",
        error=PermanentError("malformed_json", "message body is not JSON"),
    )
    out = dead_letter(outcome)
    assert set(out.attributes) == {
        "ErrorCode",
        "ErrorMessage",
        "Retryable",
        "ReceiveCount",
        "SourceMessageId",
        "FailedAt",
    }
    assert out.attributes["Retryable"]["StringValue"] == "false"
    failed_at = datetime.strptime(out.attributes["FailedAt"]["StringValue"], "%Y-%m-%dT%H:%M:%SZ")
    assert abs(failed_at.replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds() < 60
