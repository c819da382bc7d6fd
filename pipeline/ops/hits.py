"""What to show for a finding of an image: one row of ``search`` or ``image`` (pure).

The rows come from the findings' current state (``pipeline.ops.current``), or from every
logged record of them (``search --all-scans``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pipeline import layout
from pipeline.ops.current import STATUSES, Evidence, ImageKey
from pipeline.vulnerabilities import normalize_id as normalize_id  # ids' rules: in the core


def iso(epoch_ms: int) -> str:
    """``2026-11-29T07:31:48Z``, with milliseconds only when there are any."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, UTC)
    if epoch_ms % 1000:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def status_rank(status: str) -> int:
    return STATUSES.index(status) if status in STATUSES else len(STATUSES)


@dataclass(frozen=True, order=True)
class Hit:
    """One finding of one image. Rows sort ACTIVE first, then by severity, then by image."""

    status_rank: int
    severity_rank: int
    repository: str
    tag: str
    digest: str
    severity: str
    package: str
    status: str
    changed_at: str  # when the finding was last seen in this state (see ``observed_ms``)
    scan_time: str  # the scan snapshot's time; "" when the state comes from a finding event
    log_group: str
    stream: str
    scan_kind: str
    # The image's registry: one central pipeline can log several accounts' repositories of
    # the same name into one group.
    account: str = ""
    region: str = ""
    vulnerability_id: str = ""
    finding_arn: str = ""
    source: str = "scan"
    inferred: bool = False
    tags: tuple[str, ...] = ()

    @property
    def image(self) -> ImageKey:
        return (self.account, self.region, self.repository, self.digest)

    def as_json(self) -> dict[str, Any]:
        return {
            "account": self.account or None,
            "region": self.region or None,
            "repository": self.repository,
            "tag": self.tag,
            "tags": list(self.tags),
            "image_digest": self.digest,
            "vulnerability_id": self.vulnerability_id,
            "finding_arn": self.finding_arn or None,
            "severity": self.severity,
            "status": self.status,
            "changed_at": self.changed_at,
            # "scan": a scan snapshot; "event": a finding event; "rescan": CLOSED because the
            # image's later scan no longer lists it
            "source": "rescan" if self.inferred else self.source,
            "package": self.package,
            "scan_time": self.scan_time or None,
            "scan_kind": self.scan_kind,
            "log_group": self.log_group,
            "log_stream": self.stream,
        }


def hit_of(evidence: Evidence, tags: tuple[str, ...] | None = None) -> Hit:
    """The row for one finding; ``tags`` the image's (default: the evidence's own)."""
    tags = evidence.tags if tags is None else tags
    return Hit(
        status_rank=status_rank(evidence.status),
        severity_rank=layout.severity_rank(evidence.severity),
        repository=evidence.repository,
        tag=layout.first_tag(tags),
        digest=evidence.digest,
        severity=evidence.severity,
        package=evidence.package,
        status=evidence.status,
        changed_at=iso(evidence.observed_ms),
        scan_time=evidence.scan_time,
        log_group=evidence.log_group,
        stream=evidence.stream,
        scan_kind=evidence.scan_kind,
        account=evidence.account,
        region=evidence.region,
        vulnerability_id=evidence.vulnerability_id,
        finding_arn=evidence.finding_arn,
        source=evidence.source,
        inferred=evidence.inferred,
        tags=tags,
    )


def hits_of(
    evidences: Iterable[Evidence], tags: Mapping[ImageKey, tuple[str, ...]] | None = None
) -> list[Hit]:
    """Rows for these findings, sorted, each with its image's tags when known."""
    tags = tags or {}
    return sorted({hit_of(e, tags.get(e.image)) for e in evidences})
