"""The member-account template: linted, deployed into the local AWS as a member account, used.

The local AWS keeps one world per account: the central account is the default one, the member
account is reached through credentials from ``sts:AssumeRole`` into it (as a StackSet's
execution role would). EventBridge there forwards events across accounts, so a scan event put
in the member account can be followed to the central account's queue. moto skips the queue
policy (checked statically in the parity test) and does not enforce IAM.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import iac_model
import pytest
from aiobotocore.session import AioSession
from iac_checks import (
    MIN_REASON_CHARS,
    cfn_lint,
    checkov_report,
    declared_skips,
    failed_checks,
    results_under,
    unjustified_skips,
)
from member_model import MODULE, TEMPLATE, template

from localaws import LocalAws
from localaws.registry import (
    DEFAULT_ACCOUNT,
    create_repository,
    finding_event,
    push_image,
    scan_event,
)
from pipeline.aws.roles import assumed_role_session, role_arn_for

# moto warns (from its server thread, in this process) for the queue policy it skips.
pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse:UserWarning")

ROOT = iac_model.ROOT
MEMBER_ACCOUNT = "210987654321"
REGION = "us-east-1"
CENTRAL_BUS = f"arn:aws:events:{REGION}:{DEFAULT_ACCOUNT}:event-bus/default"
CENTRAL_QUEUE = "central-scan-events"
STACK = "ecr-findings-member"
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]


# ---------------------------------------------------------------------------- lint


def test_cfn_lint_finds_nothing() -> None:
    result = cfn_lint(TEMPLATE)
    assert (result.returncode, result.stdout.strip()) == (0, ""), result.stdout + result.stderr
    for logical_id, resource in template()["Resources"].items():
        assert "cfn-lint" not in resource.get("Metadata", {}), logical_id


@pytest.mark.parametrize(
    ("framework", "folder", "member"),
    [
        ("cloudformation", iac_model.TEMPLATE.parent, TEMPLATE),
        ("terraform", iac_model.MODULE, MODULE),
    ],
    ids=["cloudformation", "terraform"],
)
def test_checkov_fails_nothing(framework: str, folder: Path, member: Path) -> None:
    # The central folder's report (one checkov run for both stacks), read for our files.
    report = checkov_report(framework, folder)
    results = results_under(report, "/" + str(member.relative_to(folder)))
    assert failed_checks(results) == []
    assert report["summary"]["parsing_errors"] == 0
    assert len(results["passed_checks"]) >= 10
    assert unjustified_skips(results) == []


def test_every_checkov_skip_says_why() -> None:
    for where, reason in declared_skips(template(), MODULE.glob("*.tf")):
        assert len(reason.strip()) >= MIN_REASON_CHARS, where


# ---------------------------------------------------------------------------- role ARN shape


def test_the_member_output_fits_the_central_ecr_read_role_arn() -> None:
    """The member's EcrReadRoleArn output is what the central stack's parameter asks for."""
    central = iac_model.template()["Parameters"]["EcrReadRoleArn"]
    member = template()
    output = member["Outputs"]["EcrReadRoleArn"]["Value"]["Fn::Sub"]
    default_name = member["Parameters"]["ReaderRoleName"]["Default"]
    rendered = output.replace("${AWS::Partition}", "aws").replace("${ReaderRoleName}", default_name)
    assert rendered == "arn:aws:iam::{account}:role/ecr-findings-reader"
    # The central parameter's example names the member's default role.
    assert rendered in " ".join(central["Description"].split())
    assert re.fullmatch(central["AllowedPattern"], rendered)
    # Any name the member template accepts makes a value the central template accepts.
    name_pattern = member["Parameters"]["ReaderRoleName"]["AllowedPattern"]
    for name in ("a", "x" * 64, "team+reader=1,2.3@4_5-6"):
        assert re.fullmatch(name_pattern, name)
        assert re.fullmatch(central["AllowedPattern"], rendered.replace(default_name, name))
    # The consumer turns it into the member's role the same way.
    assert role_arn_for(rendered, MEMBER_ACCOUNT) == (
        f"arn:aws:iam::{MEMBER_ACCOUNT}:role/ecr-findings-reader"
    )


# ---------------------------------------------------------------------------- on the local AWS


@dataclass
class Central:
    queue_url: str
    function_role_arn: str


@dataclass
class Member:
    client: Callable[[str], Any]
    credentials: dict[str, str]


@pytest.fixture
def central(aws_client: Callable[..., Any]) -> Central:
    """The central account's side: its function role, and its rule taking scan events to a queue."""
    iam, sqs, events = aws_client("iam"), aws_client("sqs"), aws_client("events")
    role = iam.create_role(
        RoleName="ecr-findings-logger-FunctionRole",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )
    queue_url = sqs.create_queue(QueueName=CENTRAL_QUEUE)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    pattern = iac_model.template()["Resources"]["ScanCompleteRule"]["Properties"]["EventPattern"]
    events.put_rule(Name="ecr-findings-logger", EventPattern=json.dumps(pattern))
    events.put_targets(
        Rule="ecr-findings-logger",
        Targets=[{"Id": "findings-queue", "Arn": queue_arn["Attributes"]["QueueArn"]}],
    )
    return Central(queue_url, role["Role"]["Arn"])


