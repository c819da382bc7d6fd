"""ecr:DescribeImageScanFindings, every page, with outcomes classified."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from botocore.exceptions import ClientError

from pipeline import limits
from pipeline.aws.errors import classify, error_code
from pipeline.concurrency import RateLimiter
from pipeline.errors import PermanentError, RetryableError
from pipeline.events import ImageScan

API = "DescribeImageScanFindings"
STILL_RUNNING = frozenset({"IN_PROGRESS", "PENDING"})
# Scan statuses after which no findings will ever come for this scan.
FINAL_WITHOUT_FINDINGS = {
    "FAILED": "scan_failed",
    "UNSUPPORTED_IMAGE": "unsupported_image",
    "SCAN_ELIGIBILITY_EXPIRED": "scan_eligibility_expired",
    "FINDINGS_UNAVAILABLE": "findings_unavailable",
    "LIMIT_EXCEEDED": "scan_limit_exceeded",
    "IMAGE_ARCHIVED": "image_archived",
}


# Where the raw findings of a page are put by the before-parse hook below.
_RAW = "x-findings-logger-raw-findings"
_FINDING_LISTS = ("findings", "enhancedFindings")


def lift_raw_findings(
    response_dict: dict[str, Any], customized_response_dict: dict[str, Any], **_: Any
) -> None:
    """botocore ``before-parse`` hook: take the findings out of the body as the wire has them.

    botocore's generic parser costs ~16 µs a basic finding (far more for enhanced ones); the
    findings are logged as JSON anyway, so they are lifted out with orjson and botocore parses
    only the small rest of the page. They also stay exactly as the API returned them (times as
    epoch seconds, no datetime round trip).
    """
    if response_dict.get("status_code", 500) >= 300 or not response_dict.get("body"):
        return
    doc = orjson.loads(response_dict["body"])
    body = doc.get("imageScanFindings") if isinstance(doc, dict) else None
    if not isinstance(body, dict):
        return
    lifted = {key: body.pop(key) for key in _FINDING_LISTS if key in body}
    response_dict["body"] = orjson.dumps(doc)
    customized_response_dict[_RAW] = lifted


def install_hooks(client: Any) -> None:
    client.meta.events.register(f"before-parse.ecr.{API}", lift_raw_findings)


@dataclass(slots=True)
class ScanFindings:
    registry_id: str | None
    status: str
    findings: list[dict[str, Any]] = field(default_factory=list)
    severity_counts: dict[str, int] = field(default_factory=dict)
    completed_at: datetime | None = None
    vulnerability_source_updated_at: datetime | None = None
    pages: int = 0


class ScanReader:
    """Reads one image scan's findings page by page: ``first()`` alone says whether the scan
    can be logged at all (before anything is written for it), ``rest()`` reads the others."""

    def __init__(self, client: Any, scan: ImageScan, *, page_size: int, limiter: RateLimiter):
        self._client = client
        self._scan = scan
        self._limiter = limiter
        self._params: dict[str, Any] = {
            "repositoryName": scan.repository,
            "imageId": {"imageDigest": scan.digest},
            "maxResults": page_size,
        }
        if scan.account:
            self._params["registryId"] = scan.account
        self._result: ScanFindings | None = None
        self._more = True

    async def first(self) -> ScanFindings:
        """The first page. Raises RetryableError when the scan is not readable yet (still
        running) and PermanentError when it never will be."""
        if self._result is None:
            page = await self._page()
            status_info = page.get("imageScanStatus") or {}
            status = str(status_info.get("status") or "UNKNOWN")
            self._result = _first_page(page, status, status_info)
            self._add(page)
        return self._result

    async def rest(self) -> ScanFindings:
        """Every page; RetryableError if the scan counts findings but none are readable yet."""
        result = await self.first()
        while self._more:
            self._add(await self._page())
        counted = sum(v for k, v in result.severity_counts.items() if k != "TOTAL")
        if not result.findings and (counted > 0 or self._scan.expects_findings):
            raise RetryableError(
                "findings_not_ready",
                f"scan is {result.status} and counts findings, but none are readable yet",
            )
        return result

    async def _page(self) -> dict[str, Any]:
        await self._limiter.acquire()
        try:
            page: dict[str, Any] = await self._client.describe_image_scan_findings(**self._params)
        except ClientError as exc:
            if error_code(exc) == "ScanNotFoundException":
                # The event said the scan completed; the API may not know it yet.
                raise RetryableError("scan_not_found", f"{API}: {exc}") from None
            raise classify(exc, API) from None
        except Exception as exc:  # network, timeouts: retry the message later
            raise classify(exc, API) from None
        return page

    def _add(self, page: dict[str, Any]) -> None:
        assert self._result is not None
        body = page.get(_RAW) or page.get("imageScanFindings") or {}
        for key in _FINDING_LISTS:
            self._result.findings.extend(body.get(key) or ())
        self._result.pages += 1
        token = page.get("nextToken")
        self._more = bool(token)
        if token:
            self._params["nextToken"] = token


async def fetch_findings(
    client: Any, scan: ImageScan, *, page_size: int, limiter: RateLimiter
) -> ScanFindings:
    """All findings of one image scan (basic ``findings`` or ``enhancedFindings``)."""
    return await ScanReader(client, scan, page_size=page_size, limiter=limiter).rest()


def _first_page(page: dict[str, Any], status: str, status_info: dict[str, Any]) -> ScanFindings:
    if status in STILL_RUNNING:
        raise RetryableError("scan_in_progress", f"scan status is {status}")
    if status in FINAL_WITHOUT_FINDINGS:
        detail = status_info.get("description") or ""
        raise PermanentError(
            FINAL_WITHOUT_FINDINGS[status], f"scan status is {status}: {detail}".rstrip(": ")
        )
    if status not in limits.READABLE_SCAN_STATUSES:
        raise RetryableError("scan_status_unknown", f"unexpected scan status {status}")
    body = page.get("imageScanFindings") or {}
    return ScanFindings(
        registry_id=page.get("registryId"),
        status=status,
        severity_counts=dict(body.get("findingSeverityCounts") or {}),
        completed_at=body.get("imageScanCompletedAt"),
        vulnerability_source_updated_at=body.get("vulnerabilitySourceUpdatedAt"),
    )
