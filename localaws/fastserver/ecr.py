"""ECR for the fast endpoint: the images it was seeded with, answered by the rule book.

A seed item names one image and its scan (see ``ScanSeed.item`` in ``localaws.registry``):
``registryId``, ``repositoryName``, ``imageDigest``, ``imageTags``, ``kind``, ``findings`` (wire
form), and optionally ``status``, ``findingSeverityCounts``, ``imageScanCompletedAt`` and
``vulnerabilitySourceUpdatedAt`` (epoch seconds). Here an image exists exactly when it was seeded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from localaws.rules import ecr

Request = dict[str, Any]
Response = dict[str, Any]

DEFAULT_ACCOUNT = "123456789012"


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
