"""The member-account module and template deploy the same thing, with the central rule's pattern."""

from __future__ import annotations

import re
from typing import Any

import iac_model
import pytest
from iac_model import ALARM_ARGUMENTS, alarm_properties
from member_model import (
    CONDITIONS,
    PARAMETERS,
    RESOURCES,
    TERRAFORM_ONLY_VARIABLES,
    assert_same,
    cfn_resource,
    cfn_statements,
    cfn_value,
    module,
    template,
    tf_count,
    tf_resource,
    tf_statements,
    tf_value,
)


def tf_policy(name: str) -> list[dict[str, Any]]:
    return tf_statements(module().data[f"aws_iam_policy_document.{name}"])


# ---------------------------------------------------------------------------- inputs


def test_every_resource_has_its_counterpart() -> None:
    assert set(template()["Resources"]) == set(RESOURCES)
    assert set(module().resources) == {a for addresses in RESOURCES.values() for a in addresses}


def test_parameters_and_variables_correspond() -> None:
    assert set(template()["Parameters"]) == set(PARAMETERS)
    assert set(module().variables) == set(PARAMETERS.values()) | TERRAFORM_ONLY_VARIABLES


def _cfn_rules(parameter: dict[str, Any], tf_type: str) -> dict[str, Any]:
    rules: dict[str, Any] = {"required": "Default" not in parameter}
    if "Default" in parameter:
        default = parameter["Default"]
        rules["default"] = str(default) == "true" if tf_type == "bool" else default
    if tf_type == "bool":
        assert parameter["AllowedValues"] == ["true", "false"]
    if "AllowedPattern" in parameter:
        rules["pattern"] = parameter["AllowedPattern"]
    return rules


def _tf_rules(variable: dict[str, Any]) -> dict[str, Any]:
    rules: dict[str, Any] = {"required": "default" not in variable}
    if "default" in variable:
        rules["default"] = variable["default"]
    for validation in variable.get("validation", []):
        match = re.fullmatch(r'\$\{can\(regex\("(.*)", var\.\w+\)\)\}', validation["condition"])
        assert match, validation["condition"]
        rules["pattern"] = match.group(1).replace("\\\\", "\\")
    return rules


@pytest.mark.parametrize("cfn_name", sorted(PARAMETERS))
def test_parameter_and_variable_agree(cfn_name: str) -> None:
    parameter = template()["Parameters"][cfn_name]
    variable = module().variables[PARAMETERS[cfn_name]]
    assert variable["description"].strip()
    assert _cfn_rules(parameter, variable["type"]) == _tf_rules(variable)


def test_the_same_resources_are_optional_on_the_same_conditions() -> None:
    for logical_id, addresses in RESOURCES.items():
        condition = template()["Resources"][logical_id].get("Condition")
        for address in addresses:
            assert tf_count(address) == CONDITIONS.get(condition), address
    conditions = template()["Conditions"]
    assert conditions["Forward"] == {"Fn::Equals": [{"Ref": "ForwardEvents"}, "true"]}
    assert conditions["CreateRole"] == {"Fn::Equals": [{"Ref": "CreateReaderRole"}, "true"]}
    assert conditions["CreateDlq"] == {
        "Fn::And": [
            conditions["Forward"],
            {"Fn::Equals": [{"Ref": "CreateDeadLetterQueue"}, "true"]},
        ]
    }
    assert module().locals["create_dlq"] == "${var.forward_events && var.create_dead_letter_queue}"


# ---------------------------------------------------------------------------- forwarding


def test_event_pattern_is_the_central_rules_on_both_sides() -> None:
    member = cfn_value(cfn_resource("ForwardRule")["EventPattern"])
    assert member == tf_value(tf_resource("aws_cloudwatch_event_rule.forward")["event_pattern"])
    assert (
        member
        == iac_model.template()["Resources"]["ScanCompleteRule"]["Properties"]["EventPattern"]
    )


def test_rule_and_target() -> None:
    rule = cfn_resource("ForwardRule")
    tf_rule = tf_resource("aws_cloudwatch_event_rule.forward")
    assert_same({"Name": "name", "State": "state", "Description": "description"}, rule, tf_rule)

    (target,) = rule["Targets"]
    tf_target = tf_resource("aws_cloudwatch_event_target.central_bus")
    assert tf_value(tf_target["rule"]) == "{rule.name}"
    assert cfn_value(target["Id"]) == tf_target["target_id"]
    assert cfn_value(target["Arn"]) == tf_value(tf_target["arn"]) == "{var.central_event_bus_arn}"
    assert cfn_value(target["RoleArn"]) == tf_value(tf_target["role_arn"]) == "{forward_role.arn}"
    (retry,) = tf_target["retry_policy"]
    assert cfn_value(target["RetryPolicy"]) == {
        "MaximumRetryAttempts": retry["maximum_retry_attempts"],
        "MaximumEventAgeInSeconds": retry["maximum_event_age_in_seconds"],
    }
    # The dead-letter config only with the queue, on both sides.
    assert target["DeadLetterConfig"]["Fn::If"][0] == "CreateDlq"
    (dynamic,) = tf_target["dynamic"]
    assert dynamic["dead_letter_config"]["for_each"] == "${local.create_dlq ? [1] : []}"
    (content,) = dynamic["dead_letter_config"]["content"]
    assert cfn_value(target["DeadLetterConfig"]) == {"Arn": tf_value(content["arn"])}


