"""Read a CloudFormation template and its Terraform module into comparable values.

Both sides are reduced to the same symbols: a parameter or variable becomes ``{var.<name>}``
(Terraform's name), a resource attribute becomes ``{queue.arn}``-like names, ``AWS::Region``
and ``data.aws_region`` both become ``{region}``, and so on. A value present only under a
condition (``Fn::If`` with ``AWS::NoValue``, ``cond ? x : null``) reduces to the value itself.
Anything not understood raises, so that a new construct is noticed rather than compared wrong.

``IacPair`` holds the reading; this module configures it for the central stack (below), and
``member_model`` for the member-account pair.
"""

from __future__ import annotations

import ast
import re
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import hcl2
import yaml

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "infra" / "cloudformation" / "template.yaml"
MODULE = ROOT / "infra" / "terraform"

# CloudFormation parameter -> Terraform variable.
PARAMETERS = {
    "Name": "name",
    "CodeS3Bucket": "s3_bucket",
    "CodeS3Key": "s3_key",
    "CodeS3ObjectVersion": "s3_object_version",
    "Architecture": "architecture",
    "FunctionMemorySize": "memory_size",
    "FunctionTimeout": "timeout",
    "FunctionLogRetentionDays": "function_log_retention_days",
    "BatchSize": "batch_size",
    "MaximumBatchingWindowInSeconds": "maximum_batching_window_in_seconds",
    "MaximumConcurrency": "maximum_concurrency",
    "MaxReceiveCount": "max_receive_count",
    "FindingsLogGroupPrefix": "findings_log_group_prefix",
    "FindingsLogRetentionDays": "findings_log_retention_days",
    "CreateKmsKey": "create_kms_key",
    "KmsKeyArn": "kms_key_arn",
    "CreateAlarmTopic": "create_alarm_topic",
    "AlarmTopicArn": "alarm_topic_arn",
    "OldestMessageAgeAlarmSeconds": "oldest_message_age_alarm_seconds",
    "EcrReadRoleArn": "ecr_read_role_arn",
    "OrganizationId": "organization_id",
    "FindingsAlarmSeverity": "findings_alarm_severity",
    "WatchedVulnerabilities": "watched_vulnerabilities",
    "CreateNotifyTopic": "create_notify_topic",
    "NotifyTopicArn": "notify_topic_arn",
    "NotifyTopicKmsKeyArn": "notify_topic_kms_key_arn",
    "NotifyMinSeverity": "notify_min_severity",
    "NotifyMaxMessages": "notify_max_messages",
    "CreateArchiveBucket": "create_archive_bucket",
    "ArchiveBucketName": "archive_bucket_name",
    "ArchivePrefix": "archive_prefix",
    "ArchiveEncryption": "archive_encryption",
    "ArchiveKmsKeyArn": "archive_kms_key_arn",
    "ArchiveObjectLockMode": "archive_object_lock_mode",
    "ArchiveObjectLockDays": "archive_object_lock_days",
    "ArchiveTransitionStorageClass": "archive_transition_storage_class",
    "ArchiveTransitionDays": "archive_transition_days",
    "ArchiveDatabaseName": "archive_database_name",
    "ArchiveTableName": "archive_table_name",
    "ArchiveQueryResultsLocation": "archive_query_results_location",
}
# Terraform-only inputs (CloudFormation takes its code from S3 and tags from the stack).
TERRAFORM_ONLY_VARIABLES = {"package_filename", "tags"}

