"""Receive messages and hold them invisible, then give back the ones not consumed.

Held messages stay invisible until the end of the ``with`` block so that a long queue is read
once, not in circles; on exit every held message is made visible again at once
(ChangeMessageVisibility 0), so nothing is consumed that the caller did not delete. If the
process dies, SQS releases them by itself when the visibility timeout runs out.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType
from typing import Any

from pipeline.ops.deadmessages import DeadMessage, from_sqs

_BATCH = 10  # ReceiveMessage, ChangeMessageVisibilityBatch and DeleteMessageBatch maximum


class Hold:
    def __init__(
        self,
        sqs: Any,
        queue_url: str,
        *,
        visibility_timeout: int = 60,
        wait_seconds: int = 1,
    ) -> None:
        self._sqs, self._url = sqs, queue_url
        self._visibility, self._wait = visibility_timeout, wait_seconds
        self._held: dict[str, str] = {}  # message id -> latest receipt handle
        self._seen: set[str] = set()

    def __enter__(self) -> Hold:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def batches(self, *, stop_after: int | None = None) -> Iterator[list[DeadMessage]]:
        """New messages, a batch at a time, until a receive comes back empty or ``stop_after``
        distinct messages have been seen."""
        while stop_after is None or len(self._seen) < stop_after:
            want = _BATCH if stop_after is None else min(_BATCH, stop_after - len(self._seen))
            response = self._sqs.receive_message(
                QueueUrl=self._url,
                MaxNumberOfMessages=want,
                VisibilityTimeout=self._visibility,
                WaitTimeSeconds=self._wait,
                MessageAttributeNames=["All"],
                MessageSystemAttributeNames=["All"],
            )
            raw = response.get("Messages", [])
            if not raw:
                return
            fresh = []
            for message in raw:
                dead = from_sqs(message)
                self._held[dead.message_id] = dead.receipt_handle
                if dead.message_id not in self._seen:  # seen again after its timeout ran out
                    self._seen.add(dead.message_id)
                    fresh.append(dead)
            if fresh:
                yield fresh

    def consumed(self, message_ids: list[str]) -> None:
        """These were deleted by the caller: nothing to give back."""
        for message_id in message_ids:
            self._held.pop(message_id, None)

    def release(self) -> None:
        held = list(self._held.items())
        self._held.clear()
        for start in range(0, len(held), _BATCH):
            entries = [
                {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": 0}
                for i, (_, handle) in enumerate(held[start : start + _BATCH])
            ]
            self._sqs.change_message_visibility_batch(QueueUrl=self._url, Entries=entries)
