"""ECR's rules for image scans: seeded scans, their statuses, DescribeImageScanFindings pages
and errors, as AWS answers them.

Both front ends (the moto server and the fast endpoint) answer from here; each one only says
which images exist (moto's ECR backend, or the fast endpoint's seeds).

- Basic ``findings`` come ``maxResults`` a page (1-1000, default 100); ``enhancedFindings`` come
  100 a page whatever ``maxResults`` says.
- A scan whose status is not readable (``IN_PROGRESS``, ``FAILED``, …) has a status and no
  ``imageScanFindings``.
- Page tokens are opaque, carry no server state, and are refused on another image scan or
  after the image was seeded again.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import secrets
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from localaws.rules.errors import ApiError
from localaws.shapes import epoch_seconds, shape, to_wire
from pipeline import limits
from pipeline.events import ScanKind

DEFAULT_MAX_RESULTS = 100
STATUS_DESCRIPTIONS = {
    "COMPLETE": "The scan was completed successfully.",
    "ACTIVE": "Continuous scan is selected for image.",
    "IN_PROGRESS": "The image scan is in progress.",
    "PENDING": "The image scan is pending.",
    "FAILED": "The image scan failed.",
}
_FINDING_SHAPES = {"basic": "ImageScanFinding", "enhanced": "EnhancedImageScanFinding"}


def default_status(kind: ScanKind) -> str:
    """What a finished scan reports: basic scans ``COMPLETE``; enhanced (continuous) ``ACTIVE``."""
    return "ACTIVE" if kind == "enhanced" else "COMPLETE"


def status_description(status: str) -> str:
    return STATUS_DESCRIPTIONS.get(status, f"Scan status {status}.")


@dataclass(frozen=True, slots=True)
class SeededScan:
    serial: int  # distinguishes re-seeds of one image; page tokens are bound to it
    kind: ScanKind
    status: str
    description: str
    findings: tuple[dict[str, Any], ...]  # wire form, in answer order
    severity_counts: dict[str, int]
    completed_at: float  # epoch seconds
    source_updated_at: float


ScanKey = tuple[str | None, str | None, str, str]  # registry, region, repository, digest


def severity_counts(findings: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Findings counted by their ``severity``, as ECR reports ``findingSeverityCounts``."""
    counts = Counter(str(f.get("severity") or "UNDEFINED") for f in findings)
    return dict(sorted(counts.items()))