# CloudFormation resource -> the Terraform resources that make the same thing.
RESOURCES = {
    "FindingsKey": ["aws_kms_key.this"],
    "FindingsKeyAlias": ["aws_kms_alias.this"],
    "FindingsQueue": ["aws_sqs_queue.this"],
    "DeadLetterQueue": ["aws_sqs_queue.dlq", "aws_sqs_queue_redrive_allow_policy.dlq"],
    "FindingsQueuePolicy": ["aws_sqs_queue_policy.this"],
    "DeadLetterQueuePolicy": ["aws_sqs_queue_policy.dlq"],
    "ScanCompleteRule": ["aws_cloudwatch_event_rule.this", "aws_cloudwatch_event_target.queue"],
    "OrganizationEventsPermission": ["aws_cloudwatch_event_permission.organization"],
    "FunctionLogGroup": ["aws_cloudwatch_log_group.function"],
    "FunctionRole": ["aws_iam_role.this", "aws_iam_role_policy.this"],
    "Function": ["aws_lambda_function.this"],
    "QueueEventSource": ["aws_lambda_event_source_mapping.this"],
    "AlarmTopic": ["aws_sns_topic.alarms"],
    "DeadLetterQueueNotEmptyAlarm": ["aws_cloudwatch_metric_alarm.dead_letter_queue_not_empty"],
    "FunctionErrorsAlarm": ["aws_cloudwatch_metric_alarm.function_errors"],
    "OldestMessageAgeAlarm": ["aws_cloudwatch_metric_alarm.oldest_message_age"],
    "NewFindingsAlarm": ["aws_cloudwatch_metric_alarm.new_findings"],
    "WatchedVulnerabilityAlarm": ["aws_cloudwatch_metric_alarm.watched_vulnerability"],
    "NotifyTopic": ["aws_sns_topic.notify"],
    "ArchiveBucket": [
        "aws_s3_bucket.archive",
        "aws_s3_bucket_versioning.archive",
        "aws_s3_bucket_object_lock_configuration.archive",
        "aws_s3_bucket_server_side_encryption_configuration.archive",
        "aws_s3_bucket_public_access_block.archive",
        "aws_s3_bucket_ownership_controls.archive",
        "aws_s3_bucket_lifecycle_configuration.archive",
    ],
    "ArchiveBucketPolicy": ["aws_s3_bucket_policy.archive"],
    "ArchiveDatabase": ["aws_glue_catalog_database.archive"],
    "ArchiveTable": ["aws_glue_catalog_table.archive"],
    "ArchiveWorkGroup": ["aws_athena_workgroup.archive"],
    "ArchiveNamedQuery": ["aws_athena_named_query.images_with_vulnerability"],
}

