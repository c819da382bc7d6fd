"""``reconcile``: Inspector's findings that the logs miss or have stale are enqueued as
"Inspector2 Finding" events, logged by the real handler, and a second run sends nothing."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.parsers
import botocore.session
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import Result

from localaws import LocalAws, landed, registry
from localaws.inspector import Change, Inspector, as_scan_finding, image_finding
from localaws.rules import inspector2
from pipeline import layout
from pipeline.config import DEFAULT_LOG_GROUP_PREFIX
from pipeline.events import FindingEvent, decode
from pipeline.ops import reconcile as ops
from pipeline.ops.reconcile import iso_ms

from .support import Queues, depth

# Within CloudWatch's 14 days, so events keep their own timestamps.
T0 = (datetime.now(UTC) - timedelta(days=2)).replace(microsecond=411000)
REPOSITORIES = ("team-a/web", "team-a/api", "team-b/db", "other/tool")
PER_IMAGE = 14  # 4 repositories x 2 images x 14 = 112 findings: two ListFindings pages
SNAPSHOT_REPOSITORY = "team-b/db"


@dataclass
class World:
    """Inspector's findings and what the logs know of them, by what reconcile must do."""

    inspector: Inspector
    logged: list[str]  # finding ARNs whose current state is logged (events or snapshot)
    missing: list[str]
    stale: list[str]

    def updated(self, arn: str) -> str:
        finding = self.inspector.book.get(arn)
        assert finding is not None
        return iso_ms(datetime.fromtimestamp(finding["updatedAt"], UTC))


def _digest(repository: str, image: int) -> str:
    """The digest of the image ``registry.push_image`` pushes with this content."""
    return registry.manifest_digest(registry.image_manifest(f"{repository}:{image}"))


def _reconcile(cli: Callable[..., Result], *args: str) -> dict[str, Any]:
    result = cli("reconcile", *args, "--logs-rate", "100", "--inspector-rate", "100", "--json")
    assert result.exit_code == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def _queued(sqs: Any, url: str) -> list[FindingEvent]:
    """The events on the queue, decoded as the consumer decodes them; left on the queue."""
    messages: list[dict[str, Any]] = []
    while page := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60
    ).get("Messages", []):
        messages += page
    for start in range(0, len(messages), 10):
        sqs.change_message_visibility_batch(
            QueueUrl=url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                for i, m in enumerate(messages[start : start + 10])
            ],
        )
    decoded = [decode(m["Body"]) for m in messages]
    assert all(isinstance(e, FindingEvent) for e in decoded)
    return [e for e in decoded if isinstance(e, FindingEvent)]


def _finding_events_logged(logs: Any) -> Counter[tuple[str, str]]:
    """(findingArn, imageContext.eventId) of every finding event logged, counted."""
    seen: Counter[tuple[str, str]] = Counter()
    for repository in REPOSITORIES:
        group = layout.log_group_name(DEFAULT_LOG_GROUP_PREFIX, repository)
        for stream in landed.stream_names(logs, group):
            if not stream.startswith(layout.FINDING_EVENTS):
                continue
            for message in landed.messages(logs, group, stream):
                data = orjson.loads(message)
                seen[(data["findingArn"], data["imageContext"]["eventId"])] += 1
    return seen


@pytest.fixture
def logs(aws_client: Callable[..., Any]) -> Any:
    return aws_client("logs")


@pytest.fixture
def deliver(sqs: Any, queues: Queues, handler_env: Callable[[Any], Any]) -> Callable[..., int]:
    """Drain the queue through the real handler; nothing may fail. Returns messages done."""

    def drain(*events: dict[str, Any]) -> int:
        for event in events:
            sqs.send_message(QueueUrl=queues.url, MessageBody=json.dumps(event))
        stats = handler_env(sqs)
        assert stats.failed == 0 and depth(sqs, queues.dlq_url) == (0, 0)
        return int(stats.deleted)

    return drain


