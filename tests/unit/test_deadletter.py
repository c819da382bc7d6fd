"""The dead-letter attribute format: what the consumer writes, the CLI reads back."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import deadletter, limits
from pipeline.deadletter import DeadLetter, from_attributes, to_attributes

LETTER = DeadLetter(
    code="image_not_found",
    message="ecr:DescribeImageScanFindings: ImageNotFoundException: gone",
    retryable=False,
    receive_count=2,
    source_message_id="059f36b4-87a3-44ab-83d2-661975830a7d",
    failed_at="2024-05-01T12:30:05Z",
    repository="team/app",
    image_digest="sha256:" + "ab" * 32,
)


def lambda_shaped(attributes: dict[str, dict[str, str]]) -> dict[str, Any]:
    """The same attributes as a Lambda SQS event record spells them."""
    return {
        name: {"stringValue": v["StringValue"], "dataType": v["DataType"], "binaryListValues": []}
        for name, v in attributes.items()
    }


def test_every_attribute_is_written() -> None:
    attributes = to_attributes(LETTER)
    assert set(attributes) == set(deadletter.ALL_ATTRIBUTES)
    assert attributes[deadletter.RECEIVE_COUNT] == {"DataType": "Number", "StringValue": "2"}
    assert attributes[deadletter.RETRYABLE] == {"DataType": "String", "StringValue": "false"}


def test_round_trip_through_receive_message_and_lambda_shapes() -> None:
    attributes = to_attributes(LETTER)
    assert from_attributes(attributes) == LETTER
    assert from_attributes(lambda_shaped(attributes)) == LETTER


def test_absent_values_are_left_out_and_read_back_as_none() -> None:
    letter = DeadLetter("malformed_json", "not JSON", False, 1, "m-1", "2024-05-01T00:00:00Z")
    attributes = to_attributes(letter)
    assert deadletter.REPOSITORY not in attributes
    assert deadletter.IMAGE_DIGEST not in attributes
    assert from_attributes(attributes) == letter


def test_an_empty_message_falls_back_to_the_code() -> None:
    attributes = to_attributes(DeadLetter("timeout", "", True, 3, "m-1", "t"))
    assert attributes[deadletter.ERROR_MESSAGE]["StringValue"] == "timeout"


def test_a_long_message_is_shortened() -> None:
    letter = DeadLetter("aws_error", "x" * 5_000, True, 3, "m-1", "t")
    text = to_attributes(letter)[deadletter.ERROR_MESSAGE]["StringValue"]
    assert text == "x" * limits.DLQ_REASON_MAX_CHARS


def test_a_message_without_our_attributes_is_not_a_dead_letter() -> None:
    assert from_attributes({}) is None
    assert from_attributes({"Other": {"DataType": "String", "StringValue": "x"}}) is None


def _string(value: str) -> dict[str, str]:
    return {"DataType": "String", "StringValue": value}


def test_an_event_eventbridge_could_not_deliver_reads_with_its_reason() -> None:
    attributes = {
        "ERROR_CODE": _string("NO_PERMISSIONS"),
        "ERROR_MESSAGE": _string("Not authorized to put events on the bus"),
        "RULE_ARN": _string("arn:aws:events:eu-west-1:111122223333:rule/ecr-findings-forwarder"),
        "TARGET_ARN": _string("arn:aws:events:eu-west-1:444455556666:event-bus/default"),
    }
    letter = from_attributes(attributes)
    assert letter is not None
    assert letter.code == "eventbridge:NO_PERMISSIONS"
    assert letter.message == "Not authorized to put events on the bus"
    # Refused at once, not retried until the end: EventBridge sends no retry condition.
    assert (letter.retryable, letter.receive_count, letter.failed_at) == (False, 0, "")


def test_an_event_that_ran_out_of_eventbridge_retries_is_retryable() -> None:
    letter = from_attributes(
        {
            "ERROR_CODE": _string("THROTTLING"),
            "EXHAUSTED_RETRY_CONDITION": _string("MaximumEventAgeInSeconds"),
            "RETRY_ATTEMPTS": _string("185"),
        }
    )
    assert letter is not None
    assert (letter.code, letter.retryable, letter.receive_count) == (
        "eventbridge:THROTTLING",
        True,
        185,
    )


def test_our_attributes_win_over_eventbridges() -> None:
    attributes: dict[str, Any] = {**to_attributes(LETTER), "ERROR_CODE": _string("THROTTLING")}
    assert from_attributes(attributes) == from_attributes(to_attributes(LETTER))


def test_a_garbled_receive_count_reads_as_zero() -> None:
    attributes = to_attributes(LETTER)
    attributes[deadletter.RECEIVE_COUNT] = {"DataType": "Number", "StringValue": "many"}
    letter = from_attributes(attributes)
    assert letter is not None and letter.receive_count == 0


VALUES = st.text(min_size=1, max_size=60)


@settings(max_examples=200, deadline=None)
@given(
    letter=st.builds(
        DeadLetter,
        code=VALUES,
        message=st.text(min_size=1, max_size=limits.DLQ_REASON_MAX_CHARS),
        retryable=st.booleans(),
        receive_count=st.integers(0, 10_000),
        source_message_id=VALUES,
        failed_at=VALUES,
        repository=st.none() | VALUES,
        image_digest=st.none() | VALUES,
    )
)
def test_any_letter_round_trips(letter: DeadLetter) -> None:
    attributes = to_attributes(letter)
    assert all(v["StringValue"] for v in attributes.values())  # SQS refuses empty values
    assert from_attributes(attributes) == letter
    assert from_attributes(lambda_shaped(attributes)) == letter


@settings(max_examples=300, deadline=None)
@given(
    message=st.text(max_size=3_000),
    room=st.integers(min_value=0, max_value=2_000),
)
def test_attributes_always_fit_the_room_beside_the_body(message: str, room: int) -> None:
    letter = DeadLetter("aws_error", message, True, 3, "m" * 80, "2024-05-01T12:30:05Z", "r", "d")
    attributes = to_attributes(letter, max_bytes=room)
    assert deadletter.attributes_size(attributes) <= room
    full = to_attributes(letter)
    if deadletter.attributes_size(full) <= room:
        assert attributes == full  # nothing is shed when there is room
    if attributes:
        # The code goes last: whatever is kept includes it.
        assert attributes[deadletter.ERROR_CODE]["StringValue"] == "aws_error"


def test_a_reason_shrinks_before_other_fields_go() -> None:
    letter = DeadLetter("aws_error", "x" * 1_000, True, 3, "m-1", "2024-05-01T12:30:05Z")
    room = deadletter.attributes_size(to_attributes(letter)) - 500
    attributes = to_attributes(letter, max_bytes=room)
    assert set(attributes) == set(to_attributes(letter))
    assert len(attributes[deadletter.ERROR_MESSAGE]["StringValue"]) == 500
