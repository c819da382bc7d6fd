"""Notifications and the watch list through the real handler against the local AWS: an SNS
topic with an SQS subscription (raw delivery off, so subject and attributes are seen as a
subscriber sees them) and an HTTPS subscriber, as AWS Chatbot subscribes."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

import lambdas.findings_logger as function
from localaws.findings import basic_findings
from localaws.registry import finding_event
from pipeline import layout, limits, notify

from .conftest import PREFIX, Pipeline, emf

OPENSSL = ("openssl", "3.0.11", "3.0.13-1~deb12u1")


def basic(name: str, severity: str, package: str = "openssl", fixed: str = "") -> dict[str, Any]:
    attributes = [
        {"key": "package_version", "value": "3.0.11-1~deb12u2"},
        {"key": "package_name", "value": package},
    ]
    if fixed:
        attributes.append({"key": "fixed_in_version", "value": fixed})
    return {
        "name": name,
        "severity": severity,
        "uri": "https://example.org",
        "attributes": attributes,
    }


def enhanced(vulnerability: str, severity: str, package: tuple[str, str, str]) -> dict[str, Any]:
    name, version, fixed = package
    return {
        "findingArn": f"arn:aws:inspector2:us-east-1:123456789012:finding/{vulnerability}",
        "title": f"{vulnerability} - {name}",
        "severity": severity,
        "status": "ACTIVE",
        "packageVulnerabilityDetails": {
            "vulnerabilityId": vulnerability,
            "vulnerablePackages": [{"name": name, "version": version, "fixedInVersion": fixed}],
        },
    }


class _Receiver(BaseHTTPRequestHandler):
    posts: list[dict[str, Any]]

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).posts.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@dataclass
class Topic:
    """The notification topic, and what its subscribers received."""

    arn: str
    sqs: Any
    queue_url: str
    https_posts: list[dict[str, Any]]
    seen: list[dict[str, Any]] = field(default_factory=list)

    def received(self) -> list[dict[str, Any]]:
        """Every notification the SQS subscriber got so far (each an SNS envelope)."""
        while True:
            page = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
            messages = page.get("Messages", [])
            if not messages:
                return self.seen
            for m in messages:
                self.seen.append(json.loads(m["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])

    def chat(self) -> list[dict[str, Any]]:
        """What the HTTPS subscriber (AWS Chatbot's protocol) got: its message, decoded."""
        return [json.loads(p["Message"]) for p in self.https_posts]


@pytest.fixture
def topic(
    pipeline: Pipeline, aws_client: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Topic]:
    sns = aws_client("sns")
    arn = sns.create_topic(Name="ecr-findings")["TopicArn"]
    url = pipeline.sqs.create_queue(QueueName="inbox")["QueueUrl"]
    queue_arn = pipeline.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn)  # raw delivery off
    posts: list[dict[str, Any]] = []
    handler = type("Receiver", (_Receiver,), {"posts": posts})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    # AWS Chatbot subscribes with the https protocol: it gets the "https" message.
    sns.subscribe(
        TopicArn=arn, Protocol="https", Endpoint=f"http://127.0.0.1:{server.server_port}/"
    )
    monkeypatch.setenv("NOTIFY_TOPIC_ARN", arn)
    yield Topic(arn, pipeline.sqs, url, posts)
    server.shutdown()
    server.server_close()


def attributes(envelope: dict[str, Any]) -> dict[str, str]:
    found = envelope.get("MessageAttributes", {})
    assert all(v["Type"] == "String" for v in found.values())
    return {k: v["Value"] for k, v in found.items()}