def test_forward_role() -> None:
    role = cfn_resource("ForwardRole")
    tf_role = tf_resource("aws_iam_role.forward")
    assert cfn_statements(role["AssumeRolePolicyDocument"]) == tf_policy("forward_assume")
    (policy,) = role["Policies"]
    assert cfn_statements(policy["PolicyDocument"]) == tf_policy("forward")
    tf_role_policy = tf_resource("aws_iam_role_policy.forward")
    assert policy["PolicyName"] == tf_role_policy["name"]
    assert tf_value(tf_role_policy["role"]) == "{forward_role.name}"
    assert cfn_value(role["Description"]) == tf_value(tf_role["description"])


def test_dead_letter_queue_and_its_policy() -> None:
    queue = cfn_resource("DeadLetterQueue")
    tf_queue = tf_resource("aws_sqs_queue.dlq")
    pairs = {
        "QueueName": "name",
        "MessageRetentionPeriod": "message_retention_seconds",
        "SqsManagedSseEnabled": "sqs_managed_sse_enabled",
    }
    assert_same(pairs, queue, tf_queue)
    assert set(queue) == set(pairs)

    policy = cfn_resource("DeadLetterQueuePolicy")
    assert cfn_value(policy["Queues"]) == [
        tf_value(tf_resource("aws_sqs_queue_policy.dlq")["queue_url"])
    ]
    assert cfn_statements(policy["PolicyDocument"]) == tf_policy("dlq")


def test_dead_letter_queue_alarm() -> None:
    alarm = alarm_properties(cfn_resource("DeadLetterQueueNotEmptyAlarm"))
    tf_alarm = tf_resource("aws_cloudwatch_metric_alarm.dead_letter_queue_not_empty")
    assert_same(ALARM_ARGUMENTS, alarm, tf_alarm)
    assert set(alarm) == set(ALARM_ARGUMENTS)
    assert cfn_value(alarm["Dimensions"]) == {"QueueName": "{dlq.name}"}
    # Actions only with a topic, on both sides (the values above are what they are when present).
    assert cfn_value(alarm["AlarmActions"]) == ["{var.alarm_topic_arn}"]
    assert template()["Conditions"]["HasAlarmTopic"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}]
    }
    for key in ("AlarmActions", "OKActions"):
        assert alarm[key]["Fn::If"][0] == "HasAlarmTopic"
        assert alarm[key]["Fn::If"][2] == {"Ref": "AWS::NoValue"}
    assert module().locals["alarm_actions"] == (
        '${var.alarm_topic_arn == "" ? null : [var.alarm_topic_arn]}'
    )


# ---------------------------------------------------------------------------- reading


def test_reader_role() -> None:
    role = cfn_resource("ReaderRole")
    tf_role = tf_resource("aws_iam_role.reader")
    assert cfn_value(role["RoleName"]) == tf_value(tf_role["name"]) == "{var.reader_role_name}"
    assert cfn_value(role["Description"]) == tf_value(tf_role["description"])
    assert cfn_statements(role["AssumeRolePolicyDocument"]) == tf_policy("reader_assume")
    (policy,) = role["Policies"]
    assert cfn_statements(policy["PolicyDocument"]) == tf_policy("reader")
    tf_role_policy = tf_resource("aws_iam_role_policy.reader")
    assert policy["PolicyName"] == tf_role_policy["name"]
    assert tf_value(tf_role_policy["role"]) == "{reader_role.name}"


# ---------------------------------------------------------------------------- outputs


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def test_outputs() -> None:
    outputs = template()["Outputs"]
    cfn = {_snake(k): cfn_value(v["Value"]) for k, v in outputs.items()}
    tf = {k: tf_value(v["value"]) for k, v in module().outputs.items()}
    assert cfn == tf
    # Present under the same condition (Terraform: null otherwise).
    for name, output in outputs.items():
        value = module().outputs[_snake(name)]["value"]
        condition = CONDITIONS.get(output.get("Condition"))
        assert value.startswith(f"${{{condition} ? ") if condition else " ? " not in value, name
