"""One image's current findings, from its repository's log group alone (ECR is not asked: the
image may be deleted, and its logs are what is kept).

The calls, all FilterLogEvents under one rate limit:
1. the group's SUMMARY events (one per logged scan): the repository's scans, their images and
   tags, so a tag is resolved to the digest it named last;
2. for a tag, the finding events that name it (a loose term filter, checked here): an image
   known only from finding events has no SUMMARY;
3. every event of the image's digest (a JSON filter on ``$.imageContext.imageDigest``): its
   scan findings, SUMMARY events and finding events;
4. for scans the AWS sample logged (no image context in their events), their severity streams
   by name (from the sample's SUMMARY counts).
Then ``pipeline.ops.current`` merges them: the latest evidence of each finding wins.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import orjson

from pipeline import layout
from pipeline.concurrency import BlockingRateLimiter
from pipeline.ops import current as state
from pipeline.ops.current import Evidence, ImageKey, Snapshot
from pipeline.ops.errors import OpsError
from pipeline.ops.hits import Hit, hit_of, iso, status_rank
from pipeline.ops.logread import Logged, LogReader

_DIGEST = re.compile(r"sha256:(?P<hex>[0-9a-f]{64})")
_DIGEST_PREFIX = re.compile(r"(?:sha256:)?(?P<hex>[0-9a-f]{12,64})")
# ECR's own rules: repository names are lower-case path parts; tags up to 300 characters.
_REPOSITORY = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,299}")
_SUMMARY_PREFIX = f"{layout.SUMMARY}-"
_EVENTS_PREFIX = f"{layout.FINDING_EVENTS}-"


@dataclass(frozen=True, slots=True)
class ImageRef:
    """``REPOSITORY@sha256:DIGEST`` (a digest prefix of 12 or more hex digits will do) or
    ``REPOSITORY:TAG``."""

    repository: str
    digest: str = ""  # full, or a prefix (hex only) to resolve
    tag: str = ""

    @property
    def text(self) -> str:
        if self.digest:
            return f"{self.repository}@{self.digest}"
        return f"{self.repository}:{self.tag}"


def parse_ref(text: str) -> ImageRef:
    """The image a command line names (ValueError with the reason if it names none)."""
    text = text.strip()
    if "@" in text:
        repository, _, digest = text.rpartition("@")
        if _DIGEST.fullmatch(digest):
            ref = ImageRef(repository, digest=digest)
        elif match := _DIGEST_PREFIX.fullmatch(digest):
            ref = ImageRef(repository, digest=match["hex"])
        else:
            raise ValueError(f"not an image digest: {digest!r} (expected sha256:<64 hex digits>)")
    else:
        repository, colon, tag = text.rpartition(":")
        if not colon:
            raise ValueError(f"name an image as REPOSITORY:TAG or REPOSITORY@DIGEST: {text!r}")
        if not _TAG.fullmatch(tag):
            raise ValueError(f"not an image tag: {tag!r}")
        ref = ImageRef(repository, tag=tag)
    if not _REPOSITORY.fullmatch(ref.repository):
        raise ValueError(f"not a repository name: {ref.repository!r}")
    return ref


def digest_pattern(digest: str) -> str:
    return f'{{ $.imageContext.imageDigest = "{digest}" }}'


def sample_severities(message: str) -> list[str]:
    """The severities the AWS sample's SUMMARY event counts (its streams): the counts map at
    top level, as DescribeImageScanFindings returned it."""
    try:
        data = orjson.loads(message)
    except orjson.JSONDecodeError:
        return []
    if not isinstance(data, dict):
        return []
    return [s for s in layout.SEVERITY_ORDER if isinstance(data.get(s), int) and data[s] > 0]


@dataclass
class ImageView:
    ref: ImageRef
    log_group: str
    digest: str
    images: list[ImageKey]  # one, or one per registry that logged this digest here
    tags: tuple[str, ...]
    findings: list[Hit]  # every current finding, whatever its status
    latest_scan: Snapshot | None
    scans: int
    finding_events: int  # logged finding events of the image
    statuses: tuple[str, ...] | None = None  # shown (None: any)
    # Other digests the tag named before (a moved tag such as "latest"), newest first.
    tag_also_named: list[str] = field(default_factory=list)

    @property
    def shown(self) -> list[Hit]:
        return [h for h in self.findings if self.statuses is None or h.status in self.statuses]

    @property
    def by_status(self) -> dict[str, int]:
        counts = Counter(h.status for h in self.findings)
        return dict(sorted(counts.items(), key=lambda item: status_rank(item[0])))

    @property
    def hidden(self) -> dict[str, int]:
        return {
            s: n
            for s, n in self.by_status.items()
            if self.statuses is not None and s not in self.statuses
        }

    def by_severity(self) -> dict[str, int]:
        counts = Counter(h.severity for h in self.shown)
        return dict(sorted(counts.items(), key=lambda item: layout.severity_rank(item[0])))

    def as_json(self) -> dict[str, Any]:
        accounts = sorted({(a, r) for a, r, _, _ in self.images})
        return {
            "image": self.ref.text,
            "repository": self.ref.repository,
            "image_digest": self.digest,
            "tags": list(self.tags),
            "registries": [{"account": a or None, "region": r or None} for a, r in accounts],
            "log_group": self.log_group,
            "statuses": list(self.statuses) if self.statuses is not None else ["all"],
            "latest_scan": (
                {
                    "scan_time": self.latest_scan.scan_time,
                    "log_stream": self.latest_scan.stream,
                }
                if self.latest_scan
                else None
            ),
            "scans_logged": self.scans,
            "finding_events_logged": self.finding_events,
            "findings_by_status": self.by_status,
            "findings_by_severity": self.by_severity(),
            "findings": [h.as_json() for h in self.shown],
            "tag_also_named": self.tag_also_named,
        }


@dataclass
class ImageReader:
    logs: Any
    log_group_prefix: str
    rate: float = 4.0  # calls per second, under the 5 TPS FilterLogEvents quota

    def __post_init__(self) -> None:
        self._limit = BlockingRateLimiter(self.rate)
        self._reader = LogReader(self.logs, self._limit)

    def read(self, ref: ImageRef, statuses: tuple[str, ...] | None = None) -> ImageView:
        group = layout.log_group_name(self.log_group_prefix, ref.repository)
        self._require_group(group, ref)
        summaries = list(self._reader.filter(group, stream_prefix=_SUMMARY_PREFIX))
        snapshots = self._snapshots(summaries, ref.repository)
        also: list[str] = []
        if ref.tag:
            digest, also = self._resolve_tag(group, ref, snapshots)
        elif len(ref.digest) < 64:
            digest = self._resolve_prefix(group, ref, snapshots)
        else:
            digest = ref.digest
        logged = list(self._reader.filter(group, digest_pattern(digest)))
        sample_streams = [
            stream
            for item in summaries
            if (s := state.snapshot_in(item.message, item.stream, group)) is not None
            and s.digest == digest
            and not s.account
            for stream in _severity_streams(item)
        ]
        if sample_streams:
            logged += self._reader.filter(group, stream_names=sample_streams)
        evidences = [e for e in self._evidence(logged, ref.repository) if e.digest == digest]
        snapshots = [s for s in snapshots if s.digest == digest]
        snapshots += [s for s in self._snapshots(logged, ref.repository) if s.digest == digest]
        if not evidences and not snapshots:
            raise OpsError(f"image {ref.repository}@{digest} is not logged in {group}")
        evidences, snapshots = state.attribute_registries(evidences, snapshots)
        now = state.current(evidences, snapshots)
        tags = state.image_tags(evidences, snapshots)
        images = sorted({e.image for e in evidences} | {s.image for s in snapshots})
        latest = state.latest_snapshots(evidences, snapshots)
        newest = max(latest.values(), key=lambda s: s.scan_ms, default=None)
        findings = sorted(
            (hit_of(e, tags.get(e.image)) for e in now.values()),
            key=lambda h: (
                h.status_rank,
                h.severity_rank,
                h.vulnerability_id,
                h.package,
                h.image,
                h.finding_arn,
            ),
        )
        image_tags = max(
            (tags.get(i, ()) for i in images), key=lambda t: (len(t) > 0, t), default=()
        )
        return ImageView(
            ref=ref,
            log_group=group,
            digest=digest,
            images=images,
            tags=image_tags,
            findings=findings,
            latest_scan=newest,
            scans=len({(s.image, s.scan_ms) for s in snapshots}),
            finding_events=len({e for e in evidences if e.source == "event"}),
            statuses=statuses,
            tag_also_named=also,
        )

    def _require_group(self, group: str, ref: ImageRef) -> None:
        self._limit.acquire()
        page = self.logs.describe_log_groups(logGroupNamePrefix=group)
        if not any(g.get("logGroupName") == group for g in page.get("logGroups", [])):
            raise OpsError(
                f"nothing is logged for repository {ref.repository!r}: no log group {group}"
            )

    def _resolve_tag(
        self, group: str, ref: ImageRef, snapshots: list[Snapshot]
    ) -> tuple[str, list[str]]:
        """The digest the tag named last (from scans, and finding events), and the others it
        named before."""
        when: dict[str, int] = {}
        for snap in snapshots:
            if ref.tag in snap.tags:
                when[snap.digest] = max(when.get(snap.digest, 0), snap.scan_ms)
        term = '"' + ref.tag.replace('"', "") + '"'
        events = self._reader.filter(group, term, stream_prefix=_EVENTS_PREFIX)
        for e in self._evidence(list(events), ref.repository):
            if e.source == "event" and ref.tag in e.tags:
                when[e.digest] = max(when.get(e.digest, 0), e.observed_ms)
        if not when:
            raise OpsError(f"no image tagged {ref.tag!r} is logged in {group}")
        ordered = sorted(when, key=lambda d: (when[d], d), reverse=True)
        return ordered[0], [f"{d} (until {iso(when[d])})" for d in ordered[1:]]

    def _resolve_prefix(self, group: str, ref: ImageRef, snapshots: list[Snapshot]) -> str:
        found = sorted(
            {s.digest for s in snapshots if layout.digest_hex(s.digest).startswith(ref.digest)}
        )
        if len(found) == 1:
            return found[0]
        if not found:
            raise OpsError(
                f"no logged scan of {ref.repository} has a digest starting {ref.digest} "
                f"in {group} (give the whole sha256:… digest for an image known only from "
                "finding events)"
            )
        raise OpsError(
            f"{ref.digest} is the start of {len(found)} digests in {group}: " + ", ".join(found[:5])
        )

    def _evidence(self, logged: list[Logged], repository: str) -> list[Evidence]:
        return [
            e
            for item in logged
            if (e := state.evidence_in(item.message, item.stream, item.log_group, repository))
        ]

    def _snapshots(self, logged: list[Logged], repository: str) -> list[Snapshot]:
        return [
            s
            for item in logged
            if (s := state.snapshot_in(item.message, item.stream, item.log_group, repository))
        ]


def _severity_streams(summary: Logged) -> list[str]:
    """The sample's streams of one scan: its SUMMARY stream's name, another severity."""
    tail = summary.stream.removeprefix(_SUMMARY_PREFIX)
    return [f"{severity}-{tail}" for severity in sample_severities(summary.message)]
