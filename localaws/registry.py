"""Repositories and images in moto's ECR, and the EventBridge events a finished scan sends."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from localaws.findings import findings_of_kind
from localaws.rules.ecr import SeededScan
from pipeline.events import ScanKind, scan_complete_event

if TYPE_CHECKING:
    from localaws.motoserver.server import LocalAws

DEFAULT_ACCOUNT = "123456789012"
DEFAULT_REGION = "us-east-1"
_MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"


def create_repository(ecr_client: Any, name: str, *, scan_on_push: bool = True) -> str:
    """Create ``name`` (slashes allowed) unless it exists; return the repository ARN."""
    try:
        answer = ecr_client.create_repository(
            repositoryName=name, imageScanningConfiguration={"scanOnPush": scan_on_push}
        )
        return str(answer["repository"]["repositoryArn"])
    except ecr_client.exceptions.RepositoryAlreadyExistsException:
        found = ecr_client.describe_repositories(repositoryNames=[name])
        return str(found["repositories"][0]["repositoryArn"])


def image_manifest(content: str) -> str:
    """A Docker image manifest (schema 2) whose layers are derived from ``content``."""

    def blob(part: str) -> str:
        return "sha256:" + hashlib.sha256(f"{content}\n{part}".encode()).hexdigest()

    manifest = {
        "schemaVersion": 2,
        "mediaType": _MANIFEST_TYPE,
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 1469,
            "digest": blob("config"),
        },
        "layers": [
            {
                "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "size": 29_150_000 + i * 1_000,
                "digest": blob(f"layer-{i}"),
            }
            for i in range(3)
        ],
    }
    return json.dumps(manifest, indent=3)


def manifest_digest(manifest: str) -> str:
    """The image digest, as a registry computes it: SHA-256 of the manifest bytes."""
    return "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()


def push_image(
    ecr_client: Any, repository: str, tag: str | None, *, content: str | None = None
) -> str:
    """Push an image (untagged when ``tag`` is None) and return its digest.

    The same ``repository``/``tag``/``content`` always gives the same digest; pushing it again
    is a no-op. An untagged image without ``content`` is a new, distinct image every time.
    """
    if content is None:
        content = f"{repository}:{tag}" if tag is not None else f"untagged:{uuid.uuid4()}"
    manifest = image_manifest(content)
    digest = manifest_digest(manifest)
    request: dict[str, Any] = {
        "repositoryName": repository,
        "imageManifest": manifest,
        "imageManifestMediaType": _MANIFEST_TYPE,
        "imageDigest": digest,
    }
    if tag is not None:
        request["imageTag"] = tag
    try:
        ecr_client.put_image(**request)
    except ecr_client.exceptions.ImageAlreadyExistsException:
        pass
    return digest


def account_credentials(
    sts_client: Any, account: str, session_name: str = "local"
) -> dict[str, str]:
    """boto3 client keyword arguments acting in another account of the local AWS (which takes
    an assumed role's account for the caller's)."""
    answer = sts_client.assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/local-operator", RoleSessionName=session_name
    )["Credentials"]
    return {
        "aws_access_key_id": answer["AccessKeyId"],
        "aws_secret_access_key": answer["SecretAccessKey"],
        "aws_session_token": answer["SessionToken"],
    }


def repository_arn(
    repository: str, *, account: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION
) -> str:
    return f"arn:aws:ecr:{region}:{account}:repository/{repository}"


def scan_event(
    *,
    kind: ScanKind = "basic",
    repository: str,
    digest: str,
    tags: Sequence[str] = (),
    account: str = DEFAULT_ACCOUNT,
    region: str = DEFAULT_REGION,
    severity_counts: Mapping[str, int] | None = None,
    time: datetime | str | None = None,
    event_id: str | None = None,
    scan_status: str | None = None,
    include_account: bool = True,
) -> dict[str, Any]:
    """The event EventBridge delivers when a scan finishes, built by the product's encoder
    (``pipeline.events.scan_complete_event``), which the consumer's decoder reads back.

    basic: source ``aws.ecr``, ``ECR Image Scan``, ``COMPLETE``, ``repository-name`` the name.
    enhanced: source ``aws.inspector2``, ``Inspector2 Scan``, ``INITIAL_SCAN_COMPLETE``,
    ``repository-name`` the repository ARN, counts with a ``TOTAL``.
    Beyond what the encoder builds, as AWS's events may: ``severity_counts`` None leaves
    ``finding-severity-counts`` out; ``scan_status`` another status; ``time`` a text sent as is;
    ``include_account=False`` drops ``account``, as moto's EventBridge → SQS delivery does.
    """
    if kind not in ("basic", "enhanced"):
        raise ValueError(f"kind must be 'basic' or 'enhanced', not {kind!r}")
    moment = time if isinstance(time, datetime) else datetime.now(UTC)
    event = scan_complete_event(
        kind=kind,
        account=account,
        region=region,
        repository=repository,
        repository_arn=repository_arn(repository, account=account, region=region),
        digest=digest,
        tags=tags,
        completed_at=moment,
        severity_counts=severity_counts,
        event_id=event_id,
    )
    if isinstance(time, str):
        event["time"] = time
    if severity_counts is None:
        event["detail"].pop("finding-severity-counts", None)
    if scan_status is not None:
        event["detail"]["scan-status"] = scan_status
    if not include_account:
        del event["account"]
    return event


@dataclass(frozen=True, slots=True)
class PushedImage:
    """An image pushed to moto's ECR, and its seeded scan (None: pushed, never scanned)."""

    repository: str
    tag: str | None
    digest: str
    kind: ScanKind
    scan: SeededScan | None

    @property
    def tags(self) -> tuple[str, ...]:
        return (self.tag,) if self.tag else ()


