"""Fixtures for the reliability suite: the real handler (or consumer process) against the local AWS.

Every import of the local AWS lives in this file, so that moving it is a one-line change here.
The tests are black-box: they drive ``lambdas.findings_logger.handler`` or the
``ecr-findings-consumer`` command and look only at what lands in CloudWatch Logs, the DLQ, the
partial batch response and the outcome lines on stdout.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

import lambdas.findings_logger as function
from localaws import LocalAws, landed  # the one place the local AWS is imported from
from localaws.findings import basic_findings, findings_of_kind
from localaws.registry import create_repository, push_image, scan_event

__all__ = ["LocalAws", "basic_findings", "findings_of_kind", "scan_event"]

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "/aws/ecr/image-scan-findings/"
MAX_RECEIVE_COUNT = 5
# The contract of issue #7: an outcome line is a few KB at most.
MAX_LINE_BYTES = 8 * 1024
# The documented command of the long-running consumer, installed next to this interpreter.
CONSUMER = [str(Path(sys.executable).with_name("ecr-findings-consumer"))]


# ---- figures for the README's "Reliability" section ------------------------------------------

FIGURES: Counter[str] = Counter()
NOTES: list[str] = []  # one line per scenario, printed with the figures
FIGURE_NAMES = (
    ("messages", "messages delivered to the handler (deliveries, redeliveries included)"),
    ("fuzzed_bodies", "fuzzed bodies"),
    ("faults_injected", "faults injected (throttles, 5xx, held calls)"),
    ("faults_hit", "faults that answered a call"),
    ("kills", "consumer processes killed with SIGKILL mid-write"),
    ("races", "races of two consumer processes on one event"),
    ("findings_expected", "findings that had to be logged"),
    ("lost", "findings lost"),
    ("duplicated", "log events duplicated (findings and SUMMARY events)"),
)


def figures_table() -> list[str]:
    """The suite's figures, one line each (printed at the end of the run)."""
    return [f"{FIGURES[key]:>9,}  {text}" for key, text in FIGURE_NAMES]


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if any(FIGURES.values()):
        terminalreporter.write_sep("-", "reliability figures")
        for line in figures_table():
            terminalreporter.write_line(line)
        for note in NOTES:
            terminalreporter.write_line(note)


# ---- the rig ---------------------------------------------------------------------------------


@dataclass
class Image:
    repository: str
    digest: str
    tags: tuple[str, ...]
    findings: list[dict[str, Any]]
    event: dict[str, Any]

    @property
    def body(self) -> str:
        return json.dumps(self.event)

    def __repr__(self) -> str:
        return f"Image({self.repository}:{self.tags[0] if self.tags else 'untagged'})"

    @property
    def group(self) -> str:
        return PREFIX + self.repository


@dataclass
class Tally:
    """What an image's streams hold against what it should: exactly once is (0, 0)."""

    expected: int
    lost: int
    duplicated: int
    summaries: int
    detail: list[str] = field(default_factory=list)


def finding_key(event: dict[str, Any]) -> bytes:
    """A finding as logged, without the image context we add, in a stable form. Times are as
    the API sends them (epoch seconds), whether the finding was generated or read back."""
    return orjson.dumps(
        {k: v for k, v in event.items() if k != "imageContext"},
        option=orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME,
        default=_epoch_seconds,
    )


def _epoch_seconds(value: object) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"not JSON: {type(value).__name__}")


