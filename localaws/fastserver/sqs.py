"""SQS for the fast endpoint: SendMessage / SendMessageBatch in memory, only what the consumer's
DLQ path calls (moto serves SQS to the other front end)."""

from __future__ import annotations

import base64
import hashlib
import struct
import uuid
from collections.abc import Callable
from typing import Any

from localaws.rules.errors import ApiError
from pipeline import limits

Request = dict[str, Any]
Response = dict[str, Any]


class SqsService:
    def __init__(self) -> None:
        self.messages: dict[str, list[dict[str, Any]]] = {}  # queue URL -> sent messages
        self.operations: dict[str, Callable[[Request], Response]] = {
            "SendMessage": self.send_message,
            "SendMessageBatch": self.send_message_batch,
        }

    def reset(self) -> None:
        self.messages.clear()

    def sent(self) -> int:
        return sum(len(m) for m in self.messages.values())

    def send_message(self, req: Request) -> Response:
        return self._store(_queue(req), req)

    def send_message_batch(self, req: Request) -> Response:
        queue = _queue(req)
        entries = req.get("Entries") or []
        if not entries:
            raise ApiError("AWS.SimpleQueueService.EmptyBatchRequest", "no entries")
        if len(entries) > limits.SQS_SEND_BATCH_MAX:
            raise ApiError("AWS.SimpleQueueService.TooManyEntriesInBatchRequest", "too many")
        successful = []
        for entry in entries:
            result = self._store(queue, entry)
            successful.append({"Id": entry["Id"], **result})
        return {"Successful": successful, "Failed": []}

    def _store(self, queue: str, req: Request) -> Response:
        body = req.get("MessageBody")
        if not isinstance(body, str) or not body:
            raise ApiError("InvalidParameterValue", "MessageBody is required")
        attributes = req.get("MessageAttributes") or {}
        message_id = str(uuid.uuid4())
        self.messages.setdefault(queue, []).append(
            {"MessageId": message_id, "Body": body, "MessageAttributes": attributes}
        )
        response: Response = {
            "MessageId": message_id,
            "MD5OfMessageBody": hashlib.md5(body.encode()).hexdigest(),
        }
        if attributes:
            response["MD5OfMessageAttributes"] = attributes_md5(attributes)
        return response


def _queue(req: Request) -> str:
    url = req.get("QueueUrl")
    if not isinstance(url, str) or not url:
        raise ApiError("AWS.SimpleQueueService.NonExistentQueue", "QueueUrl is required")
    return url


def attributes_md5(attributes: dict[str, dict[str, Any]]) -> str:
    """SQS's digest of message attributes: name, type and value, each length-prefixed."""

    def prefixed(data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + data

    digest = hashlib.md5()
    for name in sorted(attributes):
        value = attributes[name]
        data_type = str(value.get("DataType", "String"))
        digest.update(prefixed(name.encode()) + prefixed(data_type.encode()))
        if "BinaryValue" in value:
            raw = value["BinaryValue"]  # base64 on the JSON wire
            data = raw if isinstance(raw, bytes) else base64.b64decode(str(raw))
            digest.update(b"\x02" + prefixed(data))
        else:
            digest.update(b"\x01" + prefixed(str(value.get("StringValue", "")).encode()))
    return digest.hexdigest()
