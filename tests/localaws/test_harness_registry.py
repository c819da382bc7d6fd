"""Images in moto's ECR and the scan events AWS would deliver for them."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from localaws import LocalAws
from localaws.registry import (
    create_repository,
    image_manifest,
    manifest_digest,
    push_image,
    scan_event,
)
from pipeline.events import decode

DIGEST = "sha256:" + "7f" * 32


def test_push_tagged_and_untagged_images(aws: LocalAws, aws_client: Callable[..., Any]) -> None:
    ecr = aws_client("ecr")
    arn = create_repository(ecr, "org/team/app")
    assert arn == "arn:aws:ecr:us-east-1:123456789012:repository/org/team/app"
    assert create_repository(ecr, "org/team/app") == arn  # idempotent

    tagged = push_image(ecr, "org/team/app", "v1")
    assert push_image(ecr, "org/team/app", "v1") == tagged  # pushing again is a no-op
    loose = [push_image(ecr, "org/team/app", None) for _ in range(2)]

    assert tagged == manifest_digest(image_manifest("org/team/app:v1"))
    assert len({tagged, *loose}) == 3
    details = ecr.describe_images(repositoryName="org/team/app")["imageDetails"]
    tags = {d["imageDigest"]: d.get("imageTags", []) for d in details}
    assert tags == {tagged: ["v1"], loose[0]: [], loose[1]: []}


def test_one_image_can_carry_several_tags(aws: LocalAws, aws_client: Callable[..., Any]) -> None:
    ecr = aws_client("ecr")
    create_repository(ecr, "app")
    first = push_image(ecr, "app", "v1", content="build-42")
    assert push_image(ecr, "app", "latest", content="build-42") == first
    (detail,) = ecr.describe_images(repositoryName="app")["imageDetails"]
    assert sorted(detail["imageTags"]) == ["latest", "v1"]


def test_basic_scan_event_matches_the_aws_sample_and_decodes() -> None:
    event = scan_event(
        repository="team/app",
        digest=DIGEST,
        tags=["v1"],
        severity_counts={"CRITICAL": 10, "MEDIUM": 9},
        time="2019-10-29T02:36:48Z",
        event_id="85fc3613-e913-7fc4-a80c-a3753e4aa9ae",
    )
    assert event == {
        "version": "0",
        "id": "85fc3613-e913-7fc4-a80c-a3753e4aa9ae",
        "detail-type": "ECR Image Scan",
        "source": "aws.ecr",
        "account": "123456789012",
        "time": "2019-10-29T02:36:48Z",
        "region": "us-east-1",
        "resources": ["arn:aws:ecr:us-east-1:123456789012:repository/team/app"],
        "detail": {
            "scan-status": "COMPLETE",
            "repository-name": "team/app",
            "finding-severity-counts": {"CRITICAL": 10, "MEDIUM": 9},
            "image-digest": DIGEST,
            "image-tags": ["v1"],
        },
    }
    scan = decode(json.dumps(event))
    assert (scan.kind, scan.repository, scan.digest, scan.tags) == (
        "basic",
        "team/app",
        DIGEST,
        ("v1",),
    )


def test_enhanced_scan_event_names_the_repository_by_arn() -> None:
    event = scan_event(
        kind="enhanced",
        repository="amazon/sample",
        digest=DIGEST,
        account="210987654321",
        region="eu-west-1",
        severity_counts={"CRITICAL": 7, "HIGH": 61},
    )
    arn = "arn:aws:ecr:eu-west-1:210987654321:repository/amazon/sample"
    assert (event["source"], event["detail-type"]) == ("aws.inspector2", "Inspector2 Scan")
    assert event["detail"]["scan-status"] == "INITIAL_SCAN_COMPLETE"
    assert event["detail"]["repository-name"] == arn
    assert event["detail"]["finding-severity-counts"] == {"CRITICAL": 7, "HIGH": 61, "TOTAL": 68}
    scan = decode(json.dumps(event))
    assert (scan.kind, scan.repository, scan.account, scan.region) == (
        "enhanced",
        "amazon/sample",
        "210987654321",
        "eu-west-1",
    )


def test_event_without_account_or_counts() -> None:
    event = scan_event(repository="app", digest=DIGEST, include_account=False)
    assert "account" not in event
    assert "finding-severity-counts" not in event["detail"]
    assert event["detail"]["image-tags"] == []
    # The account is still known from the repository ARN in `resources`.
    assert decode(json.dumps(event)).account == "123456789012"


def test_unknown_event_kind_is_refused() -> None:
    with pytest.raises(ValueError):
        scan_event(kind="other", repository="app", digest=DIGEST)  # type: ignore[arg-type]
