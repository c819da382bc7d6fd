"""The fast front end (the benchmark's endpoint), through boto3: what only it does (its own
CloudWatch Logs, SQS, S3 PutObject and SNS Publish, counters, admin API, latency), and the rules
as it serves them."""

from __future__ import annotations

import base64
import gzip
import hashlib
import http.client
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from localaws.fastserver.process import FakeAwsProcess
from localaws.fastserver.s3 import bucket_and_key
from localaws.fastserver.sqs import attributes_md5

Client = Callable[[str], Any]
DIGEST = "sha256:" + "ab" * 32
GROUP, STREAM = "/aws/ecr/image-scan-findings/app", "HIGH-v1-ab-2026"
TOPIC = "arn:aws:sns:us-east-1:123456789012:findings"


def _seed(fake_aws: FakeAwsProcess, n: int, kind: str = "basic") -> list[dict[str, Any]]:
    # Enhanced findings have a title where basic ones have a name.
    key = "title" if kind == "enhanced" else "name"
    findings = [{key: f"CVE-2026-{i:05d}", "severity": "HIGH"} for i in range(n)]
    fake_aws.seed(
        [
            {
                "registryId": "123456789012",
                "repositoryName": "app",
                "imageDigest": DIGEST,
                "imageTags": ["v1"],
                "kind": kind,
                "findings": findings,
            }
        ]
    )
    return findings


def _pages(ecr: Any, max_results: int) -> list[dict[str, Any]]:
    paginator = ecr.get_paginator("describe_image_scan_findings")
    return list(
        paginator.paginate(
            repositoryName="app",
            imageId={"imageDigest": DIGEST},
            PaginationConfig={"PageSize": max_results},
        )
    )


def test_basic_findings_come_max_results_a_page(fake_aws: FakeAwsProcess, client: Client) -> None:
    findings = _seed(fake_aws, 2500)
    pages = _pages(client("ecr"), 1000)
    assert [len(p["imageScanFindings"]["findings"]) for p in pages] == [1000, 1000, 500]
    assert [f for p in pages for f in p["imageScanFindings"]["findings"]] == findings
    assert pages[0]["imageScanStatus"]["status"] == "COMPLETE"
    assert pages[0]["imageScanFindings"]["findingSeverityCounts"] == {"HIGH": 2500}


def test_enhanced_findings_come_at_most_100_a_page(
    fake_aws: FakeAwsProcess, client: Client
) -> None:
    _seed(fake_aws, 250, kind="enhanced")
    pages = _pages(client("ecr"), 1000)
    assert [len(p["imageScanFindings"]["enhancedFindings"]) for p in pages] == [100, 100, 50]
    assert pages[0]["imageScanStatus"]["status"] == "ACTIVE"


def test_unknown_images_tokens_and_page_sizes_are_refused(
    fake_aws: FakeAwsProcess, client: Client
) -> None:
    _seed(fake_aws, 5)
    ecr = client("ecr")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"repositoryName": "nope", "imageId": {"imageDigest": DIGEST}}, "RepositoryNotFound"),
        ({"repositoryName": "app", "imageId": {"imageDigest": "sha256:" + "0" * 64}}, "ImageNot"),
        ({"repositoryName": "app", "imageId": {"imageDigest": DIGEST}, "nextToken": "x.1"}, "Inv"),
        (
            {"repositoryName": "app", "imageId": {"imageDigest": DIGEST}, "registryId": "1" * 12},
            "RepositoryNotFound",
        ),
    ]
    for params, code in cases:
        with pytest.raises(ClientError) as caught:
            ecr.describe_image_scan_findings(**params)
        assert caught.value.response["Error"]["Code"].startswith(code), params
    by_tag = ecr.describe_image_scan_findings(repositoryName="app", imageId={"imageTag": "v1"})
    assert len(by_tag["imageScanFindings"]["findings"]) == 5


def _group_and_stream(logs: Any) -> None:
    logs.create_log_group(logGroupName=GROUP)
    logs.create_log_stream(logGroupName=GROUP, logStreamName=STREAM)