def test_a_critical_scan_is_notified_with_ids_packages_fixes_and_streams(
    pipeline: Pipeline, topic: Topic
) -> None:
    findings = [
        enhanced("CVE-2024-1111", "CRITICAL", OPENSSL),
        enhanced("CVE-2024-2222", "CRITICAL", ("glibc", "2.36", "NotAvailable")),
        enhanced("CVE-2024-3333", "HIGH", ("curl", "7.88.1", "7.88.2")),
        enhanced("CVE-2024-4444", "LOW", ("zlib", "1.2.13", "1.3")),
    ]
    image = pipeline.image("payments-api", "1.8.3", findings, kind="enhanced")

    assert pipeline.invoke([image]) == {"batchItemFailures": []}

    [envelope] = topic.received()
    assert envelope["Subject"] == "CRITICAL: 2 new findings in payments-api:1.8.3"
    assert attributes(envelope) == {
        "severity": "CRITICAL",
        "repository": "payments-api",
        "account": "123456789012",
    }
    text = envelope["Message"]  # the "default" body: plain text
    assert "CVE-2024-1111" in text and "openssl 3.0.11, fixed in 3.0.13-1~deb12u1" in text
    assert "CVE-2024-2222" in text and "glibc 2.36, no fixed version named" in text
    assert "CVE-2024-3333" not in text and "CVE-2024-4444" not in text  # below CRITICAL
    assert f"Log group: {image.group}" in text
    # The streams it names are there to open: the CRITICAL one and the SUMMARY.
    logged = pipeline.streams(image.group)
    for stream in (image.stream("CRITICAL"), image.stream("SUMMARY")):
        assert stream in text and stream in logged
    assert image.stream("HIGH") not in text
    assert "account 123456789012, region us-east-1" in text
    assert "All findings of the scan: CRITICAL 2, HIGH 1, LOW 1" in text

    [chat] = topic.chat()  # the "https" body: an AWS Chatbot custom notification
    assert (chat["version"], chat["source"]) == ("1.0", "custom")
    assert chat["content"]["title"] == envelope["Subject"]
    assert "`CVE-2024-1111` openssl 3.0.11 → 3.0.13-1~deb12u1" in chat["content"]["description"]
    assert emf(pipeline, "Notifications") == {"": 1}
    assert emf(pipeline, "Findings") == {"CRITICAL": 2, "HIGH": 1, "LOW": 1}
    assert [o["outcome"] for o in pipeline.outcomes().values()] == ["done"]


