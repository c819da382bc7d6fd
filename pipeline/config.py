"""Settings, read once from the environment and validated with every problem listed."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipeline import limits
from pipeline.errors import ConfigError
from pipeline.vulnerabilities import parse_watch_list

DEFAULT_LOG_GROUP_PREFIX = "/aws/ecr/image-scan-findings/"
DEFAULT_ARCHIVE_PREFIX = "ecr-findings/"
# S3 bucket names (S3 user guide, "Bucket naming rules"); the longest prefix that leaves room
# for every archive key inside S3's 1,024 bytes.
_BUCKET_NAME = r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"
ARCHIVE_PREFIX_MAX = 128
NotifySeverity = Literal["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED"]
# arn:<partition>:sns:<region>:<account>:<name>; a standard topic (FIFO topics deliver to
# neither email nor chat).
_TOPIC_ARN = r"arn:aws[a-z-]*:sns:[a-z]{2}(-[a-z]+)+-\d+:\d{12}:[A-Za-z0-9_-]{1,256}"


class Settings(BaseModel):
    """Every knob of the consumer. Field aliases are the environment variable names."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    log_group_prefix: str = Field(DEFAULT_LOG_GROUP_PREFIX, alias="FINDINGS_LOG_GROUP_PREFIX")
    dead_letter_queue_url: str | None = Field(None, alias="DEAD_LETTER_QUEUE_URL")
    # The source queue's redrive maxReceiveCount: the last attempt forwards to the DLQ itself
    # so that the dead message carries its reason.
    max_receive_count: int = Field(5, ge=1, le=1000, alias="MAX_RECEIVE_COUNT")
    log_retention_days: int | None = Field(None, alias="LOG_RETENTION_DAYS")
    log_kms_key_arn: str | None = Field(None, alias="LOG_KMS_KEY_ARN")
    # Org-wide: read each registry through a role in the account that owns it, e.g.
    # "arn:aws:iam::{account}:role/ecr-findings-reader" ({account} = the event's account).
    ecr_read_role_arn: str | None = Field(None, alias="ECR_READ_ROLE_ARN")

    # Bounded fan-out: images processed at once, and PutLogEvents calls in flight.
    max_concurrent_images: int = Field(16, ge=1, le=1000, alias="MAX_CONCURRENT_IMAGES")
    max_concurrent_puts: int = Field(32, ge=1, le=1000, alias="MAX_CONCURRENT_PUTS")
    # Client-side rate limits (calls per second for this one consumer). The defaults keep two
    # concurrent consumers (the event source mapping's default MaximumConcurrency) under the
    # default account quotas.
    ecr_findings_rate: float = Field(20.0, gt=0, alias="ECR_FINDINGS_RATE")
    put_log_events_rate: float = Field(
        limits.QUOTA_PUT_LOG_EVENTS_TPS / 4, gt=0, alias="PUT_LOG_EVENTS_RATE"
    )
    create_log_stream_rate: float = Field(
        limits.QUOTA_CREATE_LOG_STREAM_TPS / 2, gt=0, alias="CREATE_LOG_STREAM_RATE"
    )
    create_log_group_rate: float = Field(
        limits.QUOTA_CREATE_LOG_GROUP_TPS / 2, gt=0, alias="CREATE_LOG_GROUP_RATE"
    )
    get_log_events_rate: float = Field(
        limits.QUOTA_GET_LOG_EVENTS_TPS / 2, gt=0, alias="GET_LOG_EVENTS_RATE"
    )
    findings_page_size: int = Field(
        limits.ECR_FINDINGS_MAX_RESULTS,
        ge=1,
        le=limits.ECR_FINDINGS_MAX_RESULTS,
        alias="FINDINGS_PAGE_SIZE",
    )
    # botocore's own retry settings, same names and meaning as the AWS SDKs'.
    retry_mode: Literal["standard", "adaptive", "legacy"] = Field(
        "standard", alias="AWS_RETRY_MODE"
    )
    max_attempts: int = Field(5, ge=1, le=20, alias="AWS_MAX_ATTEMPTS")
    # The function's timeout: a claim on an image older than this is its dead owner's, and
    # another consumer takes the image over (Lambda's longest timeout by default).
    claim_timeout_seconds: int = Field(900, ge=1, le=43_200, alias="CLAIM_TIMEOUT_SECONDS")
    # Stop starting work this long before the Lambda deadline; what is unfinished is retried.
    deadline_margin_ms: int = Field(10_000, ge=0, alias="DEADLINE_MARGIN_MS")
    emit_metrics: bool = Field(True, alias="EMIT_METRICS")
    metrics_namespace: str = Field("ECRFindingsLogger", min_length=1, alias="METRICS_NAMESPACE")
    # The S3 archive (off without a bucket): every logged image scan, and finding events, as
    # gzip JSON lines under the prefix; encrypted with this KMS key, or the bucket's default.
    archive_bucket: str | None = Field(None, alias="ARCHIVE_BUCKET")
    archive_prefix: str = Field(DEFAULT_ARCHIVE_PREFIX, alias="ARCHIVE_PREFIX")
    archive_kms_key_arn: str | None = Field(None, alias="ARCHIVE_KMS_KEY_ARN")
    # Ids counted as WatchedFindings (and notified whatever their severity), normalised.
    watched_vulnerabilities: tuple[str, ...] = Field((), alias="WATCHED_VULNERABILITIES")
    # Notifications: off without a topic; at most so many messages per invocation.
    notify_topic_arn: str | None = Field(None, alias="NOTIFY_TOPIC_ARN")
    notify_min_severity: NotifySeverity = Field("CRITICAL", alias="NOTIFY_MIN_SEVERITY")
    notify_max_messages: int = Field(20, ge=0, le=10_000, alias="NOTIFY_MAX_MESSAGES")

    @field_validator("log_group_prefix")
    @classmethod
    def _prefix_is_a_group_name(cls, value: str) -> str:
        import re

        if value and not re.fullmatch(limits.LOG_GROUP_NAME_PATTERN, value):
            raise ValueError("may hold only letters, digits and . - _ / #")
        # ECR repository names run to 256 characters; every one must still fit.
        if len(value) > limits.LOG_GROUP_NAME_MAX - 256:
            raise ValueError("is too long to leave room for a repository name")
        return value

    @field_validator("log_retention_days")
    @classmethod
    def _retention_is_accepted(cls, value: int | None) -> int | None:
        if value is not None and value not in limits.VALID_RETENTION_DAYS:
            allowed = ", ".join(str(v) for v in sorted(limits.VALID_RETENTION_DAYS))
            raise ValueError(f"must be one of CloudWatch Logs' values: {allowed}")
        return value

    @field_validator("ecr_read_role_arn")
    @classmethod
    def _role_template(cls, value: str | None) -> str | None:
        if value is not None and not (value.startswith("arn:") and "{account}" in value):
            raise ValueError("must be a role ARN with an {account} placeholder")
        return value

    @field_validator("watched_vulnerabilities", mode="before")
    @classmethod
    def _watch_list(cls, value: object) -> object:
        return parse_watch_list(value) if isinstance(value, str) else value

    @field_validator("notify_topic_arn")
    @classmethod
    def _topic_arn(cls, value: str | None) -> str | None:
        import re

        if value is not None and value.endswith(".fifo"):
            raise ValueError("must be a standard topic (FIFO topics deliver to no email or chat)")
        if value is not None and not re.fullmatch(_TOPIC_ARN, value):
            raise ValueError("must be an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)")
        return value

    @field_validator("notify_min_severity", mode="before")
    @classmethod
    def _severity_upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator(
        "dead_letter_queue_url",
        "log_kms_key_arn",
        "ecr_read_role_arn",
        "notify_topic_arn",
        mode="before",
    )
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("log_retention_days", mode="before")
    @classmethod
    def _blank_retention_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("archive_bucket", "archive_kms_key_arn", mode="before")
    @classmethod
    def _blank_archive_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("archive_bucket")
    @classmethod
    def _bucket_name(cls, value: str | None) -> str | None:
        import re

        if value is not None and not re.fullmatch(_BUCKET_NAME, value):
            raise ValueError("must be an S3 bucket name (3-63 lower-case letters, digits, . -)")
        return value

    @field_validator("archive_prefix")
    @classmethod
    def _archive_prefix(cls, value: str) -> str:
        # Athena cannot read a location with an empty level ("//"), and a prefix that does
        # not end a level would glue itself to "kind=".
        if value and (not value.endswith("/") or value.startswith("/") or "//" in value):
            raise ValueError("must be blank or end with '/' (not start with it, no '//')")
        if len(value.encode()) > ARCHIVE_PREFIX_MAX:
            raise ValueError(f"is longer than {ARCHIVE_PREFIX_MAX} bytes")
        return value


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read settings from the environment; raise ConfigError naming every bad variable."""
    env = os.environ if environ is None else environ
    aliases = {f.alias for f in Settings.model_fields.values() if f.alias}
    try:
        return Settings.model_validate({k: v for k, v in env.items() if k in aliases})
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = ".".join(str(p) for p in err["loc"]) or "settings"
            problems.append(f"{name}={env.get(name, '')!r}: {err['msg']}")
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from None
