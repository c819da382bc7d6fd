"""The template deployed into the local AWS, then used as deployed: with its defaults, and with
every optional feature on (findings alarms, notifications, the archive and its queries).

moto deploys what it supports, and the local AWS teaches it the rest
(``localaws.motoserver.cloudformation``: the bucket's settings, its policy, the Glue and Athena
resources, the alarms; ``bucket_policies``: a TLS condition); it skips AWS::SQS::QueuePolicy
with a warning (checked statically elsewhere). It cannot run Lambda code: the function's zip is
a placeholder, and the real handler runs in-process, configured from the stack's outputs and the
deployed function's environment. moto's event source mapping would swallow every message sent
to the queue, so it is read, then disabled, and ``pipeline.queue_runner.drive`` plays its part.
"""

from __future__ import annotations

import ast
import gzip
import io
import json
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from iac_eval import CfnStack
from iac_model import TEMPLATE, template

import lambdas.findings_logger as function
from localaws import LocalAws
from localaws.findings import basic_findings, enhanced_findings
from localaws.registry import create_repository, finding_event, push_image, scan_event
from pipeline import deadletter, layout
from pipeline.queue_runner import drive

# moto warns (from its server thread, in this process) for each resource type it skips: the
# queue policies (test_stack_is_created_with_its_settings lists them).
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse:UserWarning")

STACK = "findings-logger"
CODE_BUCKET, CODE_KEY = "deploy-artifacts", "ecr-findings-logger-arm64.zip"


@dataclass
class Stack:
    outputs: dict[str, str]
    event_source_mapping: dict[str, Any]
    environment: dict[str, str]
    resources: dict[str, str]  # logical id -> type
    parameters: dict[str, str]


def placeholder_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("lambdas/findings_logger.py", "def handler(event, context):\n    pass\n")
    return buffer.getvalue()


def deploy(
    aws_client: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, **parameters: str
) -> Stack:
    """The template deployed with these parameters (and the code's), its event source mapping
    paused, and the deployed function's environment set for the in-process handler."""
    s3 = aws_client("s3")
    s3.create_bucket(Bucket=CODE_BUCKET)
    s3.put_object(Bucket=CODE_BUCKET, Key=CODE_KEY, Body=placeholder_zip())
    cloudformation = aws_client("cloudformation")
    given = {"CodeS3Bucket": CODE_BUCKET, "CodeS3Key": CODE_KEY, **parameters}
    cloudformation.create_stack(
        StackName=STACK,
        TemplateBody=TEMPLATE.read_text(),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in given.items()],
        Capabilities=["CAPABILITY_IAM"],
    )
    cloudformation.get_waiter("stack_create_complete").wait(
        StackName=STACK, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    (described,) = cloudformation.describe_stacks(StackName=STACK)["Stacks"]
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]}
    summaries = cloudformation.list_stack_resources(StackName=STACK)["StackResourceSummaries"]

    lambda_ = aws_client("lambda")
    mapping = lambda_.get_event_source_mapping(UUID=outputs["EventSourceMappingId"])
    # Paused the way an operator would; moto keeps consuming through a deleted one.
    lambda_.update_event_source_mapping(UUID=outputs["EventSourceMappingId"], Enabled=False)
    configuration = lambda_.get_function_configuration(FunctionName=outputs["FunctionName"])
    environment = {k: str(v) for k, v in configuration["Environment"]["Variables"].items()}
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    function.reset()
    return Stack(
        outputs,
        mapping,
        environment,
        {r["LogicalResourceId"]: r["ResourceType"] for r in summaries if r["LogicalResourceId"]},
        given,
    )


@pytest.fixture
def stack(
    aws: LocalAws, aws_client: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Stack]:
    yield deploy(aws_client, monkeypatch)
    function.reset()
    assert aws.violations == [], "a request broke a CloudWatch Logs limit"


def put_scan_event(events_client: Any, event: dict[str, Any]) -> None:
    """Send ``event`` to the default bus as the scanning service would."""
    entry = {
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Detail": json.dumps(event["detail"]),
        "Resources": event.get("resources", []),
        # The scan's own time: without it the bus stamps the put time, and the stream
        # names (which embed the event time) could differ by a second from ours.
        "Time": event["time"],
    }
    answer = events_client.put_events(Entries=[entry])
    assert answer["FailedEntryCount"] == 0, answer


