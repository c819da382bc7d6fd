"""Scan-complete events in the shape EventBridge delivers them, for images scanned earlier.

The consumer cannot tell these from the real thing: ``ECR Image Scan`` for basic scanning,
``Inspector2 Scan`` (repository ARN in ``repository-name``) for enhanced scanning.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pipeline import events
from pipeline.events import ScanKind


def event_time(value: datetime) -> str:
    """EventBridge's ``time``: UTC, whole seconds, ``Z``."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def scan_complete_event(
    *,
    kind: ScanKind,
    account: str,
    region: str,
    repository: str,
    repository_arn: str,
    digest: str,
    tags: Sequence[str],
    completed_at: datetime,
    severity_counts: Mapping[str, int] | None,
    event_id: str | None = None,
) -> dict[str, Any]:
    detail: dict[str, Any] = {
        "image-digest": digest,
        "image-tags": list(tags),
    }
    if kind == "basic":
        source, detail_type = events.ECR_SOURCE, events.ECR_DETAIL_TYPE
        detail = {
            "scan-status": events.ECR_COMPLETE,
            "repository-name": repository,
            **detail,
        }
        if severity_counts is not None:
            detail["finding-severity-counts"] = dict(severity_counts)
    else:
        source, detail_type = events.INSPECTOR_SOURCE, events.INSPECTOR_DETAIL_TYPE
        counts = dict(severity_counts or {})
        counts.setdefault("TOTAL", sum(v for k, v in counts.items() if k != "TOTAL"))
        detail = {
            "scan-status": events.INSPECTOR_COMPLETE,
            "repository-name": repository_arn,
            "finding-severity-counts": counts,
            **detail,
        }
    return {
        "version": "0",
        "id": event_id or str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": event_time(completed_at),
        "region": region,
        "resources": [repository_arn],
        "detail": detail,
    }
