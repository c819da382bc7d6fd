"""Repositories and images in moto's ECR, and the EventBridge events a finished scan sends."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pipeline.events import ScanKind

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


def event_time(moment: datetime | None = None) -> str:
    """EventBridge's ``time`` format: ISO 8601 UTC to the second."""
    moment = moment or datetime.now(UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
    """The event EventBridge delivers when a scan finishes, shaped like AWS's sample events.

    basic: source ``aws.ecr``, ``ECR Image Scan``, ``COMPLETE``, ``repository-name`` the name.
    enhanced: source ``aws.inspector2``, ``Inspector2 Scan``, ``INITIAL_SCAN_COMPLETE``,
    ``repository-name`` the repository ARN, counts with a ``TOTAL``.
    ``severity_counts`` None leaves ``finding-severity-counts`` out, as AWS may.
    ``include_account=False`` drops ``account``, as moto's EventBridge → SQS delivery does.
    """
    arn = repository_arn(repository, account=account, region=region)
    detail: dict[str, Any] = {}
    if kind == "basic":
        source, detail_type = "aws.ecr", "ECR Image Scan"
        detail["scan-status"] = scan_status or "COMPLETE"
        detail["repository-name"] = repository
    elif kind == "enhanced":
        source, detail_type = "aws.inspector2", "Inspector2 Scan"
        detail["scan-status"] = scan_status or "INITIAL_SCAN_COMPLETE"
        detail["repository-name"] = arn
    else:
        raise ValueError(f"kind must be 'basic' or 'enhanced', not {kind!r}")
    if severity_counts is not None:
        counts = dict(severity_counts)
        if kind == "enhanced" and "TOTAL" not in counts:
            counts["TOTAL"] = sum(counts.values())
        detail["finding-severity-counts"] = counts
    detail["image-digest"] = digest
    detail["image-tags"] = list(tags)

    event: dict[str, Any] = {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": time if isinstance(time, str) else event_time(time),
        "region": region,
        "resources": [arn],
        "detail": detail,
    }
    if not include_account:
        del event["account"]
    return event
