"""SNS Publish rules, as pure checks on a request (moto checks only a subject's length and a
message's length in characters): message and attribute sizes in bytes, subject characters,
the ``MessageStructure=json`` document, message attribute names and values.

A problem is a sentence saying why AWS refuses the request (``InvalidParameter``); the front
end refuses with it and records it as a violation.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from pipeline import limits

_ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,256}")
_RESERVED_PREFIXES = ("aws.", "amazon.")


@dataclass(frozen=True, slots=True)
class Attribute:
    name: str
    data_type: str
    value: str


@dataclass(frozen=True, slots=True)
class PublishRequest:
    message: str | None
    subject: str | None = None
    structure: str | None = None
    attributes: Sequence[Attribute] = field(default_factory=tuple)


def publish_request(form: Mapping[str, Sequence[str]]) -> PublishRequest:
    """A query-protocol Publish form (``parse_qs`` output) → the request."""

    def one(name: str) -> str | None:
        values = form.get(name)
        return values[0] if values else None

    attributes = []
    n = 1
    while (name := one(f"MessageAttributes.entry.{n}.Name")) is not None:
        prefix = f"MessageAttributes.entry.{n}.Value."
        value = one(prefix + "StringValue") or one(prefix + "BinaryValue") or ""
        attributes.append(Attribute(name, one(prefix + "DataType") or "", value))
        n += 1
    return PublishRequest(one("Message"), one("Subject"), one("MessageStructure"), attributes)


def publish_size(request: PublishRequest) -> int:
    """The bytes SNS counts against its limit: the message and its attributes."""
    size = len((request.message or "").encode())
    for a in request.attributes:
        size += len(a.name.encode()) + len(a.data_type.encode()) + len(a.value.encode())
    return size


def publish_problem(request: PublishRequest) -> str | None:
    """Why AWS would refuse this Publish, or None."""
    if not request.message:
        return "Empty message"
    size = publish_size(request)
    if size > limits.SNS_MAX_PUBLISH_BYTES:
        return f"Message too long: {size} bytes with its attributes, over 262144"
    if request.subject is not None:
        problem = _subject_problem(request.subject)
        if problem:
            return problem
    if request.structure is not None:
        problem = _structure_problem(request.structure, request.message)
        if problem:
            return problem
    return _attributes_problem(request.attributes)


def _subject_problem(subject: str) -> str | None:
    if not subject.strip():
        return "Subject must not be empty"
    if len(subject) > limits.SNS_SUBJECT_MAX_CHARS:
        return f"Subject is {len(subject)} characters: it must be fewer than 100"
    bad = sorted({c for c in subject if unicodedata.category(c) == "Cc"})
    if bad:
        return f"Subject holds line breaks or control characters: {bad!r}"
    return None


def _structure_problem(structure: str, message: str) -> str | None:
    if structure != "json":
        return f"MessageStructure must be 'json', not {structure!r}"
    try:
        document = json.loads(message)
    except ValueError:
        return "Message is not valid JSON (MessageStructure=json)"
    if not isinstance(document, dict) or not isinstance(document.get("default"), str):
        return "Message must be a JSON object with a string 'default' (MessageStructure=json)"
    return None


def _attributes_problem(attributes: Sequence[Attribute]) -> str | None:
    if len(attributes) > limits.SNS_MAX_MESSAGE_ATTRIBUTES:
        return f"{len(attributes)} message attributes, over {limits.SNS_MAX_MESSAGE_ATTRIBUTES}"
    for a in attributes:
        name = a.name
        if (
            not _ATTRIBUTE_NAME.fullmatch(name)
            or name.startswith(".")
            or name.endswith(".")
            or ".." in name
            or name.lower().startswith(_RESERVED_PREFIXES)
        ):
            return f"message attribute name {name!r} is not allowed"
        if a.data_type.split(".")[0] not in ("String", "Number", "Binary", "String.Array"):
            return f"message attribute {name!r} has no valid DataType: {a.data_type!r}"
        if not a.value:
            return f"message attribute {name!r} has an empty value"
    return None
