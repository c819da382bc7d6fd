"""Hostile or broken input: rejected permanently with a short reason, never raised."""

from __future__ import annotations

import copy
import json
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline import layout
from pipeline.errors import MESSAGE_MAX_CHARS, PermanentError, PipelineError
from pipeline.events import decode
from pipeline.metrics import outcome_line
from pipeline.outcome import receive

from .conftest import ECR_IMAGE_SCAN_SAMPLE


def event(**changes: Any) -> dict[str, Any]:
    raw = copy.deepcopy(ECR_IMAGE_SCAN_SAMPLE)
    for path, value in changes.items():
        node = raw
        *parents, last = path.split("__")
        for key in parents:
            node = node[key]
        node[last.replace("_", "-")] = value
    return raw


def record(body: object, message_id: str = "m-1") -> dict[str, Any]:
    text = body if isinstance(body, str) else json.dumps(body)
    return {"messageId": message_id, "body": text, "attributes": {"ApproximateReceiveCount": "1"}}


@pytest.mark.parametrize(
    "value", [["aws.ecr"], {"a": 1}, 7, None, True], ids=["list", "object", "int", "null", "bool"]
)
@pytest.mark.parametrize("field", ["source", "detail_type"])
def test_a_source_or_detail_type_of_any_type_is_unsupported(field: str, value: object) -> None:
    with pytest.raises(PermanentError) as caught:
        decode(orjson.dumps(event(**{field: value})))
    assert caught.value.code == "unsupported_event"


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"detail__image_digest": "sha256:" + "a" * 5_000}, "at most 200 characters"),
        ({"time": "2019-10-29T02:36:48." + "1" * 450 + "Z"}, "at most 64 characters"),
        ({"detail__image_tags": ["t" * 301]}, "at most 300 characters"),
        ({"detail__image_tags": [""]}, "at least 1 character"),
    ],
    ids=["overlong-digest", "overlong-time", "overlong-tag", "empty-tag"],
)
def test_overlong_fields_are_invalid_on_the_first_delivery(
    changes: dict[str, Any], problem: str
) -> None:
    with pytest.raises(PermanentError) as caught:
        decode(orjson.dumps(event(**changes)))
    assert caught.value.code == "invalid_event"
    assert problem in caught.value.message
    assert len(caught.value.message) < 500


def test_a_huge_scan_status_is_quoted_briefly() -> None:
    with pytest.raises(PermanentError) as caught:
        decode(orjson.dumps(event(detail__scan_status="X" * 983_000)))
    assert caught.value.code == "scan_not_complete"
    assert len(caught.value.message) < 400
    assert "[983002 chars]" in caught.value.message


def test_every_error_text_is_bounded() -> None:
    assert len(PipelineError("x", "y" * 10**6).message) <= MESSAGE_MAX_CHARS


@settings(max_examples=300, deadline=None)
@given(
    digest_hex=st.text("0123456789abcdef", min_size=32, max_size=193),
    tags=st.lists(st.text(min_size=1, max_size=300), max_size=3),
    fraction=st.text("0123456789", max_size=40),
)
def test_whatever_decodes_names_valid_streams(
    digest_hex: str, tags: list[str], fraction: str
) -> None:
    time = f"2019-10-29T02:36:48{'.' + fraction if fraction else ''}Z"
    raw = event(detail__image_digest="sha256:" + digest_hex, detail__image_tags=tags, time=time)
    try:
        scan = decode(orjson.dumps(raw))
    except PermanentError:
        return  # rejected at the edge is fine; raising anything else is not
    tag = layout.first_tag(scan.tags)
    for kind in (*layout.SEVERITY_ORDER, layout.SUMMARY):
        name = layout.stream_name(kind, tag, scan.digest, scan.time)
        assert len(name) <= 512 and ":" not in name and "*" not in name
    assert len(layout.claim_stream(layout.stream_name("SUMMARY", tag, scan.digest, time), 9)) <= 512


def test_a_record_that_is_not_an_object_is_rejected() -> None:
    outcome = receive(["not", "a", "record"], decode)
    assert outcome.error is not None and outcome.error.code == "not_an_event"


def test_a_record_without_an_id_or_with_odd_attributes_is_still_decoded() -> None:
    outcome = receive(
        {"body": orjson.dumps(ECR_IMAGE_SCAN_SAMPLE).decode(), "attributes": "odd"}, decode
    )
    assert (outcome.message_id, outcome.receive_count, outcome.error) == ("", 1, None)


def test_a_decoder_bug_is_a_permanent_rejection_not_a_crash() -> None:
    def broken(body: str) -> Any:
        raise KeyError("a bug")

    outcome = receive(record(ECR_IMAGE_SCAN_SAMPLE), broken)
    assert outcome.error is not None
    assert (outcome.error.code, outcome.error.retryable) == ("invalid_event", False)
    assert "KeyError" in outcome.error.message


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
        max_leaves=20,
    )
)
def test_any_json_body_is_decoded_or_rejected_with_a_bounded_line(body: object) -> None:
    outcome = receive(record(body), decode)
    line = orjson.dumps(outcome_line(outcome, kept_on_queue=False))
    assert len(line) < 8_192
    if outcome.error is not None:
        assert not outcome.error.retryable


def test_an_outcome_line_is_bounded_whatever_it_carries() -> None:
    outcome = receive(record("x" * 900_000), decode)
    outcome.notes += ["n" * 100_000] * 50
    line = orjson.dumps(outcome_line(outcome, kept_on_queue=True))
    assert len(line) < 16_384
    assert b"x" * 400 not in line