def test_existing_and_missing_resources_answer_like_cloudwatch(client: Client) -> None:
    logs = client("logs")
    _group_and_stream(logs)
    with pytest.raises(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName=GROUP)
    with pytest.raises(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_stream(logGroupName=GROUP, logStreamName=STREAM)
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.create_log_stream(logGroupName="/missing", logStreamName=STREAM)
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.put_log_events(
            logGroupName=GROUP,
            logStreamName="missing",
            logEvents=[{"timestamp": int(time.time() * 1000), "message": "x"}],
        )
    logs.put_retention_policy(logGroupName=GROUP, retentionInDays=30)
    with pytest.raises(logs.exceptions.InvalidParameterException):
        logs.put_retention_policy(logGroupName=GROUP, retentionInDays=31)


def _events(n: int, size: int, *, step_ms: int = 0) -> list[dict[str, Any]]:
    now = int(time.time() * 1000) - n * step_ms
    return [{"timestamp": now + i * step_ms, "message": "x" * size} for i in range(n)]


def test_a_batch_of_exactly_the_byte_limit_is_accepted_and_counted(
    fake_aws: FakeAwsProcess, client: Client
) -> None:
    logs = client("logs")
    _group_and_stream(logs)
    # 4 events of 262,118 bytes + 26 each = 1,048,576 bytes: the limit, inclusive.
    logs.put_log_events(logGroupName=GROUP, logStreamName=STREAM, logEvents=_events(4, 262_118))
    stats = fake_aws.stats()
    assert stats["violations"] == []
    assert stats["streams"] == [
        {"group": GROUP, "stream": STREAM, "events": 4, "bytes": 1_048_576, "puts": 1}
    ]
    assert stats["calls"] == {"CreateLogGroup": 1, "CreateLogStream": 1, "PutLogEvents": 1}


@pytest.mark.parametrize(
    ("events", "reason"),
    [
        (_events(4, 262_119), "bytes"),
        (_events(10_001, 1), "events"),
        (_events(2, 1, step_ms=5)[::-1], "chronological"),
        (
            [*_events(1, 1), {"timestamp": int(time.time() * 1000) + 86_400_001, "message": "y"}],
            "24 hours",
        ),
    ],
    ids=["bytes", "count", "order", "span"],
)
def test_a_batch_over_a_limit_is_refused_and_recorded(
    fake_aws: FakeAwsProcess, client: Client, events: list[dict[str, Any]], reason: str
) -> None:
    logs = client("logs")
    _group_and_stream(logs)
    with pytest.raises(logs.exceptions.InvalidParameterException):
        logs.put_log_events(logGroupName=GROUP, logStreamName=STREAM, logEvents=events)
    stats = fake_aws.stats()
    assert len(stats["violations"]) == 1
    assert reason in stats["violations"][0]["reason"]
    assert stats["streams"] == []  # nothing was stored


def test_events_too_old_are_reported_rejected_and_not_stored(
    fake_aws: FakeAwsProcess, client: Client
) -> None:
    logs = client("logs")
    _group_and_stream(logs)
    old = int(time.time() * 1000) - 15 * 86_400_000
    answer = logs.put_log_events(
        logGroupName=GROUP,
        logStreamName=STREAM,
        logEvents=[{"timestamp": old, "message": "a"}, {"timestamp": old + 1, "message": "b"}],
    )
    assert answer["rejectedLogEventsInfo"] == {"tooOldLogEventEndIndex": 2}
    logs.put_log_events(logGroupName=GROUP, logStreamName=STREAM, logEvents=_events(1, 3))
    assert fake_aws.stats()["rejected_events"] == 2
    stored = logs.get_log_events(logGroupName=GROUP, logStreamName=STREAM, startFromHead=True)
    assert [e["message"] for e in stored["events"]] == ["xxx"]


def test_get_log_events_pages_forward_until_the_token_repeats(client: Client) -> None:
    logs = client("logs")
    _group_and_stream(logs)
    sent = [{"timestamp": e["timestamp"], "message": f"m{i}"} for i, e in enumerate(_events(25, 1))]
    logs.put_log_events(logGroupName=GROUP, logStreamName=STREAM, logEvents=sent)
    read: list[str] = []
    params: dict[str, Any] = {"logGroupName": GROUP, "logStreamName": STREAM, "limit": 10}
    params["startFromHead"] = True
    while True:
        page = logs.get_log_events(**params)
        read += [e["message"] for e in page["events"]]
        if page["nextForwardToken"] == params.get("nextToken"):
            break
        params["nextToken"] = page["nextForwardToken"]
    assert read == [e["message"] for e in sent]
    listed = logs.describe_log_streams(logGroupName=GROUP, logStreamNamePrefix="HIGH-")
    assert [s["logStreamName"] for s in listed["logStreams"]] == [STREAM]


def test_dead_letters_are_accepted_with_correct_digests(
    fake_aws: FakeAwsProcess, client: Client
) -> None:
    sqs = client("sqs")
    attributes = {"ErrorCode": {"DataType": "String", "StringValue": "image_not_found"}}
    sent = sqs.send_message(QueueUrl="http://q/dlq", MessageBody="{}", MessageAttributes=attributes)
    assert sent["MD5OfMessageBody"] == "99914b932bd37a50b983c5e7c90ae93b"  # md5("{}")
    assert sent["MD5OfMessageAttributes"] == attributes_md5(attributes)
    batch = sqs.send_message_batch(
        QueueUrl="http://q/dlq", Entries=[{"Id": str(i), "MessageBody": "b"} for i in range(3)]
    )
    assert [e["Id"] for e in batch["Successful"]] == ["0", "1", "2"]
    assert fake_aws.stats()["sqs_messages"] == 4


def _sha256(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def _put_new(s3: Any, key: str, body: bytes, checksum: str | None = None) -> Any:
    return s3.put_object(
        Bucket="archive",
        Key=key,
        Body=body,
        IfNoneMatch="*",
        ChecksumAlgorithm="SHA256",
        ChecksumSHA256=checksum or _sha256(body),
    )


def test_an_object_is_written_once_and_a_second_conditional_write_is_refused(
    fake_aws: FakeAwsProcess, client: Client
) -> None:
    s3 = client("s3")
    key = "ecr-findings/kind=scan/date=2026-01-01/sha256:ab-1.json.gz"
    answer = _put_new(s3, key, b"first")
    assert answer["ETag"] == f'"{hashlib.md5(b"first").hexdigest()}"'
    assert answer["ChecksumSHA256"] == _sha256(b"first")
    with pytest.raises(ClientError) as refused:
        _put_new(s3, key, b"second")
    assert refused.value.response["Error"]["Code"] == "PreconditionFailed"
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    s3.put_object(Bucket="archive", Key=key, Body=b"third")  # unconditional: replaces it
    stats = fake_aws.stats()
    assert stats["calls"] == {"PutObject": 3}
    assert stats["errors"] == {"PutObject:PreconditionFailed": 1}
    assert (stats["s3_objects"], stats["s3_bytes"]) == (1, len(b"third"))


def test_a_gzip_upload_is_checked_and_stored_as_sent(
    fake_aws: FakeAwsProcess, client: Client
) -> None:
    body = gzip.compress(b'{"finding": 1}\n')
    s3 = client("s3")
    answer = s3.put_object(
        Bucket="archive",
        Key="k.json.gz",
        Body=body,
        ContentEncoding="gzip",
        ChecksumAlgorithm="SHA256",
        ChecksumSHA256=_sha256(body),
    )
    assert answer["ChecksumSHA256"] == _sha256(body)
    assert fake_aws.stats()["s3_bytes"] == len(body)


def test_a_body_that_does_not_match_its_checksum_is_not_stored(
    fake_aws: FakeAwsProcess, client: Client
) -> None:
    s3 = client("s3")
    with pytest.raises(ClientError) as refused:
        _put_new(s3, "k", b"damaged on the way", checksum=_sha256(b"as sent"))
    assert refused.value.response["Error"]["Code"] == "BadDigest"
    assert fake_aws.stats()["s3_objects"] == 0


def test_a_virtual_hosted_put_names_its_bucket_in_the_host(fake_aws: FakeAwsProcess) -> None:
    assert bucket_and_key("archive.localhost:4566", "/a/b.gz") == ("archive", "a/b.gz")
    assert bucket_and_key("127.0.0.1:4566", "/archive/a/b.gz") == ("archive", "a/b.gz")
    assert bucket_and_key("localhost", "/archive/a") == ("archive", "a")
    host, port = fake_aws.url.removeprefix("http://").split(":")
    statuses = []
    for _ in range(2):
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        headers = {"Host": "archive.localhost", "If-None-Match": "*"}
        connection.request("PUT", "/a/b.gz", body=b"x", headers=headers)
        statuses.append(connection.getresponse().status)
        connection.close()
    assert statuses == [200, 412]  # the same key of the same bucket, the second time
    assert fake_aws.stats()["s3_objects"] == 1


def test_publish_is_accepted_or_refused_by_the_rules_and_refusals_recorded(
    fake_aws: FakeAwsProcess, client: Client
) -> None:
    sns = client("sns")
    sent = sns.publish(
        TopicArn=TOPIC,
        Subject="CRITICAL in app:v1",
        Message='{"default": "text", "https": "{}"}',
        MessageStructure="json",
        MessageAttributes={"severity": {"DataType": "String", "StringValue": "CRITICAL"}},
    )
    assert sent["MessageId"]
    with pytest.raises(ClientError) as refused:
        sns.publish(TopicArn=TOPIC, Message='{"email": "x"}', MessageStructure="json")
    assert refused.value.response["Error"]["Code"] == "InvalidParameter"
    with pytest.raises(ClientError):
        sns.publish(TopicArn="not-an-arn", Message="x")
    stats = fake_aws.stats()
    assert stats["calls"] == {"Publish": 3}
    assert stats["sns_messages"] == 1
    assert len(stats["publish_violations"]) == 2
    assert "'default'" in stats["publish_violations"][0]


def test_operations_it_does_not_emulate_are_counted_as_unknown(
    fake_aws: FakeAwsProcess, client: Client
) -> None:
    with pytest.raises(ClientError):
        client("logs").delete_log_group(logGroupName=GROUP)
    with pytest.raises(ClientError):
        client("sns").create_topic(Name="findings")
    with pytest.raises(ClientError):
        client("s3").put_object_tagging(Bucket="b", Key="k", Tagging={"TagSet": []})
    assert fake_aws.stats()["unknown"] == {
        "Logs_20140328.DeleteLogGroup": 1,
        "query:CreateTopic": 1,
        "s3:PUT /b/k": 1,
    }


def test_reset_of_stats_keeps_logs_and_reset_of_logs_drops_them(
    fake_aws: FakeAwsProcess, client: Client
) -> None:
    logs = client("logs")
    _group_and_stream(logs)
    logs.put_log_events(logGroupName=GROUP, logStreamName=STREAM, logEvents=_events(2, 5))
    fake_aws.reset("stats")
    assert fake_aws.stats()["calls"] == {}
    assert fake_aws.stats()["streams"] == []
    assert len(logs.get_log_events(logGroupName=GROUP, logStreamName=STREAM)["events"]) == 2
    _put_new(client("s3"), "k", b"body")
    client("sns").publish(TopicArn=TOPIC, Message="m")
    assert fake_aws.stats()["s3_objects_written"] == fake_aws.stats()["sns_messages_published"] == 1
    fake_aws.reset("stats")
    assert (fake_aws.stats()["s3_objects"], fake_aws.stats()["sns_messages"]) == (1, 1)
    assert fake_aws.stats()["s3_objects_written"] == fake_aws.stats()["sns_messages_published"] == 0
    fake_aws.reset("logs")
    with pytest.raises(logs.exceptions.ResourceNotFoundException):
        logs.get_log_events(logGroupName=GROUP, logStreamName=STREAM)
    assert (fake_aws.stats()["s3_objects"], fake_aws.stats()["sns_messages"]) == (0, 0)


def test_every_aws_call_waits_the_latency() -> None:
    with FakeAwsProcess(latency_ms=40) as slow:
        import boto3

        logs = boto3.client("logs", endpoint_url=slow.url)
        s3 = boto3.client("s3", endpoint_url=slow.url)
        sns = boto3.client("sns", endpoint_url=slow.url)
        # Warm the connections up.
        logs.create_log_group(logGroupName=GROUP)
        _put_new(s3, "k", b"x")
        sns.publish(TopicArn=TOPIC, Message="m")
        started = time.perf_counter()
        for _ in range(3):
            with pytest.raises(logs.exceptions.ResourceAlreadyExistsException):
                logs.create_log_group(logGroupName=GROUP)
        elapsed_logs = time.perf_counter() - started
        started = time.perf_counter()
        with pytest.raises(ClientError):
            _put_new(s3, "k", b"x")
        sns.publish(TopicArn=TOPIC, Message="m")
        elapsed_s3_sns = time.perf_counter() - started
        for c in (logs, s3, sns):
            c.close()
    assert elapsed_logs >= 3 * 0.040
    assert elapsed_s3_sns >= 2 * 0.040