@pytest.fixture
def world(aws: LocalAws, aws_client: Callable[..., Any], deliver: Callable[..., int]) -> World:
    inspector = Inspector(aws.inspector_findings)
    changes: list[Change] = []
    n = 0
    for repository in REPOSITORIES:
        for image in range(2):
            digest = _digest(repository, image)
            for k in range(PER_IMAGE):
                changes.append(
                    inspector.seed(
                        image_finding(
                            repository=repository,
                            digest=digest,
                            tags=[f"v{image}"] if image else [],
                            vulnerability_id=f"CVE-2025-{10000 + n}",
                            severity=("CRITICAL", "HIGH", "MEDIUM", "LOW")[k % 4],
                            updated_at=T0 + timedelta(seconds=7 * n),
                        )
                    )
                )
                n += 1
    by_arn = {c.arn: c for c in changes}
    # Every 9th finding's event was never delivered: missing.
    missing = [c.arn for i, c in enumerate(changes) if i % 9 == 4]
    # One image of team-b/db is logged by its enhanced scan snapshot, not by events.
    snapshot_image = _digest(SNAPSHOT_REPOSITORY, 1)
    snapshot = [
        c
        for c in changes
        if c.finding["resources"][0]["details"]["awsEcrContainerImage"]["imageHash"]
        == snapshot_image
        and c.arn not in missing
    ]
    delivered = [c for c in changes if c.arn not in missing and c not in snapshot]
    assert deliver(*(c.event for c in delivered)) == len(delivered)

    ecr = aws_client("ecr")
    registry.create_repository(ecr, SNAPSHOT_REPOSITORY)
    pushed = registry.push_image(ecr, SNAPSHOT_REPOSITORY, "v1", content=f"{SNAPSHOT_REPOSITORY}:1")
    assert pushed == snapshot_image
    aws.seed_scan(
        SNAPSHOT_REPOSITORY,
        pushed,
        [as_scan_finding(c.finding) for c in snapshot],
        kind="enhanced",
        completed_at=T0 + timedelta(hours=1),
    )
    scan = registry.scan_event(
        kind="enhanced",
        repository=SNAPSHOT_REPOSITORY,
        digest=pushed,
        tags=["v1"],
        severity_counts={"HIGH": len(snapshot)},
        time=T0 + timedelta(hours=1),
    )
    assert deliver(scan) == 1

    # Later changes whose events were lost: one finding logged by an event is closed, one
    # logged by the snapshot is suppressed.
    later = T0 + timedelta(days=1, microseconds=5000)
    stale = [delivered[3].arn, snapshot[2].arn]
    inspector.close(stale[0], updated_at=later)
    inspector.update(stale[1], status="SUPPRESSED", updated_at=later + timedelta(seconds=1))
    logged = [arn for arn in by_arn if arn not in missing and arn not in stale]
    assert len(by_arn) == 112 and len(missing) == 12 and len(logged) == 98
    return World(inspector, logged, missing, stale)


def test_exactly_the_missing_and_stale_are_enqueued_then_logged_then_nothing(
    cli: Callable[..., Result],
    aws: LocalAws,
    sqs: Any,
    logs: Any,
    queues: Queues,
    world: World,
    deliver: Callable[..., int],
) -> None:
    aws.calls.clear()
    dry = _reconcile(cli, "--dry-run")

    expected = {(arn, world.updated(arn)) for arn in world.missing + world.stale}
    actions = {r["finding_arn"]: r["action"] for r in dry["to_enqueue"]}
    assert actions == {
        **dict.fromkeys(world.missing, "missing"),
        **dict.fromkeys(world.stale, "stale"),
    }
    assert (dry["findings"], dry["missing"], dry["stale"], dry["current"]) == (112, 12, 2, 98)
    assert dry["enqueued"] == 0 and depth(sqs, queues.url) == (0, 0)
    assert aws.calls["ListFindings"] == 2  # 112 findings, 100 a page
    assert aws.calls["FilterLogEvents"] == dry["log_groups_read"] == len(REPOSITORIES)
    closed = next(r for r in dry["to_enqueue"] if r["finding_arn"] == world.stale[0])
    assert (closed["status"], closed["logged_status"]) == ("CLOSED", "ACTIVE")

    # Two runs before the queue drains: the same events twice.
    for _ in range(2):
        assert _reconcile(cli, "--queue", "findings")["enqueued"] == 14
    queued = _queued(sqs, queues.url)
    assert len(queued) == 28
    assert {
        (e.finding_arn, iso_ms(datetime.fromtimestamp(e.updated_at_ms / 1000, UTC))) for e in queued
    } == expected
    assert len({e.event_id for e in queued}) == 14
    first = next(e for e in queued if e.finding_arn == world.stale[0])
    assert (first.status, first.repository, first.account) == (
        "CLOSED",
        REPOSITORIES[0],
        "123456789012",
    )

    assert deliver() == 28
    # Each enqueued event is logged once, whatever the copies.
    reconciled = {
        key: n for key, n in _finding_events_logged(logs).items() if key[1].startswith("reconcile-")
    }
    assert sorted(reconciled.values()) == [1] * 14
    assert {arn for arn, _id in reconciled} == set(world.missing + world.stale)

    again = _reconcile(cli, "--queue", "findings")
    assert (again["missing"], again["stale"], again["current"], again["enqueued"]) == (0, 0, 112, 0)
    assert depth(sqs, queues.url) == (0, 0)