# The same things under their two spellings.
PSEUDO = {"AWS::Partition": "{partition}", "AWS::Region": "{region}", "AWS::AccountId": "{account}"}
CFN_ATTRIBUTES = {
    ("FindingsQueue", "Ref"): "{queue.url}",
    ("FindingsQueue", "Arn"): "{queue.arn}",
    ("FindingsQueue", "QueueName"): "{queue.name}",
    ("DeadLetterQueue", "Ref"): "{dlq.url}",
    ("DeadLetterQueue", "Arn"): "{dlq.arn}",
    ("DeadLetterQueue", "QueueName"): "{dlq.name}",
    ("ScanCompleteRule", "Arn"): "{rule.arn}",
    # CloudFormation's log group Arn ends in ":*"; the Terraform provider's does not.
    ("FunctionLogGroup", "Arn"): "{function_log_group.arn}:*",
    ("FunctionLogGroup", "Ref"): "{function_log_group.name}",
    ("FunctionRole", "Arn"): "{role.arn}",
    ("Function", "Ref"): "{function.name}",
    ("Function", "Arn"): "{function.arn}",
    ("FindingsKey", "Arn"): "{kms_key.arn}",
    ("FindingsKey", "Ref"): "{kms_key.id}",
    ("AlarmTopic", "Ref"): "{alarm_topic.arn}",
    ("QueueEventSource", "Ref"): "{event_source_mapping.id}",
    ("NotifyTopic", "Ref"): "{notify_topic.arn}",
    ("ArchiveBucket", "Ref"): "{archive_bucket.name}",
    ("ArchiveBucket", "Arn"): "{archive_bucket.arn}",
    ("ArchiveDatabase", "Ref"): "{archive_database.name}",
    ("ArchiveWorkGroup", "Ref"): "{archive_workgroup.name}",
    ("ArchiveNamedQuery", "Ref"): "{archive_named_query.id}",
    # A given key, topic or bucket stands where the created one would.
    ("KmsKeyArn", "Ref"): "{kms_key.arn}",
    ("AlarmTopicArn", "Ref"): "{alarm_topic.arn}",
    ("NotifyTopicArn", "Ref"): "{notify_topic.arn}",
    ("ArchiveBucketName", "Ref"): "{archive_bucket.name}",
    # The keys of the notification topic and of the archive, when they are not the stack's.
    ("NotifyTopicKmsKeyArn", "Ref"): "{notify_key.arn}",
    ("ArchiveKmsKeyArn", "Ref"): "{archive_key.arn}",
}
TF_REFERENCES = {
    "data.aws_partition.current.partition": "{partition}",
    "data.aws_region.current.name": "{region}",
    "data.aws_caller_identity.current.account_id": "{account}",
    "aws_sqs_queue.this.url": "{queue.url}",
    "aws_sqs_queue.this.id": "{queue.url}",
    "aws_sqs_queue.this.arn": "{queue.arn}",
    "aws_sqs_queue.this.name": "{queue.name}",
    "aws_sqs_queue.dlq.url": "{dlq.url}",
    "aws_sqs_queue.dlq.id": "{dlq.url}",
    "aws_sqs_queue.dlq.arn": "{dlq.arn}",
    "aws_sqs_queue.dlq.name": "{dlq.name}",
    "aws_cloudwatch_event_rule.this.arn": "{rule.arn}",
    "aws_cloudwatch_event_rule.this.name": "{rule.name}",
    "aws_cloudwatch_log_group.function.arn": "{function_log_group.arn}",
    "aws_cloudwatch_log_group.function.name": "{function_log_group.name}",
    "aws_iam_role.this.arn": "{role.arn}",
    "aws_iam_role.this.id": "{role.name}",
    "aws_lambda_function.this.function_name": "{function.name}",
    "aws_lambda_function.this.arn": "{function.arn}",
    "aws_kms_key.this[0].arn": "{kms_key.arn}",
    "aws_kms_key.this[0].key_id": "{kms_key.id}",
    "aws_sns_topic.alarms[0].arn": "{alarm_topic.arn}",
    "aws_lambda_event_source_mapping.this.uuid": "{event_source_mapping.id}",
    "aws_sns_topic.notify[0].arn": "{notify_topic.arn}",
    "aws_s3_bucket.archive[0].id": "{archive_bucket.name}",
    "aws_s3_bucket.archive[0].arn": "{archive_bucket.arn}",
    "aws_glue_catalog_database.archive[0].name": "{archive_database.name}",
    "aws_athena_workgroup.archive[0].id": "{archive_workgroup.name}",
    "aws_athena_workgroup.archive[0].name": "{archive_workgroup.name}",
    "aws_athena_named_query.images_with_vulnerability[0].id": "{archive_named_query.id}",
    "var.kms_key_arn": "{kms_key.arn}",
    "var.alarm_topic_arn": "{alarm_topic.arn}",
    "var.notify_topic_arn": "{notify_topic.arn}",
    "var.archive_bucket_name": "{archive_bucket.name}",
    "var.notify_topic_kms_key_arn": "{notify_key.arn}",
    "var.archive_kms_key_arn": "{archive_key.arn}",
}
_NULLS = ("null", "[]", "{}")

# An AWS::CloudWatch::Alarm property -> its aws_cloudwatch_metric_alarm argument (both pairs).
ALARM_ARGUMENTS = {
    "AlarmName": "alarm_name",
    "AlarmDescription": "alarm_description",
    "Namespace": "namespace",
    "MetricName": "metric_name",
    "Dimensions": "dimensions",
    "Statistic": "statistic",
    "Period": "period",
    "EvaluationPeriods": "evaluation_periods",
    "Threshold": "threshold",
    "ComparisonOperator": "comparison_operator",
    "TreatMissingData": "treat_missing_data",
    "AlarmActions": "alarm_actions",
    "OKActions": "ok_actions",
}


def alarm_properties(properties: Mapping[str, Any]) -> dict[str, Any]:
    """An alarm's properties with its Dimensions (if any) as the name -> value map Terraform
    takes."""
    if "Dimensions" not in properties:
        return dict(properties)
    return {**properties, "Dimensions": {d["Name"]: d["Value"] for d in properties["Dimensions"]}}


class Unknown(ValueError):
    """A construct the comparison does not understand (teach it here, do not skip it)."""


# ---------------------------------------------------------------------------- reading files


class _TemplateLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags turned into their long form."""


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else "Condition" if suffix == "Condition" else f"Fn::{suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_TemplateLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path) -> dict[str, Any]:
    with path.open() as f:
        loaded: dict[str, Any] = yaml.load(f, Loader=_TemplateLoader)  # noqa: S506 (SafeLoader)
    return loaded


@dataclass
class Module:
    """The Terraform module's blocks by address (``aws_sqs_queue.this``, ``var.name``...)."""

    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    data: dict[str, dict[str, Any]] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    terraform: list[dict[str, Any]] = field(default_factory=list)


