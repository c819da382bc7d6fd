"""The handler end to end against the local AWS (moto server + our ECR/Logs emulation)."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import orjson
import pytest

from localaws import registry
from localaws.findings import basic_findings, enhanced_findings, with_description_bytes
from pipeline import limits
from pipeline.lambda_context import LocalContext

from .conftest import Image, Pipeline

SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED")


def by_severity(findings: list[dict[str, object]]) -> Counter[str]:
    return Counter(str(f["severity"]) for f in findings)


def test_basic_scan_is_logged_per_severity_with_a_summary(pipeline: Pipeline) -> None:
    findings = basic_findings(40, seed=1)
    image = pipeline.image("team/web", "v1.2", findings)

    assert pipeline.invoke([image]) == {"batchItemFailures": []}

    streams = pipeline.image_messages(image)
    expected = by_severity(findings)
    assert set(streams) == {image.stream(s) for s in expected} | {image.stream("SUMMARY")}
    for severity, count in expected.items():
        events = streams[image.stream(severity)]
        assert len(events) == count
        for event in events:
            assert event["severity"] == severity
            assert event["imageContext"] == {
                "account": "123456789012",
                "region": "us-east-1",
                "repository": "team/web",
                "imageDigest": image.digest,
                "imageTags": ["v1.2"],
                "scanTime": image.time,
                "scanKind": "basic",
            }
    # The finding's own fields at top level, exactly as the API returned them.
    logged = [
        {k: v for k, v in e.items() if k != "imageContext"}
        for s in expected
        for e in streams[image.stream(s)]
    ]
    assert sorted(logged, key=orjson.dumps) == sorted(findings, key=orjson.dumps)
    [summary] = streams[image.stream("SUMMARY")]
    # The AWS sample's SUMMARY: the severity counts map itself at top level.
    assert {severity: summary[severity] for severity in expected} == dict(expected)
    assert "findingSeverityCounts" not in summary
    assert summary["findingsLogged"] == 40
    assert summary["imageContext"]["imageDigest"] == image.digest
    assert image.stream("HIGH") == f"HIGH-v1.2-{image.digest[7:]}-2026-11-29T06-00-00Z"


def test_every_page_is_read_and_calls_are_few(pipeline: Pipeline) -> None:
    findings = basic_findings(2_500, seed=2)
    image = pipeline.image("big", "latest", findings)

    assert pipeline.invoke([image]) == {"batchItemFailures": []}

    streams = pipeline.image_messages(image)
    assert sum(len(v) for k, v in streams.items() if not k.startswith("SUMMARY")) == 2_500
    assert pipeline.aws.calls["DescribeImageScanFindings"] == 3  # 1,000 a page
    # One PutLogEvents per severity stream (each well under 1 MB) plus the summary.
    assert pipeline.aws.calls["PutLogEvents"] == len(by_severity(findings)) + 1


def test_enhanced_findings_over_several_pages(pipeline: Pipeline) -> None:
    digest_placeholder = "sha256:" + "0" * 64
    findings = enhanced_findings(250, seed=3, repository="inspected/api", digest=digest_placeholder)
    image = pipeline.image(
        "inspected/api", "prod", findings, kind="enhanced", include_account=False
    )

    assert pipeline.invoke([image]) == {"batchItemFailures": []}

    assert pipeline.aws.calls["DescribeImageScanFindings"] == 3  # 100 a page, always
    streams = pipeline.image_messages(image)
    logged = [e for k, v in streams.items() if not k.startswith("SUMMARY") for e in v]
    assert len(logged) == 250
    assert {e["findingArn"] for e in logged} == {f["findingArn"] for f in findings}
    # account came from the repository ARN (the event had none)
    assert {e["imageContext"]["account"] for e in logged} == {"123456789012"}
    assert {e["imageContext"]["scanKind"] for e in logged} == {"enhanced"}
    # Logged as the wire has them (the before-parse hook): times stay epoch seconds.
    assert all(isinstance(e["firstObservedAt"], int | float) for e in logged)


def test_untagged_image_uses_untagged_in_stream_names(pipeline: Pipeline) -> None:
    image = pipeline.image("team/worker", None, basic_findings(5, seed=4, severities=["LOW"]))

    assert pipeline.invoke([image]) == {"batchItemFailures": []}

    assert pipeline.streams(image.group) == sorted(
        [
            f"LOW-untagged-{image.digest[7:]}-2026-11-29T06-00-00Z",
            f"SUMMARY-untagged-{image.digest[7:]}-2026-11-29T06-00-00Z",
        ]
    )


def test_more_than_10000_findings_in_one_severity(pipeline: Pipeline) -> None:
    findings = basic_findings(10_500, seed=5, severities=["HIGH"], description_bytes=60)
    image = pipeline.image("huge", "v1", findings)

    assert pipeline.invoke([image]) == {"batchItemFailures": []}

    assert len(pipeline.messages(image.group, image.stream("HIGH"))) == 10_500
    puts = [r for r in pipeline.aws.put_log_events_requests if r.stream == image.stream("HIGH")]
    total = sum(r.n_bytes for r in puts)
    # As few calls as the byte limit allows (greedy packing wastes under one event a batch).
    assert len(puts) == -(-total // (limits.PUT_LOG_EVENTS_MAX_BYTES - 2_000))
    assert all(r.n_events <= limits.PUT_LOG_EVENTS_MAX_EVENTS for r in puts)
    assert all(r.n_bytes <= limits.PUT_LOG_EVENTS_MAX_BYTES for r in puts)


def test_a_3mb_description_is_truncated_not_dropped(pipeline: Pipeline) -> None:
    findings = basic_findings(3, seed=6, severities=["CRITICAL"])
    findings[1] = with_description_bytes(findings[1], 3 * 1024 * 1024)
    image = pipeline.image("bloated", "v1", findings)

    assert pipeline.invoke([image]) == {"batchItemFailures": []}

    messages = pipeline.messages(image.group, image.stream("CRITICAL"))
    assert len(messages) == 3
    big = [orjson.loads(m) for m in messages if len(m) > 100_000]
    assert len(big) == 1
    assert len(messages[messages.index(max(messages, key=len))].encode()) <= (
        limits.MAX_MESSAGE_BYTES
    )
    assert "…[truncated " in big[0]["description"]
    assert big[0]["name"] == findings[1]["name"]
    assert big[0]["attributes"] == findings[1]["attributes"]


def test_forty_messages_over_25_repositories_in_one_call(pipeline: Pipeline) -> None:
    images = []
    for i in range(40):
        repo = f"org/service-{i % 25}"
        findings = basic_findings(i * 3, seed=100 + i)
        images.append(pipeline.image(repo, f"build-{i}", findings))

    assert pipeline.invoke(images) == {"batchItemFailures": []}

    for i, image in enumerate(images):
        streams = pipeline.image_messages(image)
        assert sum(len(v) for k, v in streams.items() if not k.startswith("SUMMARY")) == i * 3
        assert len(streams[image.stream("SUMMARY")]) == 1
    assert pipeline.aws.calls["CreateLogGroup"] == 25
    outcomes = pipeline.outcomes()
    assert Counter(o["outcome"] for o in outcomes.values()) == {"done": 40}


def test_permanent_failures_go_to_the_dlq_with_reasons(pipeline: Pipeline) -> None:
    good = pipeline.image("team/ok", "v1", basic_findings(3, seed=7))
    gone = json.loads(good.body)
    gone["detail"]["image-digest"] = "sha256:" + "f" * 64
    no_repo = json.loads(good.body)
    no_repo["detail"]["repository-name"] = "team/missing"
    other = json.loads(good.body)
    other["detail-type"] = "ECR Image Action"
    records = [
        pipeline.record(good, message_id="good"),
        pipeline.record("{not json", message_id="malformed"),
        pipeline.record(json.dumps(gone), message_id="gone"),
        pipeline.record(json.dumps(no_repo), message_id="no-repo"),
        pipeline.record(json.dumps(other), message_id="other"),
    ]

    assert pipeline.invoke(records) == {"batchItemFailures": []}

    dead = {
        m["MessageAttributes"]["SourceMessageId"]["StringValue"]: m for m in pipeline.dead_letters()
    }
    assert set(dead) == {"malformed", "gone", "no-repo", "other"}
    codes = {k: m["MessageAttributes"]["ErrorCode"]["StringValue"] for k, m in dead.items()}
    assert codes == {
        "malformed": "malformed_json",
        "gone": "image_not_found",
        "no-repo": "repository_not_found",
        "other": "unsupported_event",
    }
    assert dead["malformed"]["Body"] == "{not json"  # the original body, unchanged
    assert dead["gone"]["Body"] == json.dumps(gone)
    assert dead["gone"]["MessageAttributes"]["Repository"]["StringValue"] == "team/ok"
    assert (
        "ImageNotFoundException" in dead["gone"]["MessageAttributes"]["ErrorMessage"]["StringValue"]
    )
    outcomes = pipeline.outcomes()
    assert outcomes["good"]["outcome"] == "done"
    assert outcomes["gone"]["outcome"] == "dead"
    assert outcomes["gone"]["reason"] == "image_not_found"


def test_retryable_until_the_final_attempt_then_dead_with_reason(pipeline: Pipeline) -> None:
    image = pipeline.image("team/slow", "v1", [], status="IN_PROGRESS")

    first = pipeline.invoke([pipeline.record(image, message_id="m", receive_count=1)])
    assert first == {"batchItemFailures": [{"itemIdentifier": "m"}]}
    assert pipeline.outcomes()["m"]["reason"] == "scan_in_progress"
    assert pipeline.dead_letters() == []

    last = pipeline.invoke([pipeline.record(image, message_id="m", receive_count=3)])
    assert last == {"batchItemFailures": []}
    [dead] = pipeline.dead_letters()
    attributes = {k: v["StringValue"] for k, v in dead["MessageAttributes"].items()}
    assert attributes["ErrorCode"] == "scan_in_progress"
    assert attributes["Retryable"] == "true"
    assert attributes["ReceiveCount"] == "3"


def test_complete_but_findings_not_readable_yet_is_retried(pipeline: Pipeline) -> None:
    image = pipeline.image("team/early", "v1", [], severity_counts={"HIGH": 2})

    response = pipeline.invoke([pipeline.record(image, message_id="early")])

    assert response == {"batchItemFailures": [{"itemIdentifier": "early"}]}
    assert pipeline.outcomes()["early"]["reason"] == "findings_not_ready"


def test_redelivery_after_success_adds_nothing(pipeline: Pipeline) -> None:
    image = pipeline.image("team/twice", "v1", basic_findings(30, seed=8))
    pipeline.invoke([image])
    before = pipeline.image_messages(image)
    ecr_calls = pipeline.aws.calls["DescribeImageScanFindings"]

    # Same event, in the same batch twice, then again in a cold start (no memory of it).
    assert pipeline.invoke([image, image]) == {"batchItemFailures": []}
    import lambdas.findings_logger as function

    function.reset()
    assert pipeline.invoke([image]) == {"batchItemFailures": []}

    assert pipeline.image_messages(image) == before
    assert pipeline.aws.calls["DescribeImageScanFindings"] == ecr_calls
    assert {o["outcome"] for o in pipeline.outcomes().values()} == {"duplicate"}


def test_redelivery_after_partial_write_ends_as_one_clean_write(pipeline: Pipeline) -> None:
    findings = basic_findings(60, seed=9, severities=["HIGH", "LOW", "MEDIUM"])
    clean = pipeline.image("team/clean", "v1", findings, content="same")
    pipeline.invoke([clean])
    expected = findings_by_stream_kind(pipeline, clean)

    partial = pipeline.image("team/partial", "v1", findings, content="same")
    # Fail every PutLogEvents after the first: some streams get written, the summary does not.
    pipeline.aws.inject_fault("PutLogEvents", code="InternalFailure", status=500, times=50, after=1)
    first = pipeline.invoke([pipeline.record(partial, message_id="p")])
    assert first == {"batchItemFailures": [{"itemIdentifier": "p"}]}
    assert pipeline.outcomes()["p"]["reason"] == "aws_unavailable"
    written = pipeline.image_messages(partial)
    assert 0 < sum(len(v) for v in written.values()) < 60
    # The claim is released: no SUMMARY stream is left to say anything about the image.
    assert partial.stream("SUMMARY") not in written

    pipeline.aws.clear_faults()
    function_reset()
    assert pipeline.invoke([pipeline.record(partial, receive_count=2)]) == {"batchItemFailures": []}
    assert findings_by_stream_kind(pipeline, partial) == expected
    [summary] = pipeline.image_messages(partial)[partial.stream("SUMMARY")]
    assert summary["findingsLogged"] == 60


def findings_by_stream_kind(pipeline: Pipeline, image: Image) -> dict[str, list[bytes]]:
    """Severity → its findings (without image context), for comparing two images."""
    return {
        name.split("-")[0]: sorted(orjson.dumps({**e, "imageContext": None}) for e in events)
        for name, events in pipeline.image_messages(image).items()
        if not name.startswith("SUMMARY")
    }


def function_reset() -> None:
    import lambdas.findings_logger as function

    function.reset()


def test_throttling_and_5xx_are_retried_with_nothing_lost_or_duplicated(
    pipeline: Pipeline,
) -> None:
    findings = basic_findings(200, seed=10)
    image = pipeline.image("team/flaky", "v1", findings)
    pipeline.aws.inject_fault("DescribeImageScanFindings", times=2)
    pipeline.aws.inject_fault("CreateLogStream", code="ServiceUnavailableException", status=503)
    pipeline.aws.inject_fault("PutLogEvents", times=1)
    pipeline.aws.inject_fault("PutLogEvents", code="InternalFailure", status=500, after=2)

    assert pipeline.invoke([image]) == {"batchItemFailures": []}

    streams = pipeline.image_messages(image)
    logged = [e for k, v in streams.items() if not k.startswith("SUMMARY") for e in v]
    assert sorted(orjson.dumps(e["name"]) for e in logged) == sorted(
        orjson.dumps(f["name"]) for f in findings
    )
    assert pipeline.aws.pending_faults() == []
    throttles = [line for line in pipeline.lines if line.get("Api") == "DescribeImageScanFindings"]
    assert throttles and throttles[0]["Throttles"] == 2


def test_faults_beyond_sdk_retries_fail_only_that_message(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_CONCURRENT_IMAGES", "1")  # one image at a time: hit meets the faults
    function_reset()
    hit = pipeline.image("team/hit", "v1", basic_findings(5, seed=11))
    fine = pipeline.image("team/fine", "v1", basic_findings(5, seed=12))
    # Only the first image's fetch is throttled past the SDK's 3 attempts.
    pipeline.aws.inject_fault("DescribeImageScanFindings", times=3)

    response = pipeline.invoke(
        [pipeline.record(hit, message_id="hit"), pipeline.record(fine, message_id="fine")]
    )
    assert response == {"batchItemFailures": [{"itemIdentifier": "hit"}]}
    assert pipeline.outcomes()["hit"]["reason"] == "throttled"
    assert pipeline.outcomes()["fine"]["outcome"] == "done"
    assert pipeline.invoke([pipeline.record(hit, receive_count=2)]) == {"batchItemFailures": []}
    for image in (hit, fine):
        assert len(pipeline.image_messages(image)[image.stream("SUMMARY")]) == 1


def test_deadline_reports_unstarted_work_as_failures(pipeline: Pipeline) -> None:
    images = [pipeline.image(f"team/t{i}", "v1", basic_findings(2, seed=i)) for i in range(3)]
    bad = pipeline.record("nope", message_id="bad")
    records = [pipeline.record(img, message_id=f"m{i}") for i, img in enumerate(images)]

    # The budget is already inside the safety margin: nothing may start.
    response = pipeline.invoke([bad, *records], LocalContext(5_000))

    assert sorted(f["itemIdentifier"] for f in response["batchItemFailures"]) == [
        "m0",
        "m1",
        "m2",
    ]
    outcomes = pipeline.outcomes()
    assert outcomes["m0"]["reason"] == "deadline_exceeded"
    assert outcomes["bad"]["outcome"] == "dead"  # decoding needs no time budget
    assert pipeline.aws.calls["DescribeImageScanFindings"] == 0


def test_old_scan_time_is_written_with_an_accepted_timestamp(pipeline: Pipeline) -> None:
    image = pipeline.image(
        "team/old",
        "v1",
        basic_findings(3, seed=13, severities=["LOW"]),
        event_time="2025-01-01T00:00:00Z",
    )

    assert pipeline.invoke([image]) == {"batchItemFailures": []}

    events = pipeline.logs.get_log_events(
        logGroupName=image.group, logStreamName=image.stream("LOW")
    )["events"]
    assert len(events) == 3
    assert all(orjson.loads(e["message"])["imageContext"]["scanTime"] == image.time for e in events)


def test_outcome_lines_and_metrics(pipeline: Pipeline) -> None:
    image = pipeline.image("team/obs", "v1", basic_findings(12, seed=14))
    pipeline.invoke(
        [pipeline.record(image, message_id="obs"), pipeline.record("x", message_id="x")]
    )

    line = pipeline.outcomes()["obs"]
    assert line["outcome"] == "done"
    assert line["findings"] == 12
    assert line["repository"] == "team/obs"
    assert line["imageDigest"] == image.digest
    assert line["durationMs"] > 0
    assert pipeline.outcomes()["x"]["reason"] == "malformed_json"
    emf = [line for line in pipeline.lines if "_aws" in line]
    severity_docs = {d["Severity"]: d["Findings"] for d in emf if "Severity" in d}
    assert sum(severity_docs.values()) == 12
    outcome_docs = {d["Outcome"]: d["Messages"] for d in emf if "Outcome" in d}
    assert outcome_docs == {"done": 1, "dead": 1}
    for doc in emf:
        [directive] = doc["_aws"]["CloudWatchMetrics"]
        for metric in directive["Metrics"]:
            assert isinstance(doc[metric["Name"]], int)


def test_log_group_settings_apply_on_creation(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOG_RETENTION_DAYS", "90")
    monkeypatch.setenv("FINDINGS_LOG_GROUP_PREFIX", "/security/ecr/")
    function_reset()
    image = pipeline.image("team/kept", "v1", basic_findings(2, seed=15))

    assert pipeline.invoke([image]) == {"batchItemFailures": []}

    [group] = pipeline.logs.describe_log_groups(logGroupNamePrefix="/security/ecr/")["logGroups"]
    assert group["logGroupName"] == "/security/ecr/team/kept"
    assert group["retentionInDays"] == 90


def test_bad_settings_fail_loudly_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    from pipeline.errors import ConfigError

    monkeypatch.setenv("LOG_RETENTION_DAYS", "8")
    monkeypatch.setenv("MAX_CONCURRENT_IMAGES", "0")
    function_reset()
    import lambdas.findings_logger as function

    with pytest.raises(ConfigError, match="LOG_RETENTION_DAYS=.*MAX_CONCURRENT_IMAGES"):
        function.handler({"Records": []}, None)
    function_reset()


def test_dlq_send_failure_keeps_the_message_on_the_queue(pipeline: Pipeline) -> None:
    pipeline.aws.inject_fault("SendMessageBatch", code="InternalError", status=500, times=10)

    response = pipeline.invoke([pipeline.record("{", message_id="keep")])

    assert response == {"batchItemFailures": [{"itemIdentifier": "keep"}]}
    assert "not dead-lettered" in pipeline.outcomes()["keep"]["notes"][0]


@pytest.mark.parametrize("severity", SEVERITIES)
def test_each_severity_has_its_own_stream(pipeline: Pipeline, severity: str) -> None:
    findings = basic_findings(3, seed=16, severities=[severity])
    image = pipeline.image(f"sev/{severity.lower()}", "v1", findings)
    pipeline.invoke([image])
    assert len(pipeline.messages(image.group, image.stream(severity))) == 3


def test_many_dead_messages_are_forwarded_in_several_batches(pipeline: Pipeline) -> None:
    records = [pipeline.record(f"bad-{i}-" + "x" * 150_000, message_id=f"b{i}") for i in range(12)]

    assert pipeline.invoke(records) == {"batchItemFailures": []}

    dead = pipeline.dead_letters()
    assert sorted(m["MessageAttributes"]["SourceMessageId"]["StringValue"] for m in dead) == sorted(
        f"b{i}" for i in range(12)
    )
    assert pipeline.aws.calls["SendMessageBatch"] >= 2  # 10 a batch and ≤ 1 MiB a batch


def test_registries_are_read_through_the_owning_accounts_role(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ECR_READ_ROLE_ARN", "arn:aws:iam::{account}:role/ecr-findings-reader")
    function_reset()
    images = [pipeline.image(f"org/svc{i}", "v1", basic_findings(4, seed=40 + i)) for i in range(2)]

    assert pipeline.invoke(images) == {"batchItemFailures": []}

    assert pipeline.aws.calls["AssumeRole"] == 1  # one role session per account, reused
    for image in images:
        assert len(pipeline.image_messages(image)[image.stream("SUMMARY")]) == 1


def test_work_cut_off_by_the_deadline_is_retried_not_acknowledged(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEADLINE_MARGIN_MS", "0")
    function_reset()
    findings = basic_findings(10_500, seed=17, severities=["HIGH", "LOW"], description_bytes=60)
    image = pipeline.image("team/slowwrite", "v1", findings)
    # The first PutLogEvents lands; every later one hangs past the deadline, then fails. So
    # the deadline falls in the middle of the write however fast or slow this machine is.
    pipeline.aws.inject_fault(
        "PutLogEvents",
        code="ServiceUnavailableException",
        status=503,
        after=1,
        times=100,
        delay_s=60,
    )

    cut = pipeline.invoke([pipeline.record(image, message_id="cut")], LocalContext(4_000))
    pipeline.aws.clear_faults()

    assert cut == {"batchItemFailures": [{"itemIdentifier": "cut"}]}
    assert pipeline.outcomes()["cut"]["reason"] == "deadline_exceeded"
    partial = pipeline.image_messages(image)
    assert 0 < len(partial[image.stream("HIGH")]) + len(partial[image.stream("LOW")]) < 10_500
    assert image.stream("SUMMARY") not in partial  # released when the deadline cut it

    again = pipeline.invoke([pipeline.record(image, receive_count=2)])
    assert again == {"batchItemFailures": []}
    logged = pipeline.image_messages(image)
    assert len(logged[image.stream("HIGH")]) + len(logged[image.stream("LOW")]) == 10_500
    assert len(logged[image.stream("SUMMARY")]) == 1


def test_warm_invocations_reuse_the_loop_clients_and_group_cache(pipeline: Pipeline) -> None:
    import lambdas.findings_logger as function

    first = pipeline.image("team/warm", "v1", basic_findings(3, seed=18))
    second = pipeline.image("team/warm", "v2", basic_findings(3, seed=19))
    pipeline.invoke([first])
    loop, consumer = function.function.loop, function.function.batch_runner
    logs_client = consumer.clients.logs if consumer else None

    pipeline.invoke([second])

    assert function.function.loop is loop and function.function.batch_runner is consumer
    assert consumer is not None and consumer.clients.logs is logs_client
    assert pipeline.aws.calls["CreateLogGroup"] == 1  # the group is cached across invocations
    assert len(pipeline.image_messages(second)[second.stream("SUMMARY")]) == 1


def test_one_image_in_two_registries_is_logged_for_each(
    pipeline: Pipeline, aws_client: Any
) -> None:
    # Replicated to a second account and scanned there in the same second: same repository
    # name, tag, digest and event time, so the same log group and stream names.
    member = "210987654321"
    findings = basic_findings(6, seed=31, severities=["HIGH"])
    ours = pipeline.image("team/base", "1.0", findings, content="team/base:1.0")
    member_ecr = aws_client("ecr", **registry.account_credentials(aws_client("sts"), member))
    registry.create_repository(member_ecr, "team/base")
    assert registry.push_image(member_ecr, "team/base", "1.0", content="team/base:1.0") == (
        ours.digest
    )
    pipeline.aws.seed_scan("team/base", ours.digest, findings, registry_id=member)
    theirs_event = json.loads(ours.body)
    theirs_event["account"] = member
    theirs_event["resources"] = [
        registry.repository_arn("team/base", account=member, region=theirs_event["region"])
    ]
    theirs = json.dumps(theirs_event)

    first = pipeline.invoke([pipeline.record(ours, message_id="ours"), theirs])
    again = pipeline.invoke([pipeline.record(theirs, message_id="theirs-again")])

    assert first == again == {"batchItemFailures": []}
    assert pipeline.outcomes()["theirs-again"]["outcome"] == "duplicate"
    logged = pipeline.image_messages(ours)
    accounts = Counter(m["imageContext"]["account"] for m in logged[ours.stream("HIGH")])
    assert accounts == {registry.DEFAULT_ACCOUNT: 6, member: 6}
    summaries = [m["imageContext"]["account"] for m in logged[ours.stream("SUMMARY")]]
    assert sorted(summaries) == sorted([registry.DEFAULT_ACCOUNT, member])


def test_a_body_near_the_sqs_limit_is_dead_lettered_with_what_reason_fits(
    pipeline: Pipeline,
) -> None:
    def body(total_bytes: int) -> str:
        head = '{"source": "aws.s3", "detail-type": "Object Created", "pad": "'
        return head + "x" * (total_bytes - len(head) - 2) + '"}'

    near, full = body(limits.SQS_MAX_MESSAGE_BYTES - 150), body(limits.SQS_MAX_MESSAGE_BYTES)
    response = pipeline.invoke(
        [pipeline.record(near, message_id="near"), pipeline.record(full, message_id="full")]
    )

    assert response == {"batchItemFailures": []}
    by_size = {len(m["Body"]): m for m in pipeline.dead_letters()}
    assert sorted(by_size) == [len(near), len(full)]
    assert by_size[len(near)]["Body"] == near  # the body is never altered
    kept = by_size[len(near)]["MessageAttributes"]
    assert kept["ErrorCode"]["StringValue"] == "unsupported_event"
    assert "MessageAttributes" not in by_size[len(full)]  # no room at all: the bare body
    outcomes = pipeline.outcomes()
    assert any("shortened reason" in n for n in outcomes["near"]["notes"])
    assert any("without its reason" in n for n in outcomes["full"]["notes"])
    [totals] = [line for line in pipeline.lines if "LogEvents" in line]
    assert totals["DeadLettersWithoutReason"] == 1