class ScanBook:
    """Thread-safe store of seeded scans, keyed by image; ``None`` key parts match anything."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scans: dict[ScanKey, SeededScan] = {}
        self._serials = itertools.count(1)
        self._secret = secrets.token_bytes(16)

    def seed(
        self,
        repository: str,
        digest: str,
        findings: Iterable[Mapping[str, Any]],
        *,
        kind: ScanKind = "basic",
        status: str | None = None,
        description: str | None = None,
        registry_id: str | None = None,
        region: str | None = None,
        severity_counts_override: Mapping[str, int] | None = None,
        completed_at: datetime | float | None = None,
        vulnerability_source_updated_at: datetime | float | None = None,
    ) -> SeededScan:
        """Findings are checked against botocore's ECR model and kept in wire form. ``status``
        None is what a finished scan of that kind reports (``default_status``)."""
        if kind not in _FINDING_SHAPES:
            raise ValueError(f"kind must be 'basic' or 'enhanced', not {kind!r}")
        model = shape("ecr", _FINDING_SHAPES[kind])
        wire = tuple(to_wire(f, model, f"findings[{i}]") for i, f in enumerate(findings))
        completed = epoch_seconds(datetime.now(UTC) if completed_at is None else completed_at)
        status = status or default_status(kind)
        with self._lock:
            scan = SeededScan(
                serial=next(self._serials),
                kind=kind,
                status=status,
                description=description or status_description(status),
                findings=wire,
                severity_counts=dict(severity_counts_override)
                if severity_counts_override is not None
                else severity_counts(wire),
                completed_at=completed,
                source_updated_at=completed
                if vulnerability_source_updated_at is None
                else epoch_seconds(vulnerability_source_updated_at),
            )
            self._scans[(registry_id, region, repository, digest)] = scan
        return scan

    def find(self, registry: str, region: str, repository: str, digest: str) -> SeededScan | None:
        candidates: list[ScanKey] = [
            (registry, region, repository, digest),
            (registry, None, repository, digest),
            (None, region, repository, digest),
            (None, None, repository, digest),
        ]
        with self._lock:
            for key in candidates:
                if key in self._scans:
                    return self._scans[key]
        return None

    def clear(self) -> None:
        with self._lock:
            self._scans.clear()

    # Page tokens are opaque to clients and carry no server state: the scan serial and the
    # offset of the next finding, signed so that a forged or foreign token is refused.
    def token(self, scan: SeededScan, offset: int) -> str:
        payload = f"{scan.serial}:{offset}".encode()
        mac = hmac.new(self._secret, payload, hashlib.sha256).digest()[:12]
        return base64.urlsafe_b64encode(payload + b"." + mac).decode()

    def offset(self, scan: SeededScan, token: str) -> int:
        """The offset a token points at; ValueError when it is not a token for this scan."""
        try:
            raw = base64.urlsafe_b64decode(token.encode())
            payload, mac = raw.split(b".", 1)
            serial, offset = (int(part) for part in payload.decode().split(":"))
        except (ValueError, UnicodeDecodeError):
            raise ValueError("malformed token") from None
        good = hmac.new(self._secret, payload, hashlib.sha256).digest()[:12]
        if not hmac.compare_digest(mac, good) or serial != scan.serial:
            raise ValueError("token was not issued for this image scan")
        if not 0 < offset < len(scan.findings):
            raise ValueError("token points outside the findings")
        return offset


# -- errors, worded as ECR words them ---------------------------------------------------------


def invalid_parameter(message: str) -> ApiError:
    return ApiError("InvalidParameterException", message)


def _image_id_text(image_id: Mapping[str, Any]) -> str:
    digest = image_id.get("imageDigest") or "null"
    tag = image_id.get("imageTag") or "null"
    return f"{{imageDigest:'{digest}', imageTag:'{tag}'}}"


def repository_not_found(repository: str, registry: str) -> ApiError:
    return ApiError(
        "RepositoryNotFoundException",
        f"The repository with name '{repository}' does not exist in the registry with id "
        f"'{registry}'",
    )


def image_not_found(image_id: Mapping[str, Any], repository: str, registry: str) -> ApiError:
    return ApiError(
        "ImageNotFoundException",
        f"The image with imageId {_image_id_text(image_id)} does not exist within the "
        f"repository with name '{repository}' in the registry with id '{registry}'",
    )


def scan_not_found(image_id: Mapping[str, Any], repository: str, registry: str) -> ApiError:
    return ApiError(
        "ScanNotFoundException",
        f"Image scan does not exist for the image with '{_image_id_text(image_id)}' in the "
        f"repository with name '{repository}' in the registry with id '{registry}'",
    )


# -- DescribeImageScanFindings ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FindingsRequest:
    """A checked DescribeImageScanFindings request."""

    repository: str
    image_id: dict[str, Any]
    registry: str  # the registryId asked for, or the caller's account
    max_results: int
    next_token: str | None


def findings_request(params: Mapping[str, Any], caller_account: str) -> FindingsRequest:
    repository = params.get("repositoryName")
    image_id = params.get("imageId")
    if not isinstance(repository, str) or not isinstance(image_id, dict):
        raise invalid_parameter("repositoryName and imageId are required")
    max_results = params.get("maxResults", DEFAULT_MAX_RESULTS)
    if (
        not isinstance(max_results, int)
        or isinstance(max_results, bool)
        or not 1 <= max_results <= limits.ECR_FINDINGS_MAX_RESULTS
    ):
        raise invalid_parameter(
            "Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must "
            f"have value between 1 and {limits.ECR_FINDINGS_MAX_RESULTS}'"
        )
    token = params.get("nextToken")
    # Reading another account's registry is allowed here: cross-account access is granted by
    # policies the local AWS does not model.
    return FindingsRequest(
        repository=repository,
        image_id=image_id,
        registry=str(params.get("registryId") or caller_account),
        max_results=max_results,
        next_token=None if token is None else str(token),
    )


def find_image(
    images: Iterable[tuple[str, Iterable[str]]], image_id: Mapping[str, Any]
) -> str | None:
    """The digest of the image ``image_id`` names, among ``(digest, tags)``: by digest, by tag,
    or by both (both must match)."""
    tag, digest = image_id.get("imageTag"), image_id.get("imageDigest")
    for image_digest, tags in images:
        if (not tag or tag in tags) and (not digest or digest == image_digest):
            return image_digest
    return None


def scan_status(scan: SeededScan) -> dict[str, str]:
    return {"status": scan.status, "description": scan.description}


def scan_summary(scan: SeededScan) -> dict[str, Any]:
    """What DescribeImages reports of an image's scan: its status, and when readable its
    completion times and severity counts."""
    summary: dict[str, Any] = {"imageScanStatus": scan_status(scan)}
    if scan.status in limits.READABLE_SCAN_STATUSES:
        summary["imageScanFindingsSummary"] = {
            "imageScanCompletedAt": scan.completed_at,
            "vulnerabilitySourceUpdatedAt": scan.source_updated_at,
            "findingSeverityCounts": scan.severity_counts,
        }
    return summary


def findings_page(
    request: FindingsRequest,
    *,
    registry_id: str,
    digest: str,
    scan: SeededScan | None,
    scans: ScanBook,
) -> dict[str, Any]:
    """The DescribeImageScanFindings answer for an image that exists (``digest``), or the
    ApiError ECR answers with."""
    if scan is None:
        raise scan_not_found(request.image_id, request.repository, request.registry)
    answer_id = {"imageDigest": digest}
    if request.image_id.get("imageTag"):
        answer_id["imageTag"] = request.image_id["imageTag"]
    response: dict[str, Any] = {
        "registryId": registry_id,
        "repositoryName": request.repository,
        "imageId": answer_id,
        "imageScanStatus": scan_status(scan),
    }
    if scan.status not in limits.READABLE_SCAN_STATUSES:
        return response

    offset = 0
    if request.next_token is not None:
        try:
            offset = scans.offset(scan, request.next_token)
        except ValueError as exc:
            raise invalid_parameter(f"Invalid parameter at 'nextToken': {exc}") from None
    enhanced = scan.kind == "enhanced"
    end = offset + (limits.ECR_ENHANCED_FINDINGS_PAGE if enhanced else request.max_results)
    response["imageScanFindings"] = {
        "imageScanCompletedAt": scan.completed_at,
        "vulnerabilitySourceUpdatedAt": scan.source_updated_at,
        "findingSeverityCounts": scan.severity_counts,
        ("enhancedFindings" if enhanced else "findings"): list(scan.findings[offset:end]),
    }
    if end < len(scan.findings):
        response["nextToken"] = scans.token(scan, end)
    return response
