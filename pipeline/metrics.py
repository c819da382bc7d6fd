"""Observability: one JSON line per message outcome, and CloudWatch Embedded Metric Format.

EMF documents are JSON lines on stdout; Lambda ships them to CloudWatch Logs, which turns them
into metrics with no PutMetricData calls.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any, TextIO

import orjson

from pipeline import layout
from pipeline.errors import bounded
from pipeline.outcome import Outcome


class Metrics:
    """Counters for one invocation."""

    def __init__(self) -> None:
        self.findings: Counter[str] = Counter()  # by severity (finding events: new ACTIVE ones)
        self.finding_events: Counter[str] = Counter()  # logged finding events, by status
        self.findings_closed: Counter[str] = Counter()  # CLOSED finding events, by severity
        self.outcomes: Counter[str] = Counter()  # done, duplicate, retry, dead
        self.api_calls: Counter[str] = Counter()  # by API operation
        self.throttles: Counter[str] = Counter()  # by API operation
        self.log_events = 0
        self.put_batches = 0
        self.dead_letters_without_reason = 0
        self.archive_objects = 0  # S3 objects the archive wrote
        # Logged findings (and finding events) naming a watched vulnerability: one count per
        # finding in all, and one per watched id it names (bounded by the watch list).
        self.watched_findings = 0
        self.watched_by_id: Counter[str] = Counter()
        self.notifications = 0  # SNS messages published
        self.notifications_suppressed = 0  # images not notified: over the per-invocation cap
        self.notifications_failed = 0  # images the failed (or timed out) summary did not name

    def count_watched(self, findings: Iterable[tuple[str, ...]]) -> None:
        """Count logged findings by the watched ids each names (an empty tuple: none)."""
        for ids in findings:
            if ids:
                self.watched_findings += 1
                self.watched_by_id.update(ids)

    def record_api_call(self, api: str, error_code: str | None, throttled: bool) -> None:
        self.api_calls[api] += 1
        if throttled:
            self.throttles[api] += 1

    def emf(self, namespace: str, now_ms: int | None = None) -> list[dict[str, Any]]:
        """One EMF document per dimension set (EMF values are per document)."""
        ts = now_ms if now_ms is not None else int(time.time() * 1000)

        def doc(dims: dict[str, str], values: dict[str, int]) -> dict[str, Any]:
            return {
                "_aws": {
                    "Timestamp": ts,
                    "CloudWatchMetrics": [
                        {
                            "Namespace": namespace,
                            "Dimensions": [list(dims)],
                            "Metrics": [{"Name": n, "Unit": "Count"} for n in values],
                        }
                    ],
                },
                **dims,
                **values,
            }

        totals = {"LogEvents": self.log_events, "PutLogEventsBatches": self.put_batches}
        if self.dead_letters_without_reason:
            totals["DeadLettersWithoutReason"] = self.dead_letters_without_reason
        if self.archive_objects:
            totals["ArchiveObjects"] = self.archive_objects
        # Only when there is something to count: a metric costs from its first data point.
        for name, value in (
            ("WatchedFindings", self.watched_findings),
            ("Notifications", self.notifications),
            ("NotificationsSuppressed", self.notifications_suppressed),
            ("NotificationsFailed", self.notifications_failed),
        ):
            if value:
                totals[name] = value
        docs = [doc({}, totals)]
        docs += [doc({"Severity": s}, {"Findings": n}) for s, n in sorted(self.findings.items())]
        docs += [
            doc({"Status": s}, {"FindingEvents": n}) for s, n in sorted(self.finding_events.items())
        ]
        docs += [
            doc({"Severity": s}, {"FindingsClosed": n})
            for s, n in sorted(self.findings_closed.items())
        ]
        docs += [
            doc({"Vulnerability": v}, {"WatchedFindings": n})
            for v, n in sorted(self.watched_by_id.items())
        ]
        docs += [doc({"Outcome": o}, {"Messages": n}) for o, n in sorted(self.outcomes.items())]
        for api in sorted(self.api_calls):
            docs.append(
                doc(
                    {"Api": api},
                    {"ApiCalls": self.api_calls[api], "Throttles": self.throttles[api]},
                )
            )
        return docs


_ID_MAX_CHARS = 200
_NOTES_MAX = 4


def outcome_line(outcome: Outcome, kept_on_queue: bool) -> dict[str, Any]:
    """The one log line that says what became of one message; bounded in size whatever the
    message held (decoded fields are bounded by decode, error texts by PipelineError)."""
    scan, error = outcome.subject, outcome.error
    line: dict[str, Any] = {
        "level": "INFO" if outcome.status in ("done", "duplicate") else "WARNING",
        "messageId": bounded(outcome.message_id, _ID_MAX_CHARS),
        "outcome": outcome.status,
        "reason": error.code if error else None,
        "detail": error.message if error else None,
        "repository": scan.repository if scan else None,
        "imageDigest": scan.digest if scan else None,
        "imageTag": layout.first_tag(scan.tags) if scan else None,
        "findings": outcome.findings,
        "durationMs": round(outcome.duration_ms, 1),
        "receiveCount": outcome.receive_count,
        "keptOnQueue": kept_on_queue,
    }
    if outcome.finding is not None:
        line["findingArn"] = bounded(outcome.finding.finding_arn, _ID_MAX_CHARS * 2)
        line["findingStatus"] = outcome.finding.status
    if outcome.notes:
        notes = [bounded(note) for note in outcome.notes[:_NOTES_MAX]]
        if len(outcome.notes) > _NOTES_MAX:
            notes.append(f"…and {len(outcome.notes) - _NOTES_MAX} more notes")
        line["notes"] = notes
    return line


def write_json_line(record: dict[str, Any], stream: TextIO | None = None) -> None:
    out = stream if stream is not None else sys.stdout
    out.write(orjson.dumps(record, default=str).decode() + "\n")


LineWriter = Callable[[dict[str, Any]], None]
