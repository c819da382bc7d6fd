"""Amazon Inspector in the local AWS: findings about container images, seeded, changed and
closed, each change with the "Inspector2 Finding" event Inspector sends for it.

One source of truth per finding: the book of the rule book (``localaws.rules.inspector2``)
holds it in wire form, which ``ListFindings`` answers with (times as epoch seconds); the
event's ``detail`` is rendered from that same record, with its times in Inspector's own text
formats ("Wed Sep 04 16:55:38.411 UTC 2024", or "Dec 3, 2021, 6:02:30 PM").
"""

from __future__ import annotations

import hashlib
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from localaws.registry import (
    DEFAULT_ACCOUNT,
    DEFAULT_REGION,
    FindingTimeFormat,
    finding_time,
    image_arn,
)
from localaws.rules.inspector2 import FindingBook
from localaws.shapes import shape, to_wire
from pipeline.events import ECR_IMAGE_RESOURCE, FINDING_DETAIL_TYPE, INSPECTOR_SOURCE, event_time


def finding_arn(
    repository: str, digest: str, vulnerability_id: str, *, account: str, region: str
) -> str:
    """The ARN ``image_finding`` gives a finding (the one ``registry.finding_event`` gives)."""
    key = hashlib.sha256(f"{repository}{digest}{vulnerability_id}".encode()).hexdigest()[:32]
    return f"arn:aws:inspector2:{region}:{account}:finding/{key}"


def image_finding(
    *,
    repository: str,
    digest: str,
    tags: Sequence[str] = (),
    account: str = DEFAULT_ACCOUNT,
    region: str = DEFAULT_REGION,
    vulnerability_id: str = "CVE-2024-6119",
    package: str = "openssl",
    severity: str = "HIGH",
    status: str = "ACTIVE",
    updated_at: datetime | None = None,
    first_observed_at: datetime | None = None,
    arn: str | None = None,
) -> dict[str, Any]:
    """One Inspector finding about a container image, as ListFindings returns it through
    boto3 (times as datetimes)."""
    updated = updated_at or datetime.now(UTC)
    first = first_observed_at or updated
    image = image_arn(repository, digest, account=account, region=region)
    return {
        "findingArn": arn
        or finding_arn(repository, digest, vulnerability_id, account=account, region=region),
        "awsAccountId": account,
        "type": "PACKAGE_VULNERABILITY",
        "description": f"A flaw was found in {package}.",
        "title": f"{vulnerability_id} - {package}",
        "remediation": {"recommendation": {"text": "None Provided"}},
        "severity": severity,
        "firstObservedAt": first,
        "lastObservedAt": updated,
        "updatedAt": updated,
        "status": status,
        "resources": [
            {
                "type": ECR_IMAGE_RESOURCE,
                "id": image,
                "partition": "aws",
                "region": region,
                "details": {
                    "awsEcrContainerImage": {
                        "repositoryName": repository,
                        "imageHash": digest,
                        "imageTags": list(tags),
                        "registry": account,
                        "architecture": "amd64",
                        "platform": "DEBIAN_12",
                        "pushedAt": first - timedelta(hours=1),
                    }
                },
            }
        ],
        "inspectorScore": 7.5,
        "epss": {"score": 0.00045},
        "exploitAvailable": "NO",
        "fixAvailable": "YES",
        "packageVulnerabilityDetails": {
            "vulnerabilityId": vulnerability_id,
            "source": "NVD",
            "sourceUrl": f"https://nvd.nist.gov/vuln/detail/{vulnerability_id}",
            "vendorSeverity": severity,
            "referenceUrls": [f"https://nvd.nist.gov/vuln/detail/{vulnerability_id}"],
            "relatedVulnerabilities": [],
            "cvss": [{"baseScore": 7.5, "source": "NVD", "version": "3.1"}],
            "vulnerablePackages": [
                {
                    "name": package,
                    "version": "3.0.13",
                    "release": "1~deb12u1",
                    "epoch": 0,
                    "arch": "X86_64",
                    "packageManager": "OS",
                    "fixedInVersion": "3.0.15-1~deb12u1",
                }
            ],
        },
    }


