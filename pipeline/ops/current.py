"""What is logged about a finding, and which of it is the finding's current state (pure).

Two kinds of log event say something about a finding of an image:
- a **scan** snapshot: one event per finding of one image scan (severity streams), plus the
  scan's SUMMARY event (a snapshot with no finding in it says the image had none);
- a **finding event** ("Inspector2 Finding", ``FINDING-EVENTS-<day>`` streams): one change of
  one Inspector finding (created, updated, closed).

Each becomes :class:`Evidence`: which image, which finding, its status and when it was
observed. :func:`current` merges them into the current state, by these rules:

1. **Latest evidence wins.** Per image and finding, the evidence observed last is current:
   ``updatedAt`` for enhanced (Inspector) findings, whether from a snapshot or an event; the
   scan's time for basic findings (which have no ``updatedAt`` and never get events). The log
   timestamp plays no part: events arrive out of order and late ones are stamped on arrival.
2. **Ties** (equal observed time) are broken, in order: a finding event over a snapshot (the
   event is the change itself; a snapshot only reports it); then ACTIVE over SUPPRESSED over
   CLOSED (when two records of the same moment disagree, err toward "affected"); then by the
   remaining fields, so the answer never depends on the order records were read.
3. **A newer snapshot supersedes older ones.** An image's latest scan snapshot lists every
   finding the image had then. A finding absent from it is current only through a finding
   event observed *after* that scan. Otherwise it is reported CLOSED as of that scan
   (``inferred``: nothing logged says CLOSED; the rescan no longer found it), unless its
   latest evidence is a closure already, which keeps its own time.

Findings are keyed by ``findingArn`` (stable across Inspector's updates); basic findings have
none and are keyed by vulnerability id and package (name and version).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import astuple, dataclass, replace
from typing import Any, Literal

import orjson

from pipeline import layout
from pipeline.finding_time import parse_finding_time
from pipeline.render import CONTEXT_KEY

ImageKey = tuple[str, str, str, str]  # account, region, repository, digest
CurrentKey = tuple[ImageKey, str]  # image, finding key
Source = Literal["scan", "event"]
ACTIVE, SUPPRESSED, CLOSED = "ACTIVE", "SUPPRESSED", "CLOSED"
STATUSES = (ACTIVE, SUPPRESSED, CLOSED)
_EVENT_KIND = "finding"  # imageContext.eventKind of a finding event's log event
_SOURCE_RANK = {"scan": 0, "event": 1}
_STATUS_RANK = {CLOSED: 0, SUPPRESSED: 1, ACTIVE: 2}


@dataclass(frozen=True, slots=True)
class Evidence:
    """One logged record of one finding of one image."""

    account: str  # "" for the AWS sample's events (no image context)
    region: str
    repository: str
    digest: str
    tags: tuple[str, ...]
    finding_key: str  # findingArn, else "<vulnerability id> <package>"
    finding_arn: str  # "" for basic findings
    vulnerability_id: str
    package: str  # "name version" of each vulnerable package, ", "-joined; "-" if none
    severity: str
    status: str  # ACTIVE, SUPPRESSED or CLOSED (basic findings: ACTIVE as of their scan)
    observed_ms: int  # updatedAt (enhanced findings, finding events); else the scan's time
    source: Source
    scan_time: str  # the snapshot's scan time as logged (ISO 8601); "" for a finding event
    scan_ms: int | None  # the snapshot's scan time; None for a finding event
    scan_kind: str  # "basic", "enhanced" or "" (unknown: the AWS sample's events)
    log_group: str
    stream: str
    event_id: str = ""  # the EventBridge id of a finding event
    # True: not logged as such; the image's later snapshot no longer lists the finding.
    inferred: bool = False

    @property
    def image(self) -> ImageKey:
        return (self.account, self.region, self.repository, self.digest)

    @property
    def key(self) -> CurrentKey:
        return (self.image, self.finding_key)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One logged scan of one image (from its SUMMARY event, or implied by its findings)."""

    account: str
    region: str
    repository: str
    digest: str
    tags: tuple[str, ...]
    scan_ms: int
    scan_time: str
    log_group: str
    stream: str

    @property
    def image(self) -> ImageKey:
        return (self.account, self.region, self.repository, self.digest)


