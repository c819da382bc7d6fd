"""A message read from the dead-letter queue, with its reason and image made explicit."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pipeline import deadletter
from pipeline.errors import PipelineError
from pipeline.events import decode

# Messages that carry no ErrorCode attribute: moved by the queue's own redrive (the handler
# never saw them die) or sent by something else.
UNKNOWN_REASON = "unknown"


@dataclass(frozen=True, slots=True)
class DeadMessage:
    message_id: str
    receipt_handle: str
    body: str
    attributes: Mapping[str, Any]  # MessageAttributes as ReceiveMessage returned them
    letter: deadletter.DeadLetter | None
    sent_at: datetime  # when it entered the DLQ (or its first queue, after a native redrive)
    dlq_receive_count: int
    repository: str | None
    image_digest: str | None
    image_tag: str | None

    @property
    def reason(self) -> str:
        return self.letter.code if self.letter else UNKNOWN_REASON

    @property
    def retryable(self) -> bool | None:
        return self.letter.retryable if self.letter else None

    @property
    def receive_count(self) -> int | None:
        """How often the source queue delivered it before it died (our attribute)."""
        return self.letter.receive_count if self.letter else None

    @property
    def failed_at(self) -> datetime:
        if self.letter and self.letter.failed_at:
            try:
                value = datetime.fromisoformat(self.letter.failed_at.replace("Z", "+00:00"))
                return value if value.tzinfo else value.replace(tzinfo=UTC)
            except ValueError:
                pass
        return self.sent_at

    def age_seconds(self, now: datetime) -> float:
        return (now - self.failed_at).total_seconds()

    def as_json(self, now: datetime) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "reason": self.reason,
            "error_message": self.letter.message if self.letter else None,
            "retryable": self.retryable,
            "receive_count": self.receive_count,
            "dlq_receive_count": self.dlq_receive_count,
            "source_message_id": self.letter.source_message_id if self.letter else None,
            "repository": self.repository,
            "image_digest": self.image_digest,
            "image_tag": self.image_tag,
            "sent_at": self.sent_at.isoformat(),
            "failed_at": self.failed_at.isoformat(),
            "age_seconds": round(self.age_seconds(now)),
            "body": self.body,
        }


def from_sqs(message: Mapping[str, Any]) -> DeadMessage:
    """Build from one ReceiveMessage entry (asked with all attributes)."""
    attributes: Mapping[str, Any] = message.get("MessageAttributes") or {}
    system: Mapping[str, Any] = message.get("Attributes") or {}
    body = str(message.get("Body", ""))
    letter = deadletter.from_attributes(attributes)
    repository = letter.repository if letter else None
    digest = letter.image_digest if letter else None
    tag = None
    try:
        scan = decode(body)
    except PipelineError:
        pass
    else:
        repository = repository or scan.repository
        digest = digest or scan.digest
        tag = scan.tags[0] if scan.tags else None
    sent_ms = int(system.get("SentTimestamp", 0) or 0)
    return DeadMessage(
        message_id=str(message["MessageId"]),
        receipt_handle=str(message["ReceiptHandle"]),
        body=body,
        attributes=attributes,
        letter=letter,
        sent_at=datetime.fromtimestamp(sent_ms / 1000, UTC),
        dlq_receive_count=int(system.get("ApproximateReceiveCount", 0) or 0),
        repository=repository,
        image_digest=digest,
        image_tag=tag,
    )