@pytest.fixture
def member(aws: LocalAws, aws_client: Callable[..., Any]) -> Iterator[Member]:
    """Clients acting in the member account."""
    answer = aws_client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{MEMBER_ACCOUNT}:role/stackset-execution",
        RoleSessionName="member",
    )
    credentials = {
        "aws_access_key_id": answer["Credentials"]["AccessKeyId"],
        "aws_secret_access_key": answer["Credentials"]["SecretAccessKey"],
        "aws_session_token": answer["Credentials"]["SessionToken"],
    }
    yield Member(lambda service: aws_client(service, **credentials), credentials)


def deploy(member: Member, **parameters: str) -> dict[str, str]:
    """Create the member stack; its outputs."""
    cloudformation = member.client("cloudformation")
    cloudformation.create_stack(
        StackName=STACK,
        TemplateBody=TEMPLATE.read_text(),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=CAPABILITIES,
    )
    cloudformation.get_waiter("stack_create_complete").wait(
        StackName=STACK, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    (stack,) = cloudformation.describe_stacks(StackName=STACK)["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def stack_resources(member: Member) -> dict[str, str]:
    """Logical id -> type of what the local AWS created (what it skipped has no name)."""
    summaries = member.client("cloudformation").list_stack_resources(StackName=STACK)
    resources = summaries["StackResourceSummaries"]
    return {r["LogicalResourceId"]: r["ResourceType"] for r in resources if r["LogicalResourceId"]}


def role_policies(iam: Any, role_arn: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The role's trust policy and its one inline policy."""
    name = role_arn.rsplit("/", 1)[1]
    trust = iam.get_role(RoleName=name)["Role"]["AssumeRolePolicyDocument"]
    (policy_name,) = iam.list_role_policies(RoleName=name)["PolicyNames"]
    inline = iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]
    return _document(trust), _document(inline)


def _document(document: Any) -> dict[str, Any]:
    if isinstance(document, dict):
        return document
    try:
        parsed: dict[str, Any] = json.loads(document)
    except json.JSONDecodeError:
        # moto keeps a stack's inline policy as the Python repr of the template's mapping.
        parsed = ast.literal_eval(document)
    return parsed


def put_event(events: Any, event: dict[str, Any]) -> None:
    answer = events.put_events(
        Entries=[
            {
                "Source": event["source"],
                "DetailType": event["detail-type"],
                "Detail": json.dumps(event["detail"]),
            }
        ]
    )
    assert answer["FailedEntryCount"] == 0, answer


def received(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


def test_member_stack_forwards_to_the_central_bus_and_creates_the_reader_role(
    central: Central, member: Member
) -> None:
    outputs = deploy(
        member,
        CentralEventBusArn=CENTRAL_BUS,
        CentralFunctionRoleArn=central.function_role_arn,
    )
    # The local AWS skips AWS::SQS::QueuePolicy.
    skipped = {"DeadLetterQueuePolicy"}
    assert set(stack_resources(member)) == set(template()["Resources"]) - skipped
    (alarm,) = member.client("cloudwatch").describe_alarms()["MetricAlarms"]
    assert alarm["AlarmName"] == "ecr-findings-forwarder-dlq-not-empty"
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": "ecr-findings-forwarder-dlq"}]
    reader_arn = f"arn:aws:iam::{MEMBER_ACCOUNT}:role/ecr-findings-reader"
    assert outputs["ReaderRoleArn"] == reader_arn
    assert outputs["EcrReadRoleArn"] == "arn:aws:iam::{account}:role/ecr-findings-reader"
    assert role_arn_for(outputs["EcrReadRoleArn"], MEMBER_ACCOUNT) == reader_arn

    iam = member.client("iam")
    trust, inline = role_policies(iam, reader_arn)
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"AWS": central.function_role_arn}
    assert (statement["Effect"], statement["Action"]) == ("Allow", "sts:AssumeRole")
    assert "Condition" not in statement
    (statement,) = inline["Statement"]
    assert (statement["Effect"], statement["Action"]) == ("Allow", "ecr:DescribeImageScanFindings")
    assert statement["Resource"] == f"arn:aws:ecr:*:{MEMBER_ACCOUNT}:repository/*"

    rule_arn = outputs["RuleArn"]
    trust, inline = role_policies(iam, outputs["ForwardRoleArn"])
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": rule_arn}}
    (statement,) = inline["Statement"]
    assert (statement["Effect"], statement["Action"]) == ("Allow", "events:PutEvents")
    assert statement["Resource"] == CENTRAL_BUS

    events = member.client("events")
    rule_name = rule_arn.rsplit("/", 1)[1]
    assert rule_arn == f"arn:aws:events:{REGION}:{MEMBER_ACCOUNT}:rule/ecr-findings-forwarder"
    described = events.describe_rule(Name=rule_name)
    assert described["State"] == "ENABLED"
    assert (
        json.loads(described["EventPattern"])
        == template()["Resources"]["ForwardRule"]["Properties"]["EventPattern"]
    )
    (target,) = events.list_targets_by_rule(Rule=rule_name)["Targets"]
    assert target["Arn"] == CENTRAL_BUS
    assert target["RoleArn"] == outputs["ForwardRoleArn"]
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
    assert target["DeadLetterConfig"] == {"Arn": outputs["DeadLetterQueueArn"]}

    dlq = member.client("sqs").get_queue_attributes(
        QueueUrl=outputs["DeadLetterQueueUrl"], AttributeNames=["All"]
    )["Attributes"]
    assert dlq["SqsManagedSseEnabled"] == "true"
    assert dlq["MessageRetentionPeriod"] == str(14 * 24 * 3600)


def test_a_scan_event_in_the_member_account_reaches_the_central_queue(
    central: Central, member: Member, aws_client: Callable[..., Any]
) -> None:
    deploy(member, CentralEventBusArn=CENTRAL_BUS, CentralFunctionRoleArn=central.function_role_arn)
    events, sqs = member.client("events"), aws_client("sqs")
    digest = "sha256:" + "ab" * 32
    failed = scan_event(repository="team/payments", digest=digest, account=MEMBER_ACCOUNT)
    failed["detail"]["scan-status"] = "FAILED"
    instance = scan_event(kind="enhanced", repository="x", digest=digest, account=MEMBER_ACCOUNT)
    instance["detail"] = {"scan-status": "INITIAL_SCAN_COMPLETE", "instance-id": "i-0abc"}
    for event in (failed, instance):
        put_event(events, event)
    assert received(sqs, central.queue_url) == [], "the member forwarded what it must not"

    for kind in ("basic", "enhanced"):
        put_event(
            events,
            scan_event(
                kind=kind, repository="team/payments", digest=digest, account=MEMBER_ACCOUNT
            ),  # type: ignore[arg-type]
        )
    bodies = received(sqs, central.queue_url)
    assert sorted(b["detail-type"] for b in bodies) == ["ECR Image Scan", "Inspector2 Scan"]
    assert all(b["detail"]["image-digest"] == digest for b in bodies)


def test_a_finding_event_in_the_member_account_reaches_the_central_queue(
    central: Central, member: Member, aws_client: Callable[..., Any]
) -> None:
    deploy(member, CentralEventBusArn=CENTRAL_BUS, CentralFunctionRoleArn=central.function_role_arn)
    events, sqs = member.client("events"), aws_client("sqs")
    digest = "sha256:" + "ab" * 32
    for kind in ("AWS_EC2_INSTANCE", "AWS_LAMBDA_FUNCTION"):
        put_event(
            events,
            finding_event(
                repository="x", digest=digest, account=MEMBER_ACCOUNT, resource_type=kind
            ),
        )
    assert received(sqs, central.queue_url) == [], "the member forwarded what it must not"

    image = finding_event(repository="team/payments", digest=digest, account=MEMBER_ACCOUNT)
    put_event(events, image)
    (body,) = received(sqs, central.queue_url)
    assert body["detail-type"] == "Inspector2 Finding"
    assert body["detail"]["findingArn"] == image["detail"]["findingArn"]


def test_central_account_deploys_only_the_reader_role(
    central: Central, member: Member, aws_client: Callable[..., Any]
) -> None:
    outputs = deploy(
        member,
        ForwardEvents="false",
        CentralEventBusArn=CENTRAL_BUS,
        CentralFunctionRoleArn=central.function_role_arn,
    )
    assert stack_resources(member) == {"ReaderRole": "AWS::IAM::Role"}
    assert set(outputs) == {"EcrReadRoleArn", "ReaderRoleArn"}
    assert member.client("events").list_rules()["Rules"] == []
    assert member.client("sqs").list_queues().get("QueueUrls", []) == []


def test_without_a_dead_letter_queue_the_target_has_none(central: Central, member: Member) -> None:
    outputs = deploy(
        member,
        CreateDeadLetterQueue="false",
        CentralEventBusArn=CENTRAL_BUS,
        CentralFunctionRoleArn=central.function_role_arn,
    )
    assert "DeadLetterQueueArn" not in outputs
    assert "DeadLetterQueue" not in stack_resources(member)
    rule_name = outputs["RuleArn"].rsplit("/", 1)[1]
    (target,) = member.client("events").list_targets_by_rule(Rule=rule_name)["Targets"]
    assert "DeadLetterConfig" not in target
    assert target["Arn"] == CENTRAL_BUS


async def test_the_consumer_reads_the_member_registry_through_the_output_role(
    central: Central, member: Member
) -> None:
    """With the EcrReadRoleArn output as ECR_READ_ROLE_ARN, the consumer reads the member's ECR."""
    outputs = deploy(
        member,
        ForwardEvents="false",
        CentralEventBusArn=CENTRAL_BUS,
        CentralFunctionRoleArn=central.function_role_arn,
    )
    ecr = member.client("ecr")
    create_repository(ecr, "team/payments")
    digest = push_image(ecr, "team/payments", "1.4.2")

    role_arn = role_arn_for(outputs["EcrReadRoleArn"], MEMBER_ACCOUNT)
    # The central consumer's own credentials are the base (AWS_ENDPOINT_URL reaches the local AWS).
    session = await assumed_role_session(AioSession(), role_arn)
    async with session.client("sts", region_name=REGION) as sts:
        identity = await sts.get_caller_identity()
    async with session.client("ecr", region_name=REGION) as ecr_as_reader:
        images = await ecr_as_reader.describe_images(repositoryName="team/payments")
    assert identity["Arn"].startswith(
        f"arn:aws:sts::{MEMBER_ACCOUNT}:assumed-role/ecr-findings-reader/"
    )
    assert [(i["registryId"], i["imageDigest"]) for i in images["imageDetails"]] == [
        (MEMBER_ACCOUNT, digest)
    ]