def finding_key(finding: Mapping[str, Any]) -> str:
    arn = finding.get("findingArn")
    if isinstance(arn, str) and arn:
        return arn
    return f"{vulnerability_id_of(finding)} {', '.join(packages(finding))}"


def vulnerability_id_of(finding: Mapping[str, Any]) -> str:
    details = finding.get("packageVulnerabilityDetails")
    if isinstance(details, Mapping) and isinstance(details.get("vulnerabilityId"), str):
        return str(details["vulnerabilityId"])
    name = finding.get("name")
    return name if isinstance(name, str) else ""


def packages(finding: Mapping[str, Any]) -> list[str]:
    """``name version`` of each affected package, or ``-`` when the finding names none."""
    details = finding.get("packageVulnerabilityDetails")
    if isinstance(details, Mapping):
        found = [
            _package(p.get("name"), p.get("version"))
            for p in details.get("vulnerablePackages") or []
            if isinstance(p, Mapping)
        ]
        if found:
            return found
    attributes = {
        a.get("key"): a.get("value")
        for a in finding.get("attributes") or []
        if isinstance(a, Mapping)
    }
    if attributes.get("package_name"):
        return [_package(attributes.get("package_name"), attributes.get("package_version"))]
    return ["-"]


def _package(name: Any, version: Any) -> str:
    return f"{name} {version}" if version else str(name)


