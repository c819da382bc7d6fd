"""For any choice of the optional features, both flavours refuse the same inputs and deploy the
same thing: the same resources, the same role statements, function environment and outputs,
and the same settings of the topic, bucket, Glue table, Athena resources and alarms.

``test_iac_parity`` compares what each value can be; here hypothesis picks the inputs and
each flavour is evaluated the way CloudFormation and Terraform would (``iac_eval``), so a
branch that would fail to deploy (an attribute of a resource that is not created, a null in
a string) fails the test too.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from iac_eval import CfnStack, TfModule, terraform_value
from iac_model import PARAMETERS, RESOURCES, module, statement, template
from test_iac_parity import _snake

KEY = "arn:aws:kms:us-east-1:111122223333:key/{}"
TOPIC = "arn:aws:sns:us-east-1:111122223333:{}"
SEVERITIES = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED"]

# Each CloudFormation rule and the Terraform precondition that says the same.
RULES = {
    "OneKmsKeyChoice": "Set create_kms_key = true or kms_key_arn, not both.",
    "OneAlarmTopicChoice": "Set create_alarm_topic = true or alarm_topic_arn, not both.",
    "OneNotifyTopicChoice": "Set create_notify_topic = true or notify_topic_arn, not both.",
    "NotifyKeyNeedsATopic": "notify_topic_kms_key_arn needs",
    "ArchiveSettingsNeedAnArchive": "archive_kms_key_arn and archive_query_results_location need",
    "ObjectLockNeedsANewBucket": "archive_object_lock_mode applies",
    "SseS3TakesNoKey": 'archive_encryption = "SSE-S3" takes no',
}


def choice(*values: str) -> st.SearchStrategy[str]:
    return st.sampled_from(values)


FLAGS = choice("true", "false")
INPUTS = st.fixed_dictionaries(
    {
        "CodeS3Bucket": st.just("artifacts"),
        "CodeS3Key": st.just("ecr-findings-logger/arm64.zip"),
        "CodeS3ObjectVersion": choice("", "v1"),
        "FindingsLogRetentionDays": choice("365", "0"),
        "FunctionTimeout": choice("300", "900"),
        "MaximumConcurrency": st.sampled_from(["2", "3", "4", "5", "10", "20", "50"]),
        "CreateKmsKey": FLAGS,
        "KmsKeyArn": choice("", KEY.format("stack")),
        "CreateAlarmTopic": FLAGS,
        "AlarmTopicArn": choice("", TOPIC.format("alarms")),
        "EcrReadRoleArn": choice("", "arn:aws:iam::{account}:role/ecr-findings-reader"),
        "OrganizationId": choice("", "o-abcdefghij"),
        "FindingsAlarmSeverity": st.sampled_from(SEVERITIES),
        "WatchedVulnerabilities": choice(
            "", "CVE-2021-44228", "CVE-2021-44228, GHSA-jfh8-c2jp-5v3q"
        ),
        "CreateNotifyTopic": FLAGS,
        "NotifyTopicArn": choice("", TOPIC.format("findings")),
        "NotifyTopicKmsKeyArn": choice("", KEY.format("topic")),
        "NotifyMinSeverity": st.sampled_from(SEVERITIES),
        "NotifyMaxMessages": choice("20", "0"),
        "CreateArchiveBucket": FLAGS,
        "ArchiveBucketName": choice("", "team-findings-archive"),
        "ArchivePrefix": choice("ecr-findings/", "", "compliance/ecr/"),
        "ArchiveEncryption": choice("SSE-KMS", "SSE-S3"),
        "ArchiveKmsKeyArn": choice("", KEY.format("archive")),
        "ArchiveObjectLockMode": choice("", "GOVERNANCE", "COMPLIANCE"),
        "ArchiveObjectLockDays": choice("365", "2555"),
        "ArchiveTransitionStorageClass": choice("GLACIER_IR", "DEEP_ARCHIVE"),
        "ArchiveTableName": choice("archive", "findings"),
        "ArchiveQueryResultsLocation": choice("", "s3://athena-results/ecr-findings/"),
    }
)


def deploy(inputs: dict[str, str]) -> tuple[CfnStack, TfModule]:
    variables = {
        PARAMETERS[name]: terraform_value(name, value, template(), module())
        for name, value in inputs.items()
    }
    return CfnStack(template(), inputs), TfModule(module(), variables)


def cfn_statements_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted(
        (
            statement(
                sid=s.get("Sid"),
                effect=s.get("Effect", "Allow"),
                actions=s["Action"],
                resources=s.get("Resource", []),
                principals={},
                conditions={
                    (test, variable): values if isinstance(values, list) else [values]
                    for test, pairs in s.get("Condition", {}).items()
                    for variable, values in pairs.items()
                },
            )
            for s in document["Statement"]
        ),
        key=lambda s: str(s["sid"]),
    )


def tf_statements_of(tf: TfModule, address: str) -> list[dict[str, Any]]:
    body = tf.body(address)
    blocks = tf.value(body.get("statement", [])) + tf.dynamic(body, "statement")
    return sorted(
        (
            statement(
                sid=b.get("sid"),
                effect=b.get("effect", "Allow"),
                actions=b["actions"],
                resources=b.get("resources", []),
                principals={},
                conditions={
                    (c["test"], c["variable"]): c["values"] for c in b.get("condition", [])
                },
            )
            for b in blocks
        ),
        key=lambda s: str(s["sid"]),
    )


def tf_environment(tf: TfModule) -> dict[str, Any]:
    environment: dict[str, Any] = tf.local("environment")
    return environment


def cfn_alarm_metrics(cfn: CfnStack) -> list[dict[str, Any]]:
    return [_metric(m) for m in cfn.properties("NewFindingsAlarm")["Metrics"]]


def _metric(query: dict[str, Any]) -> dict[str, Any]:
    stat = query.get("MetricStat")
    return {
        "id": query["Id"],
        "label": query.get("Label"),
        "expression": query.get("Expression"),
        "return_data": query["ReturnData"],
        "metric": None
        if stat is None
        else {
            "namespace": stat["Metric"]["Namespace"],
            "metric_name": stat["Metric"]["MetricName"],
            "dimensions": {d["Name"]: d["Value"] for d in stat["Metric"]["Dimensions"]},
            "period": stat["Period"],
            "stat": stat["Stat"],
        },
    }


def tf_alarm_metrics(tf: TfModule) -> list[dict[str, Any]]:
    address = "aws_cloudwatch_metric_alarm.new_findings"
    body = tf.body(address)
    queries = tf.value(body["metric_query"]) + tf.dynamic(body, "metric_query")
    return [
        {
            "id": q["id"],
            "label": q.get("label"),
            "expression": q.get("expression"),
            "return_data": q["return_data"],
            "metric": None if "metric" not in q else q["metric"][0],
        }
        for q in queries
    ]


@settings(max_examples=250, deadline=None)
@given(INPUTS)
def test_both_flavours_refuse_the_same_inputs_and_deploy_the_same(inputs: dict[str, str]) -> None:
    cfn, tf = deploy(inputs)

    refused = {name for name, message in RULES.items() if _failed(tf, message)}
    assert set(cfn.failed_rules()) == refused, inputs
    assert len(tf.failed_preconditions()) == len(refused), tf.failed_preconditions()
    if refused:
        return

    created = cfn.created()
    for logical_id, addresses in RESOURCES.items():
        primary = addresses[0]
        assert (logical_id in created) == (tf.count(primary) > 0), logical_id
        for address in addresses[1:]:
            if address != "aws_s3_bucket_object_lock_configuration.archive":
                assert tf.count(address) == tf.count(primary), address

    (policy,) = cfn.properties("FunctionRole")["Policies"]
    assert cfn_statements_of(policy["PolicyDocument"]) == tf_statements_of(
        tf, "data.aws_iam_policy_document.function"
    )

    tf.every_local()

    variables = cfn.properties("Function")["Environment"]["Variables"]
    cfn_environment = {k: str(v) for k, v in variables.items()}
    assert _watch_list(cfn_environment) == _watch_list(tf_environment(tf))

    tf_outputs = {name: tf.value(o["value"]) for name, o in module().outputs.items()}
    cfn_outputs = {_snake(name): value for name, value in cfn.outputs().items()}
    assert cfn_outputs == {name: value for name, value in tf_outputs.items() if value is not None}

    assert cfn_alarm_metrics(cfn) == tf_alarm_metrics(tf)
    _same_topic(cfn, tf)
    _same_bucket(cfn, tf)
    _same_queries(cfn, tf)


def _watch_list(environment: dict[str, Any]) -> dict[str, Any]:
    """The environment with the watch list's ids without the blanks around them (the
    parameter may have them, the module's list has none; the function drops them)."""
    if "WATCHED_VULNERABILITIES" not in environment:
        return environment
    ids = environment["WATCHED_VULNERABILITIES"].split(",")
    return {**environment, "WATCHED_VULNERABILITIES": ",".join(i.strip() for i in ids)}


