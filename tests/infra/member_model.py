"""The member-account template and module read into comparable values (see ``iac_model``).

The same idea as ``iac_model`` for the central stack, with this pair's own symbols: a parameter
or variable becomes ``{var.<name>}``, a resource attribute ``{rule.arn}``-like names, the
account id ``{account_id}`` (``{account}`` is the literal placeholder of the role ARN template),
and a conditional value (``Fn::If`` with ``AWS::NoValue``, ``cond ? x : null``) the value
itself; which resources and outputs are conditional, and on what, is compared separately.
Anything not understood raises ``Unknown``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from typing import Any

import yaml
from iac_model import ROOT, Module, Unknown, _TemplateLoader, load_module

TEMPLATE = ROOT / "infra" / "cloudformation" / "member-account.yaml"
MODULE = ROOT / "infra" / "terraform" / "modules" / "member-account"

# CloudFormation parameter -> Terraform variable.
PARAMETERS = {
    "ForwardEvents": "forward_events",
    "Name": "name",
    "CentralEventBusArn": "central_event_bus_arn",
    "CreateDeadLetterQueue": "create_dead_letter_queue",
    "CreateReaderRole": "create_reader_role",
    "ReaderRoleName": "reader_role_name",
    "CentralFunctionRoleArn": "central_function_role_arn",
}
TERRAFORM_ONLY_VARIABLES = {"tags"}

# CloudFormation resource -> the Terraform resources that make the same thing.
RESOURCES = {
    "ForwardRule": ["aws_cloudwatch_event_rule.forward", "aws_cloudwatch_event_target.central_bus"],
    "ForwardRole": ["aws_iam_role.forward", "aws_iam_role_policy.forward"],
    "DeadLetterQueue": ["aws_sqs_queue.dlq"],
    "DeadLetterQueuePolicy": ["aws_sqs_queue_policy.dlq"],
    "ReaderRole": ["aws_iam_role.reader", "aws_iam_role_policy.reader"],
}
# CloudFormation condition -> the Terraform expression that counts the same resources.
CONDITIONS = {
    "Forward": "var.forward_events",
    "CreateDlq": "local.create_dlq",
    "CreateRole": "var.create_reader_role",
}

PSEUDO = {
    "AWS::Partition": "{partition}",
    "AWS::Region": "{region}",
    "AWS::AccountId": "{account_id}",
}
CFN_ATTRIBUTES = {
    ("ForwardRule", "Arn"): "{rule.arn}",
    ("ForwardRole", "Arn"): "{forward_role.arn}",
    ("DeadLetterQueue", "Arn"): "{dlq.arn}",
    ("DeadLetterQueue", "Ref"): "{dlq.url}",
    ("ReaderRole", "Arn"): "{reader_role.arn}",
}
TF_REFERENCES = {
    "data.aws_partition.current.partition": "{partition}",
    "data.aws_region.current.name": "{region}",
    "data.aws_caller_identity.current.account_id": "{account_id}",
    "aws_cloudwatch_event_rule.forward[0].arn": "{rule.arn}",
    "aws_cloudwatch_event_rule.forward[0].name": "{rule.name}",
    "aws_iam_role.forward[0].arn": "{forward_role.arn}",
    "aws_iam_role.forward[0].id": "{forward_role.name}",
    "aws_sqs_queue.dlq[0].arn": "{dlq.arn}",
    "aws_sqs_queue.dlq[0].url": "{dlq.url}",
    "aws_sqs_queue.dlq[0].id": "{dlq.url}",
    "aws_iam_role.reader[0].arn": "{reader_role.arn}",
    "aws_iam_role.reader[0].id": "{reader_role.name}",
}


# ---------------------------------------------------------------------------- CloudFormation


@cache
def template() -> dict[str, Any]:
    with TEMPLATE.open() as f:
        loaded: dict[str, Any] = yaml.load(f, Loader=_TemplateLoader)  # noqa: S506 (SafeLoader)
    return loaded


def cfn_resource(logical_id: str) -> dict[str, Any]:
    properties: dict[str, Any] = template()["Resources"][logical_id].get("Properties", {})
    return properties


def cfn_value(value: Any) -> Any:
    """A template value in the shared symbols."""
    if isinstance(value, list):
        return [v for v in (cfn_value(item) for item in value) if v is not None]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref":
            return _cfn_ref(arg)
        if key == "Fn::GetAtt":
            return _lookup(CFN_ATTRIBUTES, (arg[0], arg[1]))
        if key == "Fn::Sub":
            return re.sub(r"\$\{([^}!]+)\}", lambda m: str(_cfn_name(m.group(1))), arg)
        if key == "Fn::If":
            present = [v for v in (cfn_value(arg[1]), cfn_value(arg[2])) if v is not None]
            if len(present) != 1:
                raise Unknown(f"Fn::If with two values: {arg!r}")
            return present[0]
        if key.startswith("Fn::"):
            raise Unknown(f"CloudFormation function {key}")
    return {k: v for k, v in ((k, cfn_value(v)) for k, v in value.items()) if v is not None}


def _cfn_name(name: str) -> Any:
    if "." in name:
        logical_id, attribute = name.split(".", 1)
        return _lookup(CFN_ATTRIBUTES, (logical_id, attribute))
    return _cfn_ref(name)


def _cfn_ref(name: str) -> Any:
    if name == "AWS::NoValue":
        return None
    if name in PSEUDO:
        return PSEUDO[name]
    if (name, "Ref") in CFN_ATTRIBUTES:
        return CFN_ATTRIBUTES[(name, "Ref")]
    if name in PARAMETERS:
        return "{var." + PARAMETERS[name] + "}"
    raise Unknown(f"Ref {name}")


def cfn_statements(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        statement(
            sid=s.get("Sid"),
            effect=s.get("Effect", "Allow"),
            actions=s["Action"],
            resources=s.get("Resource", []),
            principals=(
                {}
                if "Principal" not in s
                else {"*": ["*"]}
                if s["Principal"] == "*"
                else {kind: _as_list(ids) for kind, ids in s["Principal"].items()}
            ),
            conditions={
                (test, variable): _as_list(values)
                for test, pairs in s.get("Condition", {}).items()
                for variable, values in pairs.items()
            },
        )
        for s in cfn_value(document["Statement"])
    ]


# ---------------------------------------------------------------------------- Terraform


@cache
def module() -> Module:
    return load_module(MODULE)


def tf_value(value: Any) -> Any:
    """A module value in the shared symbols."""
    if isinstance(value, list):
        return [v for v in (tf_value(item) for item in value) if v is not None]
    if isinstance(value, dict):
        return {k: v for k, v in ((k, tf_value(v)) for k, v in value.items()) if v is not None}
    if not isinstance(value, str):
        return value
    whole = re.fullmatch(r"\$\{([^{}]*)\}", value)
    if whole:
        return _tf_expression(whole.group(1).strip())
    return re.sub(r"\$\{([^{}]*)\}", lambda m: str(_tf_expression(m.group(1).strip())), value)


def _tf_expression(expr: str) -> Any:
    if expr == "null":
        return None
    ternary = re.fullmatch(r"(\S+) \? (.+) : null", expr)
    if ternary:
        return _tf_expression(ternary.group(2))
    call = re.fullmatch(r"jsonencode\((.*)\)", expr)
    if call:
        return _tf_expression(call.group(1))
    if expr.startswith("var."):
        return "{" + expr + "}"
    if expr.startswith("local."):
        name = expr.removeprefix("local.")
        if name in module().locals:
            return tf_value(module().locals[name])
    return _lookup(TF_REFERENCES, expr)


def tf_statements(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [
        statement(
            sid=s.get("sid"),
            effect=s.get("effect", "Allow"),
            actions=tf_value(s["actions"]),
            resources=tf_value(s.get("resources", [])),
            principals={p["type"]: tf_value(p["identifiers"]) for p in s.get("principals", [])},
            conditions={
                (c["test"], c["variable"]): tf_value(c["values"]) for c in s.get("condition", [])
            },
        )
        for s in document.get("statement", [])
    ]


def tf_count(address: str) -> str | None:
    """The condition a resource is counted on (``cond ? 1 : 0``), or None if always there."""
    count = module().resources[address].get("count")
    if count is None:
        return None
    match = re.fullmatch(r"\$\{(\S+) \? 1 : 0\}", count)
    if not match:
        raise Unknown(f"count of {address}: {count!r}")
    return match.group(1)


# ---------------------------------------------------------------------------- shared


def _lookup(table: Mapping[Any, Any], key: Any) -> Any:
    if key not in table:
        raise Unknown(f"no shared symbol for {key!r}")
    return table[key]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


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
        "resources": sorted(set(_as_list(resources))),
        "principals": {kind: sorted(ids) for kind, ids in principals.items()},
        "conditions": {key: sorted(values) for key, values in conditions.items()},
    }
