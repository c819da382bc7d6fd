"""``make demo``: the whole pipeline, end to end, on an embedded local AWS.

A moto server starts in this process. The demo creates the queue, its dead-letter queue and
the EventBridge rule, seeds ECR with repositories and scanned images (realistic findings, real
pagination), publishes the scan-complete events to EventBridge, drains the queue through the
real Lambda handler with the local event source mapping, and then shows what landed in
CloudWatch Logs and which images have one CVE. Then a new CVE is published: Inspector's
finding events (created, updated, closed; one delivered twice, one late) go the same way, and
the demo shows which images have it now and one image's current findings. The handler
notifies an SNS topic (an SQS queue subscribed stands in for the on-call engineer's inbox) and
archives every logged scan and batch of finding events into a versioned S3 bucket under
Object Lock: the demo prints what the inbox received, what the bucket holds, and what
``ecr-findings archive query`` finds there. Last, what the dead-letter queue holds and why.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import orjson
from rich.console import Console
from rich.rule import Rule

from localaws import LocalAws, landed, registry
from localaws.env import without_aws
from pipeline import layout
from pipeline.cli import output
from pipeline.cli.demo import archived, inbox, show
from pipeline.config import DEFAULT_LOG_GROUP_PREFIX
from pipeline.events import ScanKind
from pipeline.function import Function

_WIDTH = 120  # fits the README
CVE = "CVE-2024-2961"  # glibc iconv() out-of-bounds write: the one the demo searches for
# The CVE "published" after the initial scans (an id of the future: nothing real has it).
NEW_CVE = "CVE-2026-4242"
MAX_RECEIVE_COUNT = 5
# Notified: CRITICAL findings, and any finding naming a watched id whatever its severity.
NOTIFY_MIN_SEVERITY = "CRITICAL"
WATCHED = (CVE, NEW_CVE)
RULE = "ecr-image-scan-findings"
# The central rule's pattern (infra/): completed scans, and finding changes of images.
EVENT_PATTERN = {
    "$or": [
        {
            "source": ["aws.ecr", "aws.inspector2"],
            "detail-type": ["ECR Image Scan", "Inspector2 Scan"],
            "detail": {
                "scan-status": ["COMPLETE", "INITIAL_SCAN_COMPLETE"],
                "repository-name": [{"exists": True}],
            },
        },
        {
            "source": ["aws.inspector2"],
            "detail-type": ["Inspector2 Finding"],
            "detail": {"resources": {"type": ["AWS_ECR_CONTAINER_IMAGE"]}},
        },
    ]
}


@dataclass(frozen=True)
class Image:
    repository: str
    tag: str | None
    kind: ScanKind
    findings: int
    has_cve: bool
    scanned: bool = True  # False: the event arrives but ECR has no scan for it
    deleted: bool = False  # True: the image is gone by the time the event is processed


IMAGES = (
    Image("web/storefront", "v2.14.0", "basic", 45, has_cve=True),
    Image("web/storefront", None, "basic", 18, has_cve=True),
    Image("payments-api", "1.8.3", "enhanced", 60, has_cve=True),
    Image("auth/gateway", "4.2.0", "enhanced", 9, has_cve=False),
    Image("data/etl/spark-jobs", "3.5.1", "basic", 1_250, has_cve=True),
    Image("tools/debug-shell", "latest", "basic", 6, has_cve=False),
    Image("tools/debug-shell", "nightly", "basic", 0, has_cve=False, scanned=False),
    Image("web/storefront", "v2.13.9", "basic", 12, has_cve=False, deleted=True),
)
# What the CLI needs to reach the local AWS (dummy credentials: moto accepts any).
_CLI_ENV = ("AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
MALFORMED_BODY = '{"detail-type": "ECR Image Scan", "source": "aws.ecr", "detail": '


def run(*, keep_running: bool = False) -> None:
    out = output.console(max_width=_WIDTH)
    started = time.monotonic()
    with LocalAws() as aws, _environment(aws):
        function = Function()  # reads its settings from the environment set just now
        try:
            _scenario(aws, out, function)
        finally:
            function.reset()
        out.print(Rule())
        out.print(f"Demo finished in {time.monotonic() - started:.1f} s.")
        if keep_running:
            out.print(f"Local AWS at {aws.endpoint_url} stays up. From another shell:")
            exports = " ".join(f"{k}={v}" for k, v in aws.env().items() if k in _CLI_ENV)
            out.print(f"  export {exports}", soft_wrap=True, markup=False, highlight=False)
            out.print("  ecr-findings dlq status --queue ecr-findings-dlq", highlight=False)
            out.print(
                f"  ecr-findings archive query {CVE} --bucket {archived.BUCKET}", highlight=False
            )
            out.print("Ctrl-C to stop.")
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(3600)


@contextlib.contextmanager
def _environment(aws: LocalAws) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(without_aws(saved))
    os.environ.update(aws.env())
    os.environ.update(
        {
            "MAX_RECEIVE_COUNT": str(MAX_RECEIVE_COUNT),
            "EMIT_METRICS": "true",  # tallied from the handler's output, not shown
            "FINDINGS_LOG_GROUP_PREFIX": DEFAULT_LOG_GROUP_PREFIX,
            "ARCHIVE_BUCKET": archived.BUCKET,
            "ARCHIVE_PREFIX": archived.PREFIX,
            "NOTIFY_MIN_SEVERITY": NOTIFY_MIN_SEVERITY,
            "WATCHED_VULNERABILITIES": ",".join(WATCHED),
        }
    )
    for name in (
        "LOG_KMS_KEY_ARN",
        "LOG_RETENTION_DAYS",
        "ARCHIVE_KMS_KEY_ARN",
        "NOTIFY_MAX_MESSAGES",
        "NOTIFY_TOPIC_ARN",
    ):
        os.environ.pop(name, None)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@dataclass
class Metered:
    """What the handler's metrics (its EMF lines) counted over the demo's invocations."""

    notifications: int = 0
    archive_objects: int = 0

    def add(self, document: Mapping[str, Any]) -> None:
        if document["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [[]]:
            self.notifications += int(document.get("Notifications", 0))
            self.archive_objects += int(document.get("ArchiveObjects", 0))


def _scenario(aws: LocalAws, out: Console, function: Function) -> None:
    names = ("sqs", "events", "ecr", "logs", "sns", "s3", "athena")
    clients = {name: boto3.client(name) for name in names}
    sqs, events, ecr, logs, sns, s3 = (clients[n] for n in names[:-1])
    metered = Metered()

    out.print(Rule("1. Infrastructure"))
    queue_url, dlq_url = _queues(sqs)
    os.environ["DEAD_LETTER_QUEUE_URL"] = dlq_url
    _rule(events, sqs, queue_url)
    on_call = inbox.create(sns, sqs)
    os.environ["NOTIFY_TOPIC_ARN"] = on_call.topic_arn
    archived.create_bucket(s3)
    out.print(f"Local AWS (moto) at {aws.endpoint_url}, account 123456789012, {aws.region}")
    out.print(
        f"SQS queue {show.queue_name(queue_url)}, redriven to {show.queue_name(dlq_url)} after "
        f"{MAX_RECEIVE_COUNT} receives"
    )
    out.print(
        f"EventBridge rule {RULE}: ECR and Inspector scan-complete events, and Inspector "
        "finding changes of images → the queue"
    )
    out.print(
        f"SNS topic {inbox.TOPIC}, and SQS queue {inbox.INBOX} subscribed to it (what the "
        "on-call engineer receives)"
    )
    out.print(
        f"Notified: findings at {NOTIFY_MIN_SEVERITY} or above, and any naming a watched "
        f"vulnerability ({', '.join(WATCHED)})"
    )
    out.print(archived.describe_bucket(s3))

    out.print(Rule("2. ECR: repositories, images and scans"))
    scan_events = _seed(aws, ecr, out)

    out.print(Rule("3. Scan events: EventBridge → SQS (plus one malformed message)"))
    _publish(events, scan_events)
    sqs.send_message(QueueUrl=queue_url, MessageBody=MALFORMED_BODY)
    for image in IMAGES:
        if image.deleted:
            digest = _digest(image)
            ecr.batch_delete_image(
                repositoryName=image.repository, imageIds=[{"imageDigest": digest}]
            )
    depth = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]["ApproximateNumberOfMessages"]
    out.print(f"{len(scan_events)} events published; {depth} messages waiting on the queue")

    out.print(Rule("4. Consumer: the Lambda handler, fed by the local event source mapping"))
    _drain(queue_url, sqs, out, function, metered)
    on_call.collect("After the scans (section 4)")

    out.print(Rule("5. CloudWatch Logs: what landed"))
    largest = max(IMAGES, key=lambda i: i.findings)  # its findings take several pages
    show.logs_landed(logs, out, largest.repository)

    out.print(Rule(f"6. $ ecr-findings search {CVE}"))
    show.cve_search(logs, out, CVE)

    out.print(Rule(f"7. Continuous scanning: {NEW_CVE} is published"))
    _publish_new_cve(events, sqs, logs, queue_url, out, function, metered)
    on_call.collect("After the finding events (section 7)")

    out.print(Rule(f"8. $ ecr-findings search {NEW_CVE} --status all"))
    show.cve_search(logs, out, NEW_CVE, statuses=None)

    gateway = f"{_GATEWAY.repository}:{_GATEWAY.tag}"
    out.print(Rule(f"9. $ ecr-findings image {gateway}"))
    show.image_view(logs, out, gateway)

    out.print(Rule("10. Notifications: what the on-call engineer receives"))
    inbox.show(out, on_call, metered.notifications, in_full=_GATEWAY.repository)

    out.print(Rule("11. S3 archive"))
    smallest = min((i for i in IMAGES if i.scanned and not i.deleted), key=lambda i: i.findings)
    archived.show_objects(out, s3, metered.archive_objects, smallest.repository)

    out.print(Rule(f"12. $ ecr-findings archive query {CVE}"))
    archived.show_query(out, s3, clients["athena"], CVE)

    out.print(Rule("13. $ ecr-findings dlq status / dlq peek"))
    show.dead_letters(sqs, dlq_url, out)


def _queues(sqs: Any) -> tuple[str, str]:
    dlq_url = str(sqs.create_queue(QueueName="ecr-findings-dlq")["QueueUrl"])
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    policy = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": MAX_RECEIVE_COUNT}
    queue_url = sqs.create_queue(
        QueueName="ecr-findings",
        Attributes={"RedrivePolicy": json.dumps(policy), "VisibilityTimeout": "900"},
    )["QueueUrl"]
    return str(queue_url), dlq_url


def _rule(events: Any, sqs: Any, queue_url: str) -> None:
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    events.put_rule(Name=RULE, EventPattern=json.dumps(EVENT_PATTERN), State="ENABLED")
    events.put_targets(Rule=RULE, Targets=[{"Id": "findings-queue", "Arn": queue_arn}])


def _digest(image: Image) -> str:
    content = f"{image.repository}:{image.tag or 'untagged'}:demo"
    return registry.manifest_digest(registry.image_manifest(content))


def _seed(aws: LocalAws, ecr: Any, out: Console) -> list[dict[str, Any]]:
    # The initial scans finished an hour ago; the new CVE is published after them.
    scanned_at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    grid = output.table("Repository", "Tag", "Digest", "Scan", "Findings", "Note")
    scan_events = []
    for repository in sorted({i.repository for i in IMAGES}):
        registry.create_repository(ecr, repository)
    for n, image in enumerate(IMAGES):
        pushed = registry.push_scanned_image(
            aws,
            ecr,
            image.repository,
            image.tag,
            image.findings,
            kind=image.kind,
            content=f"{image.repository}:{image.tag or 'untagged'}:demo",
            seed=n,
            include_cves=[CVE] if image.has_cve else [],
            scanned=image.scanned,
        )
        digest = pushed.digest
        scan_events.append(
            registry.scan_event(
                kind=image.kind,
                repository=image.repository,
                digest=digest,
                tags=pushed.tags,
                severity_counts=pushed.scan.severity_counts if pushed.scan else None,
                time=scanned_at,
            )
        )
        grid.add_row(
            image.repository,
            image.tag or "(untagged)",
            output.short_digest(digest),
            "enhanced (Inspector)" if image.kind == "enhanced" else "basic",
            f"{image.findings:,}" if image.scanned else "-",
            _note(image),
        )
    out.print(grid)
    return scan_events


def _note(image: Image) -> str:
    if image.deleted:
        return "deleted before processing"
    if not image.scanned:
        return "no scan in ECR"
    if image.findings > 1_000:
        return "> 1,000 findings: several pages"
    return f"has {CVE}" if image.has_cve else ""


def _publish(events: Any, scan_events: list[dict[str, Any]]) -> None:
    entries = [
        {
            "Source": e["source"],
            "DetailType": e["detail-type"],
            "Detail": json.dumps(e["detail"]),
            "Resources": e["resources"],
            "Time": e["time"],
        }
        for e in scan_events
    ]
    for start in range(0, len(entries), 10):
        answer = events.put_events(Entries=entries[start : start + 10])
        if answer.get("FailedEntryCount"):
            raise RuntimeError(f"EventBridge refused events: {answer['Entries']}")


@dataclass(frozen=True)
class Change:
    """One finding change Inspector announces, and what the demo says of it."""

    image: Image
    status: str
    severity: str
    minutes: int  # updatedAt, minutes after the CVE was published
    note: str


# In the order they arrive. Inspector re-evaluates the images already scanned: the CVE is in
# two repositories; one image's finding is raised to CRITICAL, the other's closes (the package
# is not loaded after all); a late copy of an earlier update arrives after the closure.
_PAYMENTS = next(i for i in IMAGES if i.repository == "payments-api")
_GATEWAY = next(i for i in IMAGES if i.repository == "auth/gateway")
CHANGES = (
    Change(_PAYMENTS, "ACTIVE", "HIGH", 1, "created"),
    Change(_GATEWAY, "ACTIVE", "HIGH", 1, "created"),
    Change(_GATEWAY, "ACTIVE", "CRITICAL", 5, "updated: exploit published"),
    Change(_PAYMENTS, "CLOSED", "HIGH", 10, "closed"),
)
_LATE = Change(_PAYMENTS, "ACTIVE", "MEDIUM", 3, "an older update, arriving late")
_TWICE = CHANGES[2]  # delivered a second time (same EventBridge id)


def _finding_event(change: Change, published: datetime) -> dict[str, Any]:
    image = change.image
    when = published + timedelta(minutes=change.minutes)
    return registry.finding_event(
        repository=image.repository,
        digest=_digest(image),
        tags=[image.tag] if image.tag else [],
        status=change.status,
        severity=change.severity,
        vulnerability_id=NEW_CVE,
        package="openssl",
        updated_at=when,
        time=when,
    )


def _publish_new_cve(
    events: Any,
    sqs: Any,
    logs: Any,
    queue_url: str,
    out: Console,
    function: Function,
    metered: Metered,
) -> None:
    published = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    grid = output.table("updatedAt", "Repository", "Tag", "Status", "Severity", "Change")
    arrivals = [
        *((c, c.note) for c in CHANGES),
        (_TWICE, "the update again (same event id)"),
        (_LATE, _LATE.note),
    ]
    for change, note in arrivals:
        when = published + timedelta(minutes=change.minutes)
        grid.add_row(
            when.strftime("%H:%M:%S"),
            change.image.repository,
            change.image.tag or "untagged",
            change.status,
            change.severity,
            note,
        )
    out.print("Inspector re-evaluates the scanned images; its finding events, in arrival order:")
    out.print(grid)
    _publish(events, [_finding_event(c, published) for c in CHANGES])
    _drain(queue_url, sqs, out, function, metered)
    # EventBridge delivers at least once: the update again, with the id it had.
    again = _finding_event(_TWICE, published)
    again["id"] = _logged_event_id(logs, _TWICE)
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(again))
    _publish(events, [_finding_event(_LATE, published)])
    _drain(queue_url, sqs, out, function, metered)
    out.print(
        "Every change is logged once, in the order it came; the current state of a finding is "
        "its latest updatedAt."
    )


def _logged_event_id(logs: Any, change: Change) -> str:
    """The EventBridge id of a logged finding event (the one this change produced)."""
    group = DEFAULT_LOG_GROUP_PREFIX + change.image.repository
    for stream in landed.stream_names(logs, group):
        if stream.startswith(f"{layout.FINDING_EVENTS}-"):
            for message in landed.messages(logs, group, stream):
                finding = orjson.loads(message)
                if finding.get("severity") == change.severity:
                    return str(finding["imageContext"]["eventId"])
    raise RuntimeError(f"the finding event of {change.image.repository} was not logged")


def _drain(queue_url: str, sqs: Any, out: Console, function: Function, metered: Metered) -> None:
    from pipeline.queue_runner import drive

    outcomes: Counter[str] = Counter()
    reasons: Counter[str] = Counter()

    def quiet_handler(event: Mapping[str, Any], context: Any) -> Mapping[str, Any]:
        # The handler logs one JSON line per message on stdout; tally them instead.
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            response = function.handle(event, context)
        for line in buffer.getvalue().splitlines():
            record = orjson.loads(line) if line.startswith("{") else {}
            if "_aws" in record:
                metered.add(record)
            if "outcome" in record:
                outcomes[record["outcome"]] += 1
                if record.get("reason"):
                    reasons[f"{record['outcome']}: {record['reason']}"] += 1
        return response

    started = time.monotonic()
    stats = drive(queue_url, handler=quiet_handler, sqs=sqs, idle_polls=2)
    out.print(
        f"{stats.batches} {'batch' if stats.batches == 1 else 'batches'}, "
        f"{stats.received} deliveries in "
        f"{time.monotonic() - started:.1f} s: "
        + ", ".join(f"{n} {outcome}" for outcome, n in sorted(outcomes.items()))
    )
    for reason, n in sorted(reasons.items()):
        out.print(f"  {n} × {reason}")
