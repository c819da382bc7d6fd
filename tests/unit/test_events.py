"""Decoding SQS bodies into image scans: the AWS sample events, and every way to reject one."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from pipeline.errors import PermanentError
from pipeline.events import decode

from .conftest import ECR_IMAGE_SCAN_SAMPLE, INSPECTOR_REAL_DIGEST, INSPECTOR_SCAN_SAMPLE

DIGEST_PATTERN = "'^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-fA-F0-9]{32,}$'"
Edit = Callable[[dict[str, Any]], object]


def body(event: object) -> bytes:
    return orjson.dumps(event)


def rejection(raw: str | bytes) -> tuple[str, str]:
    with pytest.raises(PermanentError) as caught:
        decode(raw)
    assert caught.value.retryable is False
    assert str(caught.value) == caught.value.message
    return caught.value.code, caught.value.message


def test_the_ecr_image_scan_sample(ecr_event: dict[str, Any]) -> None:
    scan = decode(body(ecr_event))
    assert scan.kind == "basic"
    assert scan.event_id == "85fc3613-e913-7fc4-a80c-a3753e4aa9ae"
    assert scan.account == "123456789012"
    assert scan.region == "us-east-1"
    assert scan.repository == "my-repository-name"
    assert scan.digest == "sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234"
    assert scan.tags == ()  # image-tags: []
    assert scan.time == "2019-10-29T02:36:48Z"
    assert scan.timestamp_ms == 1_572_316_608_000
    assert scan.severity_counts == {"CRITICAL": 10, "MEDIUM": 9}
    assert scan.expects_findings


def test_the_inspector2_scan_sample(inspector_event: dict[str, Any]) -> None:
    scan = decode(body(inspector_event))
    assert scan.kind == "enhanced"
    assert scan.event_id == "739c0d3c-4f02-85c7-5a88-94a9EXAMPLE"
    assert scan.account == "123456789012"
    assert scan.region == "us-east-2"
    assert scan.repository == "amazon/amazon-ecs-sample"  # from the repository ARN
    assert scan.digest == INSPECTOR_REAL_DIGEST
    assert scan.tags == ("latest",)
    assert scan.time == "2021-12-03T18:03:16Z"
    assert scan.timestamp_ms == 1_638_554_596_000
    assert scan.severity_counts == {"CRITICAL": 7, "HIGH": 61, "MEDIUM": 62, "TOTAL": 158}
    assert scan.expects_findings


def test_the_published_inspector_sample_has_a_placeholder_digest() -> None:
    # As printed in the docs the digest ends in "EXAMPLE", which no real digest can.
    assert rejection(body(INSPECTOR_SCAN_SAMPLE)) == (
        "invalid_event",
        f"detail.image-digest: String should match pattern {DIGEST_PATTERN}",
    )


def test_a_body_given_as_text_or_bytes(ecr_event: dict[str, Any]) -> None:
    assert decode(body(ecr_event).decode()) == decode(body(ecr_event))


def test_account_and_region_missing_are_taken_from_the_resources(
    ecr_event: dict[str, Any],
) -> None:
    # moto's EventBridge → SQS delivery carries no account.
    del ecr_event["account"], ecr_event["region"]
    scan = decode(body(ecr_event))
    assert (scan.account, scan.region) == ("123456789012", "us-east-1")


def test_the_events_own_account_and_region_win_over_the_arns(ecr_event: dict[str, Any]) -> None:
    ecr_event["account"], ecr_event["region"] = "210987654321", "eu-west-1"
    scan = decode(body(ecr_event))
    assert (scan.account, scan.region) == ("210987654321", "eu-west-1")


def test_inspector_account_comes_from_the_repository_arn(inspector_event: dict[str, Any]) -> None:
    del inspector_event["account"], inspector_event["region"]
    inspector_event["resources"] = []
    scan = decode(body(inspector_event))
    assert (scan.account, scan.region) == ("123456789012", "us-east-2")


def test_no_account_anywhere_is_none(ecr_event: dict[str, Any]) -> None:
    del ecr_event["account"], ecr_event["resources"]
    assert decode(body(ecr_event)).account is None


def test_optional_detail_fields(ecr_event: dict[str, Any]) -> None:
    del ecr_event["detail"]["image-tags"], ecr_event["detail"]["finding-severity-counts"]
    scan = decode(body(ecr_event))
    assert scan.tags == ()
    assert scan.severity_counts is None
    assert not scan.expects_findings


def test_a_total_alone_does_not_promise_findings(inspector_event: dict[str, Any]) -> None:
    inspector_event["detail"]["finding-severity-counts"] = {"TOTAL": 0}
    assert not decode(body(inspector_event)).expects_findings


def test_times_with_offsets_and_fractions(ecr_event: dict[str, Any]) -> None:
    ecr_event["time"] = "2019-10-29T04:36:48.250+02:00"
    scan = decode(body(ecr_event))
    assert scan.timestamp_ms == 1_572_316_608_250
    assert scan.time == "2019-10-29T04:36:48.250+02:00"  # kept as sent: it names the streams


def test_not_json() -> None:
    assert rejection(b"not json") == (
        "malformed_json",
        "message body is not JSON: invalid literal, expected 'null': line 1 column 1 (char 0)",
    )
    assert rejection("") == (
        "malformed_json",
        "message body is not JSON: Input is a zero-length, empty document: "
        "line 1 column 1 (char 0)",
    )


def test_a_json_array() -> None:
    assert rejection(body([ECR_IMAGE_SCAN_SAMPLE])) == (
        "not_an_event",
        "message body is a JSON list, not an event object",
    )
    assert rejection(b'"text"') == (
        "not_an_event",
        "message body is a JSON str, not an event object",
    )


def _set(path: tuple[str, ...], value: object) -> Edit:
    def edit(event: dict[str, Any]) -> None:
        node = event
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return edit


def _drop(*paths: tuple[str, ...]) -> Edit:
    def edit(event: dict[str, Any]) -> None:
        for path in paths:
            node = event
            for key in path[:-1]:
                node = node[key]
            del node[path[-1]]

    return edit


EXPECTED = (
    "expected 'aws.ecr'/'ECR Image Scan', 'aws.inspector2'/'Inspector2 Scan' or "
    "'aws.inspector2'/'Inspector2 Finding'"
)
REJECTIONS: list[tuple[str, Edit, str, str]] = [
    (
        "unknown source",
        _set(("source",), "aws.s3"),
        "unsupported_event",
        f"unsupported event source/detail-type 'aws.s3'/'ECR Image Scan'; {EXPECTED}",
    ),
    (
        "unknown detail-type",
        _set(("detail-type",), "ECR Image Action"),
        "unsupported_event",
        f"unsupported event source/detail-type 'aws.ecr'/'ECR Image Action'; {EXPECTED}",
    ),
    (
        "no source or detail-type",
        _drop(("source",), ("detail-type",)),
        "unsupported_event",
        f"unsupported event source/detail-type None/None; {EXPECTED}",
    ),
    (
        "scan failed",
        _set(("detail", "scan-status"), "FAILED"),
        "scan_not_complete",
        "scan-status is 'FAILED'; only 'COMPLETE' scans are logged",
    ),
    (
        "missing detail fields",
        _drop(("detail", "scan-status"), ("detail", "repository-name"), ("detail", "image-digest")),
        "invalid_event",
        "detail.scan-status: Field required; detail.repository-name: Field required; "
        "detail.image-digest: Field required",
    ),
    ("missing detail", _drop(("detail",)), "invalid_event", "detail: Field required"),
    (
        "several problems at once",
        lambda e: (_drop(("id",), ("time",))(e), _set(("account",), "12345")(e)),
        "invalid_event",
        "id: Field required; account: String should match pattern '^\\d{12}$'; "
        "time: Field required",
    ),
    (
        "bad digest",
        _set(("detail", "image-digest"), "sha256:not-hex"),
        "invalid_event",
        f"detail.image-digest: String should match pattern {DIGEST_PATTERN}",
    ),
    (
        "bad tags",
        _set(("detail", "image-tags"), "latest"),
        "invalid_event",
        "detail.image-tags: Input should be a valid list",
    ),
    (
        "bad time",
        _set(("time",), "yesterday"),
        "invalid_event",
        "time: not an ISO 8601 timestamp with a zone: 'yesterday'",
    ),
    (
        "time without a zone",
        _set(("time",), "2019-10-29T02:36:48"),
        "invalid_event",
        "time: not an ISO 8601 timestamp with a zone: '2019-10-29T02:36:48'",
    ),
    (
        "invalid repository name",
        _set(("detail", "repository-name"), "My_Repo"),
        "invalid_event",
        "detail.repository-name: not a valid ECR repository name: 'My_Repo'",
    ),
    (
        "repository name too long",
        _set(("detail", "repository-name"), "r" * 257),
        "invalid_event",
        f"detail.repository-name: not a valid ECR repository name: '{'r' * 257}'",
    ),
]


@pytest.mark.parametrize(
    ("edit", "code", "message"),
    [pytest.param(edit, code, message, id=name) for name, edit, code, message in REJECTIONS],
)
def test_a_malformed_ecr_event_is_rejected(edit: Edit, code: str, message: str) -> None:
    event = copy.deepcopy(ECR_IMAGE_SCAN_SAMPLE)
    edit(event)
    assert rejection(body(event)) == (code, message)


def test_an_inspector_event_without_a_repository_arn(inspector_event: dict[str, Any]) -> None:
    inspector_event["detail"]["repository-name"] = "amazon/amazon-ecs-sample"
    assert rejection(body(inspector_event)) == (
        "invalid_event",
        "detail.repository-name: not a repository ARN: 'amazon/amazon-ecs-sample'",
    )


def test_an_inspector_scan_that_is_not_the_initial_one(inspector_event: dict[str, Any]) -> None:
    inspector_event["detail"]["scan-status"] = "COMPLETE"
    assert rejection(body(inspector_event)) == (
        "scan_not_complete",
        "scan-status is 'COMPLETE'; only 'INITIAL_SCAN_COMPLETE' scans are logged",
    )


def test_an_invalid_name_inside_a_repository_arn(inspector_event: dict[str, Any]) -> None:
    arn = "arn:aws:ecr:us-east-2:123456789012:repository/Bad Name"
    inspector_event["detail"]["repository-name"] = arn
    assert rejection(body(inspector_event)) == (
        "invalid_event",
        "detail.repository-name: not a valid ECR repository name: 'Bad Name'",
    )
