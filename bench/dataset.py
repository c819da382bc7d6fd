"""The benchmark's input: seeded images with their findings, and the SQS events that announce them.

Finding counts are drawn uniformly from 0..max_findings; about one image in five is scanned
with enhanced (Inspector) scanning, the rest with basic scanning; about one in ten is untagged.
The same arguments always give the same data.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from localaws import findings as generate
from localaws.fastserver.ecr import seed_item
from localaws.registry import DEFAULT_ACCOUNT, DEFAULT_REGION, scan_event
from localaws.rules import ecr as ecr_rules
from localaws.shapes import shape, to_wire
from pipeline import layout
from pipeline.events import ScanKind

REPOSITORIES = (
    "payments/api",
    "payments/worker",
    "web/frontend",
    "web/gateway",
    "data/etl",
    "ml/inference",
    "platform/base",
    "tools/ci-runner",
)
ENHANCED_SHARE = 0.2
UNTAGGED_SHARE = 0.1
QUEUE_ARN = f"arn:aws:sqs:{DEFAULT_REGION}:{DEFAULT_ACCOUNT}:ecr-scan-findings"
_WIRE_SHAPES = {"basic": "ImageScanFinding", "enhanced": "EnhancedImageScanFinding"}

StreamKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Image:
    repository: str
    digest: str
    tags: tuple[str, ...]
    kind: ScanKind
    findings: tuple[dict[str, Any], ...]  # wire form, as DescribeImageScanFindings sends them

    def severity_counts(self) -> dict[str, int]:
        return ecr_rules.severity_counts(self.findings)


@dataclass(frozen=True, slots=True)
class Dataset:
    images: tuple[Image, ...]
    seed: int
    scanned_at: float  # epoch seconds

    @property
    def findings(self) -> int:
        return sum(len(i.findings) for i in self.images)

    def describe(self) -> str:
        enhanced = sum(1 for i in self.images if i.kind == "enhanced")
        sizes = [len(i.findings) for i in self.images]
        return (
            f"{len(self.images)} images ({len(self.images) - enhanced} basic, {enhanced} "
            f"enhanced) in {len({i.repository for i in self.images})} repositories; "
            f"{self.findings:,} findings ({min(sizes, default=0)}..{max(sizes, default=0)} "
            f"an image); seed {self.seed}"
        )

    def seed_items(self) -> list[dict[str, Any]]:
        """What the fake endpoint serves (see localaws.fastserver.ecr)."""
        return [
            seed_item(
                registry_id=DEFAULT_ACCOUNT,
                repository=image.repository,
                digest=image.digest,
                tags=image.tags,
                kind=image.kind,
                findings=image.findings,
                severity_counts=image.severity_counts(),
                completed_at=self.scanned_at,
                source_updated_at=self.scanned_at - 3600,
            )
            for image in self.images
        ]

    def sqs_event(self, time: str, *, limit: int | None = None) -> dict[str, Any]:
        """One Lambda SQS event holding a scan event for each image (the first ``limit``)."""
        rng = random.Random(f"{self.seed}-{time}")
        sent_ms = str(int(self.scanned_at * 1000))
        return {"Records": [_record(image, time, sent_ms, rng) for image in self.images[:limit]]}

    def expected_streams(
        self, prefix: str, time: str, *, first_page_only: bool = False, limit: int | None = None
    ) -> Counter[StreamKey]:
        """Log events each stream must receive when every image of the event is logged.

        ``first_page_only``: what the baseline reads (one page of 1,000, or 100 enhanced).
        """
        expected: Counter[StreamKey] = Counter()
        for image in self.images[:limit]:
            group = layout.log_group_name(prefix, image.repository)
            tag = layout.first_tag(image.tags)
            logged: Iterable[dict[str, Any]] = image.findings
            if first_page_only:
                logged = image.findings[: 100 if image.kind == "enhanced" else 1000]
            for finding in logged:
                severity = layout.normalize_severity(finding.get("severity"))
                expected[(group, layout.stream_name(severity, tag, image.digest, time))] += 1
            expected[(group, layout.stream_name(layout.SUMMARY, tag, image.digest, time))] += 1
        return expected


def build(images: int, *, seed: int, max_findings: int, scanned_at: float) -> Dataset:
    rng = random.Random(seed)
    enhanced = set(rng.sample(range(images), round(images * ENHANCED_SHARE)))
    built = []
    for index in range(images):
        kind: ScanKind = "enhanced" if index in enhanced else "basic"
        repository = rng.choice(REPOSITORIES)
        digest = "sha256:" + hashlib.sha256(f"{seed}/{index}".encode()).hexdigest()
        tags: tuple[str, ...] = ()
        if rng.random() >= UNTAGGED_SHARE:
            tags = (f"v1.{rng.randint(0, 40)}.{rng.randint(0, 9)}", "latest")[: rng.randint(1, 2)]
        count = rng.randint(0, max_findings)
        built.append(make_image(repository, digest, tags, kind, count, seed=f"{seed}/{index}"))
    return Dataset(tuple(built), seed, scanned_at)


def make_image(
    repository: str, digest: str, tags: tuple[str, ...], kind: ScanKind, count: int, *, seed: str
) -> Image:
    """One image with ``count`` generated findings of its scan kind, in wire form."""
    raw = generate.findings_of_kind(
        kind, count, seed=seed, repository=repository, digest=digest, tags=tags
    )
    model = shape("ecr", _WIRE_SHAPES[kind])
    return Image(repository, digest, tags, kind, tuple(to_wire(f, model) for f in raw))


def _record(image: Image, time: str, sent_ms: str, rng: random.Random) -> dict[str, Any]:
    event = scan_event(
        kind=image.kind,
        repository=image.repository,
        digest=image.digest,
        tags=image.tags,
        severity_counts=image.severity_counts(),
        time=time,
        event_id=str(uuid.UUID(int=rng.getrandbits(128))),
    )
    return sqs_record(orjson.dumps(event).decode(), sent_ms, rng)


def sqs_record(body: str, sent_ms: str, rng: random.Random) -> dict[str, Any]:
    """One SQS record as the Lambda event source mapping delivers it."""
    return {
        "messageId": str(uuid.UUID(int=rng.getrandbits(128))),
        "receiptHandle": f"bench-{rng.getrandbits(64):016x}",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": sent_ms,
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": sent_ms,
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": QUEUE_ARN,
        "awsRegion": DEFAULT_REGION,
    }