@dataclass
class Rig:
    aws: LocalAws
    ecr: Any
    logs: Any
    sqs: Any
    dlq_url: str
    capsys: pytest.CaptureFixture[str]
    raw_lines: list[str] = field(default_factory=list)
    last_dead_letters: dict[str, dict[str, Any]] = field(default_factory=dict)

    # -- images ---------------------------------------------------------------------------
    def image(
        self,
        repository: str,
        tag: str | None,
        findings: Sequence[dict[str, Any]] | int,
        *,
        kind: str = "basic",
        event_time: str = "2026-11-29T06:00:00Z",
        seed: int = 0,
    ) -> Image:
        """An image in ECR with a completed scan, and the event announcing it. ``findings``
        may be a count: that many findings of the scan kind (generated from ``seed``)."""
        create_repository(self.ecr, repository)
        digest = push_image(self.ecr, repository, tag)
        tags = (tag,) if tag else ()
        if isinstance(findings, int):
            findings = findings_of_kind(
                kind, findings, seed=seed, repository=repository, digest=digest, tags=tags
            )
        self.aws.seed_scan(repository, digest, findings, kind=kind)  # type: ignore[arg-type]
        event = scan_event(
            kind=kind,  # type: ignore[arg-type]
            repository=repository,
            digest=digest,
            tags=tags,
            time=event_time,
        )
        return Image(repository, digest, tags, list(findings), event)

    # -- the handler ----------------------------------------------------------------------
    def record(
        self, body: str | Image, *, message_id: str | None = None, receive_count: int | None = 1
    ) -> dict[str, Any]:
        attributes = (
            {} if receive_count is None else {"ApproximateReceiveCount": str(receive_count)}
        )
        return {
            "messageId": message_id or str(uuid.uuid4()),
            "receiptHandle": "handle-" + str(uuid.uuid4()),
            "body": body.body if isinstance(body, Image) else body,
            "attributes": attributes,
            "messageAttributes": {},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:findings",
            "awsRegion": "us-east-1",
        }

    def invoke(self, records: Sequence[dict[str, Any]]) -> Any:
        """Call the handler and keep its stdout lines; fail the test if it raises."""
        response, error = self.try_invoke(records)
        if error is not None:
            # A raise fails every message of the batch (Lambda retries them all).
            pytest.fail(f"the handler raised {type(error).__name__}: {error}"[:2000])
        return response

    def try_invoke(self, records: Sequence[dict[str, Any]]) -> tuple[Any, Exception | None]:
        """Call the handler, keep its stdout lines: (response, None) or (None, what it raised)."""
        FIGURES["messages"] += len(records)
        try:
            return function.handler({"Records": list(records)}, None), None
        except Exception as exc:
            return None, exc
        finally:
            out = self.capsys.readouterr().out
            self.raw_lines = out.splitlines()

    def outcomes(self) -> dict[str, dict[str, Any]]:
        """messageId → its outcome line."""
        found: dict[str, dict[str, Any]] = {}
        for line in self.raw_lines:
            if not line.startswith("{"):
                continue
            doc = orjson.loads(line)
            if isinstance(doc, dict) and "messageId" in doc and "outcome" in doc:
                found[str(doc["messageId"])] = doc
        return found

    # -- the DLQ --------------------------------------------------------------------------
    def take_dead_letters(self, wanted: set[str] | None = None) -> dict[str, dict[str, Any]]:
        """Receive (and delete) what is on the DLQ: SourceMessageId → message.

        With ``wanted`` (source message ids), stop as soon as all of them are found (they are
        all there already: the handler returned after sending them)."""
        found: dict[str, dict[str, Any]] = {}
        empty_polls = 0
        while empty_polls < 2 and (wanted is None or not wanted <= set(found)):
            page = self.sqs.receive_message(
                QueueUrl=self.dlq_url,
                MaxNumberOfMessages=10,
                MessageAttributeNames=["All"],
                AttributeNames=["All"],
                VisibilityTimeout=60,
            ).get("Messages", [])
            if not page:
                empty_polls += 1
                continue
            for m in page:
                attrs = m.get("MessageAttributes") or {}
                source = attrs.get("SourceMessageId", {}).get("StringValue") or m["MessageId"]
                found[source] = m
            self.sqs.delete_message_batch(
                QueueUrl=self.dlq_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(page)
                ],
            )
        self.last_dead_letters = found
        return found

    # -- CloudWatch Logs ------------------------------------------------------------------
    def streams(self, group: str) -> list[str]:
        return landed.stream_names(self.logs, group)

    def messages(self, group: str, stream: str) -> list[str]:
        return landed.messages(self.logs, group, stream)

    def tally(self, image: Image, *, exact: bool = False) -> Tally:
        """Compare the image's streams (the documented layout: its digest in every stream
        name, SUMMARY-… for the summary) with the findings it was seeded with.

        ``exact``: only the streams of the event as sent (its first tag and time), not those
        of other events announcing the same image."""
        hex_digest = image.digest.split(":", 1)[1]
        tag = image.tags[0] if image.tags else "untagged"
        suffix = f"-{tag}-{hex_digest}-{str(image.event['time']).replace(':', '-')}"
        logged: Counter[bytes] = Counter()
        summaries = 0
        for name in self.streams(image.group):
            if hex_digest not in name or (exact and not name.endswith(suffix)):
                continue
            events = [orjson.loads(m) for m in self.messages(image.group, name)]
            if name.startswith("SUMMARY-"):
                summaries += len(events)
            else:
                logged.update(finding_key(e) for e in events)
        expected = Counter(finding_key(f) for f in image.findings)
        lost = sum((expected - logged).values())
        extra = sum((logged - expected).values())
        duplicated = extra + max(summaries - 1, 0)
        detail = []
        if lost:
            detail.append(f"{lost} of {len(image.findings)} findings missing")
        if extra:
            detail.append(f"{extra} finding events duplicated")
        if summaries != 1:
            detail.append(f"{summaries} SUMMARY events")
        return Tally(len(image.findings), lost, duplicated, summaries, detail)

    def tally_all(self, images: Sequence[Image], *, exact: bool = False) -> dict[str, Tally]:
        """Every image's tally (keyed by repository:tag); adds them to the suite's figures."""
        tallies = {
            f"{i.repository}:{i.tags[0] if i.tags else '-'}": self.tally(i, exact=exact)
            for i in images
        }
        for t in tallies.values():
            FIGURES["findings_expected"] += t.expected
            FIGURES["lost"] += t.lost
            FIGURES["duplicated"] += t.duplicated
        return tallies

    # -- faults ---------------------------------------------------------------------------
    def inject(self, operation: str, *, counted: bool = True, **kwargs: Any) -> None:
        """Schedule a fault (``counted``: add its calls to the figures now; a fault meant to
        hold every call until cleared is counted by the calls it held)."""
        if counted:
            FIGURES["faults_injected"] += int(kwargs.get("times", 1))
        self.aws.inject_fault(operation, **kwargs)

    def faults_pending(self) -> int:
        return sum(f.times for f in self.aws.pending_faults())


