"""The AWS sample's wiring: an EventBridge rule invokes the function with the event itself."""

from __future__ import annotations

import json

import pytest

import lambdas.findings_logger as function
from localaws.findings import basic_findings
from pipeline.runner import InvocationFailed, UnsupportedInvocation

from .conftest import Pipeline


def test_an_event_invoked_directly_is_logged(pipeline: Pipeline) -> None:
    image = pipeline.image("team/direct", "v1", basic_findings(7, seed=41))

    assert function.handler(json.loads(image.body), None) == {"outcome": "done", "findings": 7}

    streams = pipeline.image_messages(image)
    assert sum(len(v) for k, v in streams.items() if not k.startswith("SUMMARY")) == 7
    # Lambda retries an asynchronous invocation: the retry is a duplicate, not a second write.
    assert function.handler(json.loads(image.body), None) == {
        "outcome": "duplicate",
        "findings": 0,
    }
    assert pipeline.image_messages(image) == streams


def test_a_direct_event_that_fails_raises_for_lambdas_retries(pipeline: Pipeline) -> None:
    image = pipeline.image("team/direct", "v1", basic_findings(1, seed=42))
    event = json.loads(image.body)
    event["detail"]["repository-name"] = "team/not-there"

    with pytest.raises(InvocationFailed, match=r"^repository_not_found \(permanent\): "):
        function.handler(event, None)
    # Not an SQS message: nothing goes to our DLQ (Lambda's on-failure destination gets it).
    assert pipeline.dead_letters() == []
    assert pipeline.capsys.readouterr().out.count('"outcome":"dead"') == 1


def test_a_direct_event_that_is_not_a_scan_is_rejected_loudly(pipeline: Pipeline) -> None:
    event = {"source": "aws.s3", "detail-type": "Object Created", "id": "e-1", "detail": {}}
    with pytest.raises(InvocationFailed, match=r"^unsupported_event \(permanent\)"):
        function.handler(event, None)


@pytest.mark.parametrize(
    "event",
    [{}, {"hello": "world"}, {"Records": "not a list"}, []],
    ids=["empty", "unknown-keys", "records-not-a-list", "a-list"],
)
def test_any_other_invocation_is_rejected_loudly(pipeline: Pipeline, event: object) -> None:
    with pytest.raises(UnsupportedInvocation, match="expected an SQS batch|Records is not a list"):
        function.handler(event, None)  # type: ignore[arg-type]
