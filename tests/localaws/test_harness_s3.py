"""S3 in the local AWS: calls named (so faults can be injected), uploads whose checksum does not
match refused as S3 refuses them, conditional writes as moto answers them."""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from localaws import LocalAws
from localaws.rules import s3 as rules

NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})


@pytest.mark.parametrize(
    ("method", "path", "query", "headers", "operation"),
    [
        ("PUT", "/bucket/a/b.json.gz", {}, {}, "PutObject"),
        ("PUT", "/bucket/key", {}, {"x-amz-copy-source": "/other/key"}, "CopyObject"),
        ("PUT", "/bucket/key", {"tagging": [""]}, {}, ""),
        ("PUT", "/bucket/key", {"uploadId": ["1"], "partNumber": ["1"]}, {}, ""),
        ("PUT", "/bucket", {}, {}, ""),  # CreateBucket: no rule, not named
        ("GET", "/bucket/key", {}, {}, "GetObject"),
        ("HEAD", "/bucket/key", {}, {}, "HeadObject"),
        ("DELETE", "/bucket/key", {}, {}, "DeleteObject"),
        ("GET", "/bucket", {"list-type": ["2"], "prefix": ["p/"]}, {}, "ListObjectsV2"),
        ("GET", "/bucket", {}, {}, ""),
    ],
)
def test_operations(
    method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], operation: str
) -> None:
    assert rules.operation(method, path, query, headers) == operation


def test_checksums() -> None:
    body = b"payload"
    good = {
        "content-md5": base64.b64encode(hashlib.md5(body).digest()).decode(),
        "x-amz-checksum-sha256": base64.b64encode(hashlib.sha256(body).digest()).decode(),
        "x-amz-checksum-crc32": base64.b64encode(zlib.crc32(body).to_bytes(4, "big")).decode(),
    }
    assert rules.checksum_error(good, body) is None
    assert rules.checksum_error({}, body) is None
    for name in good:
        error = rules.checksum_error({name: good[name]}, body + b"!")
        assert error is not None and (error.code, error.status) == ("BadDigest", 400)


@pytest.fixture
def s3(aws: LocalAws, aws_client: Callable[..., Any]) -> Any:
    client = aws_client("s3", config=NO_RETRIES)
    client.create_bucket(Bucket="harness-bucket")
    return client


def test_faults_on_put_object(aws: LocalAws, s3: Any) -> None:
    aws.inject_fault("PutObject", code="SlowDown", status=503, message="Reduce your rate.")

    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket="harness-bucket", Key="k", Body=b"x")

    assert caught.value.response["Error"] == {"Code": "SlowDown", "Message": "Reduce your rate."}
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert "Contents" not in s3.list_objects_v2(Bucket="harness-bucket")
    s3.put_object(Bucket="harness-bucket", Key="k", Body=b"x")
    assert aws.calls["PutObject"] == 2 and aws.calls["ListObjectsV2"] == 1


def test_a_body_that_does_not_match_its_checksum_is_not_stored(aws: LocalAws, s3: Any) -> None:
    other = base64.b64encode(hashlib.sha256(b"something else").digest()).decode()

    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket="harness-bucket", Key="k", Body=b"x", ChecksumSHA256=other)

    assert caught.value.response["Error"]["Code"] == "BadDigest"
    assert "Contents" not in s3.list_objects_v2(Bucket="harness-bucket")
    assert aws.violations == []  # a refused upload is S3's answer, not a client's mistake


def test_a_conditional_write_never_replaces_an_object(s3: Any) -> None:
    s3.put_object(Bucket="harness-bucket", Key="k", Body=b"first", IfNoneMatch="*")

    with pytest.raises(ClientError) as caught:
        s3.put_object(Bucket="harness-bucket", Key="k", Body=b"second", IfNoneMatch="*")

    assert caught.value.response["Error"]["Code"] == "PreconditionFailed"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 412
    assert s3.get_object(Bucket="harness-bucket", Key="k")["Body"].read() == b"first"
