"""What the S3 archive and the notifications cost (pure): a scenario run a second time with
``ARCHIVE_BUCKET`` and ``NOTIFY_TOPIC_ARN`` set, compared with the run without them.

The promise: one PutObject per image scan (per invocation, repository and day for finding
events), one Publish per notified image at most, and a throughput with both on of at least
0.9 of the throughput without them. Notifications have no budget here
(``NOTIFY_MAX_MESSAGES`` at its maximum): every notified image gets its own Publish, the
costliest case.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from bench.report import Target
from localaws.registry import DEFAULT_ACCOUNT, DEFAULT_REGION
from pipeline import layout

TARGET_THROUGHPUT_RATIO = 0.9
BUCKET = "ecr-findings-bench-archive"
TOPIC_ARN = f"arn:aws:sns:{DEFAULT_REGION}:{DEFAULT_ACCOUNT}:ecr-findings-bench"
THRESHOLD = "CRITICAL"  # most of the data set's images have one, not all
UNBOUNDED_MESSAGES = "10000"
FEATURES = ("ARCHIVE_BUCKET", "NOTIFY_TOPIC_ARN")
# Notified images are counted by severity: a watch list would notify others too.
UNCOUNTED = ("WATCHED_VULNERABILITIES",)


def environments(settings_env: Mapping[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """The settings of the run without the features and of the run with them (the bench's
    bucket and topic, ``THRESHOLD`` and no message budget unless ``--set`` says otherwise)."""
    off = {k: v for k, v in settings_env.items() if k not in FEATURES}
    on = {
        "NOTIFY_MIN_SEVERITY": THRESHOLD,
        "NOTIFY_MAX_MESSAGES": UNBOUNDED_MESSAGES,
        **settings_env,
        "ARCHIVE_BUCKET": settings_env.get("ARCHIVE_BUCKET") or BUCKET,
        "NOTIFY_TOPIC_ARN": settings_env.get("NOTIFY_TOPIC_ARN") or TOPIC_ARN,
    }
    return off, on


def worth_notifying(severities: Iterable[object], threshold: str) -> bool:
    """Some finding at or above the threshold (as the notifications rank severities)."""
    limit = layout.severity_rank(threshold)
    return any(layout.severity_rank(layout.normalize_severity(s)) <= limit for s in severities)


def _per(calls: int, expected: int) -> float:
    if expected:
        return calls / expected
    return 0.0 if calls == 0 else math.inf


def targets(
    scenario: str,
    *,
    unit: str,
    put_objects: int,
    objects_expected: int,
    publishes: int,
    notified: int,
    rate_off: float,
    rate_on: float,
    note: str = "",
) -> list[Target]:
    """``objects_expected``: one per ``unit``; ``notified``: the images worth a notification
    (a bound: the handler may find fewer news); ``rate_*``: the scenario's throughput."""
    return [
        Target(
            f"{scenario}: PutObject calls / {unit}",
            _per(put_objects, objects_expected),
            1.0,
            at_most=True,
            note=f"{put_objects:,} calls for {objects_expected:,}",
        ),
        Target(
            f"{scenario}: Publish calls / images worth a notification",
            _per(publishes, notified),
            1.0,
            at_most=True,
            note=f"{publishes:,} calls for {notified:,}",
        ),
        Target(
            f"{scenario}: throughput with archive and notifications / without",
            rate_on / rate_off if rate_off else math.nan,
            TARGET_THROUGHPUT_RATIO,
            at_most=False,
            note=note or f"{rate_on:,.0f}/s against {rate_off:,.0f}/s",
        ),
    ]


def problems(
    label: str,
    *,
    objects_written: int,
    objects_expected: int,
    messages_published: int,
    messages_expected: int | None,
) -> list[str]:
    """What makes the run with the features invalid: an object not archived, a notification
    not sent (``messages_expected`` None: only a bound is known)."""
    found = []
    if objects_written != objects_expected:
        found.append(
            f"{label}: {objects_written:,} archive objects written, {objects_expected:,} expected"
        )
    if messages_expected is not None and messages_published != messages_expected:
        found.append(
            f"{label}: {messages_published:,} notifications published, "
            f"{messages_expected:,} expected"
        )
    return found
