"""Finding events ("Inspector2 Finding") through the real handler against the local AWS:
one log event per finding event, day streams, packing across messages, idempotency, faults."""

from __future__ import annotations

import copy
import json
import math
import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

import lambdas.findings_logger as function
from localaws.finding_examples import DOCUMENTED_JAVA_FORMAT, DOCUMENTED_US_FORMAT
from localaws.registry import finding_event
from pipeline import layout
from pipeline.batching import LogEvent, minimum_batches
from pipeline.lambda_context import LocalContext

from .conftest import PREFIX, Pipeline, emf

DIGEST = "sha256:" + "0123456789abcdef" * 4


def recent(n: int, step_s: float = 1.0) -> list[datetime]:
    """``n`` moments ``step_s`` apart, just before now and all on today's UTC date."""
    now = datetime.now(UTC).replace(microsecond=0)
    midnight = now.replace(hour=0, minute=0, second=0)
    start = max(now - timedelta(seconds=n * step_s + 5), midnight)
    return [start + timedelta(seconds=i * step_s) for i in range(n)]


def day_stream(moment: datetime) -> str:
    return layout.finding_events_stream(int(moment.timestamp() * 1000))


def logged(pipeline: Pipeline, repository: str, stream: str) -> list[dict[str, Any]]:
    return [orjson.loads(m) for m in pipeline.messages(PREFIX + repository, stream)]


def test_the_documented_examples_are_logged_as_delivered(pipeline: Pipeline) -> None:
    older, newer = copy.deepcopy(DOCUMENTED_US_FORMAT), copy.deepcopy(DOCUMENTED_JAVA_FORMAT)
    response = pipeline.invoke(
        [
            pipeline.record(json.dumps(older), message_id="older"),
            pipeline.record(json.dumps(newer), message_id="newer"),
        ]
    )

    assert response == {"batchItemFailures": []}
    outcomes = pipeline.outcomes()
    assert {k: o["outcome"] for k, o in outcomes.items()} == {"older": "done", "newer": "done"}
    assert outcomes["older"]["repository"] == "team/web"
    assert outcomes["older"]["imageTag"] == "untagged"
    assert outcomes["newer"]["findingStatus"] == "CLOSED"
    # Events of 2021 and 2024 are older than CloudWatch keeps: stamped with today's time.
    today = day_stream(datetime.now(UTC))
    assert pipeline.streams(PREFIX + "team/web") == [today]
    assert layout.parse_stream_name(today) is None  # never mistaken for an image scan's
    [web] = logged(pipeline, "team/web", today)
    context = web.pop("imageContext")
    assert web == older["detail"]  # the finding's fields at top level, as delivered
    assert context == {
        "account": "123456789012",
        "region": "us-east-2",  # the event's, not the resource's "N/A"
        "repository": "team/web",
        "imageDigest": older["detail"]["resources"][0]["details"]["awsEcrContainerImage"][
            "imageHash"
        ],
        "imageTags": [],
        "eventKind": "finding",
        "eventId": older["id"],
        "eventTime": "2021-12-03T18:02:30Z",
        "updatedAt": "2021-12-03T18:02:30.000Z",
    }
    [api] = logged(pipeline, "platform/base/api", today)
    assert api["imageContext"]["imageTags"] == ["v1.4.2", "latest"]
    assert api["imageContext"]["updatedAt"] == "2024-09-04T16:55:38.411Z"


