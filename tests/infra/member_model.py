"""The member-account template and module read into comparable values (see ``iac_model``).

The same reading as for the central stack, with this pair's own symbols: a parameter or variable
becomes ``{var.<name>}``, a resource attribute ``{rule.arn}``-like names, the account id
``{account_id}`` (``{account}`` is the literal placeholder of the role ARN template), and a
conditional value (``Fn::If`` with ``AWS::NoValue``, ``cond ? x : null``) the value itself;
which resources and outputs are conditional, and on what, is compared separately.
Anything not understood raises ``Unknown``.
"""

from __future__ import annotations

import re

from iac_model import ROOT, IacPair, Unknown, only_present

TEMPLATE = ROOT / "infra" / "cloudformation" / "member-account.yaml"
MODULE = ROOT / "infra" / "terraform" / "modules" / "member-account"

# CloudFormation parameter -> Terraform variable.
PARAMETERS = {
    "ForwardEvents": "forward_events",
    "Name": "name",
    "CentralEventBusArn": "central_event_bus_arn",
    "CreateDeadLetterQueue": "create_dead_letter_queue",
    "AlarmTopicArn": "alarm_topic_arn",
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
    "DeadLetterQueueNotEmptyAlarm": ["aws_cloudwatch_metric_alarm.dead_letter_queue_not_empty"],
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
    ("DeadLetterQueue", "QueueName"): "{dlq.name}",
    ("DeadLetterQueueNotEmptyAlarm", "Ref"): "{dlq_alarm.name}",
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
    "aws_sqs_queue.dlq[0].name": "{dlq.name}",
    "aws_cloudwatch_metric_alarm.dead_letter_queue_not_empty[0].alarm_name": "{dlq_alarm.name}",
    "aws_iam_role.reader[0].arn": "{reader_role.arn}",
    "aws_iam_role.reader[0].id": "{reader_role.name}",
}

MEMBER = IacPair(
    template_path=TEMPLATE,
    module_path=MODULE,
    parameters=PARAMETERS,
    pseudo=PSEUDO,
    cfn_attributes=CFN_ATTRIBUTES,
    tf_references=TF_REFERENCES,
    # Here every conditional value is absent on one branch: whole resources come and go by
    # condition, and that is compared on its own (``CONDITIONS``, ``tf_count``).
    conditional=only_present,
)
template = MEMBER.template
module = MEMBER.module
cfn_resource = MEMBER.cfn_resource
cfn_value = MEMBER.cfn_value
cfn_statements = MEMBER.cfn_statements
tf_value = MEMBER.tf_value
tf_statements = MEMBER.tf_statements
tf_resource = MEMBER.tf_resource
assert_same = MEMBER.assert_same


def tf_count(address: str) -> str | None:
    """The condition a resource is counted on (``cond ? 1 : 0``), or None if always there."""
    count = tf_resource(address).get("count")
    if count is None:
        return None
    match = re.fullmatch(r"\$\{(\S+) \? 1 : 0\}", count)
    if not match:
        raise Unknown(f"count of {address}: {count!r}")
    return match.group(1)
