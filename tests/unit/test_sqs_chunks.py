"""Dead-letter batches respect both SendMessageBatch limits: 10 entries and the payload size."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import limits
from pipeline.aws.sqs import Outgoing, chunks

ATTRS = {"ErrorCode": {"DataType": "String", "StringValue": "malformed_json"}}


def outgoing(key: int, body_bytes: int) -> Outgoing:
    return Outgoing(str(key), "x" * body_bytes, ATTRS)


def test_size_counts_body_and_attributes() -> None:
    assert outgoing(1, 100).size == 100 + len("ErrorCode") + len("String") + len("malformed_json")


@settings(deadline=None)  # a shared CI machine can stall any single example
@given(st.lists(st.integers(min_value=0, max_value=600_000), max_size=30))
def test_chunks_keep_order_and_limits(sizes: list[int]) -> None:
    messages = [outgoing(i, n) for i, n in enumerate(sizes)]
    batches = list(chunks(messages))
    assert [m for b in batches for m in b] == messages
    for batch in batches:
        assert 1 <= len(batch) <= limits.SQS_SEND_BATCH_MAX
        assert len(batch) == 1 or sum(m.size for m in batch) <= limits.SQS_MAX_MESSAGE_BYTES


def test_small_messages_fill_batches_of_ten() -> None:
    assert [len(b) for b in chunks([outgoing(i, 10) for i in range(25)])] == [10, 10, 5]
