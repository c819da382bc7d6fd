"""The Terraform module and the CloudFormation template deploy the same thing."""

from __future__ import annotations

import ast
import operator
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from iac_eval import CfnStack, TfModule
from iac_model import (
    ALARM_ARGUMENTS,
    PARAMETERS,
    RESOURCES,
    TERRAFORM_ONLY_VARIABLES,
    alarm_properties,
    alternatives,
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

from pipeline import layout
from pipeline.config import Settings
from pipeline.metrics import Metrics

# ---------------------------------------------------------------------------- inputs


def test_every_resource_has_its_counterpart() -> None:
    assert set(template()["Resources"]) == set(RESOURCES)
    assert set(module().resources) == {a for addresses in RESOURCES.values() for a in addresses}


def test_parameters_and_variables_correspond() -> None:
    assert set(template()["Parameters"]) == set(PARAMETERS)
    assert set(module().variables) == set(PARAMETERS.values()) | TERRAFORM_ONLY_VARIABLES


def _cfn_default(parameter: dict[str, Any], tf_type: str) -> Any:
    default = parameter.get("Default")
    if tf_type == LIST:
        # A list is the comma-separated text of its items in CloudFormation.
        return [item.strip() for item in str(default).split(",") if item.strip()]
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
        if match := ITEM_PATTERN.search(condition):
            rules["item_pattern"] = match.group(1).replace("\\\\", "\\")
    return rules


def _cfn_rules(parameter: dict[str, Any], tf_type: str) -> dict[str, Any]:
    rules: dict[str, Any] = {}
    if "AllowedValues" in parameter and tf_type != "bool":
        cast = int if tf_type == "number" else str
        # "" is CloudFormation's "not set"; Terraform says null, which its validation lets by.
        rules["allowed"] = [cast(v) for v in parameter["AllowedValues"] if v != ""]
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
    if tf_type == LIST:
        # One pattern for the text, one for each item: test_lists_accept_the_same_items.
        assert cfn_rules.pop("pattern") and tf_rules.pop("item_pattern")
    assert cfn_rules == tf_rules


LIST = "${list(string)}"
ITEM_PATTERN = re.compile(r'alltrue\(\[for \w+ in var\.\w+ : can\(regex\("(.*)", \w+\)\)\]\)')
IDS = st.from_regex(r"\A[A-Za-z0-9._:-]{1,20}\Z")


def _list_patterns(cfn_name: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    parameter = template()["Parameters"][cfn_name]
    (validation,) = module().variables[PARAMETERS[cfn_name]]["validation"]
    match = ITEM_PATTERN.search(validation["condition"])
    assert match, validation["condition"]
    item = match.group(1).replace("\\\\", "\\")
    return re.compile(parameter["AllowedPattern"]), re.compile(item)


LISTS = [name for name, tf in PARAMETERS.items() if module().variables[tf]["type"] == LIST]


@pytest.mark.parametrize("cfn_name", LISTS)
@given(ids=st.lists(IDS, max_size=5), spaces=st.sampled_from(["", " "]))
def test_lists_accept_the_same_items(cfn_name: str, ids: list[str], spaces: str) -> None:
    """A list of valid items joined with commas (blanks around them allowed) is a valid
    parameter value, and no valid parameter value splits into an invalid item."""
    text_pattern, item_pattern = _list_patterns(cfn_name)
    assert all(item_pattern.fullmatch(i) for i in ids)
    text = f"{spaces},{spaces}".join(ids)
    assert text_pattern.fullmatch(text)


@pytest.mark.parametrize("cfn_name", LISTS)
@given(text=st.text(alphabet="aZ0.-:_, ;/", max_size=30))
def test_list_text_splits_into_valid_items(cfn_name: str, text: str) -> None:
    text_pattern, item_pattern = _list_patterns(cfn_name)
    if text_pattern.fullmatch(text) and text.strip():
        assert all(item_pattern.fullmatch(item.strip()) for item in text.split(","))


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
    rates = {k: v for k, v in cfn.items() if isinstance(v, dict) and "FindInMap" in v}
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


def test_new_findings_alarm_sums_every_severity_at_or_above_the_threshold() -> None:
    """For each threshold both flavours sum the Findings metric of the same severities: the
    pipeline's order, from CRITICAL down to the threshold, on the pipeline's namespace."""
    assert module().locals["severity_order"] == list(layout.SEVERITY_ORDER)
    formula = module().locals["findings_alarm_severities"]
    assert formula == (
        "${slice(local.severity_order, 0, "
        "index(local.severity_order, var.findings_alarm_severity) + 1)}"
    )
    tf = TfModule(module(), {})
    assert tf.local("metrics_namespace") == Settings().metrics_namespace
    for threshold in template()["Parameters"]["FindingsAlarmSeverity"]["AllowedValues"]:
        expected = list(layout.SEVERITY_ORDER[: layout.SEVERITY_ORDER.index(threshold) + 1])
        stack = CfnStack(template(), {"FindingsAlarmSeverity": threshold})
        expression, *metrics = stack.properties("NewFindingsAlarm")["Metrics"]
        assert expression == {
            "Id": "new_findings",
            "Label": f"New findings, {threshold} or higher",
            "Expression": "SUM(METRICS())",
            "ReturnData": True,
        }
        assert [m["MetricStat"]["Metric"]["Dimensions"] for m in metrics] == [
            [{"Name": "Severity", "Value": severity}] for severity in expected
        ]
        for metric in metrics:
            assert metric["Id"] == metric["MetricStat"]["Metric"]["Dimensions"][0]["Value"].lower()
            assert metric["MetricStat"] == {
                "Metric": {
                    "Namespace": Settings().metrics_namespace,
                    "MetricName": "Findings",
                    "Dimensions": metric["MetricStat"]["Metric"]["Dimensions"],
                },
                "Period": 300,
                "Stat": "Sum",
            }
            assert metric["ReturnData"] is False
        severities = TfModule(module(), {"findings_alarm_severity": threshold})
        assert severities.local("findings_alarm_severities") == expected


def test_alarms_watch_the_metrics_the_function_emits() -> None:
    metrics = Metrics()
    metrics.findings["HIGH"] += 1
    documents = metrics.emf(Settings().metrics_namespace)
    emitted = {
        (m["Name"], tuple(dims))
        for d in documents
        for declared in d["_aws"]["CloudWatchMetrics"]
        for m in declared["Metrics"]
        for dims in declared["Dimensions"]
    }
    assert ("Findings", ("Severity",)) in emitted
    watched = cfn_resource("WatchedVulnerabilityAlarm")
    assert (watched["MetricName"], "Dimensions" in watched) == ("WatchedFindings", False)
    assert watched["Namespace"] == Settings().metrics_namespace


def test_notify_topic() -> None:
    assert_same(
        {"TopicName": "name", "KmsMasterKeyId": "kms_master_key_id"},
        cfn_resource("NotifyTopic"),
        tf_resource("aws_sns_topic.notify"),
    )


ARCHIVE_BUCKET_SETTINGS = {
    "aws_s3_bucket.archive": {
        "BucketName": "bucket",
        "ObjectLockEnabled": "object_lock_enabled",
    },
    "aws_s3_bucket_versioning.archive": {
        "VersioningConfiguration.Status": "versioning_configuration.0.status",
    },
    "aws_s3_bucket_object_lock_configuration.archive": {
        "ObjectLockConfiguration.Rule.DefaultRetention.Mode": "rule.0.default_retention.0.mode",
        "ObjectLockConfiguration.Rule.DefaultRetention.Days": "rule.0.default_retention.0.days",
    },
    "aws_s3_bucket_server_side_encryption_configuration.archive": {
        "BucketEncryption.ServerSideEncryptionConfiguration.0.ServerSideEncryptionByDefault"
        ".SSEAlgorithm": "rule.0.apply_server_side_encryption_by_default.0.sse_algorithm",
        "BucketEncryption.ServerSideEncryptionConfiguration.0.ServerSideEncryptionByDefault"
        ".KMSMasterKeyID": "rule.0.apply_server_side_encryption_by_default.0.kms_master_key_id",
        "BucketEncryption.ServerSideEncryptionConfiguration.0.BucketKeyEnabled": (
            "rule.0.bucket_key_enabled"
        ),
    },
    "aws_s3_bucket_public_access_block.archive": {
        "PublicAccessBlockConfiguration.BlockPublicAcls": "block_public_acls",
        "PublicAccessBlockConfiguration.BlockPublicPolicy": "block_public_policy",
        "PublicAccessBlockConfiguration.IgnorePublicAcls": "ignore_public_acls",
        "PublicAccessBlockConfiguration.RestrictPublicBuckets": "restrict_public_buckets",
    },
    "aws_s3_bucket_ownership_controls.archive": {
        "OwnershipControls.Rules.0.ObjectOwnership": "rule.0.object_ownership",
    },
    "aws_s3_bucket_lifecycle_configuration.archive": {
        "LifecycleConfiguration.Rules.0.Id": "rule.0.id",
        "LifecycleConfiguration.Rules.0.Status": "rule.0.status",
        "LifecycleConfiguration.Rules.0.Prefix": "rule.0.filter.0.prefix",
        "LifecycleConfiguration.Rules.0.Transitions.0.StorageClass": (
            "rule.0.transition.0.storage_class"
        ),
        "LifecycleConfiguration.Rules.0.Transitions.0.TransitionInDays": "rule.0.transition.0.days",
        "LifecycleConfiguration.Rules.1.Id": "rule.1.id",
        "LifecycleConfiguration.Rules.1.Status": "rule.1.status",
        "LifecycleConfiguration.Rules.1.AbortIncompleteMultipartUpload.DaysAfterInitiation": (
            "rule.1.abort_incomplete_multipart_upload.0.days_after_initiation"
        ),
    },
}


@pytest.mark.parametrize("address", sorted(ARCHIVE_BUCKET_SETTINGS))
def test_archive_bucket_settings(address: str) -> None:
    """Every setting of the bucket, in the one CloudFormation resource or in the Terraform
    resource that holds it (the provider splits a bucket's configuration in many)."""
    assert_same(
        ARCHIVE_BUCKET_SETTINGS[address], cfn_resource("ArchiveBucket"), tf_resource(address)
    )


def test_archive_encryption_is_kms_or_s3() -> None:
    (rule,) = cfn_resource("ArchiveBucket")["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    algorithm = cfn_value(rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"])
    assert alternatives(algorithm) == ["aws:kms", "AES256"]


def test_every_archive_bucket_setting_is_compared() -> None:
    compared = {path.split(".")[0] for pairs in ARCHIVE_BUCKET_SETTINGS.values() for path in pairs}
    assert compared == set(cfn_resource("ArchiveBucket"))
    assert set(ARCHIVE_BUCKET_SETTINGS) == set(RESOURCES["ArchiveBucket"])


def test_archive_bucket_policy() -> None:
    cfn = cfn_statements(cfn_resource("ArchiveBucketPolicy")["PolicyDocument"])
    assert by_sid(cfn) == by_sid(_policy("aws_iam_policy_document.archive_bucket"))
    assert_same(
        {"Bucket": "bucket"},
        cfn_resource("ArchiveBucketPolicy"),
        tf_resource("aws_s3_bucket_policy.archive"),
    )


def _tf_table(address: str) -> dict[str, Any]:
    """A Glue table's arguments in CloudFormation's TableInput shape."""
    table = tf_resource(address)
    (descriptor,) = table["storage_descriptor"]
    (serde,) = descriptor["ser_de_info"]
    (columns,) = [d["columns"] for d in descriptor["dynamic"] if "columns" in d]
    assert columns["content"] == [
        {"name": "${columns.value.name}", "type": "${columns.value.type}"}
    ]
    return {
        "Name": table["name"],
        "Description": table["description"],
        "TableType": table["table_type"],
        "Parameters": table["parameters"],
        "PartitionKeys": [{"Name": k["name"], "Type": k["type"]} for k in table["partition_keys"]],
        "StorageDescriptor": {
            "Location": descriptor["location"],
            "InputFormat": descriptor["input_format"],
            "OutputFormat": descriptor["output_format"],
            "SerdeInfo": {
                "SerializationLibrary": serde["serialization_library"],
                "Parameters": serde["parameters"],
            },
            "Columns": [
                {"Name": c["name"], "Type": c["type"]}
                for c in tf_value(module().locals[columns["for_each"][len("${local.") : -1]])
            ],
        },
    }


def test_archive_table() -> None:
    cfn = cfn_resource("ArchiveTable")
    assert cfn_value(cfn["TableInput"]) == tf_value(_tf_table("aws_glue_catalog_table.archive"))
    assert cfn_value(cfn["DatabaseName"]) == tf_value(
        tf_resource("aws_glue_catalog_table.archive")["database_name"]
    )
    assert_same(
        {"DatabaseInput.Name": "name", "DatabaseInput.Description": "description"},
        cfn_resource("ArchiveDatabase"),
        tf_resource("aws_glue_catalog_database.archive"),
    )


def test_archive_queries() -> None:
    assert_same(
        {
            "Name": "name",
            "Description": "description",
            "Database": "database",
            "WorkGroup": "workgroup",
            "QueryString": "query",
        },
        cfn_resource("ArchiveNamedQuery"),
        tf_resource("aws_athena_named_query.images_with_vulnerability"),
    )
    assert_same(
        {
            "Name": "name",
            "Description": "description",
            "State": "state",
            "WorkGroupConfiguration.EnforceWorkGroupConfiguration": (
                "configuration.0.enforce_workgroup_configuration"
            ),
            "WorkGroupConfiguration.PublishCloudWatchMetricsEnabled": (
                "configuration.0.publish_cloudwatch_metrics_enabled"
            ),
            "WorkGroupConfiguration.ResultConfiguration.OutputLocation": (
                "configuration.0.result_configuration.0.output_location"
            ),
            "WorkGroupConfiguration.ResultConfiguration.EncryptionConfiguration.EncryptionOption": (
                "configuration.0.result_configuration.0.encryption_configuration.0.encryption_option"
            ),
            "WorkGroupConfiguration.ResultConfiguration.EncryptionConfiguration.KmsKey": (
                "configuration.0.result_configuration.0.encryption_configuration.0.kms_key_arn"
            ),
        },
        cfn_resource("ArchiveWorkGroup"),
        tf_resource("aws_athena_workgroup.archive"),
    )


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def test_outputs() -> None:
    cfn = {_snake(k): cfn_value(v["Value"]) for k, v in template()["Outputs"].items()}
    tf = {k: tf_value(v["value"]) for k, v in module().outputs.items()}
    assert cfn == tf
