"""CloudFormation resources that moto's stacks skip or only half create, made through moto's
own backends as the service's API would make them, so that a deployed stack reads back.

moto creates an ``AWS::S3::Bucket`` with its encryption and tags only, and skips
``AWS::S3::BucketPolicy``, ``AWS::Glue::Database``, ``AWS::Glue::Table``,
``AWS::Athena::WorkGroup``, ``AWS::Athena::NamedQuery`` and ``AWS::CloudWatch::Alarm`` (a
``Ref`` to a skipped resource fails the stack). Its YAML reading also turns ``!Condition X``
into ``Fn::Condition``, which its conditions never match: every condition made of others
(``!Or [!Condition A, !Condition B]``) is false. ``install()`` reads ``!Condition`` as
CloudFormation does and teaches it the bucket's versioning, Object Lock, public access
block, ownership controls and lifecycle, and those six resource types. Deleting a stack
leaves these resources in place (moto resets between tests).
"""

from __future__ import annotations

import json
from typing import Any

_INSTALLED = False


def _properties(cloudformation_json: dict[str, Any]) -> Any:
    """A resource's properties, their functions already applied by moto."""
    return cloudformation_json.get("Properties", {})


def _bucket_settings(bucket: Any, properties: Any, account: str, region: str) -> None:
    """What moto's bucket leaves out, applied as the S3 API calls would apply it."""
    from moto.s3.models import s3_backends
    from moto.utilities.utils import get_partition

    backend = s3_backends[account][get_partition(region)]
    name = bucket.name
    versioning = properties.get("VersioningConfiguration")
    if versioning:
        backend.put_bucket_versioning(name, versioning["Status"])
    if str(properties.get("ObjectLockEnabled", "")).lower() == "true":
        retention = properties.get("ObjectLockConfiguration", {}).get("Rule", {})
        default = retention.get("DefaultRetention", {})
        backend.put_object_lock_configuration(
            name,
            lock_enabled=True,
            mode=default.get("Mode"),
            # moto adds both to the retention date: the one not given is 0, not None.
            days=int(default.get("Days", 0)),
            years=int(default.get("Years", 0)),
        )
    block = properties.get("PublicAccessBlockConfiguration")
    if block:
        backend.put_public_access_block(
            name, {k: str(v).lower() == "true" for k, v in block.items()}
        )
    ownership = properties.get("OwnershipControls")
    if ownership:
        backend.put_bucket_ownership_controls(name, ownership["Rules"][0]["ObjectOwnership"])
    lifecycle = properties.get("LifecycleConfiguration")
    if lifecycle:
        backend.put_bucket_lifecycle(name, [_lifecycle_rule(r) for r in lifecycle["Rules"]])


def _lifecycle_rule(rule: Any) -> dict[str, Any]:
    """A template's lifecycle rule in the shape of PutBucketLifecycleConfiguration's XML."""
    api: dict[str, Any] = {"ID": rule.get("Id"), "Status": rule["Status"]}
    api["Filter"] = {"Prefix": rule.get("Prefix", "")}
    transitions = rule.get("Transitions", [])
    if transitions:
        api["Transition"] = [
            {"Days": str(t["TransitionInDays"]), "StorageClass": t["StorageClass"]}
            for t in transitions
        ]
    abort = rule.get("AbortIncompleteMultipartUpload")
    if abort:
        api["AbortIncompleteMultipartUpload"] = {
            "DaysAfterInitiation": str(abort["DaysAfterInitiation"])
        }
    return api


def _patch_bucket() -> None:
    from moto.s3.models import FakeBucket

    create = FakeBucket.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create_with_settings(
        cls: type[Any],
        /,
        resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
        **kwargs: Any,
    ) -> Any:
        bucket = create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        _bucket_settings(bucket, _properties(cloudformation_json), account_id, region_name)
        return bucket

    FakeBucket.create_from_cloudformation_json = classmethod(create_with_settings)  # type: ignore[method-assign, assignment]


