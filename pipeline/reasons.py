"""Every reason a dead message can carry: the codes ``dlq redrive --reason`` accepts.

The consumer's reason codes are the ``code`` of the ``PipelineError`` it raises. Those raised
with a literal are listed here (tests/unit/test_reasons.py reads the source and fails when a
raise site names a code missing from this list, or the list names one no code raises); those
that come from a mapping are taken from the mapping itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pipeline import deadletter
from pipeline.aws.ecr import FINAL_WITHOUT_FINDINGS
from pipeline.aws.errors import PERMANENT_CODES

# Moved by the queue's own redrive policy (the handler never saw the message die): no
# ErrorCode attribute.
UNKNOWN = "unknown"
EVENTBRIDGE_PREFIX = deadletter.EVENTBRIDGE_PREFIX
# EventBridge's ERROR_CODE values (NO_PERMISSIONS, THROTTLING, …): AWS documents examples, not
# a closed list, so any upper-case code is accepted.
_EVENTBRIDGE_CODE = re.compile(r"[A-Z][A-Z0-9_]*")

# Codes raised with a literal, by where they are raised.
_RAISED = frozenset(
    {
        # decoding the message (pipeline/events.py, pipeline/outcome.py)
        "malformed_json",
        "not_an_event",
        "unsupported_event",
        "invalid_event",
        "scan_not_complete",
        # decoding a finding event (pipeline/events.py)
        "finding_arn_missing",
        "not_an_ecr_finding",
        "image_digest_missing",
        "finding_time_invalid",
        # reading the findings (pipeline/aws/ecr.py)
        "scan_not_found",
        "scan_in_progress",
        "scan_status_unknown",
        "findings_not_ready",
        # any AWS call (pipeline/aws/errors.py)
        "throttled",
        "aws_unavailable",
        "aws_error",
        "timeout",
        "connection_error",
        "sdk_error",
        "internal_error",
        # writing the logs (pipeline/aws/logs.py)
        "log_group_missing",
        "log_events_rejected",
        "log_events_invalid",
        # the invocation (pipeline/runner.py)
        "deadline_exceeded",
        # another consumer holds the image (pipeline/writers/image_scans.py)
        "image_claimed",
        # writing the S3 archive (pipeline/aws/s3.py)
        "archive_failed",
        # publishing a notification (pipeline/aws/sns.py)
        "notify_failed",
    }
)

CONSUMER_REASONS = frozenset(
    _RAISED | set(PERMANENT_CODES.values()) | set(FINAL_WITHOUT_FINDINGS.values())
)


def is_known(reason: str) -> bool:
    """A code the consumer emits, ``unknown``, or ``eventbridge:<ERROR_CODE>``."""
    if reason in CONSUMER_REASONS or reason == UNKNOWN:
        return True
    code = reason.removeprefix(EVENTBRIDGE_PREFIX)
    return code != reason and bool(_EVENTBRIDGE_CODE.fullmatch(code))


def unknown_reasons(reasons: Iterable[str]) -> list[str]:
    return [r for r in reasons if not is_known(r)]


def known_reasons_text() -> str:
    """The accepted reasons, for an error message."""
    return (
        ", ".join(sorted(CONSUMER_REASONS))
        + f", {UNKNOWN} (no ErrorCode attribute), or {EVENTBRIDGE_PREFIX}<ERROR_CODE>"
    )