def _failed(tf: TfModule, message: str) -> bool:
    return any(message in failure for failure in tf.failed_preconditions())


def _same_topic(cfn: CfnStack, tf: TfModule) -> None:
    if "NotifyTopic" not in cfn.created():
        return
    topic = cfn.properties("NotifyTopic")
    tf_topic = tf.attributes("aws_sns_topic.notify", "name", "kms_master_key_id")
    assert (topic["TopicName"], topic["KmsMasterKeyId"]) == (
        tf_topic["name"],
        tf_topic["kms_master_key_id"],
    )


def _same_bucket(cfn: CfnStack, tf: TfModule) -> None:
    if "ArchiveBucket" not in cfn.created():
        return
    bucket = cfn.properties("ArchiveBucket")
    assert bucket.get("BucketName") == tf.attributes("aws_s3_bucket.archive", "bucket")["bucket"]
    lock = bucket.get("ObjectLockConfiguration")
    assert (lock is not None) == (tf.count("aws_s3_bucket_object_lock_configuration.archive") > 0)
    assert bool(bucket.get("ObjectLockEnabled")) == bool(
        tf.attributes("aws_s3_bucket.archive", "object_lock_enabled")["object_lock_enabled"]
    )
    if lock is not None:
        (rule,) = tf.attributes("aws_s3_bucket_object_lock_configuration.archive", "rule")["rule"]
        (retention,) = rule["default_retention"]
        assert lock["Rule"]["DefaultRetention"] == {
            "Mode": retention["mode"],
            "Days": str(retention["days"]),
        }

    (encryption,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    address = "aws_s3_bucket_server_side_encryption_configuration.archive"
    (tf_rule,) = tf.attributes(address, "rule")["rule"]
    (default,) = tf_rule["apply_server_side_encryption_by_default"]
    assert encryption["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": default["sse_algorithm"],
        **(
            {}
            if default["kms_master_key_id"] is None
            else {"KMSMasterKeyID": default["kms_master_key_id"]}
        ),
    }
    assert encryption.get("BucketKeyEnabled") == tf_rule["bucket_key_enabled"]

    lifecycle, _ = bucket["LifecycleConfiguration"]["Rules"]
    rules = tf.attributes("aws_s3_bucket_lifecycle_configuration.archive", "rule")["rule"]
    tf_lifecycle, _ = rules
    assert lifecycle.get("Prefix", "") == tf_lifecycle["filter"][0]["prefix"]
    ((transition),) = lifecycle["Transitions"]
    assert (transition["StorageClass"], str(transition["TransitionInDays"])) == (
        tf_lifecycle["transition"][0]["storage_class"],
        str(tf_lifecycle["transition"][0]["days"]),
    )


def _same_queries(cfn: CfnStack, tf: TfModule) -> None:
    if "ArchiveTable" not in cfn.created():
        return
    table = cfn.properties("ArchiveTable")["TableInput"]
    tf_table = tf.attributes("aws_glue_catalog_table.archive", "name", "parameters")
    assert (table["Name"], table["Parameters"]) == (tf_table["name"], tf_table["parameters"])
    (descriptor,) = tf.attributes("aws_glue_catalog_table.archive", "storage_descriptor")[
        "storage_descriptor"
    ]
    assert table["StorageDescriptor"]["Location"] == descriptor["location"]

    query = cfn.properties("ArchiveNamedQuery")
    tf_query = tf.attributes(
        "aws_athena_named_query.images_with_vulnerability", "query", "workgroup", "database"
    )
    assert query["QueryString"] == tf_query["query"]
    assert query["Database"] == tf_query["database"]
    assert query.get("WorkGroup") == tf_query["workgroup"]

    if "ArchiveWorkGroup" in cfn.created():
        group = cfn.properties("ArchiveWorkGroup")["WorkGroupConfiguration"]["ResultConfiguration"]
        (configuration,) = tf.attributes("aws_athena_workgroup.archive", "configuration")[
            "configuration"
        ]
        (results,) = configuration["result_configuration"]
        (encryption,) = results["encryption_configuration"]
        assert group["OutputLocation"] == results["output_location"]
        assert group["EncryptionConfiguration"] == {
            "EncryptionOption": encryption["encryption_option"],
            **({} if encryption["kms_key_arn"] is None else {"KmsKey": encryption["kms_key_arn"]}),
        }


def test_the_defaults_deploy_no_optional_feature() -> None:
    """Nothing of the notifications or the archive, and no watched-vulnerability alarm, unless
    asked for: no topic, bucket, table or query, no grant, no setting."""
    cfn, tf = deploy({"CodeS3Bucket": "artifacts", "CodeS3Key": "code.zip"})
    optional = {
        "NotifyTopic",
        "ArchiveBucket",
        "ArchiveBucketPolicy",
        "ArchiveDatabase",
        "ArchiveTable",
        "ArchiveWorkGroup",
        "ArchiveNamedQuery",
        "WatchedVulnerabilityAlarm",
    }
    assert not optional & cfn.created()
    assert not {a for logical_id in optional for a in RESOURCES[logical_id]} & tf.created()
    (policy,) = cfn.properties("FunctionRole")["Policies"]
    actions = {a for s in cfn_statements_of(policy["PolicyDocument"]) for a in s["actions"]}
    assert not {a for a in actions if a.startswith(("s3:", "sns:"))}
    assert actions == {
        a
        for s in tf_statements_of(tf, "data.aws_iam_policy_document.function")
        for a in s["actions"]
    }
    feature_settings = {"WATCHED_VULNERABILITIES", "NOTIFY_TOPIC_ARN", "ARCHIVE_BUCKET"}
    assert not feature_settings & set(cfn.properties("Function")["Environment"]["Variables"])
    assert not feature_settings & set(tf_environment(tf))
    # The new-findings alarm is always there, on CRITICAL alone by default.
    assert [m["id"] for m in cfn_alarm_metrics(cfn)] == ["new_findings", "critical"]