def _our_context(data: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The image context we added: a finding with its own ``imageContext`` pushes ours to
    ``_imageContext`` (and so on), so ours is the last of that chain."""
    key, found = CONTEXT_KEY, None
    while key in data:
        found = data[key]
        key = "_" + key
    return found if isinstance(found, Mapping) else None


def _time_ms(value: object) -> int | None:
    try:
        return parse_finding_time(value)
    except ValueError:
        return None


def _tags(value: object) -> tuple[str, ...]:
    return tuple(str(t) for t in value) if isinstance(value, list) else ()


def _load(message: str) -> dict[str, Any] | None:
    try:
        data = orjson.loads(message)
    except orjson.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def evidence_in(message: str, stream: str, log_group: str, repository: str = "") -> Evidence | None:
    """The evidence one logged message holds (None: a SUMMARY, not a finding, unreadable).

    ``repository`` is the group's repository, for the AWS sample's events, whose image is in
    the stream name only (``layout.parse_stream_name``).
    """
    parsed = layout.parse_stream_name(stream)
    if parsed is not None and parsed.kind in (layout.SUMMARY, layout.CLAIM):
        return None
    finding = _load(message)
    if finding is None:
        return None
    vulnerability_id = vulnerability_id_of(finding)
    arn = finding.get("findingArn")
    arn = arn if isinstance(arn, str) else ""
    if not vulnerability_id and not arn:
        return None  # not a finding
    context = _our_context(finding)
    status = finding.get("status")
    status = status.strip().upper() if isinstance(status, str) and status.strip() else ACTIVE
    common: dict[str, Any] = {
        "finding_key": finding_key(finding),
        "finding_arn": arn,
        "vulnerability_id": vulnerability_id,
        "package": ", ".join(packages(finding)),
        "severity": layout.normalize_severity(finding.get("severity")),
        "log_group": log_group,
        "stream": stream,
    }
    if context is None:  # the AWS sample's event: the image is in the stream name
        if parsed is None:
            return None
        scan_ms = _time_ms(parsed.event_time)
        if scan_ms is None:
            return None
        observed = _time_ms(finding.get("updatedAt")) if arn else None
        return Evidence(
            account="",
            region="",
            repository=repository,
            digest=parsed.digest,
            tags=(parsed.tag,) if parsed.tagged else (),
            status=status if arn else ACTIVE,
            observed_ms=observed if observed is not None else scan_ms,
            source="scan",
            scan_time=parsed.event_time,
            scan_ms=scan_ms,
            scan_kind="",
            **common,
        )
    digest = context.get("imageDigest")
    if not isinstance(digest, str) or not digest:
        return None
    image: dict[str, Any] = {
        "account": str(context.get("account") or ""),
        "region": str(context.get("region") or ""),
        "repository": str(context.get("repository") or repository),
        "digest": digest,
        "tags": _tags(context.get("imageTags")),
    }
    if context.get("eventKind") == _EVENT_KIND:
        observed = _time_ms(context.get("updatedAt"))
        if observed is None:
            observed = _time_ms(finding.get("updatedAt"))
        if observed is None:
            return None
        return Evidence(
            **image,
            status=status,
            observed_ms=observed,
            source="event",
            scan_time="",
            scan_ms=None,
            scan_kind="enhanced",
            event_id=str(context.get("eventId") or ""),
            **common,
        )
    scan_time = str(context.get("scanTime") or "")
    scan_ms = _time_ms(scan_time)
    if scan_ms is None:
        return None
    enhanced = bool(arn) or context.get("scanKind") == "enhanced"
    observed = _time_ms(finding.get("updatedAt")) if enhanced else None
    return Evidence(
        **image,
        status=status if enhanced else ACTIVE,
        observed_ms=observed if observed is not None else scan_ms,
        source="scan",
        scan_time=scan_time,
        scan_ms=scan_ms,
        scan_kind=str(context.get("scanKind") or ("enhanced" if enhanced else "basic")),
        **common,
    )


def snapshot_in(message: str, stream: str, log_group: str, repository: str = "") -> Snapshot | None:
    """The scan one SUMMARY event stands for (None: not a SUMMARY event)."""
    parsed = layout.parse_stream_name(stream)
    if parsed is None or parsed.kind != layout.SUMMARY:
        return None
    data = _load(message)
    if data is None:
        return None
    context = _our_context(data)
    if context is None:  # the AWS sample's SUMMARY: the counts only
        scan_ms = _time_ms(parsed.event_time)
        if scan_ms is None:
            return None
        tags = (parsed.tag,) if parsed.tagged else ()
        return Snapshot(
            "", "", repository, parsed.digest, tags, scan_ms, parsed.event_time, log_group, stream
        )
    scan_time = str(context.get("scanTime") or "")
    scan_ms = _time_ms(scan_time)
    digest = context.get("imageDigest")
    if scan_ms is None or not isinstance(digest, str) or not digest:
        return None
    return Snapshot(
        str(context.get("account") or ""),
        str(context.get("region") or ""),
        str(context.get("repository") or repository),
        digest,
        _tags(context.get("imageTags")),
        scan_ms,
        scan_time,
        log_group,
        stream,
    )


def snapshot_of(evidence: Evidence) -> Snapshot | None:
    """The scan a snapshot's finding was part of (None for a finding event)."""
    if evidence.scan_ms is None:
        return None
    return Snapshot(
        evidence.account,
        evidence.region,
        evidence.repository,
        evidence.digest,
        evidence.tags,
        evidence.scan_ms,
        evidence.scan_time,
        evidence.log_group,
        evidence.stream,
    )


def order(evidence: Evidence) -> tuple[Any, ...]:
    """The order in which evidence of one finding supersedes (later wins; see the rules)."""
    return (
        evidence.observed_ms,
        _SOURCE_RANK[evidence.source],
        _STATUS_RANK.get(evidence.status, -1),
        astuple(evidence),
    )


def attribute_registries(
    evidences: list[Evidence], snapshots: list[Snapshot]
) -> tuple[list[Evidence], list[Snapshot]]:
    """Give records without a registry (the AWS sample's) the account and region of the other
    records of the same image in the same log group, when exactly one registry logged it
    there: after an upgrade, the sample's scans and ours of one image are one image."""
    registries: dict[tuple[str, str], set[tuple[str, str]]] = {}
    records: list[Evidence | Snapshot] = [*evidences, *snapshots]
    for item in records:
        if item.account:
            registries.setdefault((item.log_group, item.digest), set()).add(
                (item.account, item.region)
            )

    def registry(log_group: str, digest: str) -> tuple[str, str] | None:
        known = registries.get((log_group, digest), set())
        return next(iter(known)) if len(known) == 1 else None

    out_e = []
    for e in evidences:
        found = None if e.account else registry(e.log_group, e.digest)
        out_e.append(replace(e, account=found[0], region=found[1]) if found else e)
    out_s = []
    for s in snapshots:
        found = None if s.account else registry(s.log_group, s.digest)
        out_s.append(replace(s, account=found[0], region=found[1]) if found else s)
    return out_e, out_s


def latest_snapshots(
    evidences: Iterable[Evidence], snapshots: Iterable[Snapshot] = ()
) -> dict[ImageKey, Snapshot]:
    """Each image's latest scan (of several records of one moment, the smallest: the choice
    does not depend on the order they were read)."""
    evidences, snaps = attribute_registries(list(evidences), list(snapshots))
    by_image: dict[ImageKey, list[Snapshot]] = {}
    for snap in (*snaps, *(s for e in evidences if (s := snapshot_of(e)))):
        by_image.setdefault(snap.image, []).append(snap)
    latest: dict[ImageKey, Snapshot] = {}
    for image, found in by_image.items():
        newest = max(s.scan_ms for s in found)
        latest[image] = min((s for s in found if s.scan_ms == newest), key=astuple)
    return latest


def current(
    evidences: Iterable[Evidence], snapshots: Iterable[Snapshot] = ()
) -> dict[CurrentKey, Evidence]:
    """The current state of every finding of every image the records speak of.

    ``snapshots`` are scans known from their SUMMARY events (a scan that found nothing of
    interest has no other record); a snapshot's findings imply their scan too.
    """
    evidences_, snaps = attribute_registries(list(evidences), list(snapshots))
    latest = latest_snapshots(evidences_, snaps)
    in_latest: set[CurrentKey] = set()
    winners: dict[CurrentKey, Evidence] = {}
    for e in evidences_:
        snap = latest.get(e.image)
        if snap is not None and e.scan_ms == snap.scan_ms:
            in_latest.add(e.key)
        known = winners.get(e.key)
        if known is None or order(e) > order(known):
            winners[e.key] = e
    state: dict[CurrentKey, Evidence] = {}
    for key, winner in winners.items():
        snap = latest.get(key[0])
        superseded = (
            snap is not None
            and key not in in_latest
            and not (winner.source == "event" and winner.observed_ms > snap.scan_ms)
        )
        if superseded and snap is not None and winner.status != CLOSED:
            winner = replace(
                winner,
                tags=snap.tags,
                status=CLOSED,
                observed_ms=snap.scan_ms,
                source="scan",
                scan_time=snap.scan_time,
                scan_ms=snap.scan_ms,
                log_group=snap.log_group,
                stream=snap.stream,
                event_id="",
                inferred=True,
            )
        state[key] = winner
    return state


def latest_logged(evidences: Iterable[Evidence]) -> dict[str, tuple[int, str]]:
    """``findingArn`` → (observed ms, status) of its latest logged evidence, snapshot or
    event (what a reconciliation compares with Inspector's own current findings)."""
    best: dict[str, Evidence] = {}
    for e in evidences:
        if not e.finding_arn or e.inferred:
            continue
        known = best.get(e.finding_arn)
        if known is None or order(e) > order(known):
            best[e.finding_arn] = e
    return {arn: (e.observed_ms, e.status) for arn, e in best.items()}


def image_tags(
    evidences: Iterable[Evidence], snapshots: Iterable[Snapshot] = ()
) -> dict[ImageKey, tuple[str, ...]]:
    """Each image's tags as last logged (the latest record that has any): a finding event or
    a scan may name none, and an image may be retagged."""
    evidences_, snaps = attribute_registries(list(evidences), list(snapshots))
    best: dict[ImageKey, tuple[int, tuple[str, ...]]] = {}
    records = [(e.image, e.scan_ms or e.observed_ms, e.tags) for e in evidences_]
    records += [(s.image, s.scan_ms, s.tags) for s in snaps]
    for image, when, tags in records:
        if not tags:
            best.setdefault(image, (-1, ()))
            continue
        known = best.get(image)
        if known is None or (when, tags) > known:
            best[image] = (when, tags)
    return {image: tags for image, (_, tags) in best.items()}
