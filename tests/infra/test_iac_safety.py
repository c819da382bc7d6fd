"""Safe by default, on both flavours: least privilege, queue limits, quotas, the handler's contract.

Each check runs on the template and on the module (they are compared in test_iac_parity; here
each must also be right on its own).
"""

from __future__ import annotations

import ast
import re
from typing import Any

import botocore.session
import pytest
from botocore import xform_name
from iac_model import (
    ROOT,
    cfn_resource,
    cfn_statements,
    cfn_value,
    handler_sources,
    module,
    template,
    tf_statements,
)

from pipeline import events, limits
from pipeline.config import Settings

FLAVOURS = ["cloudformation", "terraform"]
ROLE_SERVICES = ("ecr", "logs", "sqs", "kms", "sts", "sns", "s3")
# Organization-wide reading: the given reader role ARN, any account ({account} -> "*").
READER_ROLES = "replace({var.ecr_read_role_arn}, {account}, *)"
FINDINGS_GROUPS = (
    "arn:{partition}:logs:{region}:{account}:log-group:{var.findings_log_group_prefix}*"
)
# What Lambda's SQS poller does with the function's role.
EVENT_SOURCE_MAPPING_ACTIONS = {
    "sqs:ReceiveMessage",
    "sqs:DeleteMessage",
    "sqs:GetQueueAttributes",
    "sqs:ChangeMessageVisibility",
}
# APIs authorized as another action: a batch as its single-message action, S3's reads as
# what IAM calls them.
IAM_ACTIONS = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
    "PublishBatch": "Publish",
    "HeadObject": "GetObject",
    "HeadBucket": "ListBucket",
    "ListObjectsV2": "ListBucket",
    "ListObjects": "ListBucket",
}
# Write-once puts under the archive's prefix: "arn:aws:s3:::<bucket>/<prefix>*".
ARCHIVE_OBJECTS = "arn:{partition}:s3:::{archive_bucket.name}/{var.archive_prefix}*"
KEY_ACTIONS = {"kms:Decrypt", "kms:GenerateDataKey"}


def role_statements(flavour: str) -> list[dict[str, Any]]:
    if flavour == "cloudformation":
        (policy,) = cfn_resource("FunctionRole")["Policies"]
        return cfn_statements(policy["PolicyDocument"])
    return tf_statements(module().data["aws_iam_policy_document.function"])


def queue_policy(flavour: str, queue: str) -> list[dict[str, Any]]:
    if flavour == "cloudformation":
        logical_id = {"queue": "FindingsQueuePolicy", "dlq": "DeadLetterQueuePolicy"}[queue]
        return cfn_statements(cfn_resource(logical_id)["PolicyDocument"])
    return tf_statements(module().data[f"aws_iam_policy_document.{queue}"])


def actions_on(statements: list[dict[str, Any]], resource: str) -> set[str]:
    return {a for s in statements if resource in s["resources"] for a in s["actions"]}


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_role_names_every_resource(flavour: str) -> None:
    for statement in role_statements(flavour):
        assert statement["effect"] == "Allow"
        assert all("*" not in action for action in statement["actions"]), statement
        if statement["actions"] == ["sts:AssumeRole"]:
            assert statement["resources"] == [READER_ROLES]
            continue
        for resource in statement["resources"]:
            assert resource != "*", statement
            assert resource.startswith(("arn:{partition}:", "{")), statement
            assert not re.match(r"arn:\{partition\}:\w+:\*", resource), statement


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_role_scopes_each_service_to_this_deployment(flavour: str) -> None:
    statements = role_statements(flavour)
    by_service: dict[str, set[str]] = {}
    for statement in statements:
        for action in statement["actions"]:
            by_service.setdefault(action.split(":")[0], set()).update(statement["resources"])
    assert set(by_service) == set(ROLE_SERVICES)
    assert by_service["ecr"] == {"arn:{partition}:ecr:{region}:{account}:repository/*"}
    assert by_service["logs"] == {FINDINGS_GROUPS, "{function_log_group.arn}:*"}
    assert by_service["sqs"] == {"{queue.arn}", "{dlq.arn}"}
    # The stack's key, or the topic's or the archive's own.
    assert by_service["kms"] == {"{kms_key.arn}", "{notify_key.arn}", "{archive_key.arn}"}
    assert by_service["sts"] == {READER_ROLES}
    assert by_service["sns"] == {"{notify_topic.arn}"}
    assert by_service["s3"] == {ARCHIVE_OBJECTS}
    assert actions_on(statements, "{notify_topic.arn}") == {"sns:Publish"}
    # Objects are written, never read, listed, deleted or given a retention of their own.
    assert actions_on(statements, ARCHIVE_OBJECTS) == {"s3:PutObject"}
    # The DLQ can only be written to, the source queue only consumed.
    assert actions_on(statements, "{dlq.arn}") == {"sqs:SendMessage"}
    assert actions_on(statements, "{queue.arn}") == EVENT_SOURCE_MAPPING_ACTIONS
    assert actions_on(statements, "{function_log_group.arn}:*") == {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
    }