def not_exactly_once(tallies: dict[str, Tally]) -> dict[str, list[str]]:
    """The images whose streams do not hold their findings exactly once, and why."""
    return {key: t.detail for key, t in tallies.items() if t.detail}


@pytest.fixture
def rig(
    aws: LocalAws,
    aws_client: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Iterator[Rig]:
    """An empty local AWS with a DLQ, the handler's settings in the environment, a cold start."""
    sqs = aws_client("sqs")
    dlq_url = sqs.create_queue(QueueName="findings-dlq")["QueueUrl"]
    monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", dlq_url)
    monkeypatch.setenv("MAX_RECEIVE_COUNT", str(MAX_RECEIVE_COUNT))
    # The local AWS answers at once; keep the SDK's back-off short.
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    # The local AWS has no quotas: lift the client-side rate limits (sized for AWS's) so that
    # redeliveries, which create and read back many streams, are not paced at 25 calls a second.
    for knob in ("CREATE_LOG_STREAM_RATE", "GET_LOG_EVENTS_RATE", "CREATE_LOG_GROUP_RATE"):
        monkeypatch.setenv(knob, "1000")
    function.reset()
    yield Rig(aws, aws_client("ecr"), aws_client("logs"), sqs, dlq_url, capsys)
    aws.clear_faults()
    function.reset()
    assert aws.violations == [], "a request broke a CloudWatch Logs limit"


@pytest.fixture
def subprocess_env(rig: Rig) -> dict[str, str]:
    """The environment a consumer process needs: the test's (local AWS, settings)."""
    return {**os.environ, "PYTHONUNBUFFERED": "1"}