def _models() -> list[type[Any]]:
    from moto.athena.models import athena_backends
    from moto.cloudwatch.models import (
        Dimension,
        Metric,
        MetricDataQuery,
        MetricStat,
        cloudwatch_backends,
    )
    from moto.core.common_models import CloudFormationModel
    from moto.glue.models import glue_backends
    from moto.s3.models import s3_backends
    from moto.utilities.utils import get_partition

    class Created:
        """A resource known by its physical id (what ``Ref`` gives). Each model below is a
        direct subclass of CloudFormationModel too: moto lists only those."""

        def __init__(self, physical_id: str, attributes: dict[str, str] | None = None) -> None:
            self._physical_id = physical_id
            self._attributes = attributes or {}

        @property
        def physical_resource_id(self) -> str:
            return self._physical_id

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return True

        def get_cfn_attribute(self, attribute_name: str) -> str:
            return self._attributes[attribute_name]

        @staticmethod
        def cloudformation_name_type() -> str:
            return ""

        @classmethod
        def update_from_cloudformation_json(cls, *args: Any, **kwargs: Any) -> Any:
            raise NotImplementedError("stack updates of this resource are not emulated")

        @classmethod
        def delete_from_cloudformation_json(cls, *args: Any, **kwargs: Any) -> None:
            return None

    class BucketPolicy(Created, CloudFormationModel):
        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::S3::BucketPolicy"

        @classmethod
        def create_from_cloudformation_json(
            cls,
            resource_name: str,
            cloudformation_json: Any,
            account_id: str,
            region_name: str,
            **kwargs: Any,
        ) -> BucketPolicy:
            properties = _properties(cloudformation_json)
            backend = s3_backends[account_id][get_partition(region_name)]
            policy = json.dumps(properties["PolicyDocument"]).encode()
            backend.put_bucket_policy(properties["Bucket"], policy)
            return cls(properties["Bucket"])

    class GlueDatabase(Created, CloudFormationModel):
        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::Glue::Database"

        @classmethod
        def create_from_cloudformation_json(
            cls,
            resource_name: str,
            cloudformation_json: Any,
            account_id: str,
            region_name: str,
            **kwargs: Any,
        ) -> GlueDatabase:
            database_input = dict(_properties(cloudformation_json)["DatabaseInput"])
            name = database_input["Name"]
            glue_backends[account_id][region_name].create_database(name, database_input)
            return cls(name)

    class GlueTable(Created, CloudFormationModel):
        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::Glue::Table"

        @classmethod
        def create_from_cloudformation_json(
            cls,
            resource_name: str,
            cloudformation_json: Any,
            account_id: str,
            region_name: str,
            **kwargs: Any,
        ) -> GlueTable:
            properties = _properties(cloudformation_json)
            table_input = dict(properties["TableInput"])
            backend = glue_backends[account_id][region_name]
            backend.create_table(properties["DatabaseName"], table_input["Name"], table_input)
            return cls(table_input["Name"])

    class AthenaWorkGroup(Created, CloudFormationModel):
        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::Athena::WorkGroup"

        @classmethod
        def create_from_cloudformation_json(
            cls,
            resource_name: str,
            cloudformation_json: Any,
            account_id: str,
            region_name: str,
            **kwargs: Any,
        ) -> AthenaWorkGroup:
            properties = _properties(cloudformation_json)
            athena_backends[account_id][region_name].create_work_group(
                name=properties["Name"],
                configuration=properties.get("WorkGroupConfiguration", {}),
                description=properties.get("Description", ""),
                tags=properties.get("Tags", []),
            )
            return cls(properties["Name"])

    class AthenaNamedQuery(Created, CloudFormationModel):
        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::Athena::NamedQuery"

        @classmethod
        def create_from_cloudformation_json(
            cls,
            resource_name: str,
            cloudformation_json: Any,
            account_id: str,
            region_name: str,
            **kwargs: Any,
        ) -> AthenaNamedQuery:
            properties = _properties(cloudformation_json)
            query_id = athena_backends[account_id][region_name].create_named_query(
                name=properties["Name"],
                description=properties.get("Description", ""),
                database=properties["Database"],
                query_string=properties["QueryString"],
                workgroup=properties.get("WorkGroup", "primary"),
            )
            return cls(query_id)

    class MetricAlarm(Created, CloudFormationModel):
        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::CloudWatch::Alarm"

        @classmethod
        def create_from_cloudformation_json(
            cls,
            resource_name: str,
            cloudformation_json: Any,
            account_id: str,
            region_name: str,
            **kwargs: Any,
        ) -> MetricAlarm:
            properties = _properties(cloudformation_json)
            name = properties.get("AlarmName", resource_name)
            # moto leaves an AWS::NoValue item in a list as None.
            queries = [_metric_query(q) for q in properties.get("Metrics", []) if q is not None]
            alarm = cloudwatch_backends[account_id][region_name].put_metric_alarm(
                name=name,
                namespace=properties.get("Namespace"),
                metric_name=properties.get("MetricName"),
                metric_data_queries=queries or None,
                comparison_operator=properties["ComparisonOperator"],
                evaluation_periods=int(properties["EvaluationPeriods"]),
                period=properties.get("Period"),
                threshold=float(properties["Threshold"]),
                statistic=properties.get("Statistic"),
                description=properties.get("AlarmDescription", ""),
                dimensions=[
                    {"Name": d["Name"], "Value": d["Value"]}
                    for d in properties.get("Dimensions", [])
                ],
                alarm_actions=properties.get("AlarmActions", []),
                ok_actions=properties.get("OKActions", []),
                treat_missing_data=properties.get("TreatMissingData"),
            )
            return cls(name, {"Arn": alarm.alarm_arn})

    def _metric_query(query: Any) -> Any:
        stat = query.get("MetricStat")
        metric_stat = None
        if stat:
            metric = stat["Metric"]
            metric_stat = MetricStat(
                metric=Metric(
                    metric_name=metric["MetricName"],
                    namespace=metric["Namespace"],
                    dimensions=[
                        Dimension(name=d["Name"], value=d["Value"])
                        for d in metric.get("Dimensions", [])
                    ],
                ),
                period=str(stat["Period"]),
                stat=stat["Stat"],
                unit=stat.get("Unit"),
            )
        return MetricDataQuery(
            query_id=query["Id"],
            label=query.get("Label"),
            period=query.get("Period"),
            return_data=str(query.get("ReturnData", True)).lower(),
            expression=query.get("Expression"),
            metric_stat=metric_stat,
        )

    return [BucketPolicy, GlueDatabase, GlueTable, AthenaWorkGroup, AthenaNamedQuery, MetricAlarm]


def _patch_condition_tag() -> None:
    from moto.cloudformation import models, responses, utils

    moto_tag = utils.yaml_tag_constructor

    def tag(loader: Any, suffix: Any, node: Any) -> Any:
        if suffix == "!Condition":
            return {"Condition": node.value}
        return moto_tag(loader, suffix, node)

    # Both modules register their imported name with yaml each time they read a template.
    models.yaml_tag_constructor = tag  # type: ignore[attr-defined, assignment]
    responses.yaml_tag_constructor = tag  # type: ignore[attr-defined, assignment]


def install() -> None:
    """Teach moto's CloudFormation the above (once per process)."""
    global _INSTALLED
    if _INSTALLED:
        return
    try:
        from moto.cloudformation import parsing
    except ImportError:  # the demo's install (moto without its CloudFormation extras)
        return

    _patch_condition_tag()
    _patch_bucket()
    _models()
    # moto lists the models once, from CloudFormationModel's subclasses: list them again.
    parsing.get_model_list.cache_clear()
    parsing.get_model_map.cache_clear()
    parsing.get_name_type_map.cache_clear()
    _INSTALLED = True
