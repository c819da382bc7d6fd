"""Fixtures for the pure-core tests: the AWS sample scan events and an image context."""

from __future__ import annotations

import copy
from typing import Any

import orjson
import pytest

from pipeline.events import ImageScan, decode
from pipeline.render import image_context

# "Event for a completed image scan", Amazon ECR User Guide, "Amazon ECR events and EventBridge".
ECR_IMAGE_SCAN_SAMPLE: dict[str, Any] = {
    "version": "0",
    "id": "85fc3613-e913-7fc4-a80c-a3753e4aa9ae",
    "detail-type": "ECR Image Scan",
    "source": "aws.ecr",
    "account": "123456789012",
    "time": "2019-10-29T02:36:48Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ecr:us-east-1:123456789012:repository/my-repository-name"],
    "detail": {
        "scan-status": "COMPLETE",
        "repository-name": "my-repository-name",
        "finding-severity-counts": {"CRITICAL": 10, "MEDIUM": 9},
        "image-digest": "sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234",
        "image-tags": [],
    },
}

# "Event for an initial image scan (enhanced scanning)", sent by Amazon Inspector. As published,
# the digest ends in the placeholder "EXAMPLE"; INSPECTOR_REAL_DIGEST is that image's real digest.
INSPECTOR_SCAN_SAMPLE: dict[str, Any] = {
    "version": "0",
    "id": "739c0d3c-4f02-85c7-5a88-94a9EXAMPLE",
    "detail-type": "Inspector2 Scan",
    "source": "aws.inspector2",
    "account": "123456789012",
    "time": "2021-12-03T18:03:16Z",
    "region": "us-east-2",
    "resources": ["arn:aws:ecr:us-east-2:123456789012:repository/amazon/amazon-ecs-sample"],
    "detail": {
        "scan-status": "INITIAL_SCAN_COMPLETE",
        "repository-name": "arn:aws:ecr:us-east-2:123456789012:repository/amazon/amazon-ecs-sample",
        "finding-severity-counts": {"CRITICAL": 7, "HIGH": 61, "MEDIUM": 62, "TOTAL": 158},
        "image-digest": "sha256:36c7b282abd0186e01419f2e58743e1bf635808231049bbc9d77e5EXAMPLE",
        "image-tags": ["latest"],
    },
}
INSPECTOR_REAL_DIGEST = "sha256:36c7b282abd0186e01419f2e58743e1bf635808231049bbc9d77e59e3a8e4914"


@pytest.fixture
def ecr_event() -> dict[str, Any]:
    return copy.deepcopy(ECR_IMAGE_SCAN_SAMPLE)


@pytest.fixture
def inspector_event() -> dict[str, Any]:
    """The Inspector sample with a real digest in place of the placeholder."""
    event = copy.deepcopy(INSPECTOR_SCAN_SAMPLE)
    event["detail"]["image-digest"] = INSPECTOR_REAL_DIGEST
    return event


@pytest.fixture
def scan() -> ImageScan:
    return decode(orjson.dumps(ECR_IMAGE_SCAN_SAMPLE))


@pytest.fixture
def context(scan: ImageScan) -> dict[str, Any]:
    return image_context(scan, account=scan.account, region=scan.region)
