"""``search`` answers which images have a vulnerability *now*: scan snapshots and finding events
("Inspector2 Finding", sent through the real handler) merged per image and finding, the latest
evidence winning; ``--status`` shows the others with the time of the change."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from typer.testing import Result

from localaws import LocalAws, landed, registry
from localaws.findings import basic_findings
from pipeline import layout
from pipeline.ops.hits import iso

from .support import Queues, SeededImage, enqueue_scan_events, seed_images

CVE = "CVE-2024-6119"
PREFIX = "/aws/ecr/image-scan-findings/"
WEB_DIGEST = registry.manifest_digest("web/api events only")
NOW = datetime.now(UTC).replace(microsecond=0)
T1, T2, T3, T4 = (NOW - timedelta(minutes=m) for m in (40, 30, 20, 10))


def _search(cli: Callable[..., Result], *args: str) -> dict[str, Any]:
    result = cli("search", *args, "--rate", "100", "--json")
    assert result.exit_code == 0, result.stderr
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def _rows(found: dict[str, Any]) -> dict[tuple[str, str], tuple[str, str, str]]:
    """(repository, digest) → (status, severity, changed_at)."""
    return {
        (h["repository"], h["image_digest"]): (h["status"], h["severity"], h["changed_at"])
        for h in found["hits"]
    }


@pytest.fixture
def deliver(sqs: Any, queues: Queues, handler_env: Callable[[Any], Any]) -> Callable[..., None]:
    """Send finding events through the queue and the real handler; all must be logged."""

    def send(*events: dict[str, Any]) -> None:
        for event in events:
            sqs.send_message(QueueUrl=queues.url, MessageBody=json.dumps(event))
        stats = handler_env(sqs)
        assert (stats.deleted, stats.failed) == (len(events), 0)

    return send


@pytest.fixture
def payments(
    aws: LocalAws,
    aws_client: Callable[..., Any],
    sqs: Any,
    queues: Queues,
    handler_env: Callable[[Any], Any],
) -> tuple[SeededImage, str]:
    """An Inspector-scanned image with the CVE, logged; and the CVE finding's ARN."""
    pushed = registry.push_scanned_image(
        aws, aws_client("ecr"), "payments-api", "1.8.3", 8, kind="enhanced", include_cves=[CVE]
    )
    image = SeededImage("payments-api", "1.8.3", "enhanced", 8, [CVE], pushed.digest)
    enqueue_scan_events(sqs, queues.url, [image])
    assert handler_env(sqs).deleted == 1
    assert pushed.scan is not None
    [arn] = [
        f["findingArn"]
        for f in pushed.scan.findings
        if f["packageVulnerabilityDetails"]["vulnerabilityId"] == CVE
    ]
    return image, arn


def web_event(status: str, updated: datetime, severity: str = "HIGH", **extra: Any) -> Any:
    return registry.finding_event(
        repository="web/api",
        digest=WEB_DIGEST,
        tags=["v3"],
        finding_arn="arn:aws:inspector2:us-east-1:123456789012:finding/web-api-6119",
        status=status,
        severity=severity,
        vulnerability_id=CVE,
        updated_at=updated,
        **extra,
    )


@pytest.mark.parametrize("engine", ["filter", "insights"])
def test_created_updated_closed_the_search_answers_after_each_step(
    cli: Callable[..., Result],
    logs_client: Any,
    payments: tuple[SeededImage, str],
    deliver: Callable[..., None],
    engine: str,
) -> None:
    image, payments_arn = payments
    search = lambda *a: _search(cli, CVE, "--engine", engine, *a)  # noqa: E731
    pay, web = ("payments-api", image.digest), ("web/api", WEB_DIGEST)

    [hit] = search()["hits"]
    assert (hit["repository"], hit["status"], hit["source"]) == ("payments-api", "ACTIVE", "scan")
    assert hit["finding_arn"] == payments_arn

    deliver(web_event("ACTIVE", T1))  # created: a new image has it
    created = search()
    assert _rows(created)[web] == ("ACTIVE", "HIGH", iso(int(T1.timestamp() * 1000)))
    assert set(_rows(created)) == {pay, web}
    [web_hit] = [h for h in created["hits"] if h["repository"] == "web/api"]
    assert (web_hit["source"], web_hit["tags"], web_hit["scan_time"]) == ("event", ["v3"], None)
    # The finding event is found by the same filter as scan findings: its detail is at top
    # level, so $.packageVulnerabilityDetails.vulnerabilityId names the CVE.
    stream = layout.finding_events_stream(int(T1.timestamp() * 1000))  # its event's time
    [message] = landed.messages(logs_client, PREFIX + "web/api", stream)
    assert orjson.loads(message)["packageVulnerabilityDetails"]["vulnerabilityId"] == CVE

    deliver(web_event("ACTIVE", T2, severity="CRITICAL"))  # updated
    assert _rows(search())[web] == ("ACTIVE", "CRITICAL", iso(int(T2.timestamp() * 1000)))

    deliver(web_event("CLOSED", T3, severity="CRITICAL"))  # closed
    closed = search()
    assert set(_rows(closed)) == {pay}
    assert closed["images_not_shown_by_status"] == {"CLOSED": 1}
    every = search("--status", "all")
    assert _rows(every)[web] == ("CLOSED", "CRITICAL", iso(int(T3.timestamp() * 1000)))
    assert _rows(every)[pay][0] == "ACTIVE"
    assert set(_rows(search("--status", "closed"))) == {web}

    # Inspector closes the scanned image's finding too: an event after its snapshot wins.
    deliver(
        registry.finding_event(
            repository="payments-api",
            digest=image.digest,
            tags=["1.8.3"],
            finding_arn=payments_arn,
            status="CLOSED",
            vulnerability_id=CVE,
            updated_at=T4,
        )
    )
    assert search()["hits"] == []
    assert _rows(search("--status", "all"))[pay][0] == "CLOSED"
    table = cli("search", CVE, "--engine", engine, "--rate", "100")
    assert table.exit_code == 0, table.stderr
    assert f"No image has {CVE} in 2 log groups" in table.stdout
    assert "Not shown: images where it is now 2 CLOSED (--status all shows them)." in table.stdout


