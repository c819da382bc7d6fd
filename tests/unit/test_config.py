"""Settings from the environment: defaults, every variable, and one message for all problems."""

from __future__ import annotations

import pytest

from pipeline.config import DEFAULT_LOG_GROUP_PREFIX, load_settings
from pipeline.errors import ConfigError

RETENTION_VALUES = (
    "1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, "
    "2922, 3288, 3653"
)


def test_defaults() -> None:
    s = load_settings({})
    assert s.log_group_prefix == DEFAULT_LOG_GROUP_PREFIX == "/aws/ecr/image-scan-findings/"
    assert s.dead_letter_queue_url is None
    assert s.max_receive_count == 5
    assert s.log_retention_days is None
    assert s.log_kms_key_arn is None
    assert (s.max_concurrent_images, s.max_concurrent_puts) == (16, 32)
    assert s.ecr_findings_rate == 20.0
    # Half or a quarter of the default account quotas: two consumers stay under them.
    assert s.put_log_events_rate == 1_250.0
    assert s.create_log_stream_rate == 25.0
    assert s.create_log_group_rate == 5.0
    assert s.get_log_events_rate == 12.5
    assert s.findings_page_size == 1_000
    assert (s.retry_mode, s.max_attempts) == ("standard", 5)
    assert s.deadline_margin_ms == 10_000
    assert s.claim_timeout_seconds == 900  # Lambda's longest timeout
    assert s.emit_metrics is True
    assert s.metrics_namespace == "ECRFindingsLogger"


def test_every_variable_is_read() -> None:
    env = {
        "FINDINGS_LOG_GROUP_PREFIX": "/org/scans/",
        "DEAD_LETTER_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/findings-dlq",
        "MAX_RECEIVE_COUNT": "3",
        "LOG_RETENTION_DAYS": "90",
        "LOG_KMS_KEY_ARN": "arn:aws:kms:us-east-1:123456789012:key/abcd",
        "ECR_READ_ROLE_ARN": "arn:aws:iam::{account}:role/reader",
        "MAX_CONCURRENT_IMAGES": "4",
        "MAX_CONCURRENT_PUTS": "8",
        "ECR_FINDINGS_RATE": "2.5",
        "PUT_LOG_EVENTS_RATE": "100",
        "CREATE_LOG_STREAM_RATE": "10",
        "CREATE_LOG_GROUP_RATE": "1",
        "GET_LOG_EVENTS_RATE": "3",
        "FINDINGS_PAGE_SIZE": "250",
        "AWS_RETRY_MODE": "adaptive",
        "AWS_MAX_ATTEMPTS": "10",
        "DEADLINE_MARGIN_MS": "0",
        "CLAIM_TIMEOUT_SECONDS": "300",
        "EMIT_METRICS": "false",
        "METRICS_NAMESPACE": "Scans",
        "ARCHIVE_BUCKET": "org-scan-archive",
        "ARCHIVE_PREFIX": "scans/",
        "ARCHIVE_KMS_KEY_ARN": "arn:aws:kms:us-east-1:123456789012:key/efgh",
        "WATCHED_VULNERABILITIES": "cve-2021-44228,GHSA-jfh8-c2jp-5v3q",
        "NOTIFY_TOPIC_ARN": "arn:aws:sns:eu-west-1:123456789012:findings",
        "NOTIFY_MIN_SEVERITY": "high",
        "NOTIFY_MAX_MESSAGES": "5",
        "UNRELATED_VARIABLE": "ignored",
    }
    assert load_settings(env).model_dump() == {
        "log_group_prefix": "/org/scans/",
        "dead_letter_queue_url": "https://sqs.us-east-1.amazonaws.com/123456789012/findings-dlq",
        "max_receive_count": 3,
        "log_retention_days": 90,
        "log_kms_key_arn": "arn:aws:kms:us-east-1:123456789012:key/abcd",
        "ecr_read_role_arn": "arn:aws:iam::{account}:role/reader",
        "max_concurrent_images": 4,
        "max_concurrent_puts": 8,
        "ecr_findings_rate": 2.5,
        "put_log_events_rate": 100.0,
        "create_log_stream_rate": 10.0,
        "create_log_group_rate": 1.0,
        "get_log_events_rate": 3.0,
        "findings_page_size": 250,
        "retry_mode": "adaptive",
        "max_attempts": 10,
        "claim_timeout_seconds": 300,
        "deadline_margin_ms": 0,
        "emit_metrics": False,
        "metrics_namespace": "Scans",
        "archive_bucket": "org-scan-archive",
        "archive_prefix": "scans/",
        "archive_kms_key_arn": "arn:aws:kms:us-east-1:123456789012:key/efgh",
        "watched_vulnerabilities": ("CVE-2021-44228", "GHSA-jfh8-c2jp-5v3q"),
        "notify_topic_arn": "arn:aws:sns:eu-west-1:123456789012:findings",
        "notify_min_severity": "HIGH",
        "notify_max_messages": 5,
    }


