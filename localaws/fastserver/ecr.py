"""ECR for the fast endpoint: the images it was seeded with, answered by the rule book.

A seed item (``seed_item``) names one image and its scan:
``registryId``, ``repositoryName``, ``imageDigest``, ``imageTags``, ``kind``, ``findings`` (wire
form), and optionally ``status``, ``findingSeverityCounts``, ``imageScanCompletedAt`` and
``vulnerabilitySourceUpdatedAt`` (epoch seconds). Here an image exists exactly when it was seeded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from localaws.rules import ecr
from pipeline.events import ScanKind

Request = dict[str, Any]
Response = dict[str, Any]

DEFAULT_ACCOUNT = "123456789012"


def seed_item(
    *,
    repository: str,
    digest: str,
    tags: Sequence[str],
    kind: ScanKind,
    findings: Sequence[Mapping[str, Any]],
    registry_id: str = DEFAULT_ACCOUNT,
    status: str | None = None,
    severity_counts: Mapping[str, int] | None = None,
    completed_at: float | None = None,
    source_updated_at: float | None = None,
) -> dict[str, Any]:
    """One image and its scan, as ``POST /_seed`` takes it (findings in wire form)."""
    item: dict[str, Any] = {
        "registryId": registry_id,
        "repositoryName": repository,
        "imageDigest": digest,
        "imageTags": list(tags),
        "kind": kind,
        "findings": list(findings),
    }
    optional = {
        "status": status,
        "findingSeverityCounts": None if severity_counts is None else dict(severity_counts),
        "imageScanCompletedAt": completed_at,
        "vulnerabilitySourceUpdatedAt": source_updated_at,
    }
    item.update({k: v for k, v in optional.items() if v is not None})
    return item


class EcrService:
    def __init__(self) -> None:
        self.scans = ecr.ScanBook()
        # (registry, repository) -> {digest: tags}
        self.images: dict[tuple[str, str], dict[str, tuple[str, ...]]] = {}
        self.operations: dict[str, Callable[[Request], Response]] = {
            "DescribeImageScanFindings": self.describe_image_scan_findings,
        }

    def seed(self, items: list[dict[str, Any]]) -> int:
        for item in items:
            registry = str(item.get("registryId") or DEFAULT_ACCOUNT)
            repository, digest = str(item["repositoryName"]), str(item["imageDigest"])
            self.images.setdefault((registry, repository), {})[digest] = tuple(
                item.get("imageTags") or ()
            )
            self.scans.seed(
                repository,
                digest,
                item.get("findings") or (),
                kind="enhanced" if item.get("kind") == "enhanced" else "basic",
                status=item.get("status"),
                registry_id=registry,
                severity_counts_override=item.get("findingSeverityCounts"),
                completed_at=float(item.get("imageScanCompletedAt") or 0.0),
                vulnerability_source_updated_at=float(
                    item.get("vulnerabilitySourceUpdatedAt") or 0.0
                ),
            )
        return len(items)

    def reset(self) -> None:
        self.scans.clear()
        self.images.clear()

    def describe_image_scan_findings(self, req: Request) -> Response:
        request = ecr.findings_request(req, DEFAULT_ACCOUNT)
        images = self.images.get((request.registry, request.repository))
        if images is None:
            raise ecr.repository_not_found(request.repository, request.registry)
        digest = ecr.find_image(images.items(), request.image_id)
        if digest is None:
            raise ecr.image_not_found(request.image_id, request.repository, request.registry)
        # One region: seeds match any.
        scan = self.scans.find(request.registry, "", request.repository, digest)
        return ecr.findings_page(
            request, registry_id=request.registry, digest=digest, scan=scan, scans=self.scans
        )
