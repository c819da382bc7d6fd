"""``make demo``: the whole pipeline, end to end, on an embedded local AWS.

A moto server starts in this process. The demo creates the queue, its dead-letter queue and
the EventBridge rule, seeds ECR with repositories and scanned images (realistic findings, real
pagination), publishes the scan-complete events to EventBridge, drains the queue through the
real Lambda handler with the local event source mapping, and then shows what landed in
CloudWatch Logs, which images have one CVE, and what the dead-letter queue holds and why.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import boto3
import orjson
from rich.console import Console
from rich.rule import Rule

from pipeline import layout
from pipeline.cli import output
from pipeline.cli.search import print_hits
from pipeline.config import DEFAULT_LOG_GROUP_PREFIX
from pipeline.events import ScanKind
from pipeline.local import LocalAws, registry
from pipeline.local import findings as generate
from pipeline.ops import dlq as dlq_ops
from pipeline.ops.search import Searcher

_WIDTH = 120  # fits the README
CVE = "CVE-2024-2961"  # glibc iconv() out-of-bounds write: the one the demo searches for
MAX_RECEIVE_COUNT = 5
RULE = "ecr-image-scan-findings"
EVENT_PATTERN = {
    "source": ["aws.ecr", "aws.inspector2"],
    "detail-type": ["ECR Image Scan", "Inspector2 Scan"],
    "detail": {
        "scan-status": ["COMPLETE", "INITIAL_SCAN_COMPLETE"],
        "repository-name": [{"exists": True}],
    },
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
    Image("data/etl/spark-jobs", "3.5.1", "basic", 1_250, has_cve=True),
    Image("tools/debug-shell", "latest", "basic", 6, has_cve=False),
    Image("tools/debug-shell", "nightly", "basic", 0, has_cve=False, scanned=False),
    Image("web/storefront", "v2.13.9", "basic", 12, has_cve=False, deleted=True),
)
_STREAM_SUFFIX = re.compile(r"(?P<tag>.*)-(?P<hex>[0-9a-f]{64})-(?P<time>.*)")
# What the CLI needs to reach the local AWS (dummy credentials: moto accepts any).
_CLI_ENV = ("AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
MALFORMED_BODY = '{"detail-type": "ECR Image Scan", "source": "aws.ecr", "detail": '


def run(*, keep_running: bool = False) -> None:
    out = output.console(max_width=_WIDTH)
    started = time.monotonic()
    with LocalAws() as aws, _environment(aws):
        from lambdas import findings_logger

        findings_logger.reset()  # settings are read from the environment set just now
        try:
            _scenario(aws, out)
        finally:
            findings_logger.reset()
        out.print(Rule())
        out.print(f"Demo finished in {time.monotonic() - started:.1f} s.")
        if keep_running:
            out.print(f"Local AWS at {aws.endpoint_url} stays up. From another shell:")
            exports = " ".join(f"{k}={v}" for k, v in aws.env().items() if k in _CLI_ENV)
            out.print(f"  export {exports}", soft_wrap=True, markup=False, highlight=False)
            out.print("  ecr-findings dlq status --queue ecr-findings-dlq", highlight=False)
            out.print("Ctrl-C to stop.")
            with contextlib.suppress(KeyboardInterrupt):
                while True:
                    time.sleep(3600)


@contextlib.contextmanager
def _environment(aws: LocalAws) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(aws.env())
    os.environ.update(
        {
            "MAX_RECEIVE_COUNT": str(MAX_RECEIVE_COUNT),
            "EMIT_METRICS": "false",
            "FINDINGS_LOG_GROUP_PREFIX": DEFAULT_LOG_GROUP_PREFIX,
        }
    )
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "LOG_KMS_KEY_ARN", "LOG_RETENTION_DAYS"):
        os.environ.pop(name, None)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _scenario(aws: LocalAws, out: Console) -> None:
    clients = {name: boto3.client(name) for name in ("sqs", "events", "ecr", "logs")}
    sqs, events, ecr, logs = (clients[n] for n in ("sqs", "events", "ecr", "logs"))

    out.print(Rule("1. Infrastructure"))
    queue_url, dlq_url = _queues(sqs)
    os.environ["DEAD_LETTER_QUEUE_URL"] = dlq_url
    _rule(events, sqs, queue_url)
    out.print(f"Local AWS (moto) at {aws.endpoint_url}, account 123456789012, {aws.region}")
    out.print(
        f"SQS queue {_name(queue_url)}, redriven to {_name(dlq_url)} after "
        f"{MAX_RECEIVE_COUNT} receives"
    )
    out.print(f"EventBridge rule {RULE}: ECR and Inspector scan-complete events → the queue")

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
    _drain(queue_url, sqs, out)

    out.print(Rule("5. CloudWatch Logs: what landed"))
    _show_logs(logs, out)

    out.print(Rule(f"6. $ ecr-findings search {CVE}"))
    _show_search(logs, out)

    out.print(Rule("7. $ ecr-findings dlq status / dlq peek"))
    _show_dlq(sqs, dlq_url, out)


def _name(queue_url: str) -> str:
    return queue_url.rsplit("/", 1)[-1]


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
    grid = output.table("Repository", "Tag", "Digest", "Scan", "Findings", "Note")
    scan_events = []
    for repository in sorted({i.repository for i in IMAGES}):
        registry.create_repository(ecr, repository)
    for n, image in enumerate(IMAGES):
        content = f"{image.repository}:{image.tag or 'untagged'}:demo"
        digest = registry.push_image(ecr, image.repository, image.tag, content=content)
        tags = [image.tag] if image.tag else []
        cves = [CVE] if image.has_cve else []
        found = generate.findings_of_kind(
            image.kind,
            image.findings,
            seed=n,
            repository=image.repository,
            digest=digest,
            tags=tags,
            include_cves=cves,
        )
        counts: Mapping[str, int] | None = None
        if image.scanned:
            scan = aws.seed_scan(
                image.repository,
                digest,
                found,
                kind=image.kind,
                status="ACTIVE" if image.kind == "enhanced" else "COMPLETE",
            )
            counts = scan.severity_counts
        scan_events.append(
            registry.scan_event(
                kind=image.kind,
                repository=image.repository,
                digest=digest,
                tags=tags,
                severity_counts=counts,
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


def _drain(queue_url: str, sqs: Any, out: Console) -> None:
    from lambdas.findings_logger import handler
    from pipeline.driver import drive

    outcomes: Counter[str] = Counter()
    reasons: Counter[str] = Counter()

    def quiet_handler(event: Mapping[str, Any], context: Any) -> Mapping[str, Any]:
        # The handler logs one JSON line per message on stdout; tally them instead.
        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            response = handler(event, context)
        for line in buffer.getvalue().splitlines():
            record = orjson.loads(line) if line.startswith("{") else {}
            if "outcome" in record:
                outcomes[record["outcome"]] += 1
                if record.get("reason"):
                    reasons[f"{record['outcome']}: {record['reason']}"] += 1
        return response

    started = time.monotonic()
    stats = drive(queue_url, handler=quiet_handler, sqs=sqs, idle_polls=2)
    out.print(
        f"{stats.batches} batches, {stats.received} deliveries in "
        f"{time.monotonic() - started:.1f} s: "
        + ", ".join(f"{n} {outcome}" for outcome, n in sorted(outcomes.items()))
    )
    for reason, n in sorted(reasons.items()):
        out.print(f"  {n} × {reason}")


def _show_logs(logs: Any, out: Console) -> None:
    groups = [
        g["logGroupName"]
        for page in logs.get_paginator("describe_log_groups").paginate(
            logGroupNamePrefix=DEFAULT_LOG_GROUP_PREFIX
        )
        for g in page["logGroups"]
    ]
    columns = {
        "CRITICAL": "CRIT",
        "HIGH": "HIGH",
        "MEDIUM": "MED",
        "LOW": "LOW",
        "INFORMATIONAL": "INFO",
        "UNDEFINED": "UNDEF",
        "UNTRIAGED": "UNTRI",
    }
    severities = tuple(columns)
    out.print(f"Log groups {DEFAULT_LOG_GROUP_PREFIX}<repository>, events per severity stream:")
    grid = output.table("Repository", "Image", *columns.values(), "Streams")
    example: list[str] = []
    for group in groups:
        per_image: dict[str, Counter[str]] = defaultdict(Counter)
        for event in _events(logs, group):
            severity, _, image = event["logStreamName"].partition("-")
            per_image[image][severity] += 1
        names = _stream_names(logs, group)
        for image, counts in sorted(per_image.items()):
            tag, digest = _image_label(image)
            grid.add_row(
                group.removeprefix(DEFAULT_LOG_GROUP_PREFIX),
                f"{tag} {digest}",
                *(str(counts.get(s, "")) for s in severities),
                str(sum(1 for n in names if n.partition("-")[2] == image)),
            )
        if not example and names:
            example = names
    out.print(grid)
    out.print("Streams of one image (SUMMARY is written last: its presence means fully logged):")
    for name in example:
        out.print(f"  {name}")


def _events(logs: Any, group: str) -> Iterator[dict[str, Any]]:
    request: dict[str, Any] = {"logGroupName": group}
    while True:
        page = logs.filter_log_events(**request)
        yield from page["events"]
        if not page.get("nextToken"):
            return
        request["nextToken"] = page["nextToken"]


def _stream_names(logs: Any, group: str) -> list[str]:
    names = [
        s["logStreamName"]
        for page in logs.get_paginator("describe_log_streams").paginate(logGroupName=group)
        for s in page["logStreams"]
    ]
    order = {name: layout.severity_rank(name.partition("-")[0]) for name in names}
    return sorted(names, key=lambda n: (n.partition("-")[2], n.startswith("SUMMARY"), order[n]))


def _image_label(stream_suffix: str) -> tuple[str, str]:
    """``<TAG>-<DIGESTHEX>-<TIME>`` → (tag, short digest)."""
    match = _STREAM_SUFFIX.fullmatch(stream_suffix)
    return (match["tag"], match["hex"][:12]) if match else (stream_suffix, "")


def _show_search(logs: Any, out: Console) -> None:
    result = Searcher(logs, DEFAULT_LOG_GROUP_PREFIX, rate=20, concurrency=4).search(CVE)
    print_hits(out, CVE, result)


def _short(text: str, width: int = 46) -> str:
    """One line a message: drop the API name the error starts with, cut the rest."""
    text = re.sub(r"^[A-Z][A-Za-z]+: ", "", text)
    return text if len(text) <= width else text[: width - 1] + "…"


def _show_dlq(sqs: Any, dlq_url: str, out: Console) -> None:
    status = dlq_ops.status(sqs, dlq_url)
    now = dlq_ops.now_utc()
    out.print(f"{status.visible} messages in {_name(dlq_url)}")
    grid = output.table("Reason", "Messages", "Retryable")
    for reason, count in status.by_reason.most_common():
        grid.add_row(reason, str(count), str(status.retryable_by_reason.get(reason, 0)))
    out.print(grid)
    peeked = output.table("Failed", "Reason", "Repository", "Tag", "Receives", "Message")
    for message in dlq_ops.peek(sqs, dlq_url, 10):
        peeked.add_row(
            output.age(message.failed_at, now),
            message.reason,
            output.dash(message.repository),
            output.dash(message.image_tag),
            output.dash(message.receive_count),
            _short(message.letter.message if message.letter else message.body),
        )
    out.print(peeked)
    out.print("Send them back after a fix with: ecr-findings dlq redrive --reason <reason>")
    out.print(
        "(on AWS, --native has SQS move them all to the source queue; moto has no move tasks)"
    )
