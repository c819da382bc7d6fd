"""Hostile message bodies, one defect of issue #7 each: crashes, misclassification, echoes, size.

The contract: one bad message never fails or crashes the rest of its batch; what can never
succeed is dead-lettered on its first delivery with a reason that says what is wrong; every
outcome line and DLQ reason has a bounded size and never echoes a whole body; a dead letter
always fits SQS, its body unchanged.
"""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any

import pytest

from pipeline import limits

from .conftest import MAX_LINE_BYTES, Image, Rig, basic_findings, not_exactly_once

HUGE = 200_000  # characters in one field: far beyond any outcome line or DLQ reason


def mutated(image: Image, path: tuple[str, ...], value: Any) -> str:
    event = copy.deepcopy(image.event)
    target = event
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return json.dumps(event)


def attribute(message: dict[str, Any], name: str) -> str | None:
    value = (message.get("MessageAttributes") or {}).get(name)
    return None if value is None else str(value["StringValue"])


def sqs_size(message: dict[str, Any]) -> int:
    """What SQS counts against its 1 MiB limit: the body plus attribute names, types, values."""
    size = len(message["Body"].encode())
    for name, value in (message.get("MessageAttributes") or {}).items():
        size += len(name.encode()) + len(value["DataType"].encode())
        size += len(value["StringValue"].encode())
    return size


def assert_dead_on_first_delivery(rig: Rig, response: Any, bodies: dict[str, str]) -> None:
    """Each of ``bodies`` (messageId → body) is acknowledged and in the DLQ with its reason."""
    failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
    outcomes = rig.outcomes()
    dead = rig.take_dead_letters(wanted=set(bodies))
    for message_id, body in bodies.items():
        line = outcomes.get(message_id, {})
        assert message_id not in failed, (
            f"{message_id} left on the queue: outcome {line.get('outcome')}, reason "
            f"{line.get('reason')}, notes {str(line.get('notes'))[:300]}"
        )
        assert message_id in dead, f"{message_id} is not in the DLQ: {line.get('reason')}"
        letter = dead[message_id]
        assert letter["Body"] == body, "the dead letter's body was altered"
        assert attribute(letter, "ErrorCode"), "a dead letter without its reason"
        assert attribute(letter, "ReceiveCount") == "1"


# ---- defect 1: one body crashes the whole batch --------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("source", ["aws.ecr"]),
        ("source", {"aws": "ecr"}),
        ("detail-type", ["ECR Image Scan"]),
        ("detail-type", {"kind": ["ECR Image Scan"]}),
    ],
    ids=["source-list", "source-object", "detail-type-list", "detail-type-object"],
)
def test_a_body_with_a_list_or_object_envelope_never_fails_the_batch(
    rig: Rig, field: str, value: Any
) -> None:
    good = rig.image("team/web", "v1", basic_findings(8, seed=1))
    bad = mutated(good, (field,), value)
    records = [rig.record(good, message_id="good"), rig.record(bad, message_id="bad")]

    response = rig.invoke(records)  # must not raise: a raise fails the whole batch

    assert response == {"batchItemFailures": []}
    assert rig.outcomes()["good"]["outcome"] == "done"
    assert_dead_on_first_delivery(rig, response, {"bad": bad})
    assert not_exactly_once(rig.tally_all([good])) == {}


# ---- defect 2: input that can never succeed treated as transient ---------------------------


@pytest.mark.parametrize(
    ("path", "value", "named"),
    [
        (("detail", "image-digest"), "sha256:" + "a" * 600, "digest"),
        (("time",), "2026-11-29T06:00:00." + "1" * 450 + "Z", "time"),
    ],
    ids=["600-hex-digest", "450-digit-fraction-time"],
)
def test_overlong_fields_are_dead_on_first_delivery_with_a_reason_that_names_them(
    rig: Rig, path: tuple[str, ...], value: str, named: str
) -> None:
    good = rig.image("team/api", "v2", basic_findings(4, seed=2))
    bad = mutated(good, path, value)
    records = [rig.record(good, message_id="good"), rig.record(bad, message_id="bad")]

    response = rig.invoke(records)

    line = rig.outcomes()["bad"]
    assert line["outcome"] == "dead", f"{line['outcome']}: {line['reason']}: {line['detail']}"
    assert line["reason"] != "internal_error"
    assert_dead_on_first_delivery(rig, response, {"bad": bad})
    assert rig.outcomes()["good"]["outcome"] == "done"


def test_overlong_fields_are_reported_as_input_errors_not_retryable(rig: Rig) -> None:
    good = rig.image("team/api", "v3", basic_findings(2, seed=3))
    bodies = {
        "digest": mutated(good, ("detail", "image-digest"), "sha256:" + "b" * 600),
        "time": mutated(good, ("time",), "2026-11-29T06:00:00." + "9" * 450 + "Z"),
    }

    rig.invoke([rig.record(body, message_id=key) for key, body in bodies.items()])

    dead = rig.take_dead_letters(wanted=set(bodies))
    outcomes = {k: f"{v['outcome']}: {v['reason']}" for k, v in rig.outcomes().items()}
    assert set(dead) == set(bodies), f"not dead-lettered on the first delivery: {outcomes}"
    for key, letter in dead.items():
        assert attribute(letter, "Retryable") == "false"
        assert attribute(letter, "ErrorCode") != "internal_error"
        reason = attribute(letter, "ErrorMessage") or ""
        assert key in reason.lower(), f"the reason does not say what is wrong: {reason[:200]}"


