"""The Terraform module and the CloudFormation template deploy the same thing."""

from __future__ import annotations

import ast
import operator
import re
from typing import Any

import pytest
from iac_model import (
    ALARM_ARGUMENTS,
    PARAMETERS,
    RESOURCES,
    TERRAFORM_ONLY_VARIABLES,
    alarm_properties,
    assert_same,
    by_sid,
    cfn_resource,
    cfn_statements,
    cfn_value,
    module,
    template,
    tf_resource,
    tf_statements,
    tf_value,
)

# ---------------------------------------------------------------------------- inputs


def test_every_resource_has_its_counterpart() -> None:
    assert set(template()["Resources"]) == set(RESOURCES)
    assert set(module().resources) == {a for addresses in RESOURCES.values() for a in addresses}


def test_parameters_and_variables_correspond() -> None:
    assert set(template()["Parameters"]) == set(PARAMETERS)
    assert set(module().variables) == set(PARAMETERS.values()) | TERRAFORM_ONLY_VARIABLES


def _cfn_default(parameter: dict[str, Any], tf_type: str) -> Any:
    default = parameter.get("Default")
    if default in (None, ""):
        return None
    if tf_type == "bool":
        return str(default) == "true"
    if tf_type == "number":
        return int(default)
    return default


def _tf_rules(variable: dict[str, Any]) -> dict[str, Any]:
    """Allowed values, bounds and pattern, read back from a variable's validation blocks."""
    rules: dict[str, Any] = {}
    for validation in variable.get("validation", []):
        condition = validation["condition"]
        if match := re.search(r"contains\(\[(.*?)\], var\.\w+\)", condition):
            rules["allowed"] = [ast.literal_eval(v.strip()) for v in match.group(1).split(",")]
        if match := re.search(r"var\.\w+ >= (\d+)", condition):
            rules["min"] = int(match.group(1))
        if match := re.search(r"var\.\w+ <= (\d+)", condition):
            rules["max"] = int(match.group(1))
        if match := re.search(r'can\(regex\("(.*)", var\.\w+\)\)', condition):
            rules["pattern"] = match.group(1).replace("\\\\", "\\")
    return rules


def _cfn_rules(parameter: dict[str, Any], tf_type: str) -> dict[str, Any]:
    rules: dict[str, Any] = {}
    if "AllowedValues" in parameter and tf_type != "bool":
        cast = int if tf_type == "number" else str
        rules["allowed"] = [cast(v) for v in parameter["AllowedValues"]]
    if "MinValue" in parameter:
        rules["min"] = int(parameter["MinValue"])
    if "MaxValue" in parameter:
        rules["max"] = int(parameter["MaxValue"])
    if "AllowedPattern" in parameter:
        # "" is CloudFormation's "not set"; Terraform says null, which its validation lets by.
        rules["pattern"] = parameter["AllowedPattern"].removeprefix("^$|")
    if parameter.get("MinLength"):
        rules["required"] = True
    return rules


@pytest.mark.parametrize("cfn_name", sorted(PARAMETERS))
def test_parameter_and_variable_agree(cfn_name: str) -> None:
    parameter = template()["Parameters"][cfn_name]
    variable = module().variables[PARAMETERS[cfn_name]]
    tf_type = variable["type"]
    assert variable["description"].strip()
    assert _cfn_default(parameter, tf_type) == variable.get("default")
    cfn_rules, tf_rules = _cfn_rules(parameter, tf_type), _tf_rules(variable)
    # Terraform takes the code from a file or S3: S3 fields it cannot require one by one.
    cfn_rules.pop("required", None)
    assert cfn_rules == tf_rules


# ---------------------------------------------------------------------------- resources


def test_event_pattern_and_target() -> None:
    rule, target = tf_resource("aws_cloudwatch_event_rule.this"), "aws_cloudwatch_event_target"
    assert_same(
        {"EventPattern": "event_pattern", "State": "state", "Name": "name"},
        cfn_resource("ScanCompleteRule"),
        rule,
    )
    (cfn_target,) = cfn_resource("ScanCompleteRule")["Targets"]
    assert_same(
        {
            "Id": "target_id",
            "Arn": "arn",
            "RetryPolicy.MaximumRetryAttempts": "retry_policy.0.maximum_retry_attempts",
            "RetryPolicy.MaximumEventAgeInSeconds": "retry_policy.0.maximum_event_age_in_seconds",
            "DeadLetterConfig.Arn": "dead_letter_config.0.arn",
        },
        cfn_target,
        tf_resource(f"{target}.queue"),
    )


