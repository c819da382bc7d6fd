"""``backfill``: exactly the eligible images are enqueued, and the handler logs them."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from typer.testing import Result

from localaws import LocalAws, registry
from localaws import findings as generate
from pipeline import layout
from pipeline.config import DEFAULT_LOG_GROUP_PREFIX
from pipeline.events import decode

from .support import (
    MEMBER_ACCOUNT,
    Queues,
    SeededImage,
    depth,
    drain,
    member_credentials,
    seed_images,
)

NOW = datetime.now(UTC).replace(microsecond=0)
FILTERS = ("--repository-prefix", "team-", "--tagged-only", "--since", "30d")


@pytest.fixture
def ecr(aws_client: Callable[..., Any]) -> Any:
    return aws_client("ecr")


@pytest.fixture
def logs(aws_client: Callable[..., Any]) -> Any:
    return aws_client("logs")


@pytest.fixture
def registry_images(aws: LocalAws, ecr: Any, logs: Any) -> dict[str, SeededImage]:
    """Images in every state backfill distinguishes, by what is expected of them."""
    recent = seed_images(
        aws,
        ecr,
        [
            SeededImage("team-a/web", "v1", findings=7),  # eligible
            SeededImage("team-b/api", "2.0", kind="enhanced", findings=4),  # eligible, enhanced
            SeededImage("team-a/web", None, findings=3),  # untagged
            SeededImage("team-b/api", "3.0", findings=2),  # already logged
            SeededImage("other/tool", "x", findings=1),  # outside the prefix
            SeededImage("team-b/api", "3.1", findings=3),  # cut off mid-write: not logged
        ],
        completed_at=NOW - timedelta(days=2),
    )
    old = seed_images(
        aws,
        ecr,
        [SeededImage("team-a/web", "v0-old", findings=2)],
        completed_at=NOW - timedelta(days=60),
    )
    failed = seed_images(aws, ecr, [SeededImage("team-b/api", "1.0")], status="FAILED")
    unscanned = registry.push_image(ecr, "team-a/web", "v2-unscanned")
    images = dict(
        zip(["v1", "enhanced", "untagged", "logged", "other", "cut"], recent, strict=True),
        old=old[0],
        failed=failed[0],
    )
    images["unscanned"] = SeededImage("team-a/web", "v2-unscanned", digest=unscanned)
    group = layout.log_group_name(DEFAULT_LOG_GROUP_PREFIX, "team-b/api")
    logs.create_log_group(logGroupName=group)
    # "team-b/api:3.0" was logged before: its SUMMARY event exists (with another event time).
    # "team-b/api:3.1" was cut off: the consumer had created its SUMMARY stream, no more.
    for key, tag in (("logged", "3.0"), ("cut", "3.1")):
        stream = layout.stream_name("SUMMARY", tag, images[key].digest, "2024-01-02T03:04:05Z")
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        if key == "logged":
            logs.put_log_events(
                logGroupName=group,
                logStreamName=stream,
                logEvents=[{"timestamp": int(NOW.timestamp() * 1000), "message": "{}"}],
            )
    return images


def _backfill(cli: Callable[..., Result], *args: str) -> dict[str, Any]:
    result = cli("backfill", *args, "--json")
    assert result.exit_code == 0, result.stderr
    report: dict[str, Any] = json.loads(result.stdout)
    return report


@pytest.mark.parametrize("scans_from", ["DescribeImages", "DescribeImageScanFindings"])
def test_enqueues_exactly_the_eligible_images(
    cli: Callable[..., Result],
    aws: LocalAws,
    sqs: Any,
    queues: Queues,
    registry_images: dict[str, SeededImage],
    scans_from: str,
) -> None:
    # ECR's DescribeImages reports each image's scan; where it does not (moto), backfill asks
    # DescribeImageScanFindings image by image. Both must select the same images.
    aws.scan_summaries_in_describe_images = scans_from == "DescribeImages"
    aws.calls.clear()

    report = _backfill(cli, "--queue", queues.url, *FILTERS)

    # Seven tagged images under the prefix; only the unscanned one has no scan in DescribeImages.
    expected_asks = 1 if scans_from == "DescribeImages" else 7
    assert aws.calls["DescribeImageScanFindings"] == expected_asks
    # Only the SUMMARY stream without event timestamps is read to be sure.
    assert aws.calls["GetLogEvents"] == 1

    assert report["enqueued"] == report["eligible"] == 3
    actions = {i["image_digest"]: (i["action"], i["skip_reason"]) for i in report["images"]}
    expected = {
        "v1": ("enqueue", None),
        "enhanced": ("enqueue", None),
        "untagged": ("skip", "untagged"),
        "logged": ("skip", "already logged"),
        "cut": ("enqueue", None),
        "old": ("skip", "scanned earlier"),
        "failed": ("skip", "scan FAILED"),
        "unscanned": ("skip", "not scanned"),
    }
    assert actions == {registry_images[k].digest: v for k, v in expected.items()}

    scans = [decode(m["Body"]) for m in drain(sqs, queues.url)]
    assert {(s.kind, s.repository, s.digest, s.tags) for s in scans} == {
        ("basic", "team-a/web", registry_images["v1"].digest, ("v1",)),
        ("enhanced", "team-b/api", registry_images["enhanced"].digest, ("2.0",)),
        ("basic", "team-b/api", registry_images["cut"].digest, ("3.1",)),
    }
    basic = next(s for s in scans if s.repository == "team-a/web")
    assert basic.account == "123456789012" and basic.region == "us-east-1"
    assert basic.time == (NOW - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert sum(basic.severity_counts.values()) == 7  # type: ignore[union-attr]


def test_enqueued_events_are_logged_by_the_handler_and_not_enqueued_again(
    cli: Callable[..., Result],
    sqs: Any,
    logs: Any,
    queues: Queues,
    registry_images: dict[str, SeededImage],
    handler_env: Callable[[Any], Any],
) -> None:
    assert _backfill(cli, "--queue", queues.url, *FILTERS)["enqueued"] == 3

    stats = handler_env(sqs)

    assert (stats.received, stats.deleted, stats.failed) == (3, 3, 0)
    assert depth(sqs, queues.dlq_url) == (0, 0)
    for key in ("v1", "enhanced", "cut"):
        image = registry_images[key]
        group = layout.log_group_name(DEFAULT_LOG_GROUP_PREFIX, image.repository)
        streams = logs.describe_log_streams(
            logGroupName=group, logStreamNamePrefix=f"SUMMARY-{image.tag}-"
        )["logStreams"]
        assert len([s for s in streams if "2024-01-02" not in s["logStreamName"]]) == 1
        events = logs.filter_log_events(logGroupName=group)["events"]
        mine = [
            e
            for e in events
            if layout.digest_hex(image.digest) in e["logStreamName"]
            and not e["logStreamName"].startswith("SUMMARY")
        ]
        assert len(mine) == image.findings

    again = _backfill(cli, "--queue", queues.url, *FILTERS)
    assert again["enqueued"] == 0
    reasons = {i["image_digest"]: i["skip_reason"] for i in again["images"]}
    assert reasons[registry_images["v1"].digest] == "already logged"
    assert reasons[registry_images["enhanced"].digest] == "already logged"
    assert reasons[registry_images["cut"].digest] == "already logged"
    assert depth(sqs, queues.url) == (0, 0)


def test_dry_run_lists_without_a_queue_and_sends_nothing(
    cli: Callable[..., Result],
    sqs: Any,
    queues: Queues,
    registry_images: dict[str, SeededImage],
) -> None:
    result = cli("backfill", "--dry-run")

    assert result.exit_code == 0, result.stderr
    # No filters: the untagged, the old and the other repository's images are eligible too.
    assert "Dry run: 6 of 9 images would be enqueued" in result.stdout
    for text in ("team-a/web", "other/tool", "untagged", "skip: not scanned", "FAILED"):
        assert text in result.stdout
    assert depth(sqs, queues.url) == (0, 0)


def test_limit_and_forced_kind(
    cli: Callable[..., Result],
    sqs: Any,
    queues: Queues,
    registry_images: dict[str, SeededImage],
) -> None:
    report = _backfill(
        cli,
        "--queue",
        "findings",
        "--repository-prefix",
        "team-a/",
        "--limit",
        "1",
        "--kind",
        "enhanced",
    )

    assert report["enqueued"] == 1
    assert [i["skip_reason"] for i in report["images"]].count("over --limit") == 2
    [scan] = [decode(m["Body"]) for m in drain(sqs, queues.url)]
    assert scan.kind == "enhanced" and scan.repository == "team-a/web"


def test_a_refused_send_is_an_error(
    cli: Callable[..., Result],
    aws: LocalAws,
    queues: Queues,
    registry_images: dict[str, SeededImage],
) -> None:
    aws.inject_fault("SendMessageBatch", code="AccessDenied", status=403)

    result = cli("backfill", "--queue", queues.url, *FILTERS)

    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith(
        "error: the queue refused a message after 0 were sent: "
        "SendMessageBatch failed: AccessDenied"
    )


def test_a_member_registry_is_backfilled_into_the_central_queue(
    cli: Callable[..., Result],
    aws: LocalAws,
    aws_client: Callable[..., Any],
    sqs: Any,
    logs: Any,
    queues: Queues,
    handler_env: Callable[[Any], Any],
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A profile for the member account, as an operator's SSO or assume-role profile would be.
    member = member_credentials(aws_client("sts"))
    (tmp_path / "credentials").write_text(
        "[member]\n" + "".join(f"{key} = {value}\n" for key, value in member.items())
    )
    (tmp_path / "config").write_text("")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))

    member_ecr = aws_client("ecr", **member)
    registry.create_repository(member_ecr, "team-m/api")
    digest = registry.push_image(member_ecr, "team-m/api", "4.2")
    aws.seed_scan(
        "team-m/api",
        digest,
        generate.basic_findings(5, seed=8),
        registry_id=MEMBER_ACCOUNT,
        completed_at=NOW - timedelta(days=1),
    )
    # The central account's own registry is not the one asked for.
    seed_images(aws, aws_client("ecr"), [SeededImage("team-c/web", "1.0", findings=2)])

    report = _backfill(cli, "--registry-profile", "member", "--queue", queues.url)

    assert report["enqueued"] == 1
    assert [(i["account"], i["repository"]) for i in report["images"]] == [
        (MEMBER_ACCOUNT, "team-m/api")
    ]
    # The central consumer reads the member registry (the account the event names) and logs it
    # in the central account's log group.
    stats = handler_env(sqs)
    assert (stats.received, stats.deleted, stats.failed) == (1, 1, 0)
    group = layout.log_group_name(DEFAULT_LOG_GROUP_PREFIX, "team-m/api")
    streams = [
        s["logStreamName"] for s in logs.describe_log_streams(logGroupName=group)["logStreams"]
    ]
    assert any(s.startswith("SUMMARY-4.2-") for s in streams)


def test_an_unknown_registry_profile_is_one_clear_line(
    cli: Callable[..., Result], queues: Queues, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))

    result = cli("backfill", "--registry-profile", "nope", "--queue", queues.url)

    assert result.exit_code == 1
    assert "nope" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