def test_repository_prefix_and_since_narrow_what_is_read_and_sent(
    cli: Callable[..., Result], aws: LocalAws, world: World
) -> None:
    aws.calls.clear()
    team_a = _reconcile(cli, "--dry-run", "--repository-prefix", "team-a/")

    def repository(arn: str) -> str:
        finding = world.inspector.book.get(arn)
        assert finding is not None
        return str(finding["resources"][0]["details"]["awsEcrContainerImage"]["repositoryName"])

    wanted = [a for a in world.missing + world.stale if repository(a).startswith("team-a/")]
    assert sorted(r["finding_arn"] for r in team_a["to_enqueue"]) == sorted(wanted)
    assert team_a["findings"] == 56 and team_a["log_groups_read"] == 2
    assert aws.calls["FilterLogEvents"] == 2

    # Updated in the last 12 hours: only the two later changes (both stale).
    recent = _reconcile(cli, "--dry-run", "--since", (T0 + timedelta(hours=12)).isoformat())
    assert sorted(r["finding_arn"] for r in recent["to_enqueue"]) == sorted(world.stale)
    assert recent["findings"] == 2

    closed_only = _reconcile(cli, "--dry-run", "--status", "closed")
    assert [r["finding_arn"] for r in closed_only["to_enqueue"]] == [world.stale[0]]


def test_dry_run_needs_no_queue_and_prints_a_table(
    cli: Callable[..., Result], sqs: Any, queues: Queues, world: World
) -> None:
    result = cli("reconcile", "--dry-run", "--repository-prefix", "other/")

    assert result.exit_code == 0, result.stderr
    assert "other/tool" in result.stdout and "missing" in result.stdout
    assert "Dry run: 28 findings in 1 repository: 3 missing, 0 stale, 25 current" in result.stdout
    assert depth(sqs, queues.url) == (0, 0)


def test_no_queue_without_dry_run_is_a_usage_error(cli: Callable[..., Result]) -> None:
    result = cli("reconcile")
    assert result.exit_code == 2
    assert "--queue is required" in result.stderr


def test_no_inspector_access_is_one_clear_line(
    cli: Callable[..., Result], aws: LocalAws, queues: Queues
) -> None:
    aws.inject_fault(
        "ListFindings",
        code="AccessDeniedException",
        status=403,
        message="User is not authorized to perform: inspector2:ListFindings",
    )

    result = cli("reconcile", "--queue", queues.url)

    assert result.exit_code == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("error: no access to Amazon Inspector's findings")
    assert "AccessDeniedException" in result.stderr and "Traceback" not in result.stderr


def test_a_refused_send_stops_and_says_how_many_went(
    cli: Callable[..., Result], aws: LocalAws, sqs: Any, queues: Queues, world: World
) -> None:
    aws.inject_fault("SendMessageBatch", code="AccessDenied", status=403, after=1)

    result = cli("reconcile", "--queue", queues.url)

    assert result.exit_code == 1
    assert result.stderr.startswith(
        "error: the queue refused a message after 10 were sent: SendMessageBatch failed: "
        "AccessDenied"
    )
    assert len(result.stderr.strip().splitlines()) == 1
    assert depth(sqs, queues.url) == (10, 0)