def test_created_updated_closed_are_three_events_in_one_day_stream(pipeline: Pipeline) -> None:
    created, updated, closed = recent(3)
    arn = "arn:aws:inspector2:us-east-1:123456789012:finding/lifecycle"
    events = [
        finding_event(
            repository="team/life", digest=DIGEST, finding_arn=arn, status=status, updated_at=t
        )
        for status, t in (("ACTIVE", created), ("ACTIVE", updated), ("CLOSED", closed))
    ]
    events[1]["detail"]["inspectorScore"] = 9.1  # the change

    response = pipeline.invoke([json.dumps(e) for e in events])

    assert response == {"batchItemFailures": []}
    assert pipeline.streams(PREFIX + "team/life") == [day_stream(created)]
    rows = logged(pipeline, "team/life", day_stream(created))
    assert [(r["status"], r["inspectorScore"]) for r in rows] == [
        ("ACTIVE", 7.5),
        ("ACTIVE", 9.1),
        ("CLOSED", 7.5),
    ]
    assert {r["findingArn"] for r in rows} == {arn}
    assert pipeline.aws.calls["PutLogEvents"] == 1  # three messages, one call
    assert emf(pipeline, "FindingEvents") == {"ACTIVE": 2, "CLOSED": 1}
    assert emf(pipeline, "Findings") == {"HIGH": 1}  # created once; the update is no new one
    assert emf(pipeline, "FindingsClosed") == {"HIGH": 1}


def test_out_of_order_updates_are_logged_with_their_own_updated_at(pipeline: Pipeline) -> None:
    first, second = recent(2, step_s=30)
    arn = "arn:aws:inspector2:us-east-1:123456789012:finding/late"
    newer = finding_event(
        repository="team/order", digest=DIGEST, finding_arn=arn, updated_at=second, time=second
    )
    older = finding_event(
        repository="team/order",
        digest=DIGEST,
        finding_arn=arn,
        status="CLOSED",
        updated_at=first,
        time=first,
    )

    pipeline.invoke([json.dumps(newer)])  # the newer change arrives first
    pipeline.invoke([json.dumps(older)])

    rows = logged(pipeline, "team/order", day_stream(first))
    assert len(rows) == 2
    current = max(rows, key=lambda r: r["imageContext"]["updatedAt"])
    assert current["imageContext"]["eventId"] == newer["id"]  # the reader can order them
    assert current["status"] == "ACTIVE"


def test_a_duplicate_in_one_batch_is_logged_once(pipeline: Pipeline) -> None:
    event = json.dumps(finding_event(repository="team/dup", digest=DIGEST, updated_at=recent(1)[0]))

    response = pipeline.invoke(
        [pipeline.record(event, message_id="a"), pipeline.record(event, message_id="b")]
    )

    assert response == {"batchItemFailures": []}
    outcomes = pipeline.outcomes()
    assert sorted(o["outcome"] for o in outcomes.values()) == ["done", "duplicate"]
    [stream] = pipeline.streams(PREFIX + "team/dup")
    assert len(logged(pipeline, "team/dup", stream)) == 1


def test_a_duplicate_across_invocations_is_logged_once(pipeline: Pipeline) -> None:
    event = json.dumps(finding_event(repository="team/again", digest=DIGEST))
    pipeline.invoke([pipeline.record(event, message_id="first")])

    # The same container remembers it.
    pipeline.invoke([pipeline.record(event, message_id="warm")])
    assert pipeline.outcomes()["warm"]["outcome"] == "duplicate"

    # A new container does not: a redelivery is read back from the stream.
    function.reset()
    gets = pipeline.aws.calls["GetLogEvents"]
    pipeline.invoke([pipeline.record(event, message_id="redelivered", receive_count=2)])
    assert pipeline.outcomes()["redelivered"]["outcome"] == "duplicate"
    # The window's page, and the empty one that says it was the last.
    assert pipeline.aws.calls["GetLogEvents"] == gets + 2
    [stream] = pipeline.streams(PREFIX + "team/again")
    assert len(logged(pipeline, "team/again", stream)) == 1