def visible_messages(sqs: Any, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def test_stack_is_created_with_its_settings(stack: Stack, aws_client: Callable[..., Any]) -> None:
    supported = {
        logical_id
        for logical_id in CfnStack(template(), stack.parameters).created()
        if template()["Resources"][logical_id]["Type"] != "AWS::SQS::QueuePolicy"
    }
    assert supported == set(stack.resources)

    mapping = stack.event_source_mapping
    assert mapping["EventSourceArn"] == stack.outputs["QueueArn"]
    assert mapping["FunctionArn"] == stack.outputs["FunctionArn"]
    assert (mapping["BatchSize"], mapping["MaximumBatchingWindowInSeconds"]) == (10, 5)
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 2}

    sqs = aws_client("sqs")
    queue = sqs.get_queue_attributes(QueueUrl=stack.outputs["QueueUrl"], AttributeNames=["All"])
    attributes = queue["Attributes"]
    assert attributes["VisibilityTimeout"] == str(6 * 300 + 60)
    assert attributes["SqsManagedSseEnabled"] == "true"
    assert json.loads(attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": stack.outputs["DeadLetterQueueArn"],
        "maxReceiveCount": 5,
    }
    dlq = sqs.get_queue_attributes(
        QueueUrl=stack.outputs["DeadLetterQueueUrl"], AttributeNames=["All"]
    )["Attributes"]
    assert dlq["MessageRetentionPeriod"] == str(14 * 24 * 3600)

    assert stack.environment["DEAD_LETTER_QUEUE_URL"] == stack.outputs["DeadLetterQueueUrl"]
    assert stack.environment["MAX_RECEIVE_COUNT"] == "5"
    assert stack.environment["FINDINGS_LOG_GROUP_PREFIX"] == layout_prefix(stack)
    assert "LOG_KMS_KEY_ARN" not in stack.environment

    events = aws_client("events")
    (target,) = events.list_targets_by_rule(Rule=stack.outputs["RuleArn"].split("/")[-1])["Targets"]
    assert target["Arn"] == stack.outputs["QueueArn"]
    assert target["DeadLetterConfig"] == {"Arn": stack.outputs["DeadLetterQueueArn"]}
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}


def layout_prefix(stack: Stack) -> str:
    return stack.outputs["FindingsLogGroupPrefix"]


@pytest.mark.parametrize("kind", ["basic", "enhanced"])
def test_a_scan_event_on_the_rule_is_logged_by_the_handler(
    stack: Stack, aws: LocalAws, aws_client: Callable[..., Any], kind: str
) -> None:
    ecr, sqs, logs = aws_client("ecr"), aws_client("sqs"), aws_client("logs")
    repository = "team/payments"
    create_repository(ecr, repository)
    digest = push_image(ecr, repository, "1.4.2")
    findings = (
        basic_findings(25, seed=3)
        if kind == "basic"
        else enhanced_findings(25, seed=3, repository=repository, digest=digest, tags=["1.4.2"])
    )
    aws.seed_scan(repository, digest, findings, kind=kind)  # type: ignore[arg-type]
    # Minutes in the past, so a stream named after the put time instead would not match.
    scanned_at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=7)
    event = scan_event(
        kind=kind,  # type: ignore[arg-type]
        repository=repository,
        digest=digest,
        tags=["1.4.2"],
        time=scanned_at,
    )

    put_scan_event(aws_client("events"), event)
    queue_url = stack.outputs["QueueUrl"]
    assert visible_messages(sqs, queue_url) == 1, "the rule did not deliver to the stack's queue"

    stats = drive(queue_url, handler=function.handler, sqs=sqs)

    assert (stats.received, stats.deleted, stats.failed) == (1, 1, 0)
    group = layout_prefix(stack) + repository
    (described,) = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    # The stack's LOG_RETENTION_DAYS reached the handler.
    assert described["retentionInDays"] == int(stack.environment["LOG_RETENTION_DAYS"])
    streams = [
        s["logStreamName"] for s in logs.describe_log_streams(logGroupName=group)["logStreams"]
    ]
    summary_stream = layout.stream_name("SUMMARY", "1.4.2", digest, event["time"])
    assert summary_stream in streams
    logged = 0
    for stream in streams:
        if stream != summary_stream:
            logged += len(logs.get_log_events(logGroupName=group, logStreamName=stream)["events"])
    assert logged == len(findings)
    assert visible_messages(sqs, stack.outputs["DeadLetterQueueUrl"]) == 0