def test_the_process_environment_is_the_default_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_RECEIVE_COUNT", "7")
    assert load_settings().max_receive_count == 7


def test_blank_optional_values_mean_unset() -> None:
    s = load_settings(
        {"DEAD_LETTER_QUEUE_URL": "", "LOG_KMS_KEY_ARN": "", "LOG_RETENTION_DAYS": ""}
    )
    assert (s.dead_letter_queue_url, s.log_kms_key_arn, s.log_retention_days) == (None, None, None)


def test_every_bad_variable_is_named_in_one_message() -> None:
    env = {
        "LOG_RETENTION_DAYS": "8",
        "MAX_RECEIVE_COUNT": "0",
        "FINDINGS_LOG_GROUP_PREFIX": "bad prefix/",
        "MAX_CONCURRENT_PUTS": "16",  # valid: not mentioned
    }
    with pytest.raises(ConfigError) as caught:
        load_settings(env)
    assert str(caught.value) == (
        "invalid configuration: "
        "FINDINGS_LOG_GROUP_PREFIX='bad prefix/': "
        "Value error, may hold only letters, digits and . - _ / #; "
        "MAX_RECEIVE_COUNT='0': Input should be greater than or equal to 1; "
        f"LOG_RETENTION_DAYS='8': Value error, must be one of CloudWatch Logs' values: "
        f"{RETENTION_VALUES}"
    )
    assert isinstance(caught.value, ValueError)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("EMIT_METRICS", "maybe", "Input should be a valid boolean, unable to interpret input"),
        ("AWS_RETRY_MODE", "fast", "Input should be 'standard', 'adaptive' or 'legacy'"),
        ("ECR_FINDINGS_RATE", "0", "Input should be greater than 0"),
        ("PUT_LOG_EVENTS_RATE", "-1", "Input should be greater than 0"),
        ("FINDINGS_PAGE_SIZE", "1001", "Input should be less than or equal to 1000"),
        ("MAX_CONCURRENT_IMAGES", "0", "Input should be greater than or equal to 1"),
        ("AWS_MAX_ATTEMPTS", "21", "Input should be less than or equal to 20"),
        ("DEADLINE_MARGIN_MS", "-1", "Input should be greater than or equal to 0"),
        ("METRICS_NAMESPACE", "", "String should have at least 1 character"),
        (
            "LOG_RETENTION_DAYS",
            "abc",
            "Input should be a valid integer, unable to parse string as an integer",
        ),
        (
            "ECR_READ_ROLE_ARN",
            "arn:aws:iam::123456789012:role/reader",
            "Value error, must be a role ARN with an {account} placeholder",
        ),
        (
            "FINDINGS_LOG_GROUP_PREFIX",
            "/" * 257,
            "Value error, is too long to leave room for a repository name",
        ),
    ],
)
def test_one_bad_variable(name: str, value: str, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({name: value})
    assert str(caught.value) == f"invalid configuration: {name}={value!r}: {reason}"


@pytest.mark.parametrize("days", ["1", "14", "3653"])
def test_accepted_retention_values(days: str) -> None:
    assert load_settings({"LOG_RETENTION_DAYS": days}).log_retention_days == int(days)


def test_settings_are_frozen() -> None:
    s = load_settings({})
    with pytest.raises(ValueError, match="frozen"):
        s.max_receive_count = 9