def calls_made_by_the_handler() -> set[tuple[str, str]]:
    """(service, Operation) for every AWS API named in the handler's code."""
    session = botocore.session.get_session()
    names = {
        xform_name(op): (service, op)
        for service in ("ecr", "logs", "sqs", "sns", "s3")
        for op in session.get_service_model(service).operation_names
    }
    attributes = {
        node.attr
        for path in handler_sources()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Attribute)
    }
    return {names[a] for a in attributes if a in names}


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_role_allows_every_call_the_consumer_makes(flavour: str) -> None:
    calls = calls_made_by_the_handler()
    # Sanity: the scan finds the calls we know about.
    assert ("ecr", "DescribeImageScanFindings") in calls
    assert ("logs", "PutLogEvents") in calls
    granted = {a for s in role_statements(flavour) for a in s["actions"]}
    needed = {f"{service}:{IAM_ACTIONS.get(op, op)}" for service, op in calls}
    if any("AssumeRoleCredentialFetcher" in path.read_text() for path in handler_sources()):
        needed.add("sts:AssumeRole")
    assert {"sts:AssumeRole", "s3:PutObject", "sns:Publish"} <= needed
    # Nothing more than that, the event source mapping's polling and the keys: a new call (a
    # HeadObject, a ListObjectsV2) without its grant fails here, and so does a grant left over.
    assert granted == needed | EVENT_SOURCE_MAPPING_ACTIONS | KEY_ACTIONS


def test_reader_roles_are_assumed_only_when_configured() -> None:
    (policy,) = cfn_resource("FunctionRole")["Policies"]
    (sts,) = [s for s in policy["PolicyDocument"]["Statement"] if "sts:AssumeRole" in str(s)]
    assert sts["Fn::If"][0] == "HasReadRole" and sts["Fn::If"][2] == {"Ref": "AWS::NoValue"}
    assert template()["Conditions"]["HasReadRole"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "EcrReadRoleArn"}, ""]}]
    }
    dynamics = module().data["aws_iam_policy_document.function"]["dynamic"]
    (reader,) = [d for d in dynamics if "sts:AssumeRole" in str(d)]
    assert reader["statement"]["for_each"] == "${var.ecr_read_role_arn == null ? [] : [1]}"
    variables = cfn_value(cfn_resource("Function")["Environment"]["Variables"])
    assert variables["ECR_READ_ROLE_ARN"] == "{var.ecr_read_role_arn}"


# Each grant of an optional feature: its statement, the condition it exists under in the
# template and the for_each that makes it in the module.
CONDITIONAL_GRANTS = {
    "UseQueueKey": ("UseKms", "${local.use_kms ? [1] : []}"),
    "ReadOtherAccountsRegistries": ("HasReadRole", "${var.ecr_read_role_arn == null ? [] : [1]}"),
    "PublishFindingsNotifications": ("Notify", "${local.notify ? [1] : []}"),
    "UseNotifyTopicKey": (
        "NotifyWithKey",
        "${local.notify && local.notify_kms_key_arn != null ? [1] : []}",
    ),
    "WriteArchiveObjects": ("Archive", "${local.archive ? [1] : []}"),
    "UseArchiveKey": (
        "ArchiveWithKey",
        "${local.archive && local.archive_kms_key_arn != null ? [1] : []}",
    ),
}