def _strip_markers(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_markers(v) for k, v in value.items() if not k.startswith("__")}
    if isinstance(value, list):
        return [_strip_markers(v) for v in value]
    return value


def _hcl(text: str) -> dict[str, Any]:
    options = hcl2.SerializationOptions(strip_string_quotes=True, with_comments=False)
    return dict(_strip_markers(hcl2.loads(text, serialization_options=options)))


def load_module(folder: Path) -> Module:
    module = Module()
    for path in sorted(folder.glob("*.tf")):
        parsed = _hcl(path.read_text())
        for block in parsed.get("resource", []):
            for kind, named in block.items():
                for name, body in named.items():
                    module.resources[f"{kind}.{name}"] = body
        for block in parsed.get("data", []):
            for kind, named in block.items():
                for name, body in named.items():
                    module.data[f"{kind}.{name}"] = body
        for block in parsed.get("variable", []):
            module.variables.update(block)
        for block in parsed.get("output", []):
            module.outputs.update(block)
        for block in parsed.get("locals", []):
            module.locals.update(block)
        module.terraform += parsed.get("terraform", [])
    return module


# ---------------------------------------------------------------------------- conditional values


def either(first: Any, second: Any) -> Any:
    """A conditional value: what it is when present (both sides agree when both are present)."""
    if first is None or first == []:
        return second
    if second is None or second == [] or second == first:
        return first
    return {"either": [first, second]}


def only_present(first: Any, second: Any) -> Any:
    """A conditional value that must be absent on one branch; two values raise."""
    present = [v for v in (first, second) if v is not None]
    if len(present) != 1:
        raise Unknown(f"conditional value with two values: {first!r}, {second!r}")
    return present[0]


# ---------------------------------------------------------------------------- the pair


