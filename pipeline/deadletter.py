"""The dead-letter message format shared by the consumer (writer) and the CLI (reader).

A dead message is the original SQS body, unchanged, with these message attributes. The CLI
also reads the attributes EventBridge gives an event it could not deliver to its target (the
central rule's queue, or a member account's forwarding to the central bus).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pipeline import limits

ERROR_CODE = "ErrorCode"  # short machine-readable reason, e.g. image_not_found
ERROR_MESSAGE = "ErrorMessage"  # one human sentence
RETRYABLE = "Retryable"  # "true" when the message died of retries running out
RECEIVE_COUNT = "ReceiveCount"  # ApproximateReceiveCount when it died
SOURCE_MESSAGE_ID = "SourceMessageId"  # messageId on the source queue
FAILED_AT = "FailedAt"  # ISO 8601 UTC
REPOSITORY = "Repository"  # when the body could be decoded
IMAGE_DIGEST = "ImageDigest"  # when the body could be decoded

ALL_ATTRIBUTES = (
    ERROR_CODE,
    ERROR_MESSAGE,
    RETRYABLE,
    RECEIVE_COUNT,
    SOURCE_MESSAGE_ID,
    FAILED_AT,
    REPOSITORY,
    IMAGE_DIGEST,
)


# EventBridge's own dead-letter attributes (its body is the undelivered event itself).
EVENTBRIDGE_ERROR_CODE = "ERROR_CODE"  # e.g. NO_PERMISSIONS, RESOURCE_NOT_FOUND
EVENTBRIDGE_ERROR_MESSAGE = "ERROR_MESSAGE"
EVENTBRIDGE_EXHAUSTED_RETRY_CONDITION = "EXHAUSTED_RETRY_CONDITION"  # only when retries ran out
EVENTBRIDGE_RETRY_ATTEMPTS = "RETRY_ATTEMPTS"
EVENTBRIDGE_PREFIX = "eventbridge:"  # reason codes read from EventBridge's attributes


@dataclass(frozen=True, slots=True)
class DeadLetter:
    code: str
    message: str
    retryable: bool
    receive_count: int
    source_message_id: str
    failed_at: str
    repository: str | None = None
    image_digest: str | None = None


# What goes first when a body leaves too little room for the whole reason (last: the code).
_SHED_ORDER = (
    FAILED_AT,
    SOURCE_MESSAGE_ID,
    IMAGE_DIGEST,
    REPOSITORY,
    RECEIVE_COUNT,
    RETRYABLE,
    ERROR_MESSAGE,
    ERROR_CODE,
)
_MIN_MESSAGE_CHARS = 40  # a reason cut shorter than this says nothing: drop other fields first

Attributes = dict[str, dict[str, str]]


def attributes_size(attributes: Mapping[str, Mapping[str, str]]) -> int:
    """What SQS counts of message attributes: names, data types and values, in bytes."""
    return sum(
        len(name.encode()) + len(v["DataType"].encode()) + len(v["StringValue"].encode())
        for name, v in attributes.items()
    )


def to_attributes(letter: DeadLetter, max_bytes: int | None = None) -> Attributes:
    """SQS MessageAttributes for SendMessage, within ``max_bytes`` when given: the message is
    shortened, then the least useful attributes are left out, the code last of all."""
    values = {
        ERROR_CODE: letter.code,
        ERROR_MESSAGE: letter.message[: limits.DLQ_REASON_MAX_CHARS] or letter.code,
        RETRYABLE: "true" if letter.retryable else "false",
        RECEIVE_COUNT: str(letter.receive_count),
        SOURCE_MESSAGE_ID: letter.source_message_id,
        FAILED_AT: letter.failed_at,
        REPOSITORY: letter.repository,
        IMAGE_DIGEST: letter.image_digest,
    }
    attributes = {
        name: {"DataType": "Number" if name == RECEIVE_COUNT else "String", "StringValue": value}
        for name, value in values.items()
        if value  # SQS rejects empty attribute values
    }
    return attributes if max_bytes is None else _fit(attributes, max_bytes)


def _fit(attributes: Attributes, max_bytes: int) -> Attributes:
    attributes = dict(attributes)
    for name in _SHED_ORDER:
        excess = attributes_size(attributes) - max_bytes
        if excess <= 0:
            break
        message = attributes.get(ERROR_MESSAGE, {}).get("StringValue", "")
        keep = len(message.encode()) - excess
        if name == FAILED_AT and message and keep >= _MIN_MESSAGE_CHARS:
            cut = message.encode()[:keep].decode("utf-8", errors="ignore")
            attributes[ERROR_MESSAGE] = {"DataType": "String", "StringValue": cut}
            continue
        attributes.pop(name, None)
    return attributes if attributes_size(attributes) <= max_bytes else {}


def from_attributes(attributes: Mapping[str, Any]) -> DeadLetter | None:
    """Read back what to_attributes wrote (as ReceiveMessage returns it); None if absent."""

    def get(name: str) -> str | None:
        value = attributes.get(name)
        if isinstance(value, Mapping):
            found = value.get("StringValue", value.get("stringValue"))
            return str(found) if found is not None else None
        return None

    code = get(ERROR_CODE)
    if code is None:
        return _from_eventbridge(get)
    count = get(RECEIVE_COUNT)
    return DeadLetter(
        code=code,
        message=get(ERROR_MESSAGE) or "",
        retryable=get(RETRYABLE) == "true",
        receive_count=int(count) if count and count.isdigit() else 0,
        source_message_id=get(SOURCE_MESSAGE_ID) or "",
        failed_at=get(FAILED_AT) or "",
        repository=get(REPOSITORY),
        image_digest=get(IMAGE_DIGEST),
    )


def _from_eventbridge(get: Callable[[str], str | None]) -> DeadLetter | None:
    """An event EventBridge could not deliver: its reason, as ``eventbridge:<ERROR_CODE>``."""
    code = get(EVENTBRIDGE_ERROR_CODE)
    if code is None:
        return None
    attempts = get(EVENTBRIDGE_RETRY_ATTEMPTS)
    return DeadLetter(
        code=EVENTBRIDGE_PREFIX + code,
        message=get(EVENTBRIDGE_ERROR_MESSAGE) or "",
        retryable=get(EVENTBRIDGE_EXHAUSTED_RETRY_CONDITION) is not None,
        receive_count=int(attempts) if attempts and attempts.isdigit() else 0,
        source_message_id="",
        failed_at="",  # the DLQ's SentTimestamp is when it died
    )