def event_detail(finding: Mapping[str, Any], time_format: FindingTimeFormat = "java") -> Any:
    """A finding (wire form) as an event's ``detail``: the same members, times as text."""
    return to_wire(
        finding,
        shape("inspector2", "Finding"),
        "finding",
        timestamp=lambda seconds: finding_time(datetime.fromtimestamp(seconds, UTC), time_format),
    )


def finding_event(
    finding: Mapping[str, Any],
    *,
    time_format: FindingTimeFormat = "java",
    event_id: str | None = None,
    time: datetime | None = None,
) -> dict[str, Any]:
    """The "Inspector2 Finding" event of a finding's current state (wire form). Its ``time``
    is the next whole second after ``updatedAt`` unless given, as Inspector sends it just
    after the change."""
    resource = finding["resources"][0]
    region = finding["findingArn"].split(":")[3]
    sent = time or datetime.fromtimestamp(math.floor(finding["updatedAt"]) + 1, UTC)
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": FINDING_DETAIL_TYPE,
        "source": INSPECTOR_SOURCE,
        "account": finding["awsAccountId"],
        "time": event_time(sent),
        "region": region,
        "resources": [resource["id"]],
        "detail": event_detail(finding, time_format),
    }


def as_scan_finding(finding: Mapping[str, Any]) -> Any:
    """The finding as ECR's DescribeImageScanFindings reports it among ``enhancedFindings``
    (the members ECR's model shares; ``inspectorScore`` is ECR's ``score``)."""

    def common(value: Any, model: Any) -> Any:
        if model.type_name == "structure" and isinstance(value, Mapping):
            return {k: common(v, model.members[k]) for k, v in value.items() if k in model.members}
        if model.type_name == "list" and isinstance(value, list):
            return [common(v, model.member) for v in value]
        return value

    renamed = dict(finding)
    if "inspectorScore" in renamed:
        renamed["score"] = renamed.pop("inspectorScore")
    return common(renamed, shape("ecr", "EnhancedImageScanFinding"))


@dataclass(frozen=True, slots=True)
class Change:
    """A finding as it now is (wire form) and the event Inspector sent about the change."""

    finding: dict[str, Any]
    event: dict[str, Any]

    @property
    def arn(self) -> str:
        return str(self.finding["findingArn"])


class Inspector:
    """Seeds and changes the findings ListFindings answers with (``LocalAws.inspector_findings``)
    and returns each change's event, for a test to deliver, delay, repeat or drop."""

    def __init__(self, book: FindingBook, time_format: FindingTimeFormat = "java") -> None:
        self.book = book
        self.time_format = time_format

    def _change(self, finding: dict[str, Any]) -> Change:
        return Change(finding, finding_event(finding, time_format=self.time_format))

    def seed(self, finding: Mapping[str, Any]) -> Change:
        """Inspector found (or replaced) a finding."""
        return self._change(self.book.put(finding))

    def update(
        self,
        arn: str,
        *,
        updated_at: datetime | None = None,
        status: str | None = None,
        severity: str | None = None,
    ) -> Change:
        """Inspector updated a finding: a new ``updatedAt`` (now unless given) and
        ``lastObservedAt``, and the status or severity given."""
        when = updated_at or datetime.now(UTC)
        changes: dict[str, Any] = {"updatedAt": when, "lastObservedAt": when}
        if status is not None:
            changes["status"] = status
        if severity is not None:
            changes["severity"] = severity
        return self._change(self.book.update(arn, changes))

    def close(self, arn: str, *, updated_at: datetime | None = None) -> Change:
        """The finding is fixed, or its image deleted or out of the rescan window."""
        return self.update(arn, updated_at=updated_at, status="CLOSED")

    def remove(self, arn: str) -> None:
        """Inspector deletes closed findings some days later."""
        self.book.delete(arn)
