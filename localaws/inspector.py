"""Amazon Inspector in the local AWS: findings about container images, seeded, changed and
closed, each change with the "Inspector2 Finding" event Inspector sends for it.

One source of truth per finding: the book of the rule book (``localaws.rules.inspector2``)
holds it in wire form, which ``ListFindings`` answers with (times as epoch seconds); the
event's ``detail`` is rendered from that same record, with its times in Inspector's own text
formats ("Wed Sep 04 16:55:38.411 UTC 2024", or "Dec 3, 2021, 6:02:30 PM").

This is the one place a finding's event is built: ``image_finding`` the record,
``finding_event`` its event. ``registry.finding_event`` (one call from keywords, for the tests,
the demo and the benchmark) renders through these two.
"""

from __future__ import annotations

import hashlib
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from localaws.arns import DEFAULT_ACCOUNT, DEFAULT_REGION, image_arn
from localaws.rules.inspector2 import FindingBook, finding_region
from localaws.shapes import epoch_seconds, shape, to_wire
from pipeline.events import ECR_IMAGE_RESOURCE, FINDING_DETAIL_TYPE, INSPECTOR_SOURCE, event_time

FindingTimeFormat = str  # "us" ("Dec 3, 2021, 6:02:30 PM"), "java" ("Wed Sep 04 …"), "iso"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def finding_time(moment: datetime, time_format: FindingTimeFormat = "java") -> str:
    """A time inside an "Inspector2 Finding" detail, in one of the formats AWS's examples use."""
    moment = moment.astimezone(UTC)
    if time_format == "us":
        hour = moment.hour % 12 or 12
        ampm = "AM" if moment.hour < 12 else "PM"
        return (
            f"{_MONTHS[moment.month - 1]} {moment.day}, {moment.year}, "
            f"{hour}:{moment.minute:02d}:{moment.second:02d} {ampm}"
        )
    if time_format == "java":
        return (
            f"{_DAYS[moment.weekday()]} {_MONTHS[moment.month - 1]} {moment.day:02d} "
            f"{moment:%H:%M:%S}.{moment.microsecond // 1000:03d} UTC {moment.year}"
        )
    if time_format == "iso":
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    raise ValueError(f"time_format must be 'us', 'java' or 'iso', not {time_format!r}")


def finding_arn(
    repository: str, digest: str, vulnerability_id: str, *, account: str, region: str
) -> str:
    """The ARN ``image_finding`` gives a finding unless told one: the same image and
    vulnerability always give the same ARN."""
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
    resource_region: str | None = None,
) -> dict[str, Any]:
    """One Inspector finding about a container image, as ListFindings returns it through
    boto3 (times as datetimes), members in the order of AWS's documented examples.

    ``resource_region`` the resource's own region (AWS's older example has "N/A")."""
    updated = updated_at or datetime.now(UTC)
    first = first_observed_at or updated
    return {
        "awsAccountId": account,
        "description": f"A flaw was found in {package}.",
        "epss": {"score": 0.00045},
        "exploitAvailable": "NO",
        "findingArn": arn
        or finding_arn(repository, digest, vulnerability_id, account=account, region=region),
        "firstObservedAt": first,
        "fixAvailable": "YES",
        "inspectorScore": 7.5,
        "lastObservedAt": updated,
        "packageVulnerabilityDetails": {
            "cvss": [
                {
                    "baseScore": 7.5,
                    "scoringVector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H",
                    "source": "NVD",
                    "version": "3.1",
                }
            ],
            "referenceUrls": [f"https://nvd.nist.gov/vuln/detail/{vulnerability_id}"],
            "relatedVulnerabilities": [],
            "source": "NVD",
            "sourceUrl": f"https://nvd.nist.gov/vuln/detail/{vulnerability_id}",
            "vendorSeverity": severity,
            "vulnerabilityId": vulnerability_id,
            "vulnerablePackages": [
                {
                    "arch": "X86_64",
                    "epoch": 0,
                    "fixedInVersion": "3.0.15-1~deb12u1",
                    "name": package,
                    "packageManager": "OS",
                    "remediation": "apt-get update && apt-get upgrade",
                    "version": "3.0.13-1~deb12u1",
                }
            ],
        },
        "remediation": {"recommendation": {"text": "None Provided"}},
        "resources": [
            {
                "id": image_arn(repository, digest, account=account, region=region),
                "partition": "aws",
                "region": resource_region or region,
                "type": ECR_IMAGE_RESOURCE,
                "details": {
                    "awsEcrContainerImage": {
                        "architecture": "amd64",
                        "imageHash": digest,
                        "imageTags": list(tags),
                        "platform": "DEBIAN_12",
                        "pushedAt": first,
                        "lastInUseAt": updated,
                        "inUseCount": 1,
                        "registry": account,
                        "repositoryName": repository,
                    }
                },
            }
        ],
        "severity": severity,
        "status": status,
        "title": f"{vulnerability_id} - {package}",
        "type": "PACKAGE_VULNERABILITY",
        "updatedAt": updated,
    }


def event_detail(finding: Mapping[str, Any], time_format: FindingTimeFormat = "java") -> Any:
    """A finding (wire form, or times as datetimes) checked against the model, as an event's
    ``detail``: the same members, times as text."""
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
    time: datetime | str | None = None,
) -> dict[str, Any]:
    """The "Inspector2 Finding" event of a finding's current state (wire form, or as
    ``image_finding`` gives it), in the region of its ``findingArn``. Its ``time`` is the next
    whole second after ``updatedAt`` unless given (a text is sent as is), as Inspector sends
    it just after the change."""
    resource = finding["resources"][0]
    updated = epoch_seconds(finding["updatedAt"])
    sent = time or datetime.fromtimestamp(math.floor(updated) + 1, UTC)
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": FINDING_DETAIL_TYPE,
        "source": INSPECTOR_SOURCE,
        "account": finding["awsAccountId"],
        "time": sent if isinstance(sent, str) else event_time(sent),
        "region": finding_region(finding["findingArn"]),
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
