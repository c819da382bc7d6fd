"""AWS limits that shape the code, each with where it comes from."""

from __future__ import annotations

# CloudWatch Logs PutLogEvents (API reference, "PutLogEvents"): the batch size is the sum of
# UTF-8 message bytes plus 26 bytes per event.
PUT_LOG_EVENTS_MAX_BYTES = 1_048_576
PUT_LOG_EVENTS_EVENT_OVERHEAD = 26
PUT_LOG_EVENTS_MAX_EVENTS = 10_000
# A batch may not span more than 24 hours.
PUT_LOG_EVENTS_MAX_SPAN_MS = 24 * 60 * 60 * 1000
# One event may be up to 1 MB (raised from 256 KB in 2025); with the 26-byte overhead the
# largest message that still fits a batch on its own is this many bytes.
MAX_MESSAGE_BYTES = PUT_LOG_EVENTS_MAX_BYTES - PUT_LOG_EVENTS_EVENT_OVERHEAD

# Timestamps CloudWatch rejects (reported in rejectedLogEventsInfo).
MAX_FUTURE_MS = 2 * 60 * 60 * 1000
MAX_AGE_MS = 14 * 24 * 60 * 60 * 1000

# Names (API reference, CreateLogGroup / CreateLogStream).
LOG_GROUP_NAME_MAX = 512
LOG_GROUP_NAME_PATTERN = r"[\.\-_/#A-Za-z0-9]+"
LOG_STREAM_NAME_MAX = 512
LOG_STREAM_FORBIDDEN = (":", "*")

# Default CloudWatch Logs quotas, per account and region (Service Quotas, "CloudWatch Logs").
QUOTA_PUT_LOG_EVENTS_TPS = 5_000
QUOTA_CREATE_LOG_STREAM_TPS = 50
QUOTA_CREATE_LOG_GROUP_TPS = 10
QUOTA_DESCRIBE_LOG_STREAMS_TPS = 25
QUOTA_PUT_RETENTION_POLICY_TPS = 5
# GetLogEvents: 25 TPS per account and region.
QUOTA_GET_LOG_EVENTS_TPS = 25

# SNS Publish (API reference, "Publish"): a message is at most 256 KiB of UTF-8, counting its
# message attributes; a subject is fewer than 100 characters without line breaks or control
# characters; at most 10 message attributes.
SNS_MAX_PUBLISH_BYTES = 262_144
SNS_SUBJECT_MAX_CHARS = 99
SNS_MAX_MESSAGE_ATTRIBUTES = 10

# ECR DescribeImageScanFindings (API reference): maxResults 1..1000. Enhanced (Inspector)
# findings come at most 100 a page whatever maxResults says.
ECR_FINDINGS_MAX_RESULTS = 1_000
ECR_ENHANCED_FINDINGS_PAGE = 100
# Scan statuses whose findings can be read: COMPLETE (basic), ACTIVE (enhanced, continuous).
READABLE_SCAN_STATUSES = frozenset({"COMPLETE", "ACTIVE"})

# CloudWatch Logs retention values accepted by PutRetentionPolicy.
VALID_RETENTION_DAYS = frozenset(
    {
        1,
        3,
        5,
        7,
        14,
        30,
        60,
        90,
        120,
        150,
        180,
        365,
        400,
        545,
        731,
        1096,
        1827,
        2192,
        2557,
        2922,
        3288,
        3653,
    }
)

# SQS (developer guide): a message is at most 1 MiB; SendMessageBatch takes 10 entries.
SQS_MAX_MESSAGE_BYTES = 1_048_576
SQS_SEND_BATCH_MAX = 10
# Message attribute values count against the message size; keep reasons short.
DLQ_REASON_MAX_CHARS = 1_024