# -- the pure parts ---------------------------------------------------------------------------


def _listed(**overrides: Any) -> ops.InspectorFinding:
    """A finding as boto3 returns it from ListFindings (datetimes), read by reconcile."""
    wire = inspector2.finding_wire(image_finding(repository="team/api", digest=DIGEST, **overrides))
    parsed = _BOTO.parse(
        {"status_code": 200, "headers": {}, "body": orjson.dumps({"findings": [wire]})},
        _LIST_FINDINGS.output_shape,
    )
    found = ops.inspector_finding(parsed["findings"][0], "us-east-1")
    assert found is not None
    return found


DIGEST = "sha256:" + "ab" * 32
_LIST_FINDINGS = (
    botocore.session.get_session().get_service_model("inspector2").operation_model("ListFindings")
)
_BOTO = botocore.parsers.create_parser("rest-json")


@settings(max_examples=50, deadline=None)
@given(
    ms=st.integers(0, 999),
    status=st.sampled_from(["ACTIVE", "SUPPRESSED", "CLOSED"]),
    tags=st.lists(st.sampled_from(["v1", "latest", "x" * 300]), max_size=3, unique=True),
)
def test_the_event_decodes_to_the_finding_it_was_made_of(
    ms: int, status: str, tags: list[str]
) -> None:
    updated = T0.replace(microsecond=ms * 1000)
    found = _listed(updated_at=updated, status=status, tags=tags)

    event = found.event()
    decoded = decode(orjson.dumps(event))

    assert isinstance(decoded, FindingEvent)
    assert (decoded.finding_arn, decoded.status, decoded.digest) == (found.arn, status, DIGEST)
    assert (decoded.repository, decoded.tags, decoded.account) == (
        "team/api",
        tuple(tags),
        "123456789012",
    )
    assert decoded.updated_at_ms == ops.epoch_ms(updated) == found.updated_ms
    assert decoded.event_id == found.event_id == _listed(updated_at=updated, status=status).event_id
    assert event["resources"] == [
        f"arn:aws:ecr:us-east-1:123456789012:repository/team/api/{DIGEST}"
    ]
    # The detail is the ListFindings finding, every member kept, times as ISO 8601.
    assert set(event["detail"]) == set(found.finding)
    assert event["detail"]["updatedAt"] == iso_ms(updated)


def test_another_update_is_another_event() -> None:
    first = _listed(updated_at=T0)
    assert first.event_id != _listed(updated_at=T0 + timedelta(milliseconds=1)).event_id
    assert first.event_id.startswith("reconcile-") and len(first.event_id) == 42


def test_compare_missing_stale_current() -> None:
    found = _listed(updated_at=T0)
    ms = found.updated_ms
    cases = {None: "missing", ms - 1: "stale", ms: "current", ms + 1: "current"}
    for logged, action in cases.items():
        seen = {} if logged is None else {found.arn: (logged, "ACTIVE")}
        assert [r.action for r in ops.compare([found], seen)] == [action]


def test_filter_criteria_of_a_selection() -> None:
    since = T0
    criteria = ops.filter_criteria(ops.ReconcileFilter("team-a/", since, ("ACTIVE", "CLOSED")))
    assert criteria == {
        "resourceType": [{"comparison": "EQUALS", "value": "AWS_ECR_CONTAINER_IMAGE"}],
        "ecrImageRepositoryName": [{"comparison": "PREFIX", "value": "team-a/"}],
        "updatedAt": [{"startInclusive": since}],
        "findingStatus": [
            {"comparison": "EQUALS", "value": "ACTIVE"},
            {"comparison": "EQUALS", "value": "CLOSED"},
        ],
    }
    assert list(ops.filter_criteria(ops.ReconcileFilter())) == ["resourceType"]


def test_a_finding_about_no_container_image_is_not_reconciled() -> None:
    wire = inspector2.finding_wire(image_finding(repository="team/api", digest=DIGEST))
    wire["resources"][0]["type"] = "AWS_EC2_INSTANCE"
    wire["updatedAt"] = T0
    assert ops.inspector_finding(wire, "us-east-1") is None
