"""The burst scenario's input: Inspector re-evaluates a registry after new CVEs are published.

Every image gets a few "Inspector2 Finding" events within minutes: most are new ACTIVE
findings, the rest change a finding of the same image a little later (an update, a closure).
The events are built by the local AWS's builder (``localaws.registry.finding_event``: the
shape of AWS's documented examples, with ``packageVulnerabilityDetails`` and
``resources[].details.awsEcrContainerImage``), with the times inside ``detail`` in the formats
AWS's examples use, some resources' region ``"N/A"``, some images untagged and every
repository name holding a ``/``. They are delivered in SQS records (as the event source
mapping shapes them), ``batch_size`` a batch.

Order: ``shuffled`` (the default) interleaves all events, as a standard queue fed by
EventBridge may deliver them: nearly every batch then touches every repository, the worst
case for packing. ``by-image`` keeps each image's events together, images in random order.
The same arguments always give the same data.
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import orjson

from bench.dataset import sqs_record
from localaws.findings import sized_text
from localaws.registry import finding_event
from pipeline import layout
from pipeline.timestamps import log_timestamp

Order = Literal["shuffled", "by-image"]
ORDERS: tuple[Order, ...] = ("shuffled", "by-image")
StreamKey = tuple[str, str]  # (log group, log stream)

UNTAGGED_SHARE = 0.1
NA_REGION_SHARE = 0.2  # resources[].region "N/A", as in AWS's older example
CHANGED_SHARE = 0.2  # events that update or close an earlier finding of the same image
CLOSED_SHARE = 0.5  # of those changes, closures (the rest update an ACTIVE finding)
SPAN_S = 600  # the burst's events arrive within this many seconds before the build time
# The formats of the times inside detail, and how often each is used.
TIME_FORMATS = (("java", 6), ("us", 3), ("iso", 1))
SEVERITIES = (("CRITICAL", 5), ("HIGH", 25), ("MEDIUM", 40), ("LOW", 25), ("INFORMATIONAL", 5))
PACKAGES = (
    "openssl",
    "glibc",
    "curl",
    "libxml2",
    "expat",
    "zlib",
    "gnutls28",
    "krb5",
    "sqlite3",
    "python3.11",
    "libssh2",
    "nghttp2",
)
CVES_PUBLISHED = 40  # the burst's distinct vulnerabilities (each hits one package)


@dataclass(frozen=True, slots=True)
class Delivered:
    """What the data says about one delivered event: enough to know where it must land."""

    repository: str
    time_ms: int  # the envelope's `time`, in epoch milliseconds
    digest: str = ""
    severity: str = ""
    active: bool = True


@dataclass(frozen=True, slots=True)
class Burst:
    batches: tuple[tuple[dict[str, Any], ...], ...]  # SQS records, one tuple a batch
    delivered: tuple[tuple[Delivered, ...], ...]  # the same, batch by batch
    repositories: tuple[str, ...]
    images: int
    order: Order
    seed: int

    @property
    def events(self) -> int:
        return sum(len(b) for b in self.batches)

    def describe(self) -> str:
        sizes = [len(b) for b in self.batches]
        return (
            f"{self.events:,} finding events for {self.images:,} images in "
            f"{len(self.repositories)} repositories, {len(self.batches)} SQS batches of "
            f"{max(sizes, default=0):,}; order {self.order}; seed {self.seed}"
        )

    def sqs_event(self, batch: int) -> dict[str, Any]:
        return {"Records": list(self.batches[batch])}

    def expected_streams(
        self, prefix: str, now_ms: int, retention_days: int | None = None
    ) -> list[Counter[StreamKey]]:
        """Per batch, the log events each (group, stream) must receive: every event once, in
        its repository's group, in the stream of its log timestamp's UTC day."""
        expected = []
        for batch in self.delivered:
            counts: Counter[StreamKey] = Counter()
            for event in batch:
                group = layout.log_group_name(prefix, event.repository)
                ts = log_timestamp(event.time_ms, now_ms, retention_days)
                counts[(group, layout.finding_events_stream(ts))] += 1
            expected.append(counts)
        return expected

    def notable_images(self, worth: Callable[[str], bool]) -> list[int]:
        """Per batch, the images with an ACTIVE event whose severity is ``worth`` a
        notification: the most notifications the batch may send."""
        return [
            len({e.digest for e in batch if e.active and worth(e.severity)})
            for batch in self.delivered
        ]

    def log_groups(self, prefix: str) -> list[str]:
        return [layout.log_group_name(prefix, r) for r in self.repositories]


def repository_days(expected: Sequence[Counter[StreamKey]]) -> int:
    """Distinct (repository group, day stream) pairs: the most streams the burst may create."""
    return len({key for batch in expected for key in batch})


def repository_names(count: int) -> list[str]:
    """``count`` repository names, every one with a ``/`` (some two)."""
    names = []
    for i in range(count):
        team, service = f"team-{i // 10:03d}", ("api", "worker", "web", "batch", "gateway")[i % 5]
        names.append(f"{team}/{service}-{i % 10}" if i % 3 else f"org/{team}/{service}-{i % 10}")
    return names


def build(
    events: int,
    *,
    images: int,
    repositories: int,
    batch_size: int,
    seed: int,
    now: datetime,
    order: Order = "shuffled",
) -> Burst:
    if not 1 <= repositories <= images <= events or batch_size < 1:
        raise ValueError("need 1 <= repositories <= images <= events and batch_size >= 1")
    rng = random.Random(f"burst-{seed}")
    repos = repository_names(repositories)
    published = [
        (f"CVE-2026-{rng.randint(10_000, 99_999)}", rng.choice(PACKAGES))
        for _ in range(CVES_PUBLISHED)
    ]
    # Every repository holds at least one image; the rest are spread at random.
    homes = [repos[i % repositories] for i in range(images)]
    rng.shuffle(homes)
    per_image = [events // images + (1 if i < events % images else 0) for i in range(images)]
    by_image: list[list[tuple[Delivered, str]]] = []
    for index, repository in enumerate(homes):
        by_image.append(_image_events(rng, index, repository, per_image[index], published, now))

    if order == "shuffled":
        stream = [e for image in by_image for e in image]
        rng.shuffle(stream)
    elif order == "by-image":
        rng.shuffle(by_image)
        stream = [e for image in by_image for e in image]
    else:
        raise ValueError(f"order must be one of {ORDERS}, not {order!r}")

    batches, delivered = [], []
    for start in range(0, len(stream), batch_size):
        chunk = stream[start : start + batch_size]
        delivered.append(tuple(d for d, _ in chunk))
        batches.append(tuple(sqs_record(body, str(d.time_ms + 1_000), rng) for d, body in chunk))
    return Burst(tuple(batches), tuple(delivered), tuple(repos), images, order, seed)


def _image_events(
    rng: random.Random,
    index: int,
    repository: str,
    count: int,
    published: list[tuple[str, str]],
    now: datetime,
) -> list[tuple[Delivered, str]]:
    """One image's events, in the order Inspector sends them: new findings, then changes."""
    digest = "sha256:" + f"{rng.getrandbits(256):064x}"
    tags: list[str] = [] if rng.random() < UNTAGGED_SHARE else [f"v2.{index % 50}.{index % 7}"]
    changed = round(count * CHANGED_SHARE) if count > 1 else 0
    start = now - timedelta(seconds=SPAN_S) + timedelta(seconds=rng.uniform(0, SPAN_S - 60))
    vulnerabilities = rng.sample(published, min(count - changed, len(published)))
    new: list[tuple[str, str, str, datetime]] = []  # (arn, cve, package, first seen)
    out = []
    for k in range(count):
        moment = start + timedelta(seconds=k * 2, milliseconds=rng.randint(0, 999))
        if k < count - changed:
            cve, package = vulnerabilities[k % len(vulnerabilities)]
            arn = f"arn:aws:inspector2:us-east-1:123456789012:finding/{rng.getrandbits(128):032x}"
            new.append((arn, cve, package, moment))
            status, first = "ACTIVE", moment
        else:  # a change of one of this image's new findings: updated, or closed
            arn, cve, package, first = new[k % len(new)]
            status = "CLOSED" if rng.random() < CLOSED_SHARE else "ACTIVE"
        event = finding_event(
            repository=repository,
            digest=digest,
            tags=tags,
            finding_arn=arn,
            status=status,
            severity=_pick(rng, SEVERITIES),
            vulnerability_id=cve,
            package=package,
            updated_at=moment,
            first_observed_at=first,
            time=moment + timedelta(seconds=1),
            time_format=_pick(rng, TIME_FORMATS),
            event_id=str(uuid.UUID(int=rng.getrandbits(128))),
            resource_region="N/A" if rng.random() < NA_REGION_SHARE else None,
        )
        text = f"{cve}: a flaw in {package} allows remote attackers to cause a denial of service."
        event["detail"]["description"] = sized_text(text, rng.randint(150, 900))
        sent = datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        delivered = Delivered(
            repository,
            int(sent.timestamp() * 1000),
            digest,
            str(event["detail"]["severity"]),
            status == "ACTIVE",
        )
        out.append((delivered, orjson.dumps(event).decode()))
    return out


def _pick(rng: random.Random, table: Sequence[tuple[str, int]]) -> str:
    """One name of a (name, weight) table, by weight."""
    return rng.choices([n for n, _ in table], weights=[w for _, w in table])[0]