QUEUE_SETTINGS = {
    "QueueName": "name",
    "MessageRetentionPeriod": "message_retention_seconds",
    "SqsManagedSseEnabled": "sqs_managed_sse_enabled",
    "KmsMasterKeyId": "kms_master_key_id",
    "KmsDataKeyReusePeriodSeconds": "kms_data_key_reuse_period_seconds",
}


def test_queue_settings_and_redrive() -> None:
    queue, dlq = tf_resource("aws_sqs_queue.this"), tf_resource("aws_sqs_queue.dlq")
    assert_same(
        {**QUEUE_SETTINGS, "RedrivePolicy": "redrive_policy"}, cfn_resource("FindingsQueue"), queue
    )
    assert_same(QUEUE_SETTINGS, cfn_resource("DeadLetterQueue"), dlq)
    assert_same(
        {"RedriveAllowPolicy": "redrive_allow_policy"},
        cfn_resource("DeadLetterQueue"),
        tf_resource("aws_sqs_queue_redrive_allow_policy.dlq"),
    )
    assert tf_value(dlq["message_retention_seconds"]) == 14 * 24 * 3600


_OPERATORS = {ast.Add: operator.add, ast.Mult: operator.mul}


def _arithmetic(expression: str, names: dict[str, int]) -> int:
    """Evaluate a Terraform expression made of +, * and known names."""

    def value(node: ast.AST) -> int:
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            return int(_OPERATORS[type(node.op)](value(node.left), value(node.right)))
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        source = ast.unparse(node)
        if source in names:
            return names[source]
        raise ValueError(f"cannot evaluate {source!r}")

    return value(ast.parse(expression, mode="eval").body)


def test_visibility_timeout_follows_the_function_timeout_the_same_way() -> None:
    formula = module().locals["visibility_timeout_seconds"].removeprefix("${").removesuffix("}")
    window = module().locals["max_batching_window_seconds"]
    mapping = template()["Mappings"]["VisibilityTimeout"]
    timeouts = template()["Parameters"]["FunctionTimeout"]["AllowedValues"]
    assert sorted(mapping, key=int) == sorted(timeouts, key=int)
    for timeout in timeouts:
        names = {"var.timeout": int(timeout), "local.max_batching_window_seconds": window}
        assert mapping[timeout]["Seconds"] == _arithmetic(formula, names)
    assert cfn_value(cfn_resource("FindingsQueue")["VisibilityTimeout"]) == {
        "FindInMap": ["VisibilityTimeout", "{var.timeout}", "Seconds"]
    }
    queue = tf_resource("aws_sqs_queue.this")
    assert queue["visibility_timeout_seconds"] == "${local.visibility_timeout_seconds}"


def test_event_source_mapping_settings() -> None:
    assert_same(
        {
            "EventSourceArn": "event_source_arn",
            "FunctionName": "function_name",
            "Enabled": "enabled",
            "BatchSize": "batch_size",
            "MaximumBatchingWindowInSeconds": "maximum_batching_window_in_seconds",
            "FunctionResponseTypes": "function_response_types",
            "ScalingConfig.MaximumConcurrency": "scaling_config.0.maximum_concurrency",
        },
        cfn_resource("QueueEventSource"),
        tf_resource("aws_lambda_event_source_mapping.this"),
    )


def test_function_settings() -> None:
    assert_same(
        {
            "FunctionName": "function_name",
            "Description": "description",
            "Runtime": "runtime",
            "Architectures": "architectures",
            "Handler": "handler",
            "MemorySize": "memory_size",
            "Timeout": "timeout",
            "Role": "role",
            "Code.S3Bucket": "s3_bucket",
            "Code.S3Key": "s3_key",
            "Code.S3ObjectVersion": "s3_object_version",
        },
        cfn_resource("Function"),
        tf_resource("aws_lambda_function.this"),
    )
    assert_same(
        {"LogGroupName": "name", "RetentionInDays": "retention_in_days", "KmsKeyId": "kms_key_id"},
        cfn_resource("FunctionLogGroup"),
        tf_resource("aws_cloudwatch_log_group.function"),
    )