def test_optional_grants_exist_only_with_their_feature() -> None:
    """Every KMS, SNS, S3 and STS grant is conditional, each on its own feature (which inputs
    give which statements: test_iac_scenarios)."""
    (policy,) = cfn_resource("FunctionRole")["Policies"]
    conditional = {
        s["Fn::If"][1]["Sid"]: s["Fn::If"]
        for s in policy["PolicyDocument"]["Statement"]
        if "Fn::If" in s
    }
    assert set(conditional) == set(CONDITIONAL_GRANTS)
    dynamics = module().data["aws_iam_policy_document.function"]["dynamic"]
    for_each = {d["statement"]["content"][0]["sid"]: d["statement"]["for_each"] for d in dynamics}
    for sid, (condition, tf_for_each) in CONDITIONAL_GRANTS.items():
        assert conditional[sid][0] == condition and conditional[sid][2] == {"Ref": "AWS::NoValue"}
        assert for_each[sid] == tf_for_each
    unconditional = [s for s in policy["PolicyDocument"]["Statement"] if "Fn::If" not in s]
    assert not [s for s in unconditional if s["Action"] != "sts:AssumeRole" and "kms" in str(s)]
    assert not [s for s in unconditional if "sns:" in str(s) or "s3:" in str(s)]
    assert module().locals["use_kms"] == "${var.create_kms_key || var.kms_key_arn != null}"


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_each_key_is_used_only_through_its_service(flavour: str) -> None:
    """The queues' key through SQS, the topic's through SNS, the archive's through S3 (the
    key's other users, logs and EventBridge, act on their own); S3 needs no Decrypt for a
    single PutObject."""
    by_sid = {s["sid"]: s for s in role_statements(flavour)}
    for sid, service, actions in [
        ("UseQueueKey", "sqs", ["kms:Decrypt", "kms:GenerateDataKey"]),
        ("UseNotifyTopicKey", "sns", ["kms:Decrypt", "kms:GenerateDataKey"]),
        ("UseArchiveKey", "s3", ["kms:GenerateDataKey"]),
    ]:
        assert by_sid[sid]["actions"] == actions
        assert by_sid[sid]["conditions"] == {
            ("StringEquals", "kms:ViaService"): [f"{service}.{{region}}.amazonaws.com"]
        }


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("queue", ["queue", "dlq"])
def test_only_this_rule_may_send(flavour: str, queue: str) -> None:
    statements = queue_policy(flavour, queue)
    (allow,) = [s for s in statements if s["effect"] == "Allow"]
    assert allow["principals"] == {"Service": ["events.amazonaws.com"]}
    assert allow["actions"] == ["sqs:SendMessage"]
    assert allow["resources"] == [f"{{{queue}.arn}}"]
    assert allow["conditions"] == {("ArnEquals", "aws:SourceArn"): ["{rule.arn}"]}
    (deny,) = [s for s in statements if s["effect"] == "Deny"]
    assert deny["conditions"] == {("Bool", "aws:SecureTransport"): ["false"]}


def test_event_pattern_accepts_exactly_what_the_consumer_decodes() -> None:
    scans, finding_events = cfn_value(cfn_resource("ScanCompleteRule")["EventPattern"])["$or"]
    accepted = [
        (events.ECR_SOURCE, events.ECR_DETAIL_TYPE, events.ECR_COMPLETE),
        (events.INSPECTOR_SOURCE, events.INSPECTOR_DETAIL_TYPE, events.INSPECTOR_COMPLETE),
    ]
    assert scans["source"] == [a[0] for a in accepted]
    assert scans["detail-type"] == [a[1] for a in accepted]
    assert scans["detail"]["scan-status"] == [a[2] for a in accepted]
    assert finding_events == {
        "source": [events.INSPECTOR_SOURCE],
        "detail-type": [events.FINDING_DETAIL_TYPE],
        "detail": {"resources": {"type": [events.ECR_IMAGE_RESOURCE]}},
    }


def test_visibility_timeout_covers_six_timeouts_and_the_batching_window() -> None:
    parameters = template()["Parameters"]
    longest_window = parameters["MaximumBatchingWindowInSeconds"]["MaxValue"]
    table = template()["Mappings"]["VisibilityTimeout"]
    for timeout in parameters["FunctionTimeout"]["AllowedValues"]:
        assert table[timeout]["Seconds"] >= 6 * int(timeout) + longest_window
        assert table[timeout]["Seconds"] <= 43_200  # SQS's maximum


