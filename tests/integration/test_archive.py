"""The S3 archive through the real handler against the local AWS: keys, contents equal to what
was logged, gzip, idempotent redelivery, failed and damaged puts, Object Lock, KMS, finding
events per repository."""

from __future__ import annotations

import base64
import copy
import gzip
import hashlib
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

import lambdas.findings_logger as function
from localaws.finding_examples import DOCUMENTED_US_FORMAT
from localaws.findings import basic_findings
from localaws.registry import finding_event
from pipeline import archive, layout
from pipeline.lambda_context import LocalContext

from .conftest import PREFIX, Image, Pipeline

BUCKET = "scan-archive"
ACCOUNT = "123456789012"
DIGEST = "sha256:" + "0123456789abcdef" * 4


@pytest.fixture
def s3(pipeline: Pipeline, aws_client: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A bucket, and the handler configured to archive into it (read at its first call)."""
    client = aws_client("s3")
    client.create_bucket(Bucket=BUCKET)
    monkeypatch.setenv("ARCHIVE_BUCKET", BUCKET)
    return client


def keys(s3: Any, prefix: str = "") -> list[str]:
    found: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        found += [o["Key"] for o in page.get("Contents", [])]
    return found


def body(s3: Any, key: str) -> bytes:
    data: bytes = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    return data


def lines(s3: Any, key: str) -> list[str]:
    return archive.decode_lines(body(s3, key))


def archive_objects_metric(pipeline: Pipeline) -> int | None:
    totals = [line for line in pipeline.lines if "_aws" in line and "LogEvents" in line]
    assert len(totals) == 1
    value = totals[0].get("ArchiveObjects")
    return None if value is None else int(value)


def scan_key(image: Image) -> str:
    time_ms = int(datetime.fromisoformat(image.time.replace("Z", "+00:00")).timestamp() * 1000)
    return archive.scan_key(
        "ecr-findings/",
        account=ACCOUNT,
        region="us-east-1",
        repository=image.repository,
        digest=image.digest,
        time_ms=time_ms,
    ).key


def assert_archived_as_logged(pipeline: Pipeline, s3: Any, image: Image) -> list[str]:
    """The object holds every logged finding's message, then the SUMMARY message: compared
    line by line with what the log streams hold."""
    archived = lines(s3, scan_key(image))
    summary_stream = image.stream(layout.SUMMARY)
    [summary] = pipeline.messages(image.group, summary_stream)
    assert archived[-1] == summary
    findings = archived[:-1]
    streams = [s for s in pipeline.streams(image.group) if s != summary_stream]
    streams = [s for s in streams if image.digest.split(":")[1] in s]
    for stream in streams:
        severity = stream.split("-", 1)[0]
        in_archive = [m for m in findings if orjson.loads(m)["severity"] == severity]
        assert in_archive == pipeline.messages(image.group, stream)
    assert len(findings) == sum(len(pipeline.messages(image.group, s)) for s in streams)
    return archived


def test_a_scan_lands_as_one_object_holding_its_logged_messages(
    pipeline: Pipeline, s3: Any
) -> None:
    findings = basic_findings(40, seed=1)
    image = pipeline.image("team/web", "v1.2", findings)

    assert pipeline.invoke([image]) == {"batchItemFailures": []}

    assert keys(s3) == [scan_key(image)]
    assert scan_key(image) == (
        "ecr-findings/kind=scan/date=2026-11-29/account=123456789012/region=us-east-1/"
        f"repository=team%2Fweb/{image.digest[7:]}-20261129T060000Z.json.gz"
    )
    archived = assert_archived_as_logged(pipeline, s3, image)
    assert len(archived) == 41
    data = body(s3, scan_key(image))
    assert data[:3] == b"\x1f\x8b\x08" and data[4:8] == b"\0\0\0\0"  # gzip, no time
    assert gzip.decompress(data).decode().count("\n") == 41
    head = s3.head_object(Bucket=BUCKET, Key=scan_key(image), ChecksumMode="ENABLED")
    assert (head["ContentType"], head["ContentEncoding"]) == ("application/x-ndjson", "gzip")
    assert head["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert pipeline.aws.calls["PutObject"] == 1
    assert archive_objects_metric(pipeline) == 1


def test_a_large_scan_over_several_pages_is_archived_whole(pipeline: Pipeline, s3: Any) -> None:
    # Over 256 KiB of messages: compressed off the event loop.
    image = pipeline.image("big", "v1", basic_findings(2_100, seed=13, description_bytes=300))

    assert pipeline.invoke([image]) == {"batchItemFailures": []}

    assert pipeline.aws.calls["DescribeImageScanFindings"] == 3
    archived = assert_archived_as_logged(pipeline, s3, image)
    assert len(archived) == 2_101
    assert sum(len(line) for line in archived) > 256 * 1024


def test_a_fully_logged_image_is_never_archived_again(pipeline: Pipeline, s3: Any) -> None:
    image = pipeline.image("team/twice", "v1", basic_findings(10, seed=2))
    pipeline.invoke([image])
    first = body(s3, scan_key(image))

    function.reset()  # a cold start: nothing remembered, the SUMMARY event says it all
    assert pipeline.invoke([pipeline.record(image, receive_count=2)]) == {"batchItemFailures": []}

    assert {o["outcome"] for o in pipeline.outcomes().values()} == {"duplicate"}
    assert pipeline.aws.calls["PutObject"] == 1
    assert keys(s3) == [scan_key(image)] and body(s3, scan_key(image)) == first
    assert archive_objects_metric(pipeline) is None


def test_archived_but_summary_failed_the_retry_finds_the_same_object(
    pipeline: Pipeline, s3: Any
) -> None:
    image = pipeline.image("team/half", "v1", basic_findings(12, seed=3, severities=["HIGH"]))
    # One severity stream's put goes through; the SUMMARY's fails past the SDK's 3 attempts.
    pipeline.aws.inject_fault("PutLogEvents", code="InternalFailure", status=500, times=3, after=1)
    first = pipeline.invoke([pipeline.record(image, message_id="m")])
    assert first == {"batchItemFailures": [{"itemIdentifier": "m"}]}
    assert keys(s3) == [scan_key(image)]
    archived = body(s3, scan_key(image))
    version = s3.head_object(Bucket=BUCKET, Key=scan_key(image))["ETag"]

    pipeline.aws.clear_faults()
    function.reset()
    second = pipeline.invoke([pipeline.record(image, message_id="m", receive_count=2)])

    assert second == {"batchItemFailures": []}
    assert pipeline.aws.calls["PutObject"] == 2  # the retry's put was refused: it was there
    assert keys(s3) == [scan_key(image)]
    assert body(s3, scan_key(image)) == archived  # deterministic: the same bytes
    assert s3.head_object(Bucket=BUCKET, Key=scan_key(image))["ETag"] == version
    assert archive_objects_metric(pipeline) is None
    assert_archived_as_logged(pipeline, s3, image)


def test_a_failed_put_fails_the_message_and_the_retry_archives_everything(
    pipeline: Pipeline, s3: Any
) -> None:
    findings = basic_findings(30, seed=4, severities=["CRITICAL", "LOW"])
    image = pipeline.image("team/retry", "v1", findings)
    pipeline.aws.inject_fault("PutObject", code="InternalError", status=500, times=3)

    first = pipeline.invoke([pipeline.record(image, message_id="m")])

    assert first == {"batchItemFailures": [{"itemIdentifier": "m"}]}
    assert pipeline.outcomes()["m"]["reason"] == "archive_failed"
    assert keys(s3) == []
    streams = pipeline.image_messages(image)
    # The findings are logged; the SUMMARY event waits for the archive (its claim released).
    assert image.stream(layout.SUMMARY) not in streams
    assert sum(len(v) for v in streams.values()) == 30

    pipeline.aws.clear_faults()
    second = pipeline.invoke([pipeline.record(image, message_id="m", receive_count=2)])

    assert second == {"batchItemFailures": []}
    # The retry wrote no finding again, yet archived every one of them.
    assert sum(len(v) for v in pipeline.image_messages(image).values()) == 31
    assert len(assert_archived_as_logged(pipeline, s3, image)) == 31
    assert archive_objects_metric(pipeline) == 1


def test_retries_run_out_then_dead_with_the_archive_reason(pipeline: Pipeline, s3: Any) -> None:
    image = pipeline.image("team/dead", "v1", basic_findings(3, seed=5))
    pipeline.aws.inject_fault("PutObject", code="AccessDenied", status=403, times=1)

    response = pipeline.invoke([pipeline.record(image, message_id="m", receive_count=3)])

    assert response == {"batchItemFailures": []}  # forwarded to the DLQ with its reason
    [dead] = pipeline.dead_letters()
    assert dead["MessageAttributes"]["ErrorCode"]["StringValue"] == "archive_failed"
    assert "AccessDenied" in dead["MessageAttributes"]["ErrorMessage"]["StringValue"]


def test_a_body_damaged_on_the_way_is_refused_not_stored(pipeline: Pipeline, s3: Any) -> None:
    warm = pipeline.image("team/warm", "v1", basic_findings(2, seed=6))
    pipeline.invoke([warm])  # the function is up: its S3 client can be tapped
    client = function.function.batch_runner.clients.s3  # type: ignore[union-attr]

    def damage(request: Any, **_: Any) -> None:
        sent = request.body  # botocore wraps the bytes in a file-like object
        data = bytearray(sent.read() if hasattr(sent, "read") else sent)
        data[len(data) // 2] ^= 0xFF  # one flipped byte, the length unchanged
        request.body = bytes(data)

    client.meta.events.register("before-send.s3.PutObject", damage, unique_id="damage")
    image = pipeline.image("team/damaged", "v1", basic_findings(5, seed=7))
    first = pipeline.invoke([pipeline.record(image, message_id="m")])

    assert first == {"batchItemFailures": [{"itemIdentifier": "m"}]}
    assert pipeline.outcomes()["m"]["reason"] == "archive_failed"
    assert "BadDigest" in pipeline.outcomes()["m"]["detail"]
    assert keys(s3) == [scan_key(warm)]

    client.meta.events.unregister("before-send.s3.PutObject", unique_id="damage")
    second = pipeline.invoke([pipeline.record(image, message_id="m", receive_count=2)])
    assert second == {"batchItemFailures": []}
    assert_archived_as_logged(pipeline, s3, image)


def test_a_bucket_under_object_lock(
    pipeline: Pipeline, aws_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = aws_client("s3")
    s3.create_bucket(Bucket=BUCKET, ObjectLockEnabledForBucket=True)
    s3.put_object_lock_configuration(
        Bucket=BUCKET,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 1}},
        },
    )
    monkeypatch.setenv("ARCHIVE_BUCKET", BUCKET)
    image = pipeline.image("team/locked", "v1", basic_findings(8, seed=8, severities=["HIGH"]))
    pipeline.aws.inject_fault("PutLogEvents", code="InternalFailure", status=500, times=3, after=1)
    pipeline.invoke([pipeline.record(image, message_id="m")])  # archived; SUMMARY failed
    head = s3.head_object(Bucket=BUCKET, Key=scan_key(image))
    assert head["ObjectLockMode"] == "COMPLIANCE"  # the bucket's default retention applies

    pipeline.aws.clear_faults()
    function.reset()
    second = pipeline.invoke([pipeline.record(image, message_id="m", receive_count=2)])

    # The locked object is not overwritten (nor needs to be): the retry succeeds.
    assert second == {"batchItemFailures": []}
    versions = s3.list_object_versions(Bucket=BUCKET)["Versions"]
    assert [v["Key"] for v in versions] == [scan_key(image)]
    assert_archived_as_logged(pipeline, s3, image)


def test_the_kms_key_is_passed(
    pipeline: Pipeline, s3: Any, aws_client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    key_arn = aws_client("kms").create_key()["KeyMetadata"]["Arn"]
    monkeypatch.setenv("ARCHIVE_KMS_KEY_ARN", key_arn)
    image = pipeline.image("team/sealed", "v1", basic_findings(3, seed=9))

    assert pipeline.invoke([image]) == {"batchItemFailures": []}

    head = s3.head_object(Bucket=BUCKET, Key=scan_key(image))
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == ("aws:kms", key_arn)


def test_a_prefix_and_no_archive(
    pipeline: Pipeline, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARCHIVE_PREFIX", "")
    image = pipeline.image("app", None, basic_findings(3, seed=10))
    pipeline.invoke([image])
    [key] = keys(s3)
    assert key.startswith("kind=scan/date=2026-11-29/account=123456789012/")

    monkeypatch.setenv("ARCHIVE_BUCKET", "")
    function.reset()
    other = pipeline.image("other", "v1", basic_findings(3, seed=11))
    assert pipeline.invoke([other]) == {"batchItemFailures": []}
    assert pipeline.aws.calls["PutObject"] == 1  # the first image's only


# ---- finding events ------------------------------------------------------------------------


def moments(n: int) -> list[datetime]:
    """``n`` moments a second apart, just before now, all on today's UTC date."""
    now = datetime.now(UTC).replace(microsecond=0)
    start = max(now - timedelta(seconds=n + 5), now.replace(hour=0, minute=0, second=0))
    return [start + timedelta(seconds=i) for i in range(n)]


def finding_events(repositories: list[str]) -> list[dict[str, Any]]:
    return [
        finding_event(
            repository=repository,
            digest=DIGEST,
            vulnerability_id=f"CVE-2026-{1000 + i}",
            updated_at=when,
            time=when,
        )
        for i, (repository, when) in enumerate(
            zip(repositories, moments(len(repositories)), strict=True)
        )
    ]


def finding_key(events: list[dict[str, Any]]) -> str:
    [repository] = {
        e["detail"]["resources"][0]["details"]["awsEcrContainerImage"]["repositoryName"]
        for e in events
    }
    day = datetime.fromisoformat(events[0]["time"].replace("Z", "+00:00")).date()
    return archive.finding_key(
        "ecr-findings/",
        account=ACCOUNT,
        region="us-east-1",
        repository=repository,
        day=day,
        event_ids=[e["id"] for e in events],
    ).key


def day_stream_messages(pipeline: Pipeline, repository: str) -> list[str]:
    [stream] = pipeline.streams(PREFIX + repository)
    return pipeline.messages(PREFIX + repository, stream)


def test_finding_events_land_as_one_object_per_repository(pipeline: Pipeline, s3: Any) -> None:
    events = finding_events(["team/api", "team/web", "team/api", "team/api"])
    api, web = [e for e in events if "team/api" in e["resources"][0]], [events[1]]

    assert pipeline.invoke([json.dumps(e) for e in events]) == {"batchItemFailures": []}

    assert sorted(keys(s3)) == sorted([finding_key(api), finding_key(web)])
    assert keys(s3, f"ecr-findings/kind=finding/date={datetime.now(UTC):%Y-%m-%d}/")
    # Line by line what the day streams hold, in the same order.
    assert lines(s3, finding_key(api)) == day_stream_messages(pipeline, "team/api")
    assert lines(s3, finding_key(web)) == day_stream_messages(pipeline, "team/web")
    assert pipeline.aws.calls["PutObject"] == 2
    assert archive_objects_metric(pipeline) == 2


def test_a_failed_object_fails_only_its_messages_and_the_retry_archives_them(
    pipeline: Pipeline, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_CONCURRENT_PUTS", "1")  # objects one at a time: the first fails
    events = finding_events(["team/api", "team/web", "team/api"])
    records = [pipeline.record(json.dumps(e), message_id=e["id"]) for e in events]
    pipeline.aws.inject_fault("PutObject", code="SlowDown", status=503, times=3)

    first = pipeline.invoke(records)

    failed = {f["itemIdentifier"] for f in first["batchItemFailures"]}
    assert failed == {events[0]["id"], events[2]["id"]}  # team/api's object came first
    assert {pipeline.outcomes()[i]["reason"] for i in failed} == {"archive_failed"}
    assert keys(s3) == [finding_key([events[1]])]
    assert len(day_stream_messages(pipeline, "team/api")) == 2  # logged all the same

    # The same container retries them: it reads the day stream back (they are logged) and
    # archives them; nothing is logged twice.
    retried = [pipeline.record(json.dumps(events[i]), receive_count=2) for i in (0, 2)]
    assert pipeline.invoke(retried) == {"batchItemFailures": []}
    assert {o["outcome"] for o in pipeline.outcomes().values()} == {"duplicate"}
    api = [events[0], events[2]]
    assert sorted(keys(s3)) == sorted([finding_key(api), finding_key([events[1]])])
    assert lines(s3, finding_key(api)) == day_stream_messages(pipeline, "team/api")


def test_redelivered_finding_events_write_no_new_object_a_subset_another(
    pipeline: Pipeline, s3: Any
) -> None:
    events = finding_events(["team/api", "team/api", "team/api"])
    pipeline.invoke([json.dumps(e) for e in events])
    [key] = keys(s3)
    first = body(s3, key)

    function.reset()  # a cold start: read back from the day stream, archived again
    pipeline.invoke([pipeline.record(json.dumps(e), receive_count=2) for e in events])
    assert keys(s3) == [key] and body(s3, key) == first  # the same name, the same bytes
    assert pipeline.aws.calls["PutObject"] == 2

    function.reset()
    pipeline.invoke([pipeline.record(json.dumps(events[1]), receive_count=3)])
    # A subset is another object: readers dedupe finding events by imageContext.eventId.
    assert sorted(keys(s3)) == sorted([key, finding_key([events[1]])])
    ids = [orjson.loads(line)["imageContext"]["eventId"] for k in keys(s3) for line in lines(s3, k)]
    assert sorted(set(ids)) == sorted(e["id"] for e in events) and len(ids) == 4


@pytest.fixture
def no_archive_calls(pipeline: Pipeline) -> Iterator[None]:
    yield
    assert pipeline.aws.calls["PutObject"] == 0


def test_without_a_bucket_nothing_is_archived(pipeline: Pipeline, no_archive_calls: None) -> None:
    image = pipeline.image("team/plain", "v1", basic_findings(3, seed=12))
    events = finding_events(["team/plain"])
    assert pipeline.invoke([image, json.dumps(events[0])]) == {"batchItemFailures": []}
    assert len(pipeline.messages(image.group, image.stream(layout.SUMMARY))) == 1


def test_a_finding_event_cut_off_before_its_archive_object_is_retried(
    pipeline: Pipeline, s3: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEADLINE_MARGIN_MS", "0")
    function.reset()
    body = json.dumps(finding_event(repository="team/slow", digest=DIGEST))
    # The event is logged; its object's put hangs past the invocation's deadline.
    pipeline.aws.inject_fault("PutObject", code="InternalError", status=500, times=10, delay_s=60)
    response = pipeline.invoke([pipeline.record(body, message_id="m1")], LocalContext(3_000))
    pipeline.aws.clear_faults()

    assert response == {"batchItemFailures": [{"itemIdentifier": "m1"}]}
    assert pipeline.outcomes()["m1"]["outcome"] != "done"

    # The retry finds the event logged and writes its object: done, logged once, archived.
    function.reset()
    again = pipeline.record(body, message_id="m1", receive_count=2)
    assert pipeline.invoke([again]) == {"batchItemFailures": []}
    [stream] = pipeline.streams(PREFIX + "team/slow")
    assert len(pipeline.messages(PREFIX + "team/slow", stream)) == 1
    assert s3.list_objects_v2(Bucket=BUCKET)["KeyCount"] == 1


def test_an_old_finding_event_redelivered_to_another_container_is_logged_once(
    pipeline: Pipeline, s3: Any
) -> None:
    # AWS's documented example dates from 2021: CloudWatch would drop that timestamp, so the
    # event is stamped with its message's SQS sent time, the same on every delivery.
    body = json.dumps(copy.deepcopy(DOCUMENTED_US_FORMAT))
    pipeline.aws.inject_fault("PutObject", code="InternalError", status=500, times=20)
    first = pipeline.invoke([pipeline.record(body, message_id="m1")])
    pipeline.aws.clear_faults()
    assert first == {"batchItemFailures": [{"itemIdentifier": "m1"}]}

    function.reset()  # another container, a moment later
    time.sleep(1.1)
    again = pipeline.invoke([pipeline.record(body, message_id="m1", receive_count=2)])

    assert again == {"batchItemFailures": []}
    [stream] = pipeline.streams(PREFIX + "team/web")
    assert len(pipeline.messages(PREFIX + "team/web", stream)) == 1
    assert s3.list_objects_v2(Bucket=BUCKET)["KeyCount"] == 1