def push_scanned_image(
    aws: LocalAws,
    ecr_client: Any,
    repository: str,
    tag: str | None,
    findings: Iterable[Mapping[str, Any]] | int = 0,
    *,
    kind: ScanKind = "basic",
    content: str | None = None,
    seed: int | str = 0,
    include_cves: Sequence[str] = (),
    scanned: bool = True,
    **scan: Any,
) -> PushedImage:
    """Create the repository, push the image and seed its scan: what the demo, the tests and
    the benchmark's seeds start from.

    ``findings`` a number: that many generated findings of the scan's kind (``seed``,
    ``include_cves``; enhanced ones name the image). ``scan``: ``LocalAws.seed_scan``'s
    keywords (``status``, ``severity_counts``, ``registry_id``, ``completed_at``, …).
    """
    create_repository(ecr_client, repository)
    digest = push_image(ecr_client, repository, tag, content=content)
    tags = (tag,) if tag else ()
    if isinstance(findings, int):
        findings = findings_of_kind(
            kind,
            findings,
            seed=seed,
            repository=repository,
            digest=digest,
            tags=tags,
            include_cves=include_cves,
        )
    seeded = aws.seed_scan(repository, digest, findings, kind=kind, **scan) if scanned else None
    return PushedImage(repository, tag, digest, kind, seeded)


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


def image_arn(
    repository: str, digest: str, *, account: str = DEFAULT_ACCOUNT, region: str = DEFAULT_REGION
) -> str:
    return f"{repository_arn(repository, account=account, region=region)}/{digest}"


def finding_event(
    *,
    repository: str,
    digest: str,
    tags: Sequence[str] = (),
    account: str = DEFAULT_ACCOUNT,
    region: str = DEFAULT_REGION,
    finding_arn: str | None = None,
    status: str = "ACTIVE",
    severity: str = "HIGH",
    vulnerability_id: str = "CVE-2024-6119",
    package: str = "openssl",
    updated_at: datetime | str | None = None,
    first_observed_at: datetime | None = None,
    time: datetime | str | None = None,
    time_format: FindingTimeFormat = "java",
    event_id: str | None = None,
    resource_region: str | None = None,
    resource_type: str = "AWS_ECR_CONTAINER_IMAGE",
) -> dict[str, Any]:
    """The "Inspector2 Finding" event Amazon Inspector sends when a finding about a container
    image is created, updated or closed, in the shape of AWS's documented examples.

    ``updated_at`` orders a finding's changes (a text is sent as is); ``time_format`` is the
    format of the times inside ``detail``; ``resource_region`` the resource's own region
    (AWS's examples have "N/A"); ``resource_type`` another type makes it an EC2 or Lambda
    finding's shape (without the container image details).
    """
    now = datetime.now(UTC)
    updated = updated_at if updated_at is not None else now
    first = first_observed_at or (updated if isinstance(updated, datetime) else now)
    sent = time if time is not None else (updated if isinstance(updated, datetime) else now)
    arn = finding_arn or (
        f"arn:aws:inspector2:{region}:{account}:finding/"
        + hashlib.sha256(f"{repository}{digest}{vulnerability_id}".encode()).hexdigest()[:32]
    )

    def when(value: datetime | str) -> str:
        return value if isinstance(value, str) else finding_time(value, time_format)

    resource: dict[str, Any] = {
        "id": image_arn(repository, digest, account=account, region=region),
        "partition": "aws",
        "region": resource_region or region,
        "type": resource_type,
    }
    if resource_type == "AWS_ECR_CONTAINER_IMAGE":
        resource["details"] = {
            "awsEcrContainerImage": {
                "architecture": "amd64",
                "imageHash": digest,
                "imageTags": list(tags),
                "platform": "DEBIAN_12",
                "pushedAt": when(first),
                "lastInUseAt": when(updated),
                "inUseCount": 1,
                "registry": account,
                "repositoryName": repository,
            }
        }
    else:
        resource["id"] = "i-0c2a343f1948d5205"
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": "Inspector2 Finding",
        "source": "aws.inspector2",
        "account": account,
        "time": sent if isinstance(sent, str) else sent.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [resource["id"]],
        "detail": {
            "awsAccountId": account,
            "description": f"A flaw was found in {package}.",
            "epss": {"score": 0.00045},
            "exploitAvailable": "NO",
            "findingArn": arn,
            "firstObservedAt": when(first),
            "fixAvailable": "YES",
            "inspectorScore": 7.5,
            "lastObservedAt": when(updated),
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
            "resources": [resource],
            "severity": severity,
            "status": status,
            "title": f"{vulnerability_id} - {package}",
            "type": "PACKAGE_VULNERABILITY",
            "updatedAt": when(updated),
        },
    }
