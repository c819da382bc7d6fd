"""The current state of findings from what is logged: evidence from every message shape, and
the merge rules (latest evidence wins, newer snapshots supersede, deterministic ties)."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from pipeline import layout
from pipeline.ops.current import (
    ACTIVE,
    CLOSED,
    STATUSES,
    SUPPRESSED,
    Evidence,
    Snapshot,
    current,
    evidence_in,
    image_tags,
    latest_logged,
    latest_snapshots,
    snapshot_in,
)

HEX = "ab" * 32
DIGEST = f"sha256:{HEX}"
GROUP = "/aws/ecr/image-scan-findings/team/api"
ARN = "arn:aws:inspector2:eu-west-1:111122223333:finding/0f3c"
SCAN_CONTEXT = {
    "account": "111122223333",
    "region": "eu-west-1",
    "repository": "team/api",
    "imageDigest": DIGEST,
    "imageTags": ["v1"],
    "scanTime": "2026-11-29T06:00:00Z",
    "scanKind": "basic",
}
T0 = 1_796_000_000_000  # 2026-12-01T…; only differences matter


def scan_stream(kind: str, time: str = "2026-11-29T06:00:00Z", tag: str = "v1") -> str:
    return layout.stream_name(kind, tag, DIGEST, time)


def basic(name: str = "CVE-2024-1", package: str = "zlib", version: str = "1.2") -> dict[str, Any]:
    return {
        "name": name,
        "severity": "HIGH",
        "attributes": [
            {"key": "package_name", "value": package},
            {"key": "package_version", "value": version},
        ],
    }


def enhanced(status: str = "ACTIVE", updated_at: Any = 1_795_932_000.5) -> dict[str, Any]:
    return {
        "findingArn": ARN,
        "status": status,
        "severity": "MEDIUM",
        "updatedAt": updated_at,
        "packageVulnerabilityDetails": {
            "vulnerabilityId": "CVE-2024-6119",
            "vulnerablePackages": [{"name": "openssl", "version": "3.0.13"}],
        },
    }


# ---- evidence_in: every shape of logged message ----------------------------------------------


def test_a_basic_scan_finding_is_active_as_of_its_scan() -> None:
    message = json.dumps({**basic(), "imageContext": SCAN_CONTEXT})

    e = evidence_in(message, scan_stream("HIGH"), GROUP)

    assert e is not None
    assert e.image == ("111122223333", "eu-west-1", "team/api", DIGEST)
    assert (e.finding_key, e.finding_arn) == ("CVE-2024-1 zlib 1.2", "")
    assert (e.vulnerability_id, e.package, e.severity) == ("CVE-2024-1", "zlib 1.2", "HIGH")
    assert (e.status, e.source, e.scan_kind, e.tags) == (ACTIVE, "scan", "basic", ("v1",))
    assert e.observed_ms == e.scan_ms == 1_795_932_000_000  # the scan's time
    assert (e.scan_time, e.log_group, e.stream) == (SCAN_CONTEXT["scanTime"], GROUP, e.stream)


def test_an_enhanced_scan_finding_is_observed_at_its_updated_at() -> None:
    context = {**SCAN_CONTEXT, "scanKind": "enhanced"}
    message = json.dumps({**enhanced(SUPPRESSED), "imageContext": context})

    e = evidence_in(message, scan_stream("MEDIUM"), GROUP)

    assert e is not None
    assert (e.finding_key, e.finding_arn, e.status) == (ARN, ARN, SUPPRESSED)
    assert (e.vulnerability_id, e.package) == ("CVE-2024-6119", "openssl 3.0.13")
    assert e.observed_ms == 1_795_932_000_500  # the API's epoch seconds
    assert e.scan_ms == 1_795_932_000_000
    assert e.source == "scan"


def test_an_enhanced_finding_names_every_vulnerable_package() -> None:
    finding = {
        **enhanced(),
        "severity": "high",
        "packageVulnerabilityDetails": {
            "vulnerabilityId": "CVE-1",
            "vulnerablePackages": [
                {"name": "openssl", "version": "3.0.11"},
                {"name": "libssl3", "version": "3.0.11"},
            ],
        },
    }
    context = {**SCAN_CONTEXT, "scanKind": "enhanced", "imageTags": ["v2", "latest"]}

    e = evidence_in(json.dumps({**finding, "imageContext": context}), scan_stream("HIGH"), GROUP)

    assert e is not None
    assert (e.severity, e.package) == ("HIGH", "openssl 3.0.11, libssl3 3.0.11")
    assert (e.vulnerability_id, e.tags) == ("CVE-1", ("v2", "latest"))


def test_a_basic_finding_without_package_or_severity() -> None:
    finding = {"name": "CVE-2", "uri": "u", "imageContext": {**SCAN_CONTEXT, "imageTags": []}}

    e = evidence_in(json.dumps(finding), scan_stream("UNDEFINED"), GROUP)

    assert e is not None
    assert (e.package, e.severity, e.finding_key, e.tags) == ("-", "UNDEFINED", "CVE-2 -", ())


def test_a_finding_event_is_observed_at_its_iso_updated_at() -> None:
    detail = enhanced("CLOSED", "Wed Sep 04 16:55:38.411 UTC 2024")
    context = {
        "account": "111122223333",
        "region": "eu-west-1",
        "repository": "team/api",
        "imageDigest": DIGEST,
        "imageTags": [],
        "eventKind": "finding",
        "eventId": "9c1e",
        "eventTime": "2024-09-04T16:55:39Z",
        "updatedAt": "2024-09-04T16:55:38.411Z",
    }
    message = json.dumps({**detail, "imageContext": context})

    e = evidence_in(message, "FINDING-EVENTS-2024-09-04", GROUP)

    assert e is not None
    assert (e.source, e.status, e.event_id, e.finding_key) == ("event", CLOSED, "9c1e", ARN)
    assert e.observed_ms == 1_725_468_938_411
    assert (e.scan_ms, e.scan_time, e.tags) == (None, "", ())


def test_a_finding_with_its_own_image_context_keeps_ours_apart() -> None:
    message = json.dumps(
        {
            **basic(),
            "imageContext": {"imageDigest": "sha256:" + "00" * 32},
            "_imageContext": SCAN_CONTEXT,
        }
    )

    e = evidence_in(message, scan_stream("HIGH"), GROUP)

    assert e is not None and e.digest == DIGEST


def test_the_aws_samples_events_take_the_image_from_the_stream_name() -> None:
    stream = f"LOW-rc-1-2-{HEX}-2025-06-01T10-00-00Z"

    e = evidence_in(json.dumps(basic()), stream, GROUP, "team/api")

    assert e is not None
    assert (e.account, e.repository, e.digest, e.tags) == ("", "team/api", DIGEST, ("rc-1-2",))
    assert (e.scan_time, e.status, e.scan_kind) == ("2025-06-01T10:00:00Z", ACTIVE, "")
    assert evidence_in(json.dumps(basic()), "other", GROUP) is None  # no image anywhere


def test_what_is_not_a_finding_is_no_evidence() -> None:
    summary = json.dumps({"HIGH": 1, "imageContext": SCAN_CONTEXT})
    assert evidence_in(summary, scan_stream(layout.SUMMARY), GROUP) is None
    assert evidence_in(json.dumps(basic()), scan_stream(layout.SUMMARY), GROUP) is None
    assert evidence_in("not json", scan_stream("HIGH"), GROUP) is None
    assert evidence_in("[1]", scan_stream("HIGH"), GROUP) is None
    no_digest = {**SCAN_CONTEXT, "imageDigest": ""}
    assert evidence_in(json.dumps({**basic(), "imageContext": no_digest}), "s", GROUP) is None
    bad_time = {**SCAN_CONTEXT, "scanTime": "yesterday"}
    assert evidence_in(json.dumps({**basic(), "imageContext": bad_time}), "s", GROUP) is None


def test_snapshots_from_summary_events_ours_and_the_samples() -> None:
    ours = snapshot_in(
        json.dumps({"HIGH": 1, "imageContext": SCAN_CONTEXT}), scan_stream("SUMMARY"), GROUP
    )
    sample_stream = f"SUMMARY-untagged-{HEX}-2025-06-01T10-00-00Z"
    sample = snapshot_in(json.dumps({"HIGH": 1}), sample_stream, GROUP, "team/api")

    assert ours is not None and sample is not None
    assert (ours.image, ours.scan_ms, ours.tags) == (
        ("111122223333", "eu-west-1", "team/api", DIGEST),
        1_795_932_000_000,
        ("v1",),
    )
    assert (sample.image, sample.tags) == (("", "", "team/api", DIGEST), ())
    assert snapshot_in(json.dumps({"HIGH": 1}), scan_stream("HIGH"), GROUP) is None


# ---- the merge rules --------------------------------------------------------------------------

IMAGE = ("111122223333", "eu-west-1", "team/api", DIGEST)


def ev(
    observed: int,
    status: str = ACTIVE,
    *,
    source: str = "event",
    key: str = ARN,
    scan_ms: int | None = None,
    digest: str = DIGEST,
    account: str = "111122223333",
    tags: tuple[str, ...] = ("v1",),
    severity: str = "HIGH",
) -> Evidence:
    if source == "scan" and scan_ms is None:
        scan_ms = observed
    return Evidence(
        account=account,
        region="eu-west-1" if account else "",
        repository="team/api",
        digest=digest,
        tags=tags,
        finding_key=key,
        finding_arn=key if key.startswith("arn:") else "",
        vulnerability_id="CVE-2024-6119",
        package="openssl 3.0.13",
        severity=severity,
        status=status,
        observed_ms=observed,
        source=source,  # type: ignore[arg-type]
        scan_time=f"scan {scan_ms}" if scan_ms is not None else "",
        scan_ms=scan_ms,
        scan_kind="enhanced" if key.startswith("arn:") else "basic",
        log_group=GROUP,
        stream=f"stream {scan_ms}" if scan_ms is not None else "FINDING-EVENTS-2026-12-01",
        event_id=f"id {observed} {status}" if source == "event" else "",
    )


def snapshot(scan_ms: int, digest: str = DIGEST) -> Snapshot:
    return Snapshot(
        "111122223333",
        "eu-west-1",
        "team/api",
        digest,
        ("v1",),
        scan_ms,
        f"scan {scan_ms}",
        GROUP,
        "s",
    )


def test_created_updated_closed_the_latest_update_is_current() -> None:
    created, updated, closed = ev(T0), ev(T0 + 10, SUPPRESSED), ev(T0 + 20, CLOSED)

    assert current([created])[(IMAGE, ARN)].status == ACTIVE
    assert current([created, updated])[(IMAGE, ARN)].status == SUPPRESSED
    assert current([closed, created, updated])[(IMAGE, ARN)] == closed


def test_an_out_of_order_update_never_becomes_current() -> None:
    newer, older = ev(T0 + 20, ACTIVE), ev(T0 + 10, CLOSED)

    assert current([newer, older])[(IMAGE, ARN)] == newer
    assert latest_logged([newer, older]) == {ARN: (T0 + 20, ACTIVE)}


def test_an_event_after_the_snapshot_wins_over_it_and_a_later_update_in_a_snapshot_wins() -> None:
    snap = ev(T0, source="scan", scan_ms=T0 + 5)  # a snapshot at T0+5, updatedAt T0
    closed = ev(T0 + 10, CLOSED)
    reopened = ev(T0 + 30, ACTIVE, source="scan", scan_ms=T0 + 40)

    assert current([snap, closed])[(IMAGE, ARN)] == closed
    assert current([snap, closed, reopened])[(IMAGE, ARN)] == reopened


def test_ties_event_over_snapshot_then_active_over_others() -> None:
    in_scan, event = ev(T0, CLOSED, source="scan"), ev(T0, CLOSED)
    active, closed = ev(T0, ACTIVE), ev(T0, CLOSED)

    assert current([in_scan, event])[(IMAGE, ARN)] == event
    assert current([closed, active])[(IMAGE, ARN)] == active
    assert current([active, closed])[(IMAGE, ARN)] == active


def test_a_basic_rescan_without_the_finding_closes_it_as_of_the_rescan() -> None:
    key = "CVE-2024-1 zlib 1.2"
    first = ev(T0, source="scan", key=key)
    other = ev(T0 + 100, source="scan", key="CVE-2024-9 curl 8")  # the rescan's only finding

    [closed] = [e for k, e in current([first, other]).items() if k[1] == key]

    assert (closed.status, closed.observed_ms, closed.inferred) == (CLOSED, T0 + 100, True)
    assert closed.scan_time == f"scan {T0 + 100}"
    # A rescan that found nothing is known from its SUMMARY event alone.
    [alone] = current([first], [snapshot(T0 + 100)]).values()
    assert (alone.status, alone.inferred) == (CLOSED, True)
    assert current([first], [snapshot(T0 - 100)])[(IMAGE, key)] == first  # an older scan


def test_an_event_after_the_latest_snapshot_keeps_a_finding_it_does_not_list() -> None:
    old_scan = ev(T0, source="scan")
    later_event = ev(T0 + 200, ACTIVE)
    earlier_event = ev(T0 + 50, ACTIVE)

    assert current([old_scan, later_event], [snapshot(T0 + 100)])[(IMAGE, ARN)] == later_event
    inferred = current([old_scan, earlier_event], [snapshot(T0 + 100)])[(IMAGE, ARN)]
    assert (inferred.status, inferred.observed_ms, inferred.inferred) == (CLOSED, T0 + 100, True)
    # A closure already logged keeps its own time.
    closure = ev(T0 + 50, CLOSED)
    assert current([old_scan, closure], [snapshot(T0 + 100)])[(IMAGE, ARN)] == closure


def test_the_samples_records_join_the_only_registry_that_logged_their_image() -> None:
    sample = ev(T0, source="scan", key="CVE-1 zlib", account="")
    ours = ev(T0 + 100, source="scan", key="CVE-2 curl")

    state = current([sample, ours])

    assert {k[0] for k in state} == {IMAGE}  # one image
    assert state[(IMAGE, "CVE-1 zlib")].status == CLOSED  # our later scan did not list it


def test_a_samples_record_stays_without_registry_when_two_logged_its_image_or_none() -> None:
    sample = ev(T0, source="scan", key="CVE-1 zlib", account="")
    theirs = replace(ev(T0, source="scan", key="CVE-1 zlib"), account="222222222222")
    other = ev(T0, source="scan", key="CVE-1 zlib", digest="sha256:" + "cd" * 32)

    two = current([sample, ev(T0, source="scan", key="CVE-1 zlib"), theirs])
    none = current([sample, other])

    assert ("", "", "team/api", DIGEST) in {k[0] for k in two}  # ambiguous: left unknown
    assert ("", "", "team/api", DIGEST) in {k[0] for k in none}  # no registry logged it


def test_image_tags_are_the_latest_named() -> None:
    assert image_tags([ev(T0, tags=("v1",)), ev(T0 + 5, tags=())]) == {IMAGE: ("v1",)}
    assert image_tags([ev(T0, tags=("v1",)), ev(T0 + 5, tags=("v2",))]) == {IMAGE: ("v2",)}
    assert image_tags([ev(T0, tags=())]) == {IMAGE: ()}
    assert latest_snapshots([ev(T0)], [snapshot(T0 + 1)])[IMAGE].scan_ms == T0 + 1


# ---- properties ------------------------------------------------------------------------------

_DIGESTS = [DIGEST, "sha256:" + "cd" * 32]
_KEYS = [ARN, ARN + "b", "CVE-2024-1 zlib 1.2"]


@st.composite
def evidences(draw: st.DrawFn) -> Evidence:
    key = draw(st.sampled_from(_KEYS))
    source = "scan" if not key.startswith("arn:") else draw(st.sampled_from(["scan", "event"]))
    observed = T0 + draw(st.integers(0, 6)) * 10
    scan_ms = observed + draw(st.sampled_from([0, 5])) if source == "scan" else None
    if source == "scan" and not key.startswith("arn:"):
        scan_ms = observed
    return ev(
        observed,
        draw(st.sampled_from(STATUSES)) if key.startswith("arn:") else ACTIVE,
        source=source,
        key=key,
        scan_ms=scan_ms,
        digest=draw(st.sampled_from(_DIGESTS)),
        account=draw(st.sampled_from(["111122223333", ""])),
        tags=draw(st.sampled_from([("v1",), (), ("v2",)])),
        severity=draw(st.sampled_from(["HIGH", "LOW"])),
    )


snapshots = st.builds(
    snapshot, st.integers(0, 8).map(lambda n: T0 + n * 10), st.sampled_from(_DIGESTS)
)


@given(st.lists(evidences(), max_size=12), st.lists(snapshots, max_size=3), st.randoms())
def test_any_order_gives_the_same_current_state(
    found: list[Evidence], snaps: list[Snapshot], rng: Any
) -> None:
    shuffled, shuffled_snaps = found[:], snaps[:]
    rng.shuffle(shuffled)
    rng.shuffle(shuffled_snaps)

    assert current(shuffled, shuffled_snaps) == current(found, snaps)
    assert latest_logged(shuffled) == latest_logged(found)
    assert image_tags(shuffled, shuffled_snaps) == image_tags(found, snaps)


@given(st.lists(evidences(), min_size=1, max_size=12), st.lists(snapshots, max_size=3), st.data())
def test_duplicates_change_nothing(
    found: list[Evidence], snaps: list[Snapshot], data: st.DataObject
) -> None:
    again = data.draw(st.lists(st.sampled_from(found), max_size=6))

    assert current([*found, *again], snaps + snaps) == current(found, snaps)
    assert latest_logged([*found, *again]) == latest_logged(found)


@given(st.lists(evidences(), min_size=1, max_size=12), st.data())
def test_an_older_update_never_wins(found: list[Evidence], data: st.DataObject) -> None:
    before = current(found)
    logged = [e for e in before.values() if not e.inferred]  # a rescan's closure is no update
    if not logged:
        return
    winner = data.draw(st.sampled_from(sorted(logged, key=repr)))
    late = replace(
        winner,
        source="event",
        scan_ms=None,
        scan_time="",
        observed_ms=winner.observed_ms - data.draw(st.integers(1, 100)),
        status=data.draw(st.sampled_from(STATUSES)),
        inferred=False,
        event_id="late",
    )

    after = current([*found, late])

    assert after == before
    arn = winner.finding_arn
    if arn:
        assert latest_logged([*found, late])[arn] == latest_logged(found)[arn]


@given(st.lists(evidences(), max_size=12), st.lists(snapshots, max_size=3))
def test_every_current_finding_is_logged_evidence_or_a_closure_by_a_later_scan(
    found: list[Evidence], snaps: list[Snapshot]
) -> None:
    state = current(found, snaps)

    latest = latest_snapshots(found, snaps)
    for (image, key), e in state.items():
        assert e.key == (image, key)
        if e.inferred:
            assert e.status == CLOSED and e.observed_ms == latest[image].scan_ms
        else:
            # as logged, or with the registry of the only one that logged the image
            assert any(replace(f, account=e.account, region=e.region) == e for f in found)
    assert {k[1] for k in state} == {e.finding_key for e in found}
