"""One SQS message's outcome: what was received, what became of it, and why."""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from pipeline.errors import PermanentError, PipelineError, bounded
from pipeline.events import FindingEvent, ImageScan

Status = Literal["done", "duplicate", "retry", "dead"]


@dataclass(slots=True)
class Outcome:
    message_id: str
    body: str
    receive_count: int
    # When SQS first accepted the message: the same on every delivery of it.
    sent_ms: int | None = None
    status: Status = "done"
    error: PipelineError | None = None
    scan: ImageScan | None = None
    finding: FindingEvent | None = None  # a finding event (then ``scan`` is None)
    findings: int = 0
    duration_ms: float = 0.0
    completed: bool = False  # processing ran to its end (successfully or not)
    dead_letter_without_reason: bool = False  # the body left no room for the attributes
    notes: list[str] = field(default_factory=list)

    @property
    def subject(self) -> ImageScan | FindingEvent | None:
        """What the message is about: its image scan or its finding event."""
        return self.scan if self.scan is not None else self.finding


def receive(record: object, decode: Callable[[str], ImageScan | FindingEvent]) -> Outcome:
    """An SQS record → its outcome so far: decoded, or rejected with a reason."""
    if not isinstance(record, Mapping):
        outcome = Outcome(message_id="", body="", receive_count=1)
        outcome.error = PermanentError("not_an_event", "the SQS record is not an object")
        return outcome
    attributes = record.get("attributes")
    attributes = attributes if isinstance(attributes, Mapping) else {}
    try:
        receive_count = int(attributes.get("ApproximateReceiveCount", 1))
    except (TypeError, ValueError):
        receive_count = 1
    try:
        sent_ms: int | None = int(attributes["SentTimestamp"])
    except (KeyError, TypeError, ValueError):
        sent_ms = None
    body = record.get("body")
    message_id = record.get("messageId")
    outcome = Outcome(
        message_id=message_id if isinstance(message_id, str) else "",
        body=body if isinstance(body, str) else "",
        receive_count=receive_count,
        sent_ms=sent_ms,
    )
    if not isinstance(body, str) or not body:
        outcome.error = PermanentError("not_an_event", "SQS record has no body")
        return outcome
    try:
        decoded = decode(body)
    except PipelineError as err:
        outcome.error = err
    except Exception as exc:  # decoding is pure: what fails once fails every time
        outcome.error = PermanentError("invalid_event", f"undecodable: {type(exc).__name__}")
        outcome.notes.append(bounded(traceback.format_exc(limit=3)))
    else:
        if isinstance(decoded, FindingEvent):
            outcome.finding = decoded
        else:
            outcome.scan = decoded
    return outcome