def test_a_malformed_scan_event_ends_in_the_stacks_dlq_with_its_reason(
    stack: Stack, aws_client: Callable[..., Any]
) -> None:
    sqs = aws_client("sqs")
    event = scan_event(repository="team/payments", digest="sha256:" + "ab" * 32, tags=["1.4.2"])
    event["detail"]["image-digest"] = "not-a-digest"
    put_scan_event(aws_client("events"), event)

    stats = drive(stack.outputs["QueueUrl"], handler=function.handler, sqs=sqs)

    # Forwarded with its reason, then acknowledged: no retries for what can never succeed.
    assert (stats.received, stats.deleted, stats.failed) == (1, 1, 0)
    (message,) = sqs.receive_message(
        QueueUrl=stack.outputs["DeadLetterQueueUrl"],
        MaxNumberOfMessages=10,
        MessageAttributeNames=["All"],
    )["Messages"]
    letter = deadletter.from_attributes(message["MessageAttributes"])
    assert letter is not None
    assert letter.code == "invalid_event"
    assert "image-digest" in letter.message
    assert not letter.retryable
    assert json.loads(message["Body"])["detail"]["image-digest"] == "not-a-digest"
    assert visible_messages(sqs, stack.outputs["QueueUrl"]) == 0


def test_events_the_rule_must_not_take_stay_out_of_the_queue(
    stack: Stack, aws_client: Callable[..., Any]
) -> None:
    events, sqs = aws_client("events"), aws_client("sqs")
    failed_scan = scan_event(repository="team/payments", digest="sha256:" + "cd" * 32)
    failed_scan["detail"]["scan-status"] = "FAILED"
    instance_scan = scan_event(kind="enhanced", repository="x", digest="sha256:" + "ef" * 32)
    # Inspector's EC2 scans come under the same detail-type, without a repository.
    instance_scan["detail"] = {"scan-status": "INITIAL_SCAN_COMPLETE", "instance-id": "i-0abc"}
    for event in (failed_scan, instance_scan):
        put_scan_event(events, event)
    assert visible_messages(sqs, stack.outputs["QueueUrl"]) == 0
    put_scan_event(events, scan_event(repository="team/payments", digest="sha256:" + "cd" * 32))
    assert visible_messages(sqs, stack.outputs["QueueUrl"]) == 1


def test_a_finding_event_on_the_rule_is_logged_by_the_handler(
    stack: Stack, aws_client: Callable[..., Any]
) -> None:
    sqs, logs, events = aws_client("sqs"), aws_client("logs"), aws_client("events")
    moment = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=7)
    digest = "sha256:" + "ab" * 32
    image = finding_event(repository="team/payments", digest=digest, tags=["1.4.2"], time=moment)
    # EC2 and Lambda findings share the detail-type: the rule leaves them out.
    for kind in ("AWS_EC2_INSTANCE", "AWS_LAMBDA_FUNCTION"):
        put_scan_event(events, finding_event(repository="x", digest=digest, resource_type=kind))
    assert visible_messages(sqs, stack.outputs["QueueUrl"]) == 0

    put_scan_event(events, image)
    assert visible_messages(sqs, stack.outputs["QueueUrl"]) == 1

    stats = drive(stack.outputs["QueueUrl"], handler=function.handler, sqs=sqs)

    assert (stats.received, stats.deleted, stats.failed) == (1, 1, 0)
    group = layout_prefix(stack) + "team/payments"
    stream = layout.finding_events_stream(int(moment.timestamp() * 1000))
    (logged,) = logs.get_log_events(logGroupName=group, logStreamName=stream)["events"]
    message = json.loads(logged["message"])
    assert message["findingArn"] == image["detail"]["findingArn"]
    assert message["imageContext"]["imageDigest"] == digest
    assert visible_messages(sqs, stack.outputs["DeadLetterQueueUrl"]) == 0


