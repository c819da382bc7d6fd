"""ECR DescribeImageScanFindings, in memory, with real pagination.

Basic findings come up to ``maxResults`` (1-1000, default 100) a page; enhanced (Inspector)
findings at most 100 a page whatever ``maxResults`` says. The findings are stored exactly as the
benchmark seeded them (wire shape) and returned page by page.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.fakes.errors import ApiError
from pipeline import limits

Request = dict[str, Any]
Response = dict[str, Any]

DEFAULT_MAX_RESULTS = 100
DEFAULT_REGISTRY = "123456789012"
STATUS_DESCRIPTIONS = {
    "COMPLETE": "The scan was completed successfully.",
    "ACTIVE": "Continuous scan is selected for image.",
}


@dataclass(frozen=True, slots=True)
class SeededScan:
    registry_id: str
    repository: str
    digest: str
    tags: tuple[str, ...]
    enhanced: bool
    status: str
    findings: tuple[dict[str, Any], ...]
    severity_counts: dict[str, int]
    completed_at: float
    source_updated_at: float

    @classmethod
    def from_seed(cls, item: dict[str, Any]) -> SeededScan:
        findings = tuple(item.get("findings") or ())
        enhanced = item.get("kind") == "enhanced"
        counts = item.get("findingSeverityCounts") or dict(
            Counter(str(f.get("severity") or "UNDEFINED") for f in findings)
        )
        return cls(
            registry_id=str(item.get("registryId") or DEFAULT_REGISTRY),
            repository=str(item["repositoryName"]),
            digest=str(item["imageDigest"]),
            tags=tuple(item.get("imageTags") or ()),
            enhanced=enhanced,
            status=str(item.get("status") or ("ACTIVE" if enhanced else "COMPLETE")),
            findings=findings,
            severity_counts=counts,
            completed_at=float(item.get("imageScanCompletedAt") or 0.0),
            source_updated_at=float(item.get("vulnerabilitySourceUpdatedAt") or 0.0),
        )


class EcrService:
    def __init__(self) -> None:
        self.scans: dict[tuple[str, str], SeededScan] = {}  # (repository, digest)
        self.operations: dict[str, Callable[[Request], Response]] = {
            "DescribeImageScanFindings": self.describe_image_scan_findings,
        }

    def seed(self, items: list[dict[str, Any]]) -> int:
        for item in items:
            scan = SeededScan.from_seed(item)
            self.scans[(scan.repository, scan.digest)] = scan
        return len(items)

    def reset(self) -> None:
        self.scans.clear()

    def describe_image_scan_findings(self, req: Request) -> Response:
        scan = self._find(req)
        max_results = req.get("maxResults", DEFAULT_MAX_RESULTS)
        largest = limits.ECR_FINDINGS_MAX_RESULTS
        if not isinstance(max_results, int) or not 1 <= max_results <= largest:
            raise ApiError("InvalidParameterException", f"invalid maxResults {max_results!r}")
        page_size = (
            min(max_results, limits.ECR_ENHANCED_FINDINGS_PAGE) if scan.enhanced else max_results
        )
        start = _offset(req.get("nextToken"), scan)
        end = start + page_size
        body: Response = {
            "imageScanCompletedAt": scan.completed_at,
            "vulnerabilitySourceUpdatedAt": scan.source_updated_at,
            "findingSeverityCounts": scan.severity_counts,
            ("enhancedFindings" if scan.enhanced else "findings"): list(scan.findings[start:end]),
        }
        image_id: dict[str, str] = {"imageDigest": scan.digest}
        if scan.tags:
            image_id["imageTag"] = scan.tags[0]
        response: Response = {
            "registryId": scan.registry_id,
            "repositoryName": scan.repository,
            "imageId": image_id,
            "imageScanStatus": {
                "status": scan.status,
                "description": STATUS_DESCRIPTIONS.get(scan.status, scan.status),
            },
            "imageScanFindings": body,
        }
        if end < len(scan.findings):
            response["nextToken"] = _token(scan, end)
        return response

    def _find(self, req: Request) -> SeededScan:
        repository = req.get("repositoryName")
        image = req.get("imageId") or {}
        registry = req.get("registryId")
        known = [s for (r, _), s in self.scans.items() if r == repository]
        if not known or (registry and all(s.registry_id != registry for s in known)):
            raise ApiError(
                "RepositoryNotFoundException",
                f"The repository with name '{repository}' does not exist in the registry "
                f"with id '{registry or DEFAULT_REGISTRY}'",
            )
        digest, tag = image.get("imageDigest"), image.get("imageTag")
        for scan in known:
            if (digest and scan.digest == digest) or (not digest and tag in scan.tags):
                return scan
        raise ApiError(
            "ImageNotFoundException",
            f"The image with imageId {image} does not exist within the repository '{repository}'",
        )


def _token(scan: SeededScan, offset: int) -> str:
    return f"{scan.digest.rsplit(':', 1)[-1][:16]}.{offset}"


def _offset(token: object, scan: SeededScan) -> int:
    if token is None:
        return 0
    prefix, _, digits = str(token).partition(".")
    if (
        not digits.isdigit()
        or _token(scan, int(digits)) != token
        or int(digits) >= len(scan.findings)
    ):
        raise ApiError("InvalidParameterException", "Invalid parameter at 'nextToken'")
    return int(digits)
