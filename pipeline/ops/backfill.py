"""Backfill: find images scanned before the pipeline existed and enqueue their scan events.

An image is enqueued when its scan is readable (COMPLETE for basic scanning, ACTIVE for
enhanced), it passes the filters, and no SUMMARY event exists for its digest yet (the consumer
writes it last, so its presence means the image is fully logged).

Upgrading from the AWS sample: its SUMMARY events (the bare severity counts, no
``imageContext``) count as logged too, unless ``relog_sample`` is set. Then an image whose only
SUMMARY events are the sample's is enqueued again, with an event time later than every stream
the sample wrote for it: our streams never collide with the sample's (writing into them would
mix both formats in one stream), and they sort after them. The sample's streams stay.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import orjson
from botocore.exceptions import ClientError

from pipeline import layout, limits
from pipeline.aws.errors import error_code
from pipeline.concurrency import BlockingRateLimiter
from pipeline.events import ScanKind, event_time, scan_complete_event
from pipeline.ops.queues import send_bodies

# What a SUMMARY stream holds: ours (an event with imageContext), only the AWS sample's
# events, or nothing yet (an image cut off mid-write).
SummaryState = Literal["ours", "sample", "empty"]
_CONTEXT_KEY = "imageContext"

KindChoice = Literal["auto", "basic", "enhanced"]


@dataclass(frozen=True)
class BackfillFilter:
    repository_prefix: str = ""
    tagged_only: bool = False
    scanned_since: datetime | None = None
    limit: int | None = None  # images to enqueue at most
    relog_sample: bool = False  # enqueue images logged only by the AWS sample


@dataclass(frozen=True)
class Candidate:
    account: str
    region: str
    repository: str
    repository_arn: str
    digest: str
    tags: tuple[str, ...]
    scan_status: str | None  # None: never scanned
    scan_completed_at: datetime | None
    severity_counts: dict[str, int] | None
    kind: ScanKind
    skip_reason: str | None  # None: to be enqueued
    # Re-logging an image the AWS sample logged: the event times of the sample's streams.
    sample_times: tuple[str, ...] = field(default=())

    @property
    def eligible(self) -> bool:
        return self.skip_reason is None

    @property
    def event_time(self) -> datetime:
        """The event's time: the scan's completion, or — re-logging the sample's image — one
        second after the latest stream the sample wrote for it, if that is later."""
        assert self.scan_completed_at is not None
        when = self.scan_completed_at.astimezone(UTC).replace(microsecond=0)
        for written in self.sample_times:
            try:
                after = datetime.fromisoformat(written.replace("Z", "+00:00")) + timedelta(
                    seconds=1
                )
            except ValueError:
                continue
            after = after if after.tzinfo else after.replace(tzinfo=UTC)
            when = max(when, after.astimezone(UTC).replace(microsecond=0))
        return when

    def event(self) -> dict[str, Any]:
        return scan_complete_event(
            kind=self.kind,
            account=self.account,
            region=self.region,
            repository=self.repository,
            repository_arn=self.repository_arn,
            digest=self.digest,
            tags=self.tags,
            completed_at=self.event_time,
            severity_counts=self.severity_counts,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "region": self.region,
            "repository": self.repository,
            "image_digest": self.digest,
            "image_tags": list(self.tags),
            "scan_status": self.scan_status,
            "scan_completed_at": self.scan_completed_at.isoformat()
            if self.scan_completed_at
            else None,
            "scan_kind": self.kind,
            "finding_severity_counts": self.severity_counts,
            "action": ("relog" if self.sample_times else "enqueue") if self.eligible else "skip",
            "skip_reason": self.skip_reason,
            "event_time": event_time(self.event_time) if self.eligible else None,
            "sample_scan_times": list(self.sample_times),
        }


@dataclass
class Finder:
    """Lists images with their scan status; one instance per run (caches the registry's
    scan type)."""

    ecr: Any
    logs: Any
    log_group_prefix: str
    kind: KindChoice = "auto"
    ecr_rate: float | None = 10.0
    logs_rate: float | None = 10.0

    def __post_init__(self) -> None:
        self._ecr_limit = BlockingRateLimiter(self.ecr_rate)
        self._logs_limit = BlockingRateLimiter(self.logs_rate)
        self._registry_kind: ScanKind | None = None

    def candidates(
        self, selection: BackfillFilter, on_image: Callable[[Candidate], None] | None = None
    ) -> list[Candidate]:
        found: list[Candidate] = []
        chosen = 0
        for repo in self._repositories(selection.repository_prefix):
            group = layout.log_group_name(self.log_group_prefix, repo["repositoryName"])
            summaries = None  # listed lazily: only when an image of the repo is otherwise eligible
            for image in self._images(repo["repositoryName"], repo["registryId"]):
                candidate = self._candidate(repo, image, selection)
                if candidate.eligible:
                    if summaries is None:
                        summaries = self.summary_streams(group)
                    streams = summaries.get(layout.digest_hex(candidate.digest).lower(), [])
                    candidate = self._against_logs(group, candidate, streams, selection)
                    if candidate.eligible:
                        if selection.limit is not None and chosen >= selection.limit:
                            candidate = _skip(candidate, "over --limit")
                        else:
                            chosen += 1
                found.append(candidate)
                if on_image:
                    on_image(candidate)
        return found

    def _against_logs(
        self,
        group: str,
        candidate: Candidate,
        streams: list[dict[str, Any]],
        selection: BackfillFilter,
    ) -> Candidate:
        """Skip an image already logged; mark one only the sample logged for re-logging."""
        if not selection.relog_sample:
            if any(self._holds_summary(group, stream) for stream in streams):
                return _skip(candidate, "already logged")
            return candidate
        sample_times = []
        for stream in streams:
            state = self.summary_state(group, stream)
            if state == "ours":
                return _skip(candidate, "already logged")
            if state == "sample":
                parsed = layout.parse_stream_name(str(stream["logStreamName"]))
                assert parsed is not None  # summary_streams keeps parsed names only
                sample_times.append(parsed.event_time)
        return replace(candidate, sample_times=tuple(sorted(sample_times)))

    def summary_streams(self, group: str) -> dict[str, list[dict[str, Any]]]:
        """The group's SUMMARY streams (DescribeLogStreams entries) by digest hex."""
        found: dict[str, list[dict[str, Any]]] = {}
        paginator = self.logs.get_paginator("describe_log_streams")
        try:
            for page in paginator.paginate(
                logGroupName=group, logStreamNamePrefix=f"{layout.SUMMARY}-"
            ):
                self._logs_limit.acquire()
                for stream in page.get("logStreams", []):
                    parsed = layout.parse_stream_name(str(stream["logStreamName"]))
                    if parsed and parsed.kind == layout.SUMMARY:
                        found.setdefault(layout.digest_hex(parsed.digest).lower(), []).append(
                            stream
                        )
        except ClientError as exc:
            if error_code(exc) != "ResourceNotFoundException":
                raise
        return found

    def summary_state(self, group: str, stream: dict[str, Any]) -> SummaryState:
        """Who wrote a SUMMARY stream's events. Ours carry ``imageContext`` beside the counts;
        the AWS sample's are the bare counts map. (One stream can hold several registries'
        events: any of ours makes it ours.)"""
        self._logs_limit.acquire()
        page = self.logs.get_log_events(
            logGroupName=group,
            logStreamName=stream["logStreamName"],
            startFromHead=True,
            limit=100,
        )
        messages = [str(e.get("message", "")) for e in page.get("events", [])]
        if not messages:
            return "empty"
        return "ours" if any(_has_context(m) for m in messages) else "sample"

    def _holds_summary(self, group: str, stream: dict[str, Any]) -> bool:
        """Whether a SUMMARY stream has its event. The consumer creates the stream before it
        writes the image (to notice redeliveries), so an image cut off or dead-lettered
        mid-write leaves it empty: such an image is not logged."""
        if "firstEventTimestamp" in stream or "lastIngestionTime" in stream:
            return True
        # Those fields can lag behind ingestion: ask the stream itself.
        self._logs_limit.acquire()
        page = self.logs.get_log_events(
            logGroupName=group,
            logStreamName=stream["logStreamName"],
            startFromHead=True,
            limit=1,
        )
        return bool(page.get("events"))

    def _repositories(self, prefix: str) -> Iterator[dict[str, Any]]:
        for page in self.ecr.get_paginator("describe_repositories").paginate():
            self._ecr_limit.acquire()
            for repo in page.get("repositories", []):
                if str(repo["repositoryName"]).startswith(prefix):
                    yield repo

    def _images(self, repository: str, registry: str) -> Iterator[dict[str, Any]]:
        paginator = self.ecr.get_paginator("describe_images")
        for page in paginator.paginate(repositoryName=repository, registryId=registry):
            self._ecr_limit.acquire()
            yield from page.get("imageDetails", [])

    def _candidate(
        self, repo: dict[str, Any], image: dict[str, Any], selection: BackfillFilter
    ) -> Candidate:
        tags = tuple(str(t) for t in image.get("imageTags") or ())
        if selection.tagged_only and not tags:  # decided before spending a call on its scan
            status, completed, counts, probed_kind = None, None, None, None
        else:
            status, completed, counts, probed_kind = self._scan_of(repo, image)
        kind: ScanKind = (
            self.kind if self.kind != "auto" else probed_kind or self._kind_of_registry(status)
        )
        candidate = Candidate(
            account=str(repo["registryId"]),
            region=str(self.ecr.meta.region_name),
            repository=str(repo["repositoryName"]),
            repository_arn=str(repo["repositoryArn"]),
            digest=str(image["imageDigest"]),
            tags=tags,
            scan_status=status,
            scan_completed_at=completed,
            severity_counts=counts,
            kind=kind,
            skip_reason=None,
        )
        if selection.tagged_only and not tags:
            return _skip(candidate, "untagged")
        if status is None:
            return _skip(candidate, "not scanned")
        if status not in limits.READABLE_SCAN_STATUSES:
            return _skip(candidate, f"scan {status}")
        if completed is None:
            return _skip(candidate, "no scan time")
        if selection.scanned_since and completed < selection.scanned_since:
            return _skip(candidate, "scanned earlier")
        return candidate

    def _scan_of(
        self, repo: dict[str, Any], image: dict[str, Any]
    ) -> tuple[str | None, datetime | None, dict[str, int] | None, ScanKind | None]:
        """Status, completion time, severity counts and (when seen) the kind of the latest scan.

        DescribeImages carries them for scanned images; when it does not, one
        DescribeImageScanFindings call asks (and tells whether findings are enhanced).
        """
        status = (image.get("imageScanStatus") or {}).get("status")
        summary = image.get("imageScanFindingsSummary") or {}
        if status is not None:
            return (
                str(status),
                _when(summary.get("imageScanCompletedAt")),
                _counts(summary.get("findingSeverityCounts")),
                None,
            )
        self._ecr_limit.acquire()
        try:
            answer = self.ecr.describe_image_scan_findings(
                repositoryName=repo["repositoryName"],
                registryId=repo["registryId"],
                imageId={"imageDigest": image["imageDigest"]},
                maxResults=1,
            )
        except ClientError as exc:
            if error_code(exc) == "ScanNotFoundException":
                return None, None, None, None
            raise
        found = answer.get("imageScanFindings") or {}
        kind: ScanKind | None = "enhanced" if "enhancedFindings" in found else None
        if kind is None and found.get("findings"):
            kind = "basic"
        return (
            str((answer.get("imageScanStatus") or {}).get("status") or "UNKNOWN"),
            _when(found.get("imageScanCompletedAt")),
            _counts(found.get("findingSeverityCounts")),
            kind,
        )

    def _kind_of_registry(self, status: str | None) -> ScanKind:
        if status == "ACTIVE":  # a status only enhanced scanning reports
            return "enhanced"
        if self._registry_kind is None:
            config = self.ecr.get_registry_scanning_configuration()
            scan_type = (config.get("scanningConfiguration") or {}).get("scanType")
            self._registry_kind = "enhanced" if scan_type == "ENHANCED" else "basic"
        return self._registry_kind


def enqueue(
    sqs: Any,
    queue_url: str,
    candidates: list[Candidate],
    *,
    rate: float | None = 10.0,
    on_sent: Callable[[int], None] | None = None,
) -> int:
    """Send each eligible candidate's event (SendMessageBatch, rate-limited); return how many
    were sent. A refused entry raises, after what was sent so far has been counted."""
    bodies = [orjson.dumps(c.event()).decode() for c in candidates if c.eligible]
    return send_bodies(sqs, queue_url, bodies, rate=rate, on_sent=on_sent)


def _has_context(message: str) -> bool:
    try:
        data = orjson.loads(message)
    except orjson.JSONDecodeError:
        return False
    return isinstance(data, dict) and isinstance(data.get(_CONTEXT_KEY), dict)


def _skip(candidate: Candidate, reason: str) -> Candidate:
    return replace(candidate, skip_reason=reason)


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return None


def _counts(value: Any) -> dict[str, int] | None:
    if not isinstance(value, dict):
        return None
    return {str(k): int(v) for k, v in value.items()}
