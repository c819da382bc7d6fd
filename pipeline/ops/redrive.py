"""Selective redrive: send chosen dead messages back to the source queue, then delete them.

Each message is deleted from the DLQ only after SendMessageBatch reported it sent, so a failure
at any point leaves it in one queue or (if the delete fails) both — never neither. The first
failure stops the run; whatever was not handled is made visible again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fnmatch import fnmatchcase
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from pipeline import deadletter, limits
from pipeline.concurrency import BlockingRateLimiter
from pipeline.ops.deadmessages import DeadMessage
from pipeline.ops.dlq import now_utc
from pipeline.ops.errors import describe_aws_error
from pipeline.ops.holding import Hold


@dataclass(frozen=True)
class RedriveFilter:
    """Which dead messages to send back; empty fields match everything."""

    reasons: frozenset[str] = frozenset()
    repositories: tuple[str, ...] = ()  # shell-style patterns, e.g. ``team/*``
    min_age: timedelta | None = None
    max_age: timedelta | None = None
    retryable_only: bool = False

    def matches(self, message: DeadMessage, now: datetime) -> bool:
        if self.reasons and message.reason not in self.reasons:
            return False
        if self.repositories and not any(
            fnmatchcase(message.repository or "", pattern) for pattern in self.repositories
        ):
            return False
        age = now - message.failed_at
        if self.min_age is not None and age < self.min_age:
            return False
        if self.max_age is not None and age > self.max_age:
            return False
        return not self.retryable_only or message.retryable is True


@dataclass
class RedriveReport:
    dry_run: bool
    scanned: int = 0
    matched: int = 0
    sent: int = 0
    deleted: int = 0
    error: str | None = None
    not_deleted: list[str] = field(default_factory=list)  # sent, still in the DLQ too

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "scanned": self.scanned,
            "matched": self.matched,
            "sent": self.sent,
            "deleted": self.deleted,
            "not_deleted": self.not_deleted,
            "error": self.error,
        }


# What the handler added when the message died; the source queue gets the original back.
_OUR_ATTRIBUTES = frozenset(deadletter.ALL_ATTRIBUTES)


def redrive_selected(
    sqs: Any,
    dlq_url: str,
    target_url: str,
    selection: RedriveFilter,
    *,
    limit: int | None = None,
    dry_run: bool = False,
    rate: float | None = None,
    visibility_timeout: int = 300,
    on_read: Callable[[int], None] | None = None,
) -> RedriveReport:
    report = RedriveReport(dry_run=dry_run)
    limiter = BlockingRateLimiter(rate)
    now = now_utc()
    with Hold(sqs, dlq_url, visibility_timeout=visibility_timeout) as hold:
        for batch in hold.batches():
            report.scanned += len(batch)
            room = None if limit is None else limit - report.matched
            chosen = [m for m in batch if selection.matches(m, now)][:room]
            report.matched += len(chosen)
            if chosen and not dry_run:
                hold.consumed(_move(sqs, dlq_url, target_url, chosen, limiter, report))
            if on_read:
                on_read(len(batch))
            if report.error or (limit is not None and report.matched >= limit):
                break
    return report


def _move(
    sqs: Any,
    dlq_url: str,
    target_url: str,
    messages: list[DeadMessage],
    limiter: BlockingRateLimiter,
    report: RedriveReport,
) -> list[str]:
    """Send, then delete what was sent; return the ids deleted from the DLQ."""
    deleted: list[str] = []
    for chunk in _by_size(messages):
        limiter.acquire(len(chunk))
        by_entry = {str(i): m for i, m in enumerate(chunk)}
        try:
            response = sqs.send_message_batch(
                QueueUrl=target_url,
                Entries=[_entry(i, m) for i, m in by_entry.items()],
            )
        except (ClientError, BotoCoreError) as exc:
            report.error = f"sending to {target_url}: {describe_aws_error(exc)}"
            return deleted
        sent = [by_entry[e["Id"]] for e in response.get("Successful", [])]
        report.sent += len(sent)
        failed = response.get("Failed", [])
        if failed:
            first = failed[0]
            report.error = (
                f"sending to {target_url}: {len(failed)} message(s) refused: "
                f"{first.get('Code')}: {first.get('Message', '')}".rstrip(": ")
            )
        deleted += _delete(sqs, dlq_url, sent, report)
        if report.error:
            return deleted
    return deleted


def _delete(sqs: Any, dlq_url: str, sent: list[DeadMessage], report: RedriveReport) -> list[str]:
    if not sent:
        return []
    by_entry = {str(i): m for i, m in enumerate(sent)}
    try:
        response = sqs.delete_message_batch(
            QueueUrl=dlq_url,
            Entries=[{"Id": i, "ReceiptHandle": m.receipt_handle} for i, m in by_entry.items()],
        )
    except (ClientError, BotoCoreError) as exc:
        report.not_deleted += [m.message_id for m in sent]
        report.error = report.error or f"deleting from the DLQ: {describe_aws_error(exc)}"
        return []
    done = [by_entry[e["Id"]].message_id for e in response.get("Successful", [])]
    report.deleted += len(done)
    failed = [by_entry[e["Id"]].message_id for e in response.get("Failed", [])]
    if failed:
        report.not_deleted += failed
        report.error = report.error or f"deleting from the DLQ: {len(failed)} delete(s) refused"
    return done


def _entry(entry_id: str, message: DeadMessage) -> dict[str, Any]:
    entry: dict[str, Any] = {"Id": entry_id, "MessageBody": message.body}
    kept = {k: v for k, v in message.attributes.items() if k not in _OUR_ATTRIBUTES}
    if kept:
        entry["MessageAttributes"] = {k: _attribute(v) for k, v in kept.items()}
    return entry


def _attribute(value: Any) -> dict[str, Any]:
    # ReceiveMessage returns list fields SendMessage does not take.
    return {k: v for k, v in value.items() if k in ("DataType", "StringValue", "BinaryValue")}


def _by_size(messages: Iterable[DeadMessage]) -> Iterable[list[DeadMessage]]:
    """Chunks that fit one SendMessageBatch (≤ 10 entries, ≤ 1 MiB in all)."""
    chunk: list[DeadMessage] = []
    size = 0
    for message in messages:
        length = len(message.body.encode())
        if chunk and (
            len(chunk) == limits.SQS_SEND_BATCH_MAX or size + length > limits.SQS_MAX_MESSAGE_BYTES
        ):
            yield chunk
            chunk, size = [], 0
        chunk.append(message)
        size += length
    if chunk:
        yield chunk