def test_an_out_of_order_update_never_becomes_current_and_duplicates_change_nothing(
    cli: Callable[..., Result], aws: LocalAws, deliver: Callable[..., None]
) -> None:
    closed = web_event("CLOSED", T2, time=T2)
    deliver(closed)  # the newer change arrives first
    deliver(web_event("ACTIVE", T1, time=T1))  # then an older one
    deliver(dict(closed))  # and the newer one again (same EventBridge id)

    assert _search(cli, CVE)["hits"] == []
    [hit] = _search(cli, CVE, "--status", "all")["hits"]
    assert (hit["status"], hit["changed_at"]) == ("CLOSED", iso(int(T2.timestamp() * 1000)))
    history = _search(cli, CVE, "--status", "all", "--all-scans")["hits"]
    assert sorted(h["status"] for h in history) == ["ACTIVE", "CLOSED"]  # both logged once


@pytest.mark.parametrize("engine", ["filter", "insights"])
def test_a_basic_image_rescanned_without_the_cve_is_no_longer_listed(
    cli: Callable[..., Result],
    aws: LocalAws,
    aws_client: Callable[..., Any],
    sqs: Any,
    queues: Queues,
    handler_env: Callable[[Any], Any],
    engine: str,
) -> None:
    cve = "CVE-2024-2961"
    fixed, still = seed_images(
        aws,
        aws_client("ecr"),
        [
            SeededImage("web/storefront", "v2", findings=6, cves=[cve]),
            SeededImage("web/storefront", "v1", findings=4, cves=[cve]),
        ],
    )
    for image in (fixed, still):
        event = registry.scan_event(
            repository=image.repository, digest=image.digest, tags=[str(image.tag)], time=T1
        )
        sqs.send_message(QueueUrl=queues.url, MessageBody=json.dumps(event))
    assert handler_env(sqs).deleted == 2
    assert {h["image_digest"] for h in _search(cli, cve, "--engine", engine)["hits"]} == {
        fixed.digest,
        still.digest,
    }

    # Rebuilt without the vulnerable package, scanned again: the CVE is gone from the scan.
    aws.seed_scan("web/storefront", fixed.digest, basic_findings(5, seed="rebuilt"))
    rescan = registry.scan_event(
        repository="web/storefront", digest=fixed.digest, tags=["v2"], time=T3
    )
    sqs.send_message(QueueUrl=queues.url, MessageBody=json.dumps(rescan))
    assert handler_env(sqs).deleted == 1

    now = _search(cli, cve, "--engine", engine)
    assert {h["image_digest"] for h in now["hits"]} == {still.digest}
    assert now["images_not_shown_by_status"] == {"CLOSED": 1}
    every = _search(cli, cve, "--engine", engine, "--status", "all")
    [gone] = [h for h in every["hits"] if h["image_digest"] == fixed.digest]
    assert (gone["status"], gone["source"]) == ("CLOSED", "rescan")
    assert gone["changed_at"] == gone["scan_time"] == layout_time(T3)
    table = cli("search", cve, "--engine", engine, "--status", "all", "--rate", "100")
    assert table.exit_code == 0, table.stderr
    assert "CLOSED (rescan)" in table.stdout and "Status" in table.stdout


def layout_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_status_values_are_checked(cli: Callable[..., Result]) -> None:
    result = cli("search", CVE, "--status", "fixed")

    assert result.exit_code == 2
    assert "'fixed'" in result.stderr


@pytest.fixture
def logs_client(aws_client: Callable[..., Any]) -> Any:
    return aws_client("logs")
