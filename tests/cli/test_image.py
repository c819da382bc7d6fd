"""``image``: one image's current findings, by digest or tag, from its log group alone (scan
snapshots and finding events sent through the real handler); unknown images are errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from typer.testing import Result

from localaws import LocalAws, registry
from pipeline import layout
from pipeline.ops.hits import iso

from .sample_stack import write_like_the_sample
from .support import Queues

CVE = "CVE-2024-6119"
NOW = datetime.now(UTC).replace(microsecond=0)
SCANNED_AT = NOW - timedelta(hours=1)
CLOSED_AT, NEW_AT = NOW - timedelta(minutes=20), NOW - timedelta(minutes=10)
NEW_ARN = "arn:aws:inspector2:us-east-1:123456789012:finding/new-critical"


def _json(result: Result) -> Any:
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _send(sqs: Any, queues: Queues, handler_env: Callable[[Any], Any], *events: Any) -> None:
    for event in events:
        sqs.send_message(QueueUrl=queues.url, MessageBody=json.dumps(event))
    stats = handler_env(sqs)
    assert (stats.deleted, stats.failed) == (len(events), 0)


@pytest.fixture
def ecr(aws_client: Callable[..., Any]) -> Any:
    return aws_client("ecr")


@pytest.fixture
def payments(
    aws: LocalAws, ecr: Any, sqs: Any, queues: Queues, handler_env: Callable[[Any], Any]
) -> tuple[registry.PushedImage, str]:
    """An Inspector-scanned image (12 findings, the CVE among them) logged; then Inspector
    closes the CVE's finding and finds a new CRITICAL one. Returns the image and the ARN of
    the closed finding."""
    pushed = registry.push_scanned_image(
        aws, ecr, "payments-api", "1.8.3", 12, kind="enhanced", include_cves=[CVE]
    )
    scanned = registry.scan_event(
        kind="enhanced",
        repository="payments-api",
        digest=pushed.digest,
        tags=["1.8.3"],
        time=SCANNED_AT,
    )
    _send(sqs, queues, handler_env, scanned)
    assert pushed.scan is not None
    [arn] = [
        f["findingArn"]
        for f in pushed.scan.findings
        if f["packageVulnerabilityDetails"]["vulnerabilityId"] == CVE
    ]
    common = {"repository": "payments-api", "digest": pushed.digest, "tags": ["1.8.3"]}
    _send(
        sqs,
        queues,
        handler_env,
        registry.finding_event(
            **common, finding_arn=arn, status="CLOSED", vulnerability_id=CVE, updated_at=CLOSED_AT
        ),
        registry.finding_event(
            **common,
            finding_arn=NEW_ARN,
            severity="CRITICAL",
            vulnerability_id="CVE-2026-0001",
            package="glibc",
            updated_at=NEW_AT,
        ),
    )
    return pushed, arn


def test_the_current_findings_of_an_image_by_tag_critical_first(
    cli: Callable[..., Result], payments: tuple[registry.PushedImage, str]
) -> None:
    pushed, closed_arn = payments

    view = _json(cli("image", "payments-api:1.8.3", "--json"))

    assert (view["image_digest"], view["tags"]) == (pushed.digest, ["1.8.3"])
    assert view["registries"] == [{"account": registry.DEFAULT_ACCOUNT, "region": "us-east-1"}]
    assert (view["scans_logged"], view["finding_events_logged"]) == (1, 2)
    assert view["findings_by_status"] == {"ACTIVE": 12, "CLOSED": 1}  # 11 scanned + 1 new
    arns = [f["finding_arn"] for f in view["findings"]]
    assert closed_arn not in arns and NEW_ARN in arns and len(arns) == 12
    ranks = [layout.severity_rank(f["severity"]) for f in view["findings"]]
    assert ranks == sorted(ranks) and view["findings"][0]["severity"] == "CRITICAL"
    [new] = [f for f in view["findings"] if f["finding_arn"] == NEW_ARN]
    assert (new["source"], new["changed_at"]) == ("event", iso(int(NEW_AT.timestamp() * 1000)))
    assert sum(view["findings_by_severity"].values()) == 12


def test_by_digest_or_a_digest_prefix_and_with_every_status(
    cli: Callable[..., Result], payments: tuple[registry.PushedImage, str]
) -> None:
    pushed, closed_arn = payments
    by_tag = _json(cli("image", "payments-api:1.8.3", "--json"))

    by_digest = _json(cli("image", f"payments-api@{pushed.digest}", "--json"))
    by_prefix = _json(cli("image", f"payments-api@{pushed.digest[7:19]}", "--json"))
    every = _json(cli("image", f"payments-api@{pushed.digest}", "--status", "all", "--json"))

    assert by_digest["findings"] == by_tag["findings"] == by_prefix["findings"]
    [closed] = [f for f in every["findings"] if f["status"] == "CLOSED"]
    assert (closed["finding_arn"], closed["changed_at"]) == (
        closed_arn,
        iso(int(CLOSED_AT.timestamp() * 1000)),
    )
    assert every["findings"][-1] == closed  # ACTIVE ones first


def test_table(cli: Callable[..., Result], payments: tuple[registry.PushedImage, str]) -> None:
    pushed, _ = payments

    result = cli("image", "payments-api:1.8.3")

    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"payments-api@{pushed.digest} (1.8.3)"
    for text in ("Severity", "Vulnerability", "Status", "CVE-2026-0001", "finding event"):
        assert text in result.stdout
    view = _json(cli("image", "payments-api:1.8.3", "--json"))
    severities = ", ".join(f"{n} {s}" for s, n in view["findings_by_severity"].items())
    assert f"12 ACTIVE findings: {severities}." in result.stdout
    assert severities.split(" ")[1] == "CRITICAL,"
    assert "Not shown: 1 CLOSED (--status all shows them)." in result.stdout
    first_row = next(line for line in lines if "│" in line and "CVE-" in line)
    assert "CRITICAL" in first_row


def test_an_image_deleted_from_ecr_is_still_shown(
    cli: Callable[..., Result], ecr: Any, payments: tuple[registry.PushedImage, str]
) -> None:
    pushed, _ = payments
    ecr.batch_delete_image(repositoryName="payments-api", imageIds=[{"imageDigest": pushed.digest}])

    view = _json(cli("image", "payments-api:1.8.3", "--json"))

    assert view["image_digest"] == pushed.digest and len(view["findings"]) == 12


def test_a_tag_names_the_image_it_named_last(
    cli: Callable[..., Result],
    aws: LocalAws,
    ecr: Any,
    sqs: Any,
    queues: Queues,
    handler_env: Callable[[Any], Any],
) -> None:
    # Each image is logged before the next push moves the tag (ECR drops the old image's).
    pushed = []
    for content, findings, when in (
        ("old", 3, NOW - timedelta(days=2)),
        ("new", 5, NOW - timedelta(days=1)),
    ):
        image = registry.push_scanned_image(
            aws, ecr, "tools/shell", "latest", findings, content=content
        )
        pushed.append(image)
        event = registry.scan_event(
            repository="tools/shell", digest=image.digest, tags=["latest"], time=when
        )
        _send(sqs, queues, handler_env, event)
    old, new = pushed

    view = _json(cli("image", "tools/shell:latest", "--json"))
    table = cli("image", "tools/shell:latest")

    assert view["image_digest"] == new.digest
    assert len(view["findings"]) == 5
    assert [t.split(" ")[0] for t in view["tag_also_named"]] == [old.digest]
    assert f"The tag latest also named {old.digest}" in table.stdout


def test_an_image_known_only_from_finding_events(
    cli: Callable[..., Result], sqs: Any, queues: Queues, handler_env: Callable[[Any], Any]
) -> None:
    digest = registry.manifest_digest("events only")
    event = registry.finding_event(
        repository="web/api", digest=digest, tags=["v3"], vulnerability_id=CVE, updated_at=NEW_AT
    )
    _send(sqs, queues, handler_env, event)

    view = _json(cli("image", "web/api:v3", "--json"))

    assert (view["image_digest"], view["latest_scan"], view["scans_logged"]) == (digest, None, 0)
    [finding] = view["findings"]
    assert (finding["vulnerability_id"], finding["status"]) == (CVE, "ACTIVE")


def test_the_samples_history_is_read_from_its_streams(
    cli: Callable[..., Result], aws: LocalAws, ecr: Any, logs: Any
) -> None:
    pushed = registry.push_scanned_image(
        aws, ecr, "web/storefront", "release-2026-03", 7, include_cves=["CVE-2024-2961"]
    )
    event = registry.scan_event(
        repository="web/storefront", digest=pushed.digest, tags=["release-2026-03"], time=NOW
    )
    write_like_the_sample(ecr, logs, event)

    view = _json(cli("image", "web/storefront:release-2026-03", "--json"))

    assert view["image_digest"] == pushed.digest
    assert view["registries"] == [{"account": None, "region": None}]  # the sample logs none
    assert len(view["findings"]) == 7
    assert "CVE-2024-2961" in {f["vulnerability_id"] for f in view["findings"]}


@pytest.fixture
def logs(aws_client: Callable[..., Any]) -> Any:
    return aws_client("logs")


def test_unknown_images_are_clear_errors(
    cli: Callable[..., Result], payments: tuple[registry.PushedImage, str]
) -> None:
    other = "sha256:" + "0" * 64
    cases = {
        ("payments-api:9.9.9",): "no image tagged '9.9.9' is logged in "
        "/aws/ecr/image-scan-findings/payments-api",
        ("nothere:v1",): "nothing is logged for repository 'nothere': no log group "
        "/aws/ecr/image-scan-findings/nothere",
        (f"payments-api@{other}",): f"image payments-api@{other} is not logged in",
        ("payments-api@000000000000",): "no logged scan of payments-api has a digest starting",
    }
    for args, expected in cases.items():
        result = cli("image", *args)
        assert result.exit_code == 1, (args, result.output)
        assert result.stderr.startswith("error: ") and expected in result.stderr, result.stderr
        assert result.stdout == ""


@pytest.mark.parametrize(
    ("ref", "expected"),
    [
        ("payments-api", "name an image as REPOSITORY:TAG or REPOSITORY@DIGEST"),
        ("payments-api@sha256:xyz", "not an image digest"),
        ("Payments:v1", "not a repository name"),
        ("payments-api:bad tag", "not an image tag"),
    ],
)
def test_bad_references_are_usage_errors(
    cli: Callable[..., Result], aws: LocalAws, ref: str, expected: str
) -> None:
    result = cli("image", ref)

    assert result.exit_code == 2
    assert expected in result.stderr and result.stdout == ""


def test_help_has_examples(cli: Callable[..., Result]) -> None:
    result = cli("image", "--help")

    assert result.exit_code == 0 and "Examples:" in result.stdout