# ---------------------------------------------------------------------------- every feature on

ARCHIVE_BUCKET, ARCHIVE_PREFIX = "team-findings-archive", "compliance/ecr/"
FEATURES = {
    "CreateKmsKey": "true",
    "CreateAlarmTopic": "true",
    "FindingsAlarmSeverity": "HIGH",
    "WatchedVulnerabilities": "CVE-2021-44228, GHSA-jfh8-c2jp-5v3q",
    "CreateNotifyTopic": "true",
    "NotifyMinSeverity": "HIGH",
    "CreateArchiveBucket": "true",
    "ArchiveBucketName": ARCHIVE_BUCKET,
    "ArchivePrefix": ARCHIVE_PREFIX,
    "ArchiveObjectLockMode": "GOVERNANCE",
    "ArchiveObjectLockDays": "30",
    "ArchiveQueryResultsLocation": "s3://athena-results/ecr-findings/",
}


@pytest.fixture
def featured_stack(
    aws: LocalAws, aws_client: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Stack]:
    yield deploy(aws_client, monkeypatch, **FEATURES)
    function.reset()
    assert aws.violations == [], "a request broke a CloudWatch Logs limit"


def test_every_feature_deploys(featured_stack: Stack) -> None:
    expected = CfnStack(template(), featured_stack.parameters)
    created = {
        logical_id
        for logical_id in expected.created()
        if template()["Resources"][logical_id]["Type"] != "AWS::SQS::QueuePolicy"
    }
    assert created == set(featured_stack.resources)
    optional = {"NotifyTopic", "ArchiveBucket", "ArchiveTable", "ArchiveNamedQuery"}
    assert optional | {"ArchiveWorkGroup", "WatchedVulnerabilityAlarm"} <= created
    assert set(featured_stack.outputs) == set(expected.outputs())
    outputs = featured_stack.outputs
    assert (outputs["ArchiveBucketName"], outputs["ArchiveDatabaseName"]) == (
        ARCHIVE_BUCKET,
        "ecr_findings",
    )
    assert outputs["ArchiveTableName"] == "archive"
    environment = featured_stack.environment
    assert environment["ARCHIVE_BUCKET"] == ARCHIVE_BUCKET
    assert environment["ARCHIVE_PREFIX"] == ARCHIVE_PREFIX
    assert environment["ARCHIVE_KMS_KEY_ARN"] == outputs["KmsKeyArn"]
    assert environment["NOTIFY_TOPIC_ARN"] == outputs["NotifyTopicArn"]
    assert environment["NOTIFY_MIN_SEVERITY"] == "HIGH"
    assert environment["WATCHED_VULNERABILITIES"] == FEATURES["WatchedVulnerabilities"]


