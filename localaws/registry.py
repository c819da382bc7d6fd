"""Repositories and images in moto's ECR, the EventBridge events a finished scan sends, and an
"Inspector2 Finding" event from keywords (rendered by ``localaws.inspector``)."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from localaws import inspector

# Named here too, as the tests, the demo and the benchmark import them from this module.
from localaws.arns import DEFAULT_ACCOUNT as DEFAULT_ACCOUNT
from localaws.arns import DEFAULT_REGION as DEFAULT_REGION
from localaws.arns import image_arn as image_arn
from localaws.arns import repository_arn as repository_arn
from localaws.findings import findings_of_kind
from localaws.inspector import FindingTimeFormat as FindingTimeFormat
from localaws.inspector import finding_time as finding_time
from localaws.rules.ecr import SeededScan
from pipeline.events import ECR_IMAGE_RESOURCE, ScanKind, scan_complete_event

if TYPE_CHECKING:
    from localaws.motoserver.server import LocalAws

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


_OTHER_RESOURCE_ID = "i-0c2a343f1948d5205"  # the resource of an EC2 or Lambda finding


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
    resource_type: str = ECR_IMAGE_RESOURCE,
) -> dict[str, Any]:
    """The "Inspector2 Finding" event Amazon Inspector sends when a finding about a container
    image is created, updated or closed: ``inspector.image_finding`` of these keywords,
    rendered by ``inspector.finding_event``, sent (``time``) when it was updated unless given.

    ``updated_at`` orders a finding's changes (a text is sent as is, e.g. one the decoder must
    refuse); ``time_format`` is the format of the times inside ``detail``; ``resource_region``
    the resource's own region (AWS's examples have "N/A"); ``resource_type`` another type makes
    it an EC2 or Lambda finding's shape (without the container image details). A
    ``finding_arn`` must be an Inspector finding ARN; the event is in its region.
    """
    moment = updated_at if isinstance(updated_at, datetime) else datetime.now(UTC)
    finding = inspector.image_finding(
        repository=repository,
        digest=digest,
        tags=tags,
        account=account,
        region=region,
        vulnerability_id=vulnerability_id,
        package=package,
        severity=severity,
        status=status,
        updated_at=moment,
        first_observed_at=first_observed_at,
        arn=finding_arn,
        resource_region=resource_region,
    )
    if resource_type != ECR_IMAGE_RESOURCE:
        resource = finding["resources"][0]
        del resource["details"]
        resource.update(id=_OTHER_RESOURCE_ID, type=resource_type)
    event = inspector.finding_event(
        finding,
        time_format=time_format,
        event_id=event_id,
        time=time if time is not None else moment,
    )
    if isinstance(updated_at, str):
        detail = event["detail"]
        detail["updatedAt"] = detail["lastObservedAt"] = updated_at
        for resource in detail["resources"]:
            image = resource.get("details", {}).get("awsEcrContainerImage")
            if image is not None:
                image["lastInUseAt"] = updated_at
    return event
