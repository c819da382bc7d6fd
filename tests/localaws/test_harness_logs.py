"""CloudWatch Logs limits the local AWS enforces (and records) before moto sees a request."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from localaws import LocalAws, PutLogEventsRecord
from pipeline import limits

GROUP, STREAM = "/aws/ecr/image-scan-findings/team/app", "HIGH-v1-abc-2026-01-01T00-00-00Z"
HOUR_MS = 60 * 60 * 1000
DAY_MS = 24 * HOUR_MS


@pytest.fixture
def logs(aws_client: Callable[..., Any]) -> Any:
    client = aws_client("logs")
    client.create_log_group(logGroupName=GROUP)
    client.create_log_stream(logGroupName=GROUP, logStreamName=STREAM)
    return client


def _now_ms() -> int:
    return int(time.time() * 1000)


def _events(*stamps: int, message: str = "m") -> list[dict[str, Any]]:
    return [{"timestamp": t, "message": message} for t in stamps]


def _stored(logs: Any) -> list[str]:
    answer = logs.get_log_events(logGroupName=GROUP, logStreamName=STREAM, startFromHead=True)
    return [e["message"] for e in answer["events"]]


def _refused(logs: Any, events: list[dict[str, Any]], group: str = GROUP) -> str:
    with pytest.raises(ClientError) as exc:
        logs.put_log_events(logGroupName=group, logStreamName=STREAM, logEvents=events)
    assert exc.value.response["Error"]["Code"] == "InvalidParameterException"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return str(exc.value.response["Error"]["Message"])


def test_a_legal_batch_is_stored_and_recorded(aws: LocalAws, logs: Any) -> None:
    now = _now_ms()
    answer = logs.put_log_events(
        logGroupName=GROUP,
        logStreamName=STREAM,
        logEvents=[{"timestamp": now, "message": "é"}, {"timestamp": now, "message": "ab"}],
    )

    assert "rejectedLogEventsInfo" not in answer
    assert _stored(logs) == ["é", "ab"]
    assert aws.put_log_events_requests == [PutLogEventsRecord(GROUP, STREAM, 2, 2 + 2 + 2 * 26)]
    assert aws.violations == []


def test_batch_bytes_limit_is_exact(aws: LocalAws, logs: Any) -> None:
    now = _now_ms()
    largest = "x" * limits.MAX_MESSAGE_BYTES
    logs.put_log_events(
        logGroupName=GROUP, logStreamName=STREAM, logEvents=_events(now, message=largest)
    )
    assert aws.violations == []

    problem = _refused(logs, _events(now, message=largest + "x"))

    assert "1048577 bytes" in problem
    assert len(aws.violations) == 1 and "PutLogEvents" in aws.violations[0]
    assert aws.put_log_events_requests[-1].n_bytes == limits.PUT_LOG_EVENTS_MAX_BYTES + 1
    assert len(_stored(logs)) == 1


def test_a_multibyte_message_counts_its_utf8_bytes(aws: LocalAws, logs: Any) -> None:
    # 1 character, 3 bytes: a character count would let this batch through.
    message = "€" * (limits.MAX_MESSAGE_BYTES // 3 + 1)
    _refused(logs, _events(_now_ms(), message=message))
    assert len(aws.violations) == 1


def test_too_many_events(aws: LocalAws, logs: Any) -> None:
    now = _now_ms()
    _refused(logs, _events(*[now] * (limits.PUT_LOG_EVENTS_MAX_EVENTS + 1)))
    assert "10001 log events" in aws.violations[0]

    logs.put_log_events(
        logGroupName=GROUP,
        logStreamName=STREAM,
        logEvents=_events(*[now] * limits.PUT_LOG_EVENTS_MAX_EVENTS),
    )
    assert len(aws.violations) == 1


def test_events_out_of_chronological_order(aws: LocalAws, logs: Any) -> None:
    now = _now_ms()
    problem = _refused(logs, _events(now, now - 1))
    assert "chronological order" in problem
    assert _stored(logs) == []
    assert len(aws.violations) == 1


def test_a_batch_may_span_24_hours_but_no_more(aws: LocalAws, logs: Any) -> None:
    now = _now_ms()
    logs.put_log_events(
        logGroupName=GROUP, logStreamName=STREAM, logEvents=_events(now - DAY_MS, now)
    )
    assert aws.violations == []

    problem = _refused(logs, _events(now - DAY_MS - 1, now))
    assert "24 hours" in problem
    assert len(aws.violations) == 1


def test_an_empty_batch_is_refused(
    aws: LocalAws, aws_client: Callable[..., Any], logs: Any
) -> None:
    # botocore refuses an empty list itself; a client that skips validation reaches the server.
    raw = aws_client("logs", config=Config(parameter_validation=False))
    with pytest.raises(ClientError) as exc:
        raw.put_log_events(logGroupName=GROUP, logStreamName=STREAM, logEvents=[])
    assert exc.value.response["Error"]["Code"] == "InvalidParameterException"
    assert "at least one" in aws.violations[0]


@pytest.mark.parametrize(
    "group",
    ["/aws/ecr/bad:name", "/aws/ecr/with space", "/aws/" + "g" * 508],
    ids=["colon", "space", "513-chars"],
)
def test_bad_group_names_are_refused(aws: LocalAws, logs: Any, group: str) -> None:
    with pytest.raises(ClientError) as exc:
        logs.create_log_group(logGroupName=group)
    assert exc.value.response["Error"]["Code"] == "InvalidParameterException"
    _refused(logs, _events(_now_ms()), group=group)
    assert len(aws.violations) == 2
    assert aws.violations[0].startswith("CreateLogGroup")


@pytest.mark.parametrize("stream", ["HIGH:v1", "HIGH*v1", "s" * 513])
def test_bad_stream_names_are_refused(aws: LocalAws, logs: Any, stream: str) -> None:
    with pytest.raises(ClientError) as exc:
        logs.create_log_stream(logGroupName=GROUP, logStreamName=stream)
    assert exc.value.response["Error"]["Code"] == "InvalidParameterException"
    assert len(aws.violations) == 1 and aws.violations[0].startswith("CreateLogStream")


def test_the_longest_legal_names_are_accepted(aws: LocalAws, logs: Any) -> None:
    group = "/" + "g" * (limits.LOG_GROUP_NAME_MAX - 1)
    stream = "s" * limits.LOG_STREAM_NAME_MAX
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=_events(_now_ms()))
    assert aws.violations == []


def test_too_old_events_are_dropped_and_reported(aws: LocalAws, logs: Any) -> None:
    old = _now_ms() - limits.MAX_AGE_MS
    events = [
        {"timestamp": old - 2 * HOUR_MS, "message": "old-1"},
        {"timestamp": old - HOUR_MS, "message": "old-2"},
        {"timestamp": old + HOUR_MS, "message": "kept"},
    ]

    answer = logs.put_log_events(logGroupName=GROUP, logStreamName=STREAM, logEvents=events)

    # The end index is exclusive: events [0, 2) were too old.
    assert answer["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 2}
    assert _stored(logs) == ["kept"]
    assert aws.violations == []


def test_too_new_events_are_dropped_and_reported(aws: LocalAws, logs: Any) -> None:
    now = _now_ms()
    events = _events(
        now, now + limits.MAX_FUTURE_MS + HOUR_MS, now + limits.MAX_FUTURE_MS + 2 * HOUR_MS
    )

    answer = logs.put_log_events(logGroupName=GROUP, logStreamName=STREAM, logEvents=events)

    assert answer["rejectedLogEventsInfo"] == {"tooNewLogEventStartIndex": 1}
    assert len(_stored(logs)) == 1


def test_a_batch_entirely_too_old_is_answered_without_storing(aws: LocalAws, logs: Any) -> None:
    old = _now_ms() - limits.MAX_AGE_MS - DAY_MS
    answer = logs.put_log_events(
        logGroupName=GROUP, logStreamName=STREAM, logEvents=_events(old, old + 1)
    )
    assert answer["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 2}
    assert _stored(logs) == []

    # The stream must still exist, as with AWS.
    with pytest.raises(ClientError) as exc:
        logs.put_log_events(logGroupName=GROUP, logStreamName="missing", logEvents=_events(old))
    assert exc.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_events_older_than_retention_are_reported_expired(aws: LocalAws, logs: Any) -> None:
    logs.put_retention_policy(logGroupName=GROUP, retentionInDays=1)
    now = _now_ms()
    answer = logs.put_log_events(
        logGroupName=GROUP,
        logStreamName=STREAM,
        logEvents=_events(now - DAY_MS - HOUR_MS, now - HOUR_MS),
    )
    assert answer["rejectedLogEventsInfo"] == {"expiredLogEventEndIndex": 1}
    assert len(_stored(logs)) == 1