def test_the_archive_bucket_is_private_encrypted_versioned_and_locked(
    featured_stack: Stack, aws_client: Callable[..., Any]
) -> None:
    s3 = aws_client("s3")
    assert s3.get_bucket_versioning(Bucket=ARCHIVE_BUCKET)["Status"] == "Enabled"
    lock = s3.get_object_lock_configuration(Bucket=ARCHIVE_BUCKET)["ObjectLockConfiguration"]
    assert lock["ObjectLockEnabled"] == "Enabled"
    retention = lock["Rule"]["DefaultRetention"]
    # moto reports the period not given as 0 years (S3 leaves it out).
    assert (retention["Mode"], retention["Days"], retention.get("Years", 0)) == (
        "GOVERNANCE",
        30,
        0,
    )
    block = s3.get_public_access_block(Bucket=ARCHIVE_BUCKET)["PublicAccessBlockConfiguration"]
    assert set(block.values()) == {True} and len(block) == 4
    (rule,) = s3.get_bucket_encryption(Bucket=ARCHIVE_BUCKET)["ServerSideEncryptionConfiguration"][
        "Rules"
    ]
    assert rule["ApplyServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": featured_stack.outputs["KmsKeyArn"],
    }
    ownership = s3.get_bucket_ownership_controls(Bucket=ARCHIVE_BUCKET)["OwnershipControls"]
    assert ownership == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    transition, abort = s3.get_bucket_lifecycle_configuration(Bucket=ARCHIVE_BUCKET)["Rules"]
    assert transition["Filter"] == {"Prefix": ARCHIVE_PREFIX}
    assert transition["Transitions"] == [{"Days": 90, "StorageClass": "GLACIER_IR"}]
    assert abort["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}
    (statement,) = json.loads(s3.get_bucket_policy(Bucket=ARCHIVE_BUCKET)["Policy"])["Statement"]
    assert (statement["Effect"], statement["Principal"], statement["Action"]) == (
        "Deny",
        "*",
        "s3:*",
    )
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert sorted(statement["Resource"]) == [
        f"arn:aws:s3:::{ARCHIVE_BUCKET}",
        f"arn:aws:s3:::{ARCHIVE_BUCKET}/*",
    ]


def test_the_archive_table_and_query_are_in_glue_and_athena(
    featured_stack: Stack, aws_client: Callable[..., Any]
) -> None:
    glue, athena = aws_client("glue"), aws_client("athena")
    table = glue.get_table(DatabaseName="ecr_findings", Name="archive")["Table"]
    assert [k["Name"] for k in table["PartitionKeys"]] == ["kind", "date"]
    location = f"s3://{ARCHIVE_BUCKET}/{ARCHIVE_PREFIX}"
    assert table["StorageDescriptor"]["Location"] == location
    assert table["Parameters"]["storage.location.template"] == (
        location + "kind=${kind}/date=${date}/"
    )
    declared = CfnStack(template(), featured_stack.parameters).properties("ArchiveTable")
    assert (
        table["StorageDescriptor"]["Columns"]
        == declared["TableInput"]["StorageDescriptor"]["Columns"]
    )

    group = athena.get_work_group(WorkGroup="ecr-findings-logger")["WorkGroup"]["Configuration"]
    assert group["EnforceWorkGroupConfiguration"] is True
    assert group["ResultConfiguration"]["EncryptionConfiguration"] == {
        "EncryptionOption": "SSE_KMS",
        "KmsKey": featured_stack.outputs["KmsKeyArn"],
    }
    query = athena.get_named_query(NamedQueryId=featured_stack.outputs["ArchiveNamedQueryId"])[
        "NamedQuery"
    ]
    assert (query["Database"], query["WorkGroup"]) == ("ecr_findings", "ecr-findings-logger")
    assert 'FROM "archive"' in query["QueryString"]


def test_the_findings_alarms_watch_the_functions_metrics(
    featured_stack: Stack, aws_client: Callable[..., Any]
) -> None:
    alarms = {a["AlarmName"]: a for a in aws_client("cloudwatch").describe_alarms()["MetricAlarms"]}
    topic = featured_stack.outputs["AlarmTopicArn"]
    new_findings = alarms["ecr-findings-logger-new-findings"]
    expression, *metrics = new_findings["Metrics"]
    assert expression["Expression"] == "SUM(METRICS())" and expression["ReturnData"] is True
    assert [m["MetricStat"]["Metric"]["Dimensions"] for m in metrics] == [
        [{"Name": "Severity", "Value": "CRITICAL"}],
        [{"Name": "Severity", "Value": "HIGH"}],
    ]
    assert {m["MetricStat"]["Metric"]["MetricName"] for m in metrics} == {"Findings"}
    watched = alarms["ecr-findings-logger-watched-vulnerability-seen"]
    assert (watched["Namespace"], watched["MetricName"], watched["Dimensions"]) == (
        "ECRFindingsLogger",
        "WatchedFindings",
        [],
    )
    for alarm in (new_findings, watched):
        assert alarm["AlarmActions"] == [topic]
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == (
            "GreaterThanOrEqualToThreshold",
            1.0,
        )
        assert alarm["TreatMissingData"] == "notBreaching"


def test_the_role_grants_the_archive_prefix_and_the_topic_only(
    featured_stack: Stack, aws_client: Callable[..., Any]
) -> None:
    iam = aws_client("iam")
    role = featured_stack.outputs["FunctionRoleArn"].split("/")[-1]
    document = iam.get_role_policy(RoleName=role, PolicyName="findings-logger")["PolicyDocument"]
    # moto's stack stores a role's inline policy as the Python text of the template's dict
    # (where AWS keeps JSON, which boto3 decodes), a statement left out by AWS::NoValue as None.
    if isinstance(document, str):
        document = ast.literal_eval(document)
    statements = {s["Sid"]: s for s in document["Statement"] if s}
    assert statements["WriteArchiveObjects"]["Action"] == "s3:PutObject"
    assert statements["WriteArchiveObjects"]["Resource"] == (
        f"arn:aws:s3:::{ARCHIVE_BUCKET}/{ARCHIVE_PREFIX}*"
    )
    assert statements["PublishFindingsNotifications"]["Action"] == "sns:Publish"
    assert (
        statements["PublishFindingsNotifications"]["Resource"]
        == (featured_stack.outputs["NotifyTopicArn"])
    )
    key = featured_stack.outputs["KmsKeyArn"]
    assert statements["UseArchiveKey"]["Resource"] == key
    assert statements["UseNotifyTopicKey"]["Resource"] == key
    s3_actions = {
        a
        for s in statements.values()
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
        if a.startswith("s3:")
    }
    assert s3_actions == {"s3:PutObject"}


def test_the_deployed_handler_archives_a_scan_and_notifies(
    featured_stack: Stack, aws: LocalAws, aws_client: Callable[..., Any]
) -> None:
    ecr, sqs, sns, s3 = (aws_client(n) for n in ("ecr", "sqs", "sns", "s3"))
    # What a person subscribed to the topic would receive, through a queue.
    inbox = sqs.create_queue(QueueName="findings-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=featured_stack.outputs["NotifyTopicArn"], Protocol="sqs", Endpoint=inbox_arn
    )
    repository = "team/payments"
    create_repository(ecr, repository)
    digest = push_image(ecr, repository, "1.4.2")
    findings = enhanced_findings(
        12,
        seed=5,
        repository=repository,
        digest=digest,
        tags=["1.4.2"],
        severities=["CRITICAL"],
        include_cves=["CVE-2021-44228"],
    )
    aws.seed_scan(repository, digest, findings, kind="enhanced")
    scanned_at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=7)
    event = scan_event(
        kind="enhanced", repository=repository, digest=digest, tags=["1.4.2"], time=scanned_at
    )
    put_scan_event(aws_client("events"), event)

    stats = drive(featured_stack.outputs["QueueUrl"], handler=function.handler, sqs=sqs)

    assert (stats.received, stats.deleted, stats.failed) == (1, 1, 0)
    # One object, under the stack's prefix, in the scan's kind and day partition.
    keys = [
        o["Key"]
        for o in s3.list_objects_v2(Bucket=ARCHIVE_BUCKET, Prefix=ARCHIVE_PREFIX).get(
            "Contents", []
        )
    ]
    (key,) = keys
    day = scanned_at.strftime("%Y-%m-%d")
    assert key.startswith(f"{ARCHIVE_PREFIX}kind=scan/date={day}/account=")
    assert "/repository=team%2Fpayments/" in key
    body = s3.get_object(Bucket=ARCHIVE_BUCKET, Key=key)["Body"].read()
    lines = [json.loads(line) for line in gzip.decompress(body).decode().splitlines()]
    assert len(lines) == len(findings) + 1  # every finding, then the SUMMARY
    assert {line["findingArn"] for line in lines[:-1]} == {f["findingArn"] for f in findings}
    assert lines[-1]["imageContext"]["imageDigest"] == digest

    received = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10)["Messages"]
    (notification,) = [json.loads(m["Body"]) for m in received]
    attributes = {k: v["Value"] for k, v in notification["MessageAttributes"].items()}
    assert attributes["severity"] == "CRITICAL"
    assert attributes["repository"] == repository
    assert attributes["account"] == lines[-1]["imageContext"]["account"]
    assert "CVE-2021-44228" in notification["Message"]
