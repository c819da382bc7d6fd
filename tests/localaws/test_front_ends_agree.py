"""The moto server and the fast endpoint answer alike: the cases their old emulations disagreed
on, asked of both through boto3 and compared answer for answer."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from localaws import LocalAws
from localaws.fastserver.ecr import seed_item
from localaws.fastserver.process import FakeAwsProcess
from localaws.findings import basic_findings, enhanced_findings
from localaws.registry import image_manifest, manifest_digest, push_scanned_image
from localaws.shapes import epoch_seconds, shape, to_wire
from pipeline import limits

REPO = "team/app"
GROUP, STREAM = "/aws/ecr/image-scan-findings/team/app", "HIGH-v1-ab-2026-01-01T00-00-00Z"
HOUR_MS = 60 * 60 * 1000
DAY_MS = 24 * HOUR_MS
WIRE_SHAPES = {"basic": "ImageScanFinding", "enhanced": "EnhancedImageScanFinding"}
NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})
RAW = Config(retries={"mode": "standard", "total_max_attempts": 1}, parameter_validation=False)


class FrontEnd:
    """One front end, driven the same way whichever it is."""

    name: str
    url: str

    def client(self, service: str, config: Config = NO_RETRIES) -> Any:
        return boto3.client(service, endpoint_url=self.url, config=config)

    def scanned_image(self, tag: str, findings: list[dict[str, Any]], **scan: Any) -> str:
        raise NotImplementedError

    def inject_fault(self, operation: str, **fault: Any) -> None:
        raise NotImplementedError

    def bucket_and_topic(self) -> tuple[str, str]:
        """A bucket and a topic to write to (the fast endpoint needs neither created)."""
        return "archive", "arn:aws:sns:us-east-1:123456789012:findings"


class MotoFront(FrontEnd):
    name = "moto"

    def __init__(self, aws: LocalAws) -> None:
        self.aws, self.url = aws, aws.endpoint_url

    def scanned_image(self, tag: str, findings: list[dict[str, Any]], **scan: Any) -> str:
        ecr = self.client("ecr")
        return push_scanned_image(self.aws, ecr, REPO, tag, findings, **scan).digest

    def inject_fault(self, operation: str, **fault: Any) -> None:
        self.aws.inject_fault(operation, **fault)

    def bucket_and_topic(self) -> tuple[str, str]:
        bucket, _ = super().bucket_and_topic()
        self.client("s3").create_bucket(Bucket=bucket)
        topic = self.client("sns", RAW).create_topic(Name="findings")["TopicArn"]
        return bucket, str(topic)


class FastFront(FrontEnd):
    name = "fast"

    def __init__(self, endpoint: FakeAwsProcess) -> None:
        self.endpoint, self.url = endpoint, endpoint.url

    def scanned_image(self, tag: str, findings: list[dict[str, Any]], **scan: Any) -> str:
        # The digest moto's ECR gives the same image.
        digest = manifest_digest(image_manifest(f"{REPO}:{tag}"))
        kind = scan.get("kind", "basic")
        model = shape("ecr", WIRE_SHAPES[kind])
        self.endpoint.seed(
            [
                seed_item(
                    repository=REPO,
                    digest=digest,
                    tags=[tag],
                    kind=kind,
                    findings=[to_wire(f, model) for f in findings],
                    status=scan.get("status"),
                    completed_at=epoch_seconds(time.time()),
                )
            ]
        )
        return digest

    def inject_fault(self, operation: str, **fault: Any) -> None:
        self.endpoint.inject_fault(operation, **fault)


@pytest.fixture
def moto(local_aws: LocalAws, fake_aws_env: None) -> FrontEnd:
    local_aws.reset()
    return MotoFront(local_aws)


@pytest.fixture
def fast(fake_aws: FakeAwsProcess) -> FrontEnd:
    return FastFront(fake_aws)


@pytest.fixture(params=["moto", "fast"])
def front(request: pytest.FixtureRequest) -> FrontEnd:
    front: FrontEnd = request.getfixturevalue(request.param)
    return front


def _error(call: Callable[[], Any]) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as exc:
        call()
    response = exc.value.response
    return (
        str(response["Error"]["Code"]),
        str(response["Error"]["Message"]),
        int(response["ResponseMetadata"]["HTTPStatusCode"]),
    )


def _page_sizes(ecr: Any, digest: str, max_results: int) -> list[int]:
    sizes, token = [], None
    while True:
        params: dict[str, Any] = {"maxResults": max_results}
        if token:
            params["nextToken"] = token
        page = ecr.describe_image_scan_findings(
            repositoryName=REPO, imageId={"imageDigest": digest}, **params
        )
        body = page["imageScanFindings"]
        sizes.append(len(body.get("findings") or body.get("enhancedFindings") or []))
        token = page.get("nextToken")
        if not token:
            return sizes


# -- answers that must be identical, asked of each front end -----------------------------------


def _enhanced_paging(front: FrontEnd) -> Any:
    digest = front.scanned_image(
        "v1",
        enhanced_findings(230, seed=3, repository=REPO, digest="sha256:" + "ab" * 32),
        kind="enhanced",
    )
    ecr = front.client("ecr")
    return [_page_sizes(ecr, digest, n) for n in (10, 100, 1000)]


def _basic_paging(front: FrontEnd) -> Any:
    digest = front.scanned_image("v1", basic_findings(250, seed=1))
    ecr = front.client("ecr")
    return [_page_sizes(ecr, digest, n) for n in (100, 1000)]


def _statuses(front: FrontEnd) -> Any:
    answers = []
    for n, (kind, status) in enumerate(
        [
            ("basic", None),
            ("enhanced", None),
            ("basic", "IN_PROGRESS"),
            ("basic", "PENDING"),
            ("basic", "FAILED"),
            ("basic", "SCAN_ELIGIBILITY_EXPIRED"),
        ]
    ):
        findings = (
            enhanced_findings(2, seed=n, repository=REPO, digest="sha256:" + "cd" * 32)
            if kind == "enhanced"
            else basic_findings(2, seed=n)
        )
        digest = front.scanned_image(f"v{n}", findings, kind=kind, status=status)
        page = front.client("ecr").describe_image_scan_findings(
            repositoryName=REPO, imageId={"imageDigest": digest}
        )
        answers.append((page["imageScanStatus"], "imageScanFindings" in page, page["imageId"]))
    return answers


def _ecr_errors(front: FrontEnd) -> Any:
    digest = front.scanned_image("v1", basic_findings(20, seed=5))
    ecr = front.client("ecr")
    raw = front.client("ecr", RAW)
    image = {"imageDigest": digest}
    return [
        _error(lambda: ecr.describe_image_scan_findings(repositoryName="team/nope", imageId=image)),
        _error(
            lambda: ecr.describe_image_scan_findings(
                repositoryName=REPO, imageId={"imageDigest": "sha256:" + "0" * 64}
            )
        ),
        _error(
            lambda: ecr.describe_image_scan_findings(
                repositoryName=REPO, imageId={"imageTag": "nope"}
            )
        ),
        _error(
            lambda: ecr.describe_image_scan_findings(
                repositoryName=REPO, imageId=image, registryId="111111111111"
            )
        ),
        _error(
            lambda: ecr.describe_image_scan_findings(
                repositoryName=REPO, imageId=image, nextToken="not-a-token"
            )
        ),
        _error(
            lambda: raw.describe_image_scan_findings(
                repositoryName=REPO, imageId=image, maxResults=1001
            )
        ),
        # By tag: the answer names the tag asked for.
        ecr.describe_image_scan_findings(repositoryName=REPO, imageId={"imageTag": "v1"})["imageId"]
        == {"imageDigest": digest, "imageTag": "v1"},
    ]


def _logs(front: FrontEnd) -> Any:
    logs = front.client("logs")
    logs.create_log_group(logGroupName=GROUP)
    logs.create_log_stream(logGroupName=GROUP, logStreamName=STREAM)
    return logs


def _now_ms() -> int:
    return int(time.time() * 1000)


def _put(logs: Any, events: list[dict[str, Any]], group: str = GROUP, stream: str = STREAM) -> Any:
    return logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)


def _stored(logs: Any) -> list[str]:
    """Every message of the stream, page by page (a page holds at most 1 MB)."""
    params: dict[str, Any] = {"logGroupName": GROUP, "logStreamName": STREAM}
    messages: list[str] = []
    while True:
        page = logs.get_log_events(**params, startFromHead=True)
        messages += [e["message"] for e in page["events"]]
        if page["nextForwardToken"] == params.get("nextToken"):
            return messages
        params["nextToken"] = page["nextForwardToken"]


def _put_limits(front: FrontEnd) -> Any:
    logs = _logs(front)
    raw = front.client("logs", RAW)
    now = _now_ms()
    largest = "x" * limits.MAX_MESSAGE_BYTES
    cases: list[list[dict[str, Any]]] = [
        [{"timestamp": now, "message": largest + "x"}],
        [{"timestamp": now, "message": "m"}] * (limits.PUT_LOG_EVENTS_MAX_EVENTS + 1),
        [{"timestamp": now, "message": "a"}, {"timestamp": now - 1, "message": "b"}],
        [{"timestamp": now - DAY_MS - 1, "message": "a"}, {"timestamp": now, "message": "b"}],
        [{"timestamp": now, "message": ""}],
        [],
    ]
    answers: list[Any] = [_error(lambda events=events: _put(raw, events)) for events in cases]
    # The limits themselves are accepted: the largest message, a full day's span.
    _put(logs, [{"timestamp": now, "message": largest}])
    _put(logs, [{"timestamp": now - DAY_MS, "message": "a"}, {"timestamp": now, "message": "b"}])
    answers.append(len(_stored(logs)))
    return answers


def _names(front: FrontEnd) -> Any:
    logs = _logs(front)
    events = [{"timestamp": _now_ms(), "message": "m"}]
    return [
        _error(lambda: logs.create_log_group(logGroupName="/aws/ecr/bad:name")),
        _error(lambda: logs.create_log_group(logGroupName="/aws/" + "g" * 508)),
        _error(lambda: logs.create_log_stream(logGroupName=GROUP, logStreamName="HIGH:v1")),
        _error(lambda: logs.create_log_stream(logGroupName=GROUP, logStreamName="s" * 513)),
        _error(lambda: _put(logs, events, group="/aws/ecr/with space")),
        _error(lambda: _put(logs, events, stream="HIGH*v1")),
        _error(lambda: _put(logs, events, stream="missing"))[0],
    ]


def _timestamps(front: FrontEnd) -> Any:
    logs = _logs(front)
    now = _now_ms()
    old = now - limits.MAX_AGE_MS
    future = now + limits.MAX_FUTURE_MS
    answers = [
        _put(
            logs,
            [
                {"timestamp": old - 2 * HOUR_MS, "message": "old-1"},
                {"timestamp": old - HOUR_MS, "message": "old-2"},
                {"timestamp": old + HOUR_MS, "message": "kept-1"},
            ],
        )["rejectedLogEventsInfo"],
        _put(
            logs,
            [
                {"timestamp": now, "message": "kept-2"},
                {"timestamp": future + HOUR_MS, "message": "new-1"},
                {"timestamp": future + 2 * HOUR_MS, "message": "new-2"},
            ],
        )["rejectedLogEventsInfo"],
    ]
    logs.put_retention_policy(logGroupName=GROUP, retentionInDays=1)
    expired = _put(
        logs,
        [
            {"timestamp": now - DAY_MS - HOUR_MS, "message": "expired"},
            {"timestamp": now - HOUR_MS, "message": "kept-3"},
        ],
    )
    answers += [expired["rejectedLogEventsInfo"], sorted(_stored(logs))]
    return answers


def _faults(front: FrontEnd) -> Any:
    logs = front.client("logs")
    front.inject_fault("CreateLogGroup", after=1)
    logs.create_log_group(logGroupName="/first")
    throttled = _error(lambda: logs.create_log_group(logGroupName="/second"))
    front.inject_fault("CreateLogGroup", code="ServiceUnavailableException", status=503)
    unavailable = _error(lambda: logs.create_log_group(logGroupName="/third"))
    logs.create_log_group(logGroupName="/fourth")
    return [throttled, unavailable]


def _sha256(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode()


def _archive_writes(front: FrontEnd) -> Any:
    bucket, _ = front.bucket_and_topic()
    s3 = front.client("s3")
    body = b"archived"
    put = {"Bucket": bucket, "Key": "p/date=2026-01-01/a.json.gz", "Body": body}
    put |= {"IfNoneMatch": "*", "ChecksumAlgorithm": "SHA256", "ChecksumSHA256": _sha256(body)}
    first = s3.put_object(**put)
    return [
        first["ETag"],
        first["ChecksumSHA256"],
        _error(lambda: s3.put_object(**put)),
        _error(lambda: s3.put_object(**{**put, "Key": "other", "ChecksumSHA256": _sha256(b"x")})),
    ]


def _publishes(front: FrontEnd) -> Any:
    _, topic = front.bucket_and_topic()
    sns = front.client("sns", RAW)
    publish = {"TopicArn": topic, "Message": '{"default": "text"}', "MessageStructure": "json"}
    sent = sns.publish(**publish, Subject="CRITICAL in team/app:v1")
    return [
        bool(sent["MessageId"]),
        _error(lambda: sns.publish(**{**publish, "Message": '{"email": "no default"}'})),
        _error(lambda: sns.publish(**publish, Subject="two\nlines")),
        _error(lambda: sns.publish(**{**publish, "Message": "x" * 262_145})),
    ]


CASES = {
    "enhanced findings paging": _enhanced_paging,
    "basic findings paging": _basic_paging,
    "scan statuses": _statuses,
    "ECR errors": _ecr_errors,
    "PutLogEvents limits": _put_limits,
    "log group and stream names": _names,
    "rejected timestamps": _timestamps,
    "faults": _faults,
    "archive writes": _archive_writes,
    "notification publishes": _publishes,
}


@pytest.mark.parametrize("case", list(CASES))
def test_both_front_ends_answer_alike(moto: FrontEnd, fast: FrontEnd, case: str) -> None:
    assert CASES[case](moto) == CASES[case](fast)


def test_enhanced_findings_come_100_a_page_on_both(front: FrontEnd) -> None:
    assert _enhanced_paging(front) == [[100, 100, 30]] * 3


def test_unreadable_statuses_carry_no_findings_on_both(front: FrontEnd) -> None:
    readable = [has_findings for _status, has_findings, _id in _statuses(front)]
    assert readable == [True, True, False, False, False, False]