def test_dead_letter_settings() -> None:
    queue, dlq = cfn_resource("FindingsQueue"), cfn_resource("DeadLetterQueue")
    assert cfn_value(queue["RedrivePolicy"]) == {
        "deadLetterTargetArn": "{dlq.arn}",
        "maxReceiveCount": "{var.max_receive_count}",
    }
    assert dlq["MessageRetentionPeriod"] == 14 * 24 * 3600
    assert cfn_value(dlq["RedriveAllowPolicy"]) == {
        "redrivePermission": "byQueue",
        "sourceQueueArns": ["arn:{partition}:sqs:{region}:{account}:{var.name}"],
    }
    assert cfn_value(queue["QueueName"]) == "{var.name}"
    variables = cfn_value(cfn_resource("Function")["Environment"]["Variables"])
    # The function forwards the last failure itself, so it must know the same count.
    assert variables["MAX_RECEIVE_COUNT"] == "{var.max_receive_count}"
    assert variables["DEAD_LETTER_QUEUE_URL"] == "{dlq.url}"


def test_environment_names_are_settings_the_handler_reads() -> None:
    aliases = {field.alias for field in Settings.model_fields.values()}
    variables = cfn_resource("Function")["Environment"]["Variables"]
    assert set(variables) <= aliases
    optional = module().locals["environment_optional"]
    assert set(module().locals["environment_base"]) | set(optional) <= aliases


def _rates(concurrency: str) -> dict[str, float]:
    table = template()["Mappings"]["ConsumerRates"][concurrency]
    variables = cfn_resource("Function")["Environment"]["Variables"]
    return {
        name: float(table[value["Fn::FindInMap"][2]])
        for name, value in variables.items()
        if isinstance(value, dict) and "Fn::FindInMap" in value
    }


def test_default_concurrency_gives_the_handlers_default_rates() -> None:
    default = template()["Parameters"]["MaximumConcurrency"]["Default"]
    settings = Settings()
    fields = {f.alias: name for name, f in Settings.model_fields.items()}
    rates = _rates(default)
    assert rates, "no rate limit reaches the function"
    for variable, rate in rates.items():
        assert getattr(settings, fields[variable]) == rate, variable


QUOTAS = {
    "PUT_LOG_EVENTS_RATE": limits.QUOTA_PUT_LOG_EVENTS_TPS,
    "CREATE_LOG_STREAM_RATE": limits.QUOTA_CREATE_LOG_STREAM_TPS,
    "CREATE_LOG_GROUP_RATE": limits.QUOTA_CREATE_LOG_GROUP_TPS,
    "GET_LOG_EVENTS_RATE": limits.QUOTA_GET_LOG_EVENTS_TPS,
}


@pytest.mark.parametrize(
    "concurrency", template()["Parameters"]["MaximumConcurrency"]["AllowedValues"]
)
def test_all_consumers_together_stay_inside_the_quotas(concurrency: str) -> None:
    rates = _rates(concurrency)
    assert set(QUOTAS) <= set(rates)
    for variable, quota in QUOTAS.items():
        assert rates[variable] > 0
        assert rates[variable] * int(concurrency) <= quota, variable


def test_function_runs_the_handler_on_python_3_13_arm64_by_default() -> None:
    function = cfn_resource("Function")
    module_name, _, attribute = function["Handler"].rpartition(".")
    assert (ROOT / (module_name.replace(".", "/") + ".py")).is_file()
    import lambdas.findings_logger as handler_module

    assert callable(getattr(handler_module, attribute))
    assert function["Runtime"] == "python3.13"
    assert template()["Parameters"]["Architecture"]["Default"] == "arm64"
    esm = cfn_resource("QueueEventSource")
    assert esm["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_defaults_let_an_invocation_finish_well_inside_its_timeout() -> None:
    """The README's sizing, recomputed: the slowest API of a full batch of default images.

    A batch is BatchSize images; each needs up to 8 streams (7 severities and SUMMARY) and its
    findings pages. With enhanced scanning's 100 findings a page and 5,000 findings an image
    (a large image), the rate-limited calls of one invocation take at most this long.
    """
    parameters = template()["Parameters"]
    batch = parameters["BatchSize"]["Default"]
    timeout = int(parameters["FunctionTimeout"]["Default"])
    rates = _rates(parameters["MaximumConcurrency"]["Default"])
    streams_per_image, findings_per_image = 8, 5_000
    pages = batch * findings_per_image / limits.ECR_ENHANCED_FINDINGS_PAGE
    seconds = (
        batch * streams_per_image / rates["CREATE_LOG_STREAM_RATE"]
        + pages / rates["ECR_FINDINGS_RATE"]
    )
    margin = Settings().deadline_margin_ms / 1000
    assert seconds < (timeout - margin) / 4
