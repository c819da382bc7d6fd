"""Inspector's ListFindings served by the local AWS (moto behind the middleware): boto3's
paginator, filters, errors and faults, through the real wire."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localaws import LocalAws
from localaws.inspector import Inspector, image_finding

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def inspector(aws: LocalAws) -> Inspector:
    return Inspector(aws.inspector_findings)


@pytest.fixture
def client(aws_client: Callable[..., Any]) -> Any:
    return aws_client("inspector2")


def _seed(inspector: Inspector, n: int, **overrides: Any) -> list[str]:
    arns = []
    for i in range(n):
        fields: dict[str, Any] = {
            "repository": ("team-a/web", "team-b/api")[i % 2],
            "digest": f"sha256:{i:064x}",
            "vulnerability_id": f"CVE-2025-{2000 + i}",
            "updated_at": T0 + timedelta(seconds=i, microseconds=411000),
        }
        fields.update(overrides)
        arns.append(inspector.seed(image_finding(**fields)).arn)
    return arns


def test_the_paginator_reads_every_page_with_filters(
    aws: LocalAws, inspector: Inspector, client: Any
) -> None:
    arns = _seed(inspector, 130)
    aws.calls.clear()

    pages = list(
        client.get_paginator("list_findings").paginate(
            filterCriteria={
                "resourceType": [{"comparison": "EQUALS", "value": "AWS_ECR_CONTAINER_IMAGE"}],
                "ecrImageRepositoryName": [{"comparison": "PREFIX", "value": "team-b/"}],
            },
            PaginationConfig={"PageSize": 20},
        )
    )

    assert [len(p["findings"]) for p in pages] == [20, 20, 20, 5]
    assert [f["findingArn"] for p in pages for f in p["findings"]] == arns[1::2]
    assert aws.calls["ListFindings"] == 4
    first = pages[0]["findings"][0]
    # boto3 parses the wire's epoch seconds into datetimes, milliseconds kept.
    assert first["updatedAt"] == T0 + timedelta(seconds=1, microseconds=411000)
    image = first["resources"][0]["details"]["awsEcrContainerImage"]
    assert image["repositoryName"] == "team-b/api" and image["imageHash"] == f"sha256:{1:064x}"


def test_default_page_is_50_and_updated_since_narrows(inspector: Inspector, client: Any) -> None:
    _seed(inspector, 60)

    assert len(client.list_findings()["findings"]) == 50
    since = client.list_findings(
        filterCriteria={"updatedAt": [{"startInclusive": T0 + timedelta(seconds=55)}]},
        sortCriteria={"field": "LAST_OBSERVED_AT", "sortOrder": "DESC"},
    )
    assert [f["updatedAt"].second for f in since["findings"]] == [59, 58, 57, 56, 55]
    assert "nextToken" not in since


def test_findings_of_another_region_and_after_reset(
    aws: LocalAws, inspector: Inspector, client: Any, aws_client: Callable[..., Any]
) -> None:
    _seed(inspector, 2)
    _seed(inspector, 3, region="eu-west-1", repository="eu/app")

    assert len(client.list_findings()["findings"]) == 2
    assert len(aws_client("inspector2", region_name="eu-west-1").list_findings()["findings"]) == 3
    aws.reset()
    assert client.list_findings()["findings"] == []


def test_refusals_are_aws_errors(aws: LocalAws, inspector: Inspector, client: Any) -> None:
    _seed(inspector, 3)
    with pytest.raises(ClientError) as exc:
        client.list_findings(maxResults=500)
    assert exc.value.response["Error"]["Code"] == "ValidationException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

    token = client.list_findings(maxResults=1)["nextToken"]
    with pytest.raises(ClientError, match="other filter or sort criteria"):
        client.list_findings(
            maxResults=1,
            nextToken=token,
            filterCriteria={"severity": [{"comparison": "EQUALS", "value": "HIGH"}]},
        )

    aws.inject_fault(
        "ListFindings", code="AccessDeniedException", status=403, message="not authorized"
    )
    with pytest.raises(ClientError) as denied:
        client.list_findings()
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
    assert aws.violations == []
