"""What landed in CloudWatch Logs, read back with a boto3 client (tests, the demo)."""

from __future__ import annotations

from typing import Any


def stream_names(logs: Any, group: str) -> list[str]:
    """Every stream of a group, sorted; none if the group does not exist."""
    names: list[str] = []
    try:
        for page in logs.get_paginator("describe_log_streams").paginate(logGroupName=group):
            names += [s["logStreamName"] for s in page["logStreams"]]
    except logs.exceptions.ResourceNotFoundException:
        return []
    return sorted(names)


def messages(logs: Any, group: str, stream: str) -> list[str]:
    """Every message of a stream, oldest first (GetLogEvents signals the end by handing back
    the token it was given)."""
    out: list[str] = []
    token = None
    while True:
        kwargs: dict[str, Any] = {
            "logGroupName": group,
            "logStreamName": stream,
            "startFromHead": True,
        }
        if token:
            kwargs["nextToken"] = token
        page = logs.get_log_events(**kwargs)
        out += [e["message"] for e in page["events"]]
        if not page["events"] or page["nextForwardToken"] == token:
            return out
        token = page["nextForwardToken"]