@dataclass
class IacPair:
    """A template and the module that should deploy the same thing, with their shared symbols."""

    template_path: Path
    module_path: Path
    parameters: Mapping[str, str]
    pseudo: Mapping[str, str]
    cfn_attributes: Mapping[tuple[str, str], str]
    tf_references: Mapping[str, str]
    # How ``Fn::If`` and ``cond ? a : b`` reduce: ``either`` or ``only_present``.
    conditional: Callable[[Any, Any], Any]

    @cached_property
    def _template(self) -> dict[str, Any]:
        return load_template(self.template_path)

    @cached_property
    def _module(self) -> Module:
        return load_module(self.module_path)

    def template(self) -> dict[str, Any]:
        return self._template

    def module(self) -> Module:
        return self._module

    # ------------------------------------------------------------------------ CloudFormation

    def cfn_resource(self, logical_id: str) -> dict[str, Any]:
        properties: dict[str, Any] = self._template["Resources"][logical_id].get("Properties", {})
        return properties

    def cfn_value(self, value: Any) -> Any:
        """A template value in the shared symbols."""
        if isinstance(value, list):
            return [v for v in (self.cfn_value(item) for item in value) if v is not None]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self._cfn_ref(arg)
            if key == "Fn::GetAtt":
                return _lookup(self.cfn_attributes, (arg[0], arg[1]))
            if key == "Fn::Sub":
                text, names = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                values = {name: self.cfn_value(v) for name, v in names.items()}

                def name(match: re.Match[str]) -> str:
                    found = match.group(1)
                    return str(values[found] if found in values else self._cfn_name(found))

                # "${!x}" is the literal "${x}" (as Terraform's "$${x}").
                return re.sub(r"\$\{([^}!]+)\}", name, text).replace("${!", "${")
            if key == "Fn::If":
                return self.conditional(self.cfn_value(arg[1]), self.cfn_value(arg[2]))
            if key == "Fn::Join" and isinstance(arg[1], dict) and "Fn::Split" in arg[1]:
                # Join(new, Split(old, text)): CloudFormation's way to replace.
                old, text = arg[1]["Fn::Split"]
                return _replace(self.cfn_value(text), old, arg[0])
            if key == "Fn::FindInMap":
                return {"FindInMap": [arg[0], self.cfn_value(arg[1]), arg[2]]}
            if key.startswith("Fn::"):
                raise Unknown(f"CloudFormation function {key}")
        return {
            k: v for k, v in ((k, self.cfn_value(v)) for k, v in value.items()) if v is not None
        }

    def _cfn_name(self, name: str) -> Any:
        """A name inside ``Fn::Sub``: ``Resource.Attribute`` or what ``Ref`` would give."""
        if "." in name:
            logical_id, attribute = name.split(".", 1)
            return _lookup(self.cfn_attributes, (logical_id, attribute))
        return self._cfn_ref(name)

    def _cfn_ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return None
        if name in self.pseudo:
            return self.pseudo[name]
        if (name, "Ref") in self.cfn_attributes:
            return self.cfn_attributes[(name, "Ref")]
        if name in self.parameters:
            return "{var." + self.parameters[name] + "}"
        raise Unknown(f"Ref {name}")

    def cfn_statements(self, document: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Policy statements, normalized (see ``statement``)."""
        return [
            statement(
                sid=s.get("Sid"),
                effect=s.get("Effect", "Allow"),
                actions=s["Action"],
                resources=s.get("Resource", []),
                principals=_cfn_principals(s.get("Principal")),
                conditions={
                    (test, variable): _as_list(values)
                    for test, pairs in s.get("Condition", {}).items()
                    for variable, values in pairs.items()
                },
            )
            for s in self.cfn_value(document["Statement"])
        ]

    # ------------------------------------------------------------------------ Terraform

    def tf_value(self, value: Any) -> Any:
        """A module value in the shared symbols."""
        if isinstance(value, list):
            return [v for v in (self.tf_value(item) for item in value) if v is not None]
        if isinstance(value, dict):
            return {
                k: v for k, v in ((k, self.tf_value(v)) for k, v in value.items()) if v is not None
            }
        if not isinstance(value, str):
            return value
        if value.startswith("<<-"):
            value = heredoc(value)
        whole = re.fullmatch(r"\$\{(.*)\}", value, re.S)
        if whole and "${" not in whole.group(1):
            return self._tf_expression(whole.group(1).strip())
        # "$${x}" is the literal "${x}" (as CloudFormation's "${!x}").
        escaped = value.replace("$${", "\0")
        return re.sub(
            r"\$\{([^{}]*)\}", lambda m: str(self._tf_expression(m.group(1).strip())), escaped
        ).replace("\0", "${")

    def _tf_expression(self, expr: str) -> Any:
        if expr in _NULLS:
            return None
        if re.fullmatch(r"-?\d+", expr):
            return int(expr)
        if expr in ("true", "false"):
            return expr == "true"
        if expr.startswith('"') and expr.endswith('"'):
            return self.tf_value(expr[1:-1])
        ternary = re.fullmatch(r"(.+?) \? (.+) : (.+)", expr)
        if ternary:
            return self.conditional(
                self._tf_expression(ternary.group(2)), self._tf_expression(ternary.group(3))
            )
        replace = re.fullmatch(r'replace\((.+), "(.*)", "(.*)"\)', expr)
        if replace:
            text = self._tf_expression(replace.group(1))
            return _replace(text, replace.group(2), replace.group(3))
        # The CloudFormation parameter holds a list as its comma-separated form.
        joined = re.fullmatch(r'join\(",", (.+)\)', expr)
        if joined:
            return self._tf_expression(joined.group(1))
        call = re.fullmatch(r"(tostring|jsonencode)\((.*)\)", expr)
        if call:
            return self._tf_expression(call.group(2))
        if expr[0] in "[{":
            return self.tf_value(_hcl(f"value = {expr}\n")["value"])
        if expr.startswith("var."):
            return self.tf_references.get(expr, "{" + expr + "}")
        if expr.startswith("local."):
            name = expr.removeprefix("local.")
            if name in self._module.locals:
                return self.tf_value(self._module.locals[name])
        return _lookup(self.tf_references, expr)

    def tf_statements(self, document: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The statements of an ``aws_iam_policy_document``, normalized (see ``statement``)."""
        blocks = list(document.get("statement", []))
        for dynamic in document.get("dynamic", []):
            blocks += dynamic["statement"]["content"]
        return [
            statement(
                sid=s.get("sid"),
                effect=s.get("effect", "Allow"),
                actions=self.tf_value(s["actions"]),
                resources=self.tf_value(s.get("resources", [])),
                principals={
                    p["type"]: self.tf_value(p["identifiers"]) for p in s.get("principals", [])
                },
                conditions={
                    (c["test"], c["variable"]): self.tf_value(c["values"])
                    for c in s.get("condition", [])
                },
            )
            for s in blocks
        ]

    def tf_resource(self, address: str) -> dict[str, Any]:
        resource: dict[str, Any] = self._module.resources[address]
        return resource

    # ------------------------------------------------------------------------ both

    def assert_same(
        self, pairs: Mapping[str, str], cfn: Mapping[str, Any], tf: Mapping[str, Any]
    ) -> None:
        """Each CloudFormation property (dotted path) equals its Terraform attribute (dotted
        path)."""
        for cfn_path, tf_path in pairs.items():
            # The whole resource first: a property inside an Fn::If is the If's value.
            left, right = _get(self.cfn_value(cfn), cfn_path), self.tf_value(_get(tf, tf_path))
            assert left == right, f"{cfn_path} = {left!r} but {tf_path} = {right!r}"


# ---------------------------------------------------------------------------- shared helpers


def _get(value: Any, path: str) -> Any:
    for part in path.split("."):
        value = value[int(part)] if isinstance(value, list) else value.get(part)
    return value


def _lookup(table: Mapping[Any, Any], key: Any) -> Any:
    if key not in table:
        raise Unknown(f"no shared symbol for {key!r}")
    return table[key]


def _replace(text: Any, old: str, new: str) -> str:
    return f"replace({text}, {old}, {new})"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def alternatives(value: Any) -> list[Any]:
    """The values a conditional value can take (``either`` nested or not), or the value."""
    if isinstance(value, dict) and set(value) == {"either"}:
        return [v for option in value["either"] for v in alternatives(option)]
    return [value]


def heredoc(value: str) -> str:
    """The text of a Terraform ``<<-EOT`` heredoc, its common indentation removed."""
    body = value.split("\n", 1)[1].rsplit("\n", 1)[0]
    return textwrap.dedent(body) + "\n"


def _cfn_principals(principal: Any) -> dict[str, list[str]]:
    if principal is None:
        return {}
    if principal == "*":
        return {"*": ["*"]}
    return {kind: _as_list(ids) for kind, ids in principal.items()}


def statement(
    *,
    sid: str | None,
    effect: str,
    actions: Any,
    resources: Any,
    principals: dict[str, list[str]],
    conditions: dict[tuple[str, str], list[Any]],
) -> dict[str, Any]:
    """One policy statement, order-free, the same shape for both sides."""
    return {
        "sid": sid,
        "effect": effect,
        "actions": sorted(set(_as_list(actions))),
        "resources": sorted({r for item in _as_list(resources) for r in alternatives(item)}),
        "principals": {kind: sorted(ids) for kind, ids in principals.items()},
        "conditions": {key: sorted(values) for key, values in conditions.items()},
    }


def by_sid(statements: list[dict[str, Any]]) -> dict[str | None, dict[str, Any]]:
    return {s["sid"]: s for s in statements}


# ---------------------------------------------------------------------------- the central stack

CENTRAL = IacPair(
    template_path=TEMPLATE,
    module_path=MODULE,
    parameters=PARAMETERS,
    pseudo=PSEUDO,
    cfn_attributes=CFN_ATTRIBUTES,
    tf_references=TF_REFERENCES,
    # A central value may differ by condition on both sides (a created key or a given one).
    conditional=either,
)
template = CENTRAL.template
module = CENTRAL.module
cfn_resource = CENTRAL.cfn_resource
cfn_value = CENTRAL.cfn_value
cfn_statements = CENTRAL.cfn_statements
tf_value = CENTRAL.tf_value
tf_statements = CENTRAL.tf_statements
tf_resource = CENTRAL.tf_resource
assert_same = CENTRAL.assert_same


# ---------------------------------------------------------------------------- the handler


def handler_sources() -> list[Path]:
    """The handler's module and every project module it imports, directly or not."""
    seen: dict[str, Path] = {}
    pending = ["lambdas.findings_logger"]
    while pending:
        name = pending.pop()
        path = _module_path(name)
        if name in seen or path is None:
            continue
        seen[name] = path
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                pending.append(node.module)
                pending += [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                pending += [alias.name for alias in node.names]
    return sorted(seen.values())


def _module_path(name: str) -> Path | None:
    if name.split(".")[0] not in ("pipeline", "lambdas"):
        return None
    base = ROOT.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None