def test_a_basic_scan_names_the_fixed_version_its_attributes_carry(
    pipeline: Pipeline, topic: Topic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFY_MIN_SEVERITY", "high")
    findings = [
        basic("CVE-2024-0001", "HIGH", "expat", fixed="2.5.0-1+deb12u1"),
        basic("CVE-2024-0002", "CRITICAL", "perl"),
        basic("CVE-2024-0003", "MEDIUM"),
    ]
    image = pipeline.image("web/storefront", None, findings)

    assert pipeline.invoke([image]) == {"batchItemFailures": []}

    [envelope] = topic.received()
    assert envelope["Subject"] == "CRITICAL: 2 new findings in web/storefront:untagged"
    text = envelope["Message"]
    assert "expat 3.0.11-1~deb12u2, fixed in 2.5.0-1+deb12u1" in text
    assert "perl 3.0.11-1~deb12u2, no fixed version named" in text
    assert "CVE-2024-0003" not in text
    assert image.stream("HIGH") in text and image.stream("MEDIUM") not in text


def test_below_the_threshold_nothing_is_sent(pipeline: Pipeline, topic: Topic) -> None:
    image = pipeline.image("team/api", "v1", [basic("CVE-2024-0001", "HIGH")])

    assert pipeline.invoke([image]) == {"batchItemFailures": []}

    assert topic.received() == [] and topic.https_posts == []
    assert pipeline.aws.calls["Publish"] == 0
    assert emf(pipeline, "Notifications") == {}


def test_a_watched_low_cve_is_notified_and_counted(
    pipeline: Pipeline, topic: Topic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHED_VULNERABILITIES", "cve-2021-44228, GHSA-jfh8-c2jp-5v3q")
    findings = [
        enhanced("CVE-2021-44228", "LOW", ("log4j-core", "2.14.1", "2.17.1")),
        enhanced("CVE-2024-0002", "HIGH", OPENSSL),
        enhanced("GHSA-jfh8-c2jp-5v3q", "MEDIUM", ("lodash", "4.17.20", "4.17.21")),
    ]
    image = pipeline.image("team/java", "2.0", findings, kind="enhanced")

    assert pipeline.invoke([image]) == {"batchItemFailures": []}

    [envelope] = topic.received()
    assert envelope["Subject"] == "MEDIUM: 2 new findings (2 watched) in team/java:2.0"
    assert attributes(envelope)["severity"] == "MEDIUM"  # the highest listed
    text = envelope["Message"]
    assert "CVE-2021-44228  (watched)" in text and "log4j-core 2.14.1, fixed in 2.17.1" in text
    assert "GHSA-jfh8-c2jp-5v3q  (watched)" in text and "lodash 4.17.20, fixed in 4.17.21" in text
    assert "CVE-2024-0002" not in text
    assert image.stream("LOW") in text and image.stream("MEDIUM") in text
    # One count per finding in all (the alarm's), and one per watched id it names.
    assert emf(pipeline, "WatchedFindings") == {
        "": 2,
        "CVE-2021-44228": 1,
        "GHSA-jfh8-c2jp-5v3q": 1,
    }


def test_the_watch_list_counts_without_a_topic(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHED_VULNERABILITIES", "CVE-2024-2961")
    findings = basic_findings(30, seed=7, include_cves=["CVE-2024-2961"])
    image = pipeline.image("web/storefront", "v2", findings)

    assert pipeline.invoke([image]) == {"batchItemFailures": []}

    assert emf(pipeline, "WatchedFindings") == {"": 1, "CVE-2024-2961": 1}
    assert pipeline.aws.calls["Publish"] == 0


def test_a_redelivery_of_a_logged_image_sends_nothing(
    pipeline: Pipeline, topic: Topic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHED_VULNERABILITIES", "CVE-2024-0001")
    image = pipeline.image("team/api", "v1", [basic("CVE-2024-0001", "CRITICAL")])
    assert pipeline.invoke([image]) == {"batchItemFailures": []}
    assert len(topic.received()) == 1

    function.reset()  # another container: it knows nothing of the first delivery
    redelivered = pipeline.record(image, receive_count=2)
    assert pipeline.invoke([redelivered]) == {"batchItemFailures": []}

    assert pipeline.outcomes()[redelivered["messageId"]]["outcome"] == "duplicate"
    assert len(topic.received()) == 1 and len(topic.https_posts) == 1
    assert pipeline.aws.calls["Publish"] == 1
    assert emf(pipeline, "WatchedFindings") == {}  # counted once, by the first delivery


def test_beyond_the_cap_one_summary_names_every_image_not_notified(
    pipeline: Pipeline, topic: Topic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFY_MAX_MESSAGES", "2")
    images = [
        pipeline.image(f"team/svc-{i}", "v1", [basic(f"CVE-2024-000{i}", "CRITICAL")])
        for i in range(5)
    ]

    assert pipeline.invoke(images) == {"batchItemFailures": []}

    received = topic.received()
    assert len(received) == 3  # two images, then the summary
    [summary] = [e for e in received if "notification limit reached" in e["Subject"]]
    assert summary["Subject"] == (
        "CRITICAL: 3 more images with new findings (notification limit reached)"
    )
    assert attributes(summary) == {
        "severity": "CRITICAL",
        "repository": "multiple",
        "account": "123456789012",
    }
    notified = {e["Subject"].rsplit(" in ", 1)[1] for e in received if e is not summary}
    named = {f"{i.repository}:v1" for i in images if f"{i.repository}:v1 " in summary["Message"]}
    assert len(notified) == 2 and len(named) == 3
    assert notified | named == {f"{i.repository}:v1" for i in images}
    assert "sent 2 notifications, its limit (NOTIFY_MAX_MESSAGES)" in summary["Message"]
    assert emf(pipeline, "Notifications") == {"": 3}
    assert emf(pipeline, "NotificationsSuppressed") == {"": 3}
    assert {o["outcome"] for o in pipeline.outcomes().values()} == {"done"}

    # The budget is per invocation: the next one notifies again.
    more = pipeline.image("team/svc-9", "v1", [basic("CVE-2024-0009", "CRITICAL")])
    assert pipeline.invoke([more]) == {"batchItemFailures": []}
    assert [e["Subject"] for e in topic.received()[3:]] == [
        "CRITICAL: 1 new finding in team/svc-9:v1"
    ]


def test_a_failed_summary_is_counted_for_an_alarm(
    pipeline: Pipeline, topic: Topic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFY_MAX_MESSAGES", "0")  # every image goes to the summary
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    images = [
        pipeline.image(f"team/held-{i}", "v1", [basic(f"CVE-2024-001{i}", "CRITICAL")])
        for i in range(3)
    ]
    pipeline.aws.inject_fault("Publish", code="InternalError", status=500)

    assert pipeline.invoke(images) == {"batchItemFailures": []}  # logged: nothing to retry

    assert topic.received() == []
    assert emf(pipeline, "NotificationsFailed") == {"": 3}
    [warning] = [line for line in pipeline.lines if line.get("notification")]
    assert warning["reason"] == "notify_failed"
    assert "3 images not named" in warning["detail"]


def test_an_image_with_more_findings_than_a_message_holds(
    pipeline: Pipeline, topic: Topic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFY_MIN_SEVERITY", "UNDEFINED")  # every finding
    image = pipeline.image("data/etl", "3.5.1", basic_findings(1_250, seed=3))

    assert pipeline.invoke([image]) == {"batchItemFailures": []}

    [envelope] = topic.received()
    assert envelope["Subject"].endswith(": 1,250 new findings in data/etl:3.5.1")
    text = envelope["Message"]
    assert text.count(notify.BULLET) == notify.TEXT_ENTRIES_MAX
    assert f"  …and {1_250 - notify.TEXT_ENTRIES_MAX} more" in text
    assert len(text.encode()) < limits.SNS_MAX_PUBLISH_BYTES
    assert pipeline.aws.violations == []  # the local SNS found nothing to refuse


def test_a_failed_publish_fails_the_image_for_a_retry_that_notifies(
    pipeline: Pipeline, topic: Topic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")  # one faulted call is one failed publish
    findings = basic_findings(25, seed=4, severities=["CRITICAL", "HIGH"])
    image = pipeline.image("team/api", "v1", findings)
    pipeline.aws.inject_fault("Publish", code="InternalError", status=500)
    first = pipeline.record(image, message_id="first")

    response = pipeline.invoke([first])

    assert response == {"batchItemFailures": [{"itemIdentifier": "first"}]}
    line = pipeline.outcomes()["first"]
    assert (line["outcome"], line["reason"]) == ("retry", "notify_failed")
    assert "Publish: InternalError" in line["detail"]
    # Not marked logged: the SUMMARY stream (the claim) was given back; the findings stay.
    assert image.stream("SUMMARY") not in pipeline.streams(image.group)
    assert topic.received() == []
    assert emf(pipeline, "Findings") == {}

    function.reset()
    again = pipeline.record(image, message_id="again", receive_count=2)
    assert pipeline.invoke([again]) == {"batchItemFailures": []}

    assert pipeline.outcomes()["again"]["outcome"] == "done"
    [envelope] = topic.received()
    assert envelope["Subject"].startswith("CRITICAL: ")
    streams = pipeline.image_messages(image)
    assert sum(len(v) for k, v in streams.items() if not k.startswith("SUMMARY")) == 25
    assert len(streams[image.stream("SUMMARY")]) == 1
    assert emf(pipeline, "Notifications") == {"": 1}


def test_a_failed_publish_dies_with_its_reason_on_the_last_attempt(
    pipeline: Pipeline, topic: Topic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    image = pipeline.image("team/api", "v1", [basic("CVE-2024-0001", "CRITICAL")])
    pipeline.aws.inject_fault("Publish", code="AuthorizationError", status=403)

    last = pipeline.record(image, message_id="last", receive_count=3)  # MAX_RECEIVE_COUNT
    assert pipeline.invoke([last]) == {"batchItemFailures": []}

    [dead] = pipeline.dead_letters()
    assert dead["MessageAttributes"]["ErrorCode"]["StringValue"] == "notify_failed"
    assert dead["Body"] == image.body


# ---- finding events -----------------------------------------------------------------------


def now_minus(seconds: int) -> datetime:
    now = datetime.now(UTC).replace(microsecond=0)
    return max(now - timedelta(seconds=seconds), now.replace(hour=0, minute=0, second=0))


DIGEST_A = "sha256:" + "a" * 64
DIGEST_B = "sha256:" + "b" * 64


def test_finding_events_are_notified_per_image(
    pipeline: Pipeline, topic: Topic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFY_MIN_SEVERITY", "HIGH")
    at = now_minus(30)

    def event(digest: str, vulnerability: str, severity: str, status: str = "ACTIVE") -> str:
        return json.dumps(
            finding_event(
                repository="payments-api",
                digest=digest,
                tags=("1.8.3",),
                severity=severity,
                status=status,
                vulnerability_id=vulnerability,
                updated_at=at,
            )
        )

    bodies = [
        event(DIGEST_A, "CVE-2024-0001", "CRITICAL"),
        event(DIGEST_A, "CVE-2024-0002", "HIGH"),
        event(DIGEST_A, "CVE-2024-0003", "LOW"),  # below the threshold
        event(DIGEST_B, "CVE-2024-0004", "CRITICAL", status="CLOSED"),  # not new
        event(DIGEST_B, "CVE-2024-0005", "MEDIUM"),  # below the threshold
    ]
    response = pipeline.invoke(
        [pipeline.record(b, message_id=f"m{i}") for i, b in enumerate(bodies)]
    )

    assert response == {"batchItemFailures": []}
    [envelope] = topic.received()
    assert envelope["Subject"] == "CRITICAL: 2 new findings in payments-api:1.8.3"
    text = envelope["Message"]
    assert "CVE-2024-0001  (ACTIVE)" in text and "CVE-2024-0002  (ACTIVE)" in text
    assert "CVE-2024-0003" not in text and DIGEST_A in text
    stream = layout.finding_events_stream(int(at.timestamp() * 1000))
    assert f"Stream:    {stream}" in text
    assert stream in pipeline.streams(PREFIX + "payments-api")
    assert "continuous scanning" in text
    assert attributes(envelope) == {
        "severity": "CRITICAL",
        "repository": "payments-api",
        "account": "123456789012",
    }
    [chat] = topic.chat()
    assert chat["metadata"]["eventType"] == "InspectorFindingEvents"

    # Redelivered to a fresh container: read back, found, duplicates: nothing sent again.
    function.reset()
    again = [pipeline.record(b, message_id=f"r{i}", receive_count=2) for i, b in enumerate(bodies)]
    assert pipeline.invoke(again) == {"batchItemFailures": []}
    assert {o["outcome"] for o in pipeline.outcomes().values()} == {"duplicate"}
    assert len(topic.received()) == 1


def test_a_finding_created_and_closed_in_one_batch_is_not_notified(
    pipeline: Pipeline, topic: Topic
) -> None:
    arn = "arn:aws:inspector2:us-east-1:123456789012:finding/" + "c" * 32

    def change(status: str, seconds: int) -> str:
        return json.dumps(
            finding_event(
                repository="team/api",
                digest=DIGEST_A,
                finding_arn=arn,
                severity="CRITICAL",
                status=status,
                updated_at=now_minus(seconds),
            )
        )

    # The closure is delivered first, the creation after it: order in the batch is not time.
    bodies = [change("CLOSED", 10), change("ACTIVE", 40)]
    assert pipeline.invoke(bodies) == {"batchItemFailures": []}
    assert {o["outcome"] for o in pipeline.outcomes().values()} == {"done"}
    assert topic.received() == []

    # A later reopening is news again.
    assert pipeline.invoke([change("ACTIVE", 5)]) == {"batchItemFailures": []}
    [envelope] = topic.received()
    assert envelope["Subject"] == "CRITICAL: 1 new finding in team/api:untagged"


def test_a_watched_finding_event_is_notified_and_counted(
    pipeline: Pipeline, topic: Topic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WATCHED_VULNERABILITIES", "CVE-2021-44228")
    body = finding_event(
        repository="team/java",
        digest=DIGEST_A,
        severity="LOW",
        vulnerability_id="CVE-2021-44228",
        package="log4j-core",
        updated_at=now_minus(10),
    )

    assert pipeline.invoke([json.dumps(body)]) == {"batchItemFailures": []}

    [envelope] = topic.received()
    assert envelope["Subject"] == "LOW: 1 new finding (1 watched) in team/java:untagged"
    assert emf(pipeline, "WatchedFindings") == {"": 1, "CVE-2021-44228": 1}


def test_a_failed_publish_of_finding_events_writes_nothing_and_retries(
    pipeline: Pipeline, topic: Topic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    at = now_minus(20)
    notified = finding_event(
        repository="team/api", digest=DIGEST_A, severity="CRITICAL", updated_at=at
    )
    quiet = finding_event(
        repository="team/api",
        digest=DIGEST_B,
        severity="LOW",
        vulnerability_id="CVE-2024-0009",
        updated_at=at,
    )
    pipeline.aws.inject_fault("Publish", code="InternalError", status=500)

    response = pipeline.invoke(
        [
            pipeline.record(json.dumps(notified), message_id="notified"),
            pipeline.record(json.dumps(quiet), message_id="quiet"),
        ]
    )

    assert response == {"batchItemFailures": [{"itemIdentifier": "notified"}]}
    assert pipeline.outcomes()["notified"]["reason"] == "notify_failed"
    assert pipeline.outcomes()["quiet"]["outcome"] == "done"  # not worth one: logged
    stream = layout.finding_events_stream(int(at.timestamp() * 1000))
    logged = [json.loads(m) for m in pipeline.messages(PREFIX + "team/api", stream)]
    assert [m["imageContext"]["eventId"] for m in logged] == [quiet["id"]]

    function.reset()
    retry = pipeline.record(json.dumps(notified), message_id="notified", receive_count=2)
    assert pipeline.invoke([retry]) == {"batchItemFailures": []}
    [envelope] = topic.received()
    assert envelope["Subject"] == "CRITICAL: 1 new finding in team/api:untagged"
    logged = [json.loads(m) for m in pipeline.messages(PREFIX + "team/api", stream)]
    assert sorted(m["imageContext"]["eventId"] for m in logged) == sorted(
        [quiet["id"], notified["id"]]
    )


def test_an_update_of_a_long_standing_finding_is_not_new_to_a_cold_container(
    pipeline: Pipeline, topic: Topic
) -> None:
    def change(digest: str, first_seen_days_ago: int) -> str:
        at = now_minus(30)
        return json.dumps(
            finding_event(
                repository="team/api",
                digest=digest,
                severity="CRITICAL",
                vulnerability_id=f"CVE-2024-{first_seen_days_ago:04d}",
                updated_at=at,
                first_observed_at=at - timedelta(days=first_seen_days_ago),
            )
        )

    # A re-score of a finding Inspector has known for 30 days, and a finding just created.
    assert pipeline.invoke([change(DIGEST_A, 30), change(DIGEST_B, 0)]) == {"batchItemFailures": []}

    assert {o["outcome"] for o in pipeline.outcomes().values()} == {"done"}  # both logged
    assert emf(pipeline, "Findings") == {"CRITICAL": 1}
    [envelope] = topic.received()
    assert DIGEST_B in envelope["Message"] and DIGEST_A not in envelope["Message"]
