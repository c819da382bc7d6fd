"""Seeded image scans: what DescribeImageScanFindings answers for an image, and its page tokens."""

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

from localaws.shapes import epoch_seconds, shape, to_wire
from pipeline.events import ScanKind

_DESCRIPTIONS = {
    "COMPLETE": "The scan was completed successfully.",
    "ACTIVE": "Continuous scan is selected for image.",
    "IN_PROGRESS": "The image scan is in progress.",
    "PENDING": "The image scan is pending.",
    "FAILED": "The image scan failed.",
}
_FINDING_SHAPES = {"basic": "ImageScanFinding", "enhanced": "EnhancedImageScanFinding"}


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
        status: str = "COMPLETE",
        description: str | None = None,
        registry_id: str | None = None,
        region: str | None = None,
        severity_counts_override: Mapping[str, int] | None = None,
        completed_at: datetime | float | None = None,
        vulnerability_source_updated_at: datetime | float | None = None,
    ) -> SeededScan:
        if kind not in _FINDING_SHAPES:
            raise ValueError(f"kind must be 'basic' or 'enhanced', not {kind!r}")
        model = shape("ecr", _FINDING_SHAPES[kind])
        wire = tuple(to_wire(f, model, f"findings[{i}]") for i, f in enumerate(findings))
        completed = epoch_seconds(datetime.now(UTC) if completed_at is None else completed_at)
        with self._lock:
            scan = SeededScan(
                serial=next(self._serials),
                kind=kind,
                status=status,
                description=description or _DESCRIPTIONS.get(status, f"Scan status {status}."),
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