# ---- defect 3: unbounded outcome lines and reasons -----------------------------------------


def hostile_bodies(image: Image) -> dict[str, str]:
    """Bodies each carrying one huge field, as an attacker would send them."""
    return {
        "repository": mutated(image, ("detail", "repository-name"), "a" * HUGE),
        "time": mutated(image, ("time",), "9" * HUGE),
        "digest": mutated(image, ("detail", "image-digest"), "sha256:" + "c" * HUGE),
        "source": mutated(image, ("source",), "aws." + "s" * HUGE),
        "detail-type": mutated(image, ("detail-type",), "ECR " + "d" * HUGE),
        "scan-status": mutated(image, ("detail", "scan-status"), "DONE" + "e" * HUGE),
        "account": mutated(image, ("account",), "1" * HUGE),
        "region": mutated(image, ("region",), "us-east-" + "1" * HUGE),
        "not-json": "{" + "f" * HUGE,
        "not-an-object": json.dumps(["g" * HUGE]),
    }


def test_outcome_lines_and_dead_letter_reasons_have_a_bounded_size(rig: Rig) -> None:
    good = rig.image("team/echo", "v1", basic_findings(3, seed=4))
    bodies = hostile_bodies(good)
    # A real image announced with a huge tag: it may be logged, but its line stays small.
    bodies["tag"] = mutated(good, ("detail", "image-tags"), ["t" * 20_000])

    response = rig.invoke([rig.record(body, message_id=key) for key, body in bodies.items()])

    assert {line for line in rig.outcomes()} == set(bodies), "one outcome line per message"
    too_long = [
        f"{len(line.encode()):,} bytes: {line[:100]}…"
        for line in rig.raw_lines
        if len(line.encode()) > MAX_LINE_BYTES
    ]
    assert not too_long, f"{len(too_long)} stdout lines over {MAX_LINE_BYTES} bytes:\n" + (
        "\n".join(too_long)
    )
    dead = rig.take_dead_letters()
    failed = {f["itemIdentifier"] for f in response["batchItemFailures"]}
    for key in bodies:
        if key == "tag":
            continue
        assert key in dead and key not in failed, f"{key}: {rig.outcomes()[key]['reason']}"
        reason = attribute(dead[key], "ErrorMessage") or ""
        assert len(reason) <= limits.DLQ_REASON_MAX_CHARS
        for name, value in dead[key]["MessageAttributes"].items():
            assert len(value["StringValue"]) <= limits.DLQ_REASON_MAX_CHARS, name


# ---- defect 4: a dead letter that cannot fit -----------------------------------------------


def padded(body_without_padding: dict[str, Any] | None, total_bytes: int) -> str:
    """A JSON body of exactly ``total_bytes`` UTF-8 bytes (a ``padding`` member fills it)."""
    doc = dict(body_without_padding or {})
    doc["padding"] = ""
    room = total_bytes - len(json.dumps(doc).encode())
    doc["padding"] = "p" * room
    text = json.dumps(doc)
    assert len(text.encode()) == total_bytes
    return text


# Near the limit: the body fits SQS alone, but not with the reason attributes as they are
# written today (~300 bytes; ~400 with a repository and digest). A shrunk reason fits.
NEAR = {
    "not-an-event": limits.SQS_MAX_MESSAGE_BYTES - 256,
    "malformed-json": limits.SQS_MAX_MESSAGE_BYTES - 256,
    "multibyte": limits.SQS_MAX_MESSAGE_BYTES - 256,
    "unknown-image": limits.SQS_MAX_MESSAGE_BYTES - 512,
}


@pytest.mark.parametrize("kind", sorted(NEAR))
def test_a_body_near_the_sqs_limit_is_still_dead_lettered_unchanged(rig: Rig, kind: str) -> None:
    good = rig.image("team/full", "v1", basic_findings(2, seed=5))
    size = NEAR[kind]
    if kind == "not-an-event":
        body = padded({"hello": "world"}, size)
    elif kind == "malformed-json":
        body = "{" + "x" * (size - 1)
    elif kind == "unknown-image":
        event = copy.deepcopy(good.event)
        event["detail"]["image-digest"] = "sha256:" + "f" * 64
        body = padded(event, size)
    else:
        body = json.dumps({"note": "é" * ((size - 12) // 2)}, ensure_ascii=False)
        assert size - 2 <= len(body.encode()) <= size
    big = str(uuid.uuid4())
    records = [rig.record(good, message_id="good"), rig.record(body, message_id=big)]

    response = rig.invoke(records)

    assert_dead_on_first_delivery(rig, response, {big: body})
    letter = rig.last_dead_letters[big]
    assert sqs_size(letter) <= limits.SQS_MAX_MESSAGE_BYTES
    assert rig.outcomes()["good"]["outcome"] == "done"
