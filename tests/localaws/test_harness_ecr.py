"""DescribeImageScanFindings answered by the local AWS: pagination, errors, response shape."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localaws import LocalAws
from localaws.findings import basic_findings, enhanced_findings
from localaws.registry import create_repository, push_image

REPO = "team/payments-api"


@pytest.fixture
def ecr(aws_client: Callable[..., Any]) -> Any:
    client = aws_client("ecr")
    create_repository(client, REPO)
    return client


def _pages(ecr: Any, **params: Any) -> list[dict[str, Any]]:
    pages, token = [], None
    while True:
        if token:
            params["nextToken"] = token
        page = ecr.describe_image_scan_findings(repositoryName=REPO, **params)
        pages.append(page)
        token = page.get("nextToken")
        if not token:
            return pages


def _error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_basic_findings_are_paged_by_max_results(aws: LocalAws, ecr: Any) -> None:
    digest = push_image(ecr, REPO, "v1")
    seeded = basic_findings(250, seed=1)
    aws.seed_scan(REPO, digest, seeded)

    pages = _pages(ecr, imageId={"imageDigest": digest}, maxResults=100)

    assert [len(p["imageScanFindings"]["findings"]) for p in pages] == [100, 100, 50]
    names = [f["name"] for p in pages for f in p["imageScanFindings"]["findings"]]
    assert names == [f["name"] for f in seeded]
    assert aws.calls["DescribeImageScanFindings"] == 3


def test_default_page_is_100_and_1000_fits_all(aws: LocalAws, ecr: Any) -> None:
    digest = push_image(ecr, REPO, "v1")
    aws.seed_scan(REPO, digest, basic_findings(250, seed=2))

    default = _pages(ecr, imageId={"imageDigest": digest})
    largest = _pages(ecr, imageId={"imageDigest": digest}, maxResults=1000)

    assert [len(p["imageScanFindings"]["findings"]) for p in default] == [100, 100, 50]
    assert [len(p["imageScanFindings"]["findings"]) for p in largest] == [250]


def test_enhanced_findings_come_100_a_page_whatever_max_results(aws: LocalAws, ecr: Any) -> None:
    digest = push_image(ecr, REPO, "v1")
    aws.seed_scan(
        REPO,
        digest,
        enhanced_findings(230, seed=3, repository=REPO, digest=digest),
        kind="enhanced",
        status="ACTIVE",
    )

    for max_results in (10, 1000):
        pages = _pages(ecr, imageId={"imageDigest": digest}, maxResults=max_results)
        sizes = [len(p["imageScanFindings"]["enhancedFindings"]) for p in pages]
        assert sizes == [100, 100, 30]
        assert all("findings" not in p["imageScanFindings"] for p in pages)


def test_enhanced_findings_round_trip_through_botocore(aws: LocalAws, ecr: Any) -> None:
    digest = push_image(ecr, REPO, "v1")
    seeded = enhanced_findings(5, seed=4, repository=REPO, digest=digest, tags=["v1"])
    aws.seed_scan(REPO, digest, seeded, kind="enhanced")

    page = ecr.describe_image_scan_findings(repositoryName=REPO, imageId={"imageTag": "v1"})

    # Every member survives the wire and botocore's parser: datetimes included.
    assert page["imageScanFindings"]["enhancedFindings"] == seeded


def test_response_shape_and_timestamps(aws: LocalAws, ecr: Any) -> None:
    digest = push_image(ecr, REPO, "v1")
    completed = datetime(2026, 3, 1, 10, 30, tzinfo=UTC)
    source = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)
    seeded = basic_findings(3, seed=5, severities=["HIGH"])
    aws.seed_scan(
        REPO,
        digest,
        seeded,
        completed_at=completed,
        vulnerability_source_updated_at=source,
    )

    page = ecr.describe_image_scan_findings(repositoryName=REPO, imageId={"imageTag": "v1"})

    assert page["registryId"] == "123456789012"
    assert page["repositoryName"] == REPO
    assert page["imageId"] == {"imageDigest": digest, "imageTag": "v1"}
    assert page["imageScanStatus"] == {
        "status": "COMPLETE",
        "description": "The scan was completed successfully.",
    }
    body = page["imageScanFindings"]
    assert body["imageScanCompletedAt"] == completed
    assert body["vulnerabilitySourceUpdatedAt"] == source
    assert body["findingSeverityCounts"] == {"HIGH": 3}
    assert body["findings"] == seeded
    assert "nextToken" not in page


def test_seeded_severity_counts_override_the_derived_ones(aws: LocalAws, ecr: Any) -> None:
    digest = push_image(ecr, REPO, "v1")
    aws.seed_scan(REPO, digest, [], severity_counts={"CRITICAL": 2, "LOW": 7})

    page = ecr.describe_image_scan_findings(repositoryName=REPO, imageId={"imageDigest": digest})

    assert page["imageScanFindings"]["findingSeverityCounts"] == {"CRITICAL": 2, "LOW": 7}
    assert page["imageScanFindings"]["findings"] == []


def test_in_progress_scan_has_a_status_and_no_findings(aws: LocalAws, ecr: Any) -> None:
    digest = push_image(ecr, REPO, "v1")
    aws.seed_scan(REPO, digest, basic_findings(5, seed=6), status="IN_PROGRESS")

    page = ecr.describe_image_scan_findings(repositoryName=REPO, imageId={"imageDigest": digest})

    assert page["imageScanStatus"]["status"] == "IN_PROGRESS"
    assert "imageScanFindings" not in page


def test_untagged_image_is_found_by_digest(aws: LocalAws, ecr: Any) -> None:
    digest = push_image(ecr, REPO, None)
    aws.seed_scan(REPO, digest, basic_findings(2, seed=7))

    page = ecr.describe_image_scan_findings(repositoryName=REPO, imageId={"imageDigest": digest})

    assert page["imageId"] == {"imageDigest": digest}
    assert len(page["imageScanFindings"]["findings"]) == 2


@pytest.mark.parametrize("max_results", [1001, 5000])
def test_max_results_out_of_range_is_refused(aws: LocalAws, ecr: Any, max_results: int) -> None:
    digest = push_image(ecr, REPO, "v1")
    aws.seed_scan(REPO, digest, basic_findings(1, seed=8))

    with pytest.raises(ClientError) as exc:
        ecr.describe_image_scan_findings(
            repositoryName=REPO, imageId={"imageDigest": digest}, maxResults=max_results
        )

    assert _error_code(exc) == "InvalidParameterException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_a_token_works_only_for_its_own_image_scan(aws: LocalAws, ecr: Any) -> None:
    first, second = push_image(ecr, REPO, "v1"), push_image(ecr, REPO, "v2")
    aws.seed_scan(REPO, first, basic_findings(20, seed=9))
    aws.seed_scan(REPO, second, basic_findings(20, seed=10))
    token = ecr.describe_image_scan_findings(
        repositoryName=REPO, imageId={"imageDigest": first}, maxResults=5
    )["nextToken"]

    # The same token is reusable (a retried page) on its own image...
    again = ecr.describe_image_scan_findings(
        repositoryName=REPO, imageId={"imageDigest": first}, maxResults=5, nextToken=token
    )
    assert len(again["imageScanFindings"]["findings"]) == 5
    # ...but not on another image, and a made-up token is refused.
    for digest, bad in ((second, token), (first, "not-a-token"), (first, token[:-4] + "AAAA")):
        with pytest.raises(ClientError) as exc:
            ecr.describe_image_scan_findings(
                repositoryName=REPO, imageId={"imageDigest": digest}, nextToken=bad
            )
        assert _error_code(exc) == "InvalidParameterException"


def test_reseeding_invalidates_old_tokens(aws: LocalAws, ecr: Any) -> None:
    digest = push_image(ecr, REPO, "v1")
    aws.seed_scan(REPO, digest, basic_findings(20, seed=11))
    token = ecr.describe_image_scan_findings(
        repositoryName=REPO, imageId={"imageDigest": digest}, maxResults=5
    )["nextToken"]
    aws.seed_scan(REPO, digest, basic_findings(20, seed=12))

    with pytest.raises(ClientError) as exc:
        ecr.describe_image_scan_findings(
            repositoryName=REPO, imageId={"imageDigest": digest}, nextToken=token
        )
    assert _error_code(exc) == "InvalidParameterException"


def test_not_found_errors(aws: LocalAws, ecr: Any) -> None:
    scanned = push_image(ecr, REPO, "v1")
    aws.seed_scan(REPO, scanned, basic_findings(1, seed=13))
    unscanned = push_image(ecr, REPO, "v2")
    absent = "sha256:" + "0" * 64
    cases = [
        ("team/missing", {"imageDigest": scanned}, "RepositoryNotFoundException"),
        (REPO, {"imageDigest": absent}, "ImageNotFoundException"),
        (REPO, {"imageTag": "nope"}, "ImageNotFoundException"),
        (REPO, {"imageDigest": unscanned}, "ScanNotFoundException"),
    ]
    for repository, image_id, code in cases:
        with pytest.raises(ClientError) as exc:
            ecr.describe_image_scan_findings(repositoryName=repository, imageId=image_id)
        assert _error_code(exc) == code, (repository, image_id)
        assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_seeds_can_be_bound_to_a_region(aws: LocalAws, aws_client: Callable[..., Any]) -> None:
    east, west = aws_client("ecr"), aws_client("ecr", region_name="eu-west-1")
    for client in (east, west):
        create_repository(client, REPO)
    digest = push_image(east, REPO, "v1", content="same image")
    assert push_image(west, REPO, "v1", content="same image") == digest
    aws.seed_scan(REPO, digest, basic_findings(1, seed=14, severities=["LOW"]), region="us-east-1")
    aws.seed_scan(REPO, digest, basic_findings(2, seed=15), region="eu-west-1")

    def count(client: Any) -> int:
        page = client.describe_image_scan_findings(
            repositoryName=REPO, imageId={"imageDigest": digest}
        )
        return len(page["imageScanFindings"]["findings"])

    assert (count(east), count(west)) == (1, 2)


def test_seeding_refuses_members_the_ecr_model_does_not_know(aws: LocalAws) -> None:
    finding = basic_findings(1, seed=16)[0]
    with pytest.raises(ValueError, match="packageName"):
        aws.seed_scan(REPO, "sha256:" + "1" * 64, [{**finding, "packageName": "openssl"}])
    with pytest.raises(ValueError, match="expected a datetime"):
        aws.seed_scan(
            REPO,
            "sha256:" + "1" * 64,
            [{"firstObservedAt": "yesterday"}],
            kind="enhanced",
        )


def _details(ecr: Any) -> dict[str, dict[str, Any]]:
    return {d["imageDigest"]: d for d in ecr.describe_images(repositoryName=REPO)["imageDetails"]}


def test_describe_images_reports_seeded_scans_only_when_asked(aws: LocalAws, ecr: Any) -> None:
    scanned, failed, unscanned = (push_image(ecr, REPO, tag) for tag in ("v1", "v2", "v3"))
    completed = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    aws.seed_scan(REPO, scanned, basic_findings(12, seed=4), completed_at=completed)
    aws.seed_scan(REPO, failed, [], status="FAILED", description="UnsupportedImageError")

    assert all("imageScanStatus" not in d for d in _details(ecr).values())  # as moto answers

    aws.scan_summaries_in_describe_images = True
    details = _details(ecr)

    assert details[scanned]["imageScanStatus"]["status"] == "COMPLETE"
    summary = details[scanned]["imageScanFindingsSummary"]
    assert summary["imageScanCompletedAt"] == completed
    assert sum(summary["findingSeverityCounts"].values()) == 12
    assert details[failed]["imageScanStatus"] == {
        "status": "FAILED",
        "description": "UnsupportedImageError",
    }
    assert "imageScanFindingsSummary" not in details[failed]
    assert "imageScanStatus" not in details[unscanned]

    aws.reset()
    assert aws.scan_summaries_in_describe_images is False