def test_function_environment() -> None:
    cfn = cfn_value(cfn_resource("Function")["Environment"]["Variables"])
    locals_ = module().locals
    tf = {
        **tf_value(locals_["environment_base"]),
        **tf_value(locals_["environment_optional"]),
    }
    rates = {name: value for name, value in cfn.items() if isinstance(value, dict)}
    assert {name: value for name, value in cfn.items() if name not in rates} == tf
    # A claim on an image lapses when no invocation of its owner can still be running.
    assert cfn["CLAIM_TIMEOUT_SECONDS"] == cfn_value(cfn_resource("Function")["Timeout"])
    assert set(rates) == set(locals_["rate_quota_shares"])
    # Terraform passes all three parts, the optional ones only when set.
    function = tf_resource("aws_lambda_function.this")
    assert function["environment"][0]["variables"] == "${local.environment}"
    assert locals_["environment"] == (
        "${merge(local.environment_base, local.consumer_rates, "
        "{for name, value in local.environment_optional : name => value if value != null})}"
    )


def test_consumer_rates_are_the_same_division() -> None:
    """CloudFormation's table holds what Terraform's formula computes, for every concurrency."""
    formula = module().locals["consumer_rates"]
    assert "floor(share * 100 / var.maximum_concurrency) / 100" in formula
    shares = module().locals["rate_quota_shares"]
    table = template()["Mappings"]["ConsumerRates"]
    variables = cfn_value(cfn_resource("Function")["Environment"]["Variables"])
    concurrencies = template()["Parameters"]["MaximumConcurrency"]["AllowedValues"]
    assert sorted(table, key=int) == sorted(concurrencies, key=int)
    for concurrency in concurrencies:
        for name, share in shares.items():
            mapping, key, column = variables[name]["FindInMap"]
            assert (mapping, key) == ("ConsumerRates", "{var.maximum_concurrency}")
            expected = (share * 100 // int(concurrency)) / 100
            assert float(table[concurrency][column]) == expected, (concurrency, name)


def _policy(address: str) -> list[dict[str, Any]]:
    return tf_statements(module().data[address])


def test_role_permissions() -> None:
    role = cfn_resource("FunctionRole")
    (policy,) = role["Policies"]
    assert by_sid(cfn_statements(policy["PolicyDocument"])) == by_sid(
        _policy("aws_iam_policy_document.function")
    )
    assert cfn_statements(role["AssumeRolePolicyDocument"]) == _policy(
        "aws_iam_policy_document.assume"
    )
    assert cfn_value(policy["PolicyName"]) == tf_resource("aws_iam_role_policy.this")["name"]


@pytest.mark.parametrize(
    ("logical_id", "document"),
    [("FindingsQueuePolicy", "queue"), ("DeadLetterQueuePolicy", "dlq")],
)
def test_queue_policies(logical_id: str, document: str) -> None:
    cfn = cfn_statements(cfn_resource(logical_id)["PolicyDocument"])
    assert by_sid(cfn) == by_sid(_policy(f"aws_iam_policy_document.{document}"))


def test_key() -> None:
    key = cfn_resource("FindingsKey")
    assert by_sid(cfn_statements(key["KeyPolicy"])) == by_sid(
        _policy("aws_iam_policy_document.key")
    )
    assert_same(
        {"Description": "description", "EnableKeyRotation": "enable_key_rotation"},
        key,
        tf_resource("aws_kms_key.this"),
    )
    assert_same(
        {"AliasName": "name"}, cfn_resource("FindingsKeyAlias"), tf_resource("aws_kms_alias.this")
    )


@pytest.mark.parametrize("logical_id", [k for k in RESOURCES if k.endswith("Alarm")])
def test_alarms(logical_id: str) -> None:
    assert_same(
        ALARM_ARGUMENTS,
        alarm_properties(cfn_resource(logical_id)),
        tf_resource(RESOURCES[logical_id][0]),
    )


def test_alarm_topic() -> None:
    assert_same(
        {"TopicName": "name", "KmsMasterKeyId": "kms_master_key_id"},
        cfn_resource("AlarmTopic"),
        tf_resource("aws_sns_topic.alarms"),
    )


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def test_outputs() -> None:
    cfn = {_snake(k): cfn_value(v["Value"]) for k, v in template()["Outputs"].items()}
    tf = {k: tf_value(v["value"]) for k, v in module().outputs.items()}
    assert cfn == tf
