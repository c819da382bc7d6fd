"""Forward dead messages to the dead-letter queue (SendMessageBatch, 10 at a time)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pipeline import limits


@dataclass(frozen=True, slots=True)
class Outgoing:
    key: str  # our id for the entry (the source messageId)
    body: str
    attributes: dict[str, dict[str, str]]


async def send_batch(client: Any, queue_url: str, messages: Sequence[Outgoing]) -> dict[str, str]:
    """Send messages; return {key: why} for those NOT sent (the caller keeps those messages)."""
    failed: dict[str, str] = {}
    chunk = limits.SQS_SEND_BATCH_MAX
    for start in range(0, len(messages), chunk):
        part = messages[start : start + chunk]
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