@pytest.mark.parametrize(
    ("code", "status"),
    [("ThrottlingException", 400), ("ServiceUnavailableException", 503)],
    ids=["throttle", "5xx"],
)
def test_a_failed_put_fails_only_its_messages_and_the_redelivery_completes(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch, code: str, status: int
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # one faulted call is one failed put
    function.reset()
    moments = recent(6)
    records = [
        pipeline.record(
            json.dumps(finding_event(repository=repo, digest=DIGEST, updated_at=t, time=t)),
            message_id=f"{repo}-{i}",
        )
        for repo in ("team/left", "team/right")
        for i, t in enumerate(moments)
    ]
    for repo in ("team/left", "team/right"):  # one PutLogEvents call a stream
        pipeline.logs.create_log_group(logGroupName=PREFIX + repo)
    pipeline.aws.inject_fault("PutLogEvents", code=code, status=status)

    response = pipeline.invoke(records)

    failed = sorted(f["itemIdentifier"] for f in response["batchItemFailures"])
    assert len(failed) == 6
    [repo] = {m.rsplit("-", 1)[0] for m in failed}  # exactly one stream's messages
    other = "team/right" if repo == "team/left" else "team/left"
    reasons = {pipeline.outcomes()[m]["reason"] for m in failed}
    assert reasons == {"throttled" if status == 400 else "aws_unavailable"}
    stream = day_stream(moments[0])
    assert len(logged(pipeline, other, stream)) == 6
    assert pipeline.streams(PREFIX + repo) == [stream]  # created, nothing in it

    # Redelivered (the queue sends the whole batch again only in the worst case): a new
    # container writes the missing ones and finds the others in the stream.
    function.reset()
    again = pipeline.invoke(
        [pipeline.record(r["body"], message_id=r["messageId"], receive_count=2) for r in records]
    )
    assert again == {"batchItemFailures": []}
    statuses = Counter(o["outcome"] for o in pipeline.outcomes().values())
    assert statuses == {"done": 6, "duplicate": 6}
    for name in (repo, other):
        ids = [r["imageContext"]["eventId"] for r in logged(pipeline, name, stream)]
        assert len(ids) == len(set(ids)) == 6


def test_ec2_lambda_and_malformed_finding_events_are_dead_lettered(pipeline: Pipeline) -> None:
    ec2 = finding_event(repository="x", digest=DIGEST, resource_type="AWS_EC2_INSTANCE")
    lam = finding_event(repository="x", digest=DIGEST, resource_type="AWS_LAMBDA_FUNCTION")
    no_arn = finding_event(repository="team/bad", digest=DIGEST)
    del no_arn["detail"]["findingArn"]
    no_digest = finding_event(repository="team/bad", digest=DIGEST)
    del no_digest["detail"]["resources"][0]["details"]["awsEcrContainerImage"]["imageHash"]
    no_digest["resources"] = []
    no_digest["detail"]["resources"][0]["id"] = "sha256-less"
    bad_time = finding_event(repository="team/bad", digest=DIGEST, updated_at="soon")
    good = finding_event(repository="team/good", digest=DIGEST)
    bodies = {
        "ec2": ec2,
        "lambda": lam,
        "no-arn": no_arn,
        "no-digest": no_digest,
        "bad-time": bad_time,
        "good": good,
    }

    response = pipeline.invoke(
        [pipeline.record(json.dumps(b), message_id=k) for k, b in bodies.items()]
    )

    assert response == {"batchItemFailures": []}
    dead = {
        m["MessageAttributes"]["SourceMessageId"]["StringValue"]: m for m in pipeline.dead_letters()
    }
    assert {k: m["MessageAttributes"]["ErrorCode"]["StringValue"] for k, m in dead.items()} == {
        "ec2": "not_an_ecr_finding",
        "lambda": "not_an_ecr_finding",
        "no-arn": "finding_arn_missing",
        "no-digest": "image_digest_missing",
        "bad-time": "finding_time_invalid",
    }
    assert dead["bad-time"]["Body"] == json.dumps(bad_time)  # unchanged
    assert pipeline.outcomes()["good"]["outcome"] == "done"
    assert pipeline.streams(PREFIX + "team/bad") == []


def test_a_deadline_cut_leaves_finding_events_to_be_retried(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEADLINE_MARGIN_MS", "0")
    function.reset()
    body = json.dumps(finding_event(repository="team/slow", digest=DIGEST))
    pipeline.aws.inject_fault(
        "PutLogEvents", code="ServiceUnavailableException", status=503, times=10, delay_s=60
    )
    cut = pipeline.invoke([pipeline.record(body, message_id="cut")], LocalContext(2_000))
    pipeline.aws.clear_faults()
    assert cut == {"batchItemFailures": [{"itemIdentifier": "cut"}]}
    assert pipeline.outcomes()["cut"]["reason"] == "deadline_exceeded"

    again = pipeline.invoke([pipeline.record(body, message_id="cut", receive_count=2)])
    assert again == {"batchItemFailures": []}
    [stream] = pipeline.streams(PREFIX + "team/slow")
    assert len(logged(pipeline, "team/slow", stream)) == 1


def _put_minimum(pipeline: Pipeline) -> tuple[int, int]:
    """(PutLogEvents calls, the fewest any packing needs) over every stream written: the
    minimum from what landed, by bytes and count."""
    streams = {(r.group, r.stream) for r in pipeline.aws.put_log_events_requests}
    minimum = 0
    for group, stream in streams:
        sizes = [len(m.encode()) for m in pipeline.messages(group, stream)]
        minimum += minimum_batches([LogEvent(0, "", size) for size in sizes])
    return len(pipeline.aws.put_log_events_requests), minimum


def test_a_thousand_events_over_a_hundred_repositories(pipeline: Pipeline) -> None:
    rng = random.Random(9)
    moments = recent(1000, step_s=0.01)
    repositories = [f"fleet/service-{i:03d}" for i in range(100)]
    for repo in repositories:  # their images' scans made the groups
        pipeline.logs.create_log_group(logGroupName=PREFIX + repo)
    bodies = []
    for i, moment in enumerate(moments):
        repo = repositories[i % 100]
        event = finding_event(
            repository=repo,
            digest="sha256:" + f"{i % 7:064x}",
            tags=[f"v{i % 3}"],
            vulnerability_id=f"CVE-2026-{i:05d}",
            severity=rng.choice(["CRITICAL", "HIGH", "MEDIUM", "LOW"]),
            status=rng.choice(["ACTIVE", "ACTIVE", "CLOSED"]),
            updated_at=moment,
            time=moment,
        )
        bodies.append(json.dumps(event))
    rng.shuffle(bodies)  # delivered in any order: packed in time order per stream
    before = Counter(pipeline.aws.calls)

    response = pipeline.invoke(bodies)

    assert response == {"batchItemFailures": []}
    assert Counter(o["outcome"] for o in pipeline.outcomes().values()) == {"done": 1000}
    calls, minimum = _put_minimum(pipeline)
    assert pipeline.aws.calls["CreateLogStream"] == 100
    assert pipeline.aws.calls["CreateLogGroup"] == before["CreateLogGroup"]
    assert minimum == 100
    assert calls == minimum  # ten messages a stream, one call a stream
    assert pipeline.aws.violations == []  # every put inside the limits, chronological
    for repo in repositories[:3]:
        [stream] = pipeline.streams(PREFIX + repo)
        assert len(logged(pipeline, repo, stream)) == 10
    totals = [line for line in pipeline.lines if "LogEvents" in line]
    assert totals[0]["LogEvents"] == 1000
    assert totals[0]["PutLogEventsBatches"] == calls
    assert sum(emf(pipeline, "FindingEvents").values()) == 1000


def test_large_events_of_one_stream_fill_each_call(pipeline: Pipeline) -> None:
    moments = recent(400, step_s=0.05)
    bodies = []
    for i, moment in enumerate(moments):
        event = finding_event(
            repository="team/big",
            digest=DIGEST,
            vulnerability_id=f"CVE-2026-{i:05d}",
            updated_at=moment,
            time=moment,
        )
        event["detail"]["description"] = "d" * 9_000  # ~10 KB a message: 4 MB in all
        bodies.append(json.dumps(event))

    assert pipeline.invoke(bodies) == {"batchItemFailures": []}

    calls, minimum = _put_minimum(pipeline)
    assert minimum >= 4
    assert calls <= max(math.floor(minimum * 1.05), minimum)
    assert pipeline.aws.violations == []
    [stream] = pipeline.streams(PREFIX + "team/big")
    times = [r["imageContext"]["eventTime"] for r in logged(pipeline, "team/big", stream)]
    assert len(times) == 400
    assert times == sorted(times)
