"""Forward dead messages to the dead-letter queue (SendMessageBatch)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline import limits
from pipeline.deadletter import attributes_size


@dataclass(frozen=True, slots=True)
class Outgoing:
    key: str  # our id for the entry (the source messageId)
    body: str
    attributes: dict[str, dict[str, str]]

    @property
    def size(self) -> int:
        """What SQS counts: body plus attribute names, types and values."""
        return len(self.body.encode()) + attributes_size(self.attributes)


def chunks(messages: Sequence[Outgoing]) -> Iterator[list[Outgoing]]:
    """Batches of ≤ 10 entries whose total size stays within the SQS payload limit."""
    batch: list[Outgoing] = []
    size = 0
    for message in messages:
        if batch and (
            len(batch) == limits.SQS_SEND_BATCH_MAX
            or size + message.size > limits.SQS_MAX_MESSAGE_BYTES
        ):
            yield batch
            batch, size = [], 0
        batch.append(message)
        size += message.size
    if batch:
        yield batch


async def send_batch(client: Any, queue_url: str, messages: Sequence[Outgoing]) -> dict[str, str]:
    """Send messages; return {key: why} for those NOT sent (the caller keeps those messages)."""
    failed: dict[str, str] = {}
    too_big = [m for m in messages if m.size > limits.SQS_MAX_MESSAGE_BYTES]
    for message in too_big:
        failed[message.key] = f"{message.size} bytes with its reason is too large for SQS"
    for part in chunks([m for m in messages if m.key not in failed]):
        # Batch entry ids allow only [A-Za-z0-9_-]: use positions, map back.
        entries = [
            {"Id": str(i), "MessageBody": m.body, "MessageAttributes": m.attributes}
            for i, m in enumerate(part)
        ]
        try:
            response = await client.send_message_batch(QueueUrl=queue_url, Entries=entries)
        except Exception as exc:
            failed.update((m.key, f"SendMessageBatch: {exc}") for m in part)
            continue
        for entry in response.get("Failed") or ():
            why = f"SendMessageBatch: {entry.get('Code')}: {entry.get('Message', '')}"
            failed[part[int(entry["Id"])].key] = why
    return failed
